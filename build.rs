//! Generates the wire types of the CodePipeline API from the AWS service model.
//!
//! Input: `model/codepipeline-2015-07-09.json` (the AWS model with documentation stripped, see
//! `scripts/trim-model.py`). Output in `OUT_DIR`:
//! - `shapes.rs`: one Rust struct per structure shape, one enum per string enum shape, with serde
//!   names equal to the wire names. Required members are plain fields, optional ones `Option`.
//! - `operations.rs`: the `Operation` enum (one variant per API operation) and the `ErrorCode`
//!   enum (one variant per exception shape, plus the protocol-level errors of AWS JSON 1.1).
//!
//! Validation of constraints (length, pattern, range, enum, required) does not live here: it is
//! done at run time against the same model by `model::validate`, so both always agree.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const MODEL: &str = "model/codepipeline-2015-07-09.json";

/// Errors that AWS JSON 1.1 endpoints return without the service model listing them.
const PROTOCOL_ERRORS: &[&str] = &[
    "UnknownOperationException",
    "SerializationException",
    "InternalFailure",
    "AccessDeniedException",
    "RequestEntityTooLargeException",
    "ThrottlingException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "IncompleteSignature",
];

const RUST_KEYWORDS: &[&str] = &[
    "type", "match", "ref", "self", "super", "crate", "mod", "move", "fn", "impl", "trait", "loop",
    "where", "use", "async", "await", "dyn", "enum", "struct", "static", "const", "in", "for",
    "if", "else", "let", "mut", "pub", "return", "true", "false", "while", "break", "continue",
];

/// Optional members of the declaration held in a `Box`: rarely set, and large next to a
/// pointer (a stored declaration holds one of each per stage, action or pipeline): stage
/// conditions, a customer-managed key of the artifact store, the members of Commands actions
/// only, an action's region and role, the V2 triggers and variables.
const BOXED: &[(&str, &str)] = &[
    ("StageDeclaration", "beforeEntry"),
    ("StageDeclaration", "onFailure"),
    ("StageDeclaration", "onSuccess"),
    ("ArtifactStore", "encryptionKey"),
    ("ActionDeclaration", "commands"),
    ("ActionDeclaration", "environmentVariables"),
    ("ActionDeclaration", "outputVariables"),
    ("ActionDeclaration", "region"),
    ("ActionDeclaration", "roleArn"),
    ("PipelineDeclaration", "triggers"),
    ("PipelineDeclaration", "variables"),
];

/// The server binary is position-independent and has about 50,000 relative relocations. Packed
/// (DT_RELR, glibc 2.36 and binutils 2.38 on), they take a few KiB instead of 1.2 MiB that the
/// loader reads, and keeps resident, at every start. Older GNU linkers ignore the option.
fn link_with_packed_relocations() {
    let target = |key: &str| std::env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") == "linux" && target("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Release builds place the functions that serving requests runs (`link/hot-functions.txt`,
/// written by `scripts/order-functions.sh`) next to each other at the start of the code, so
/// that the pages of code the server maps in are a few MiB instead of most of the binary's. Only
/// where Rust links with its own lld (x86_64 Linux, Rust 1.90 on) and no other linker is set:
/// GNU ld does not know the option.
fn order_hot_functions() {
    const LIST: &str = "link/hot-functions.txt";
    println!("cargo:rerun-if-changed={LIST}");
    let var = |key: &str| std::env::var(key).unwrap_or_default();
    let own_linker = std::env::var_os("RUSTC_LINKER").is_some()
        || var("CARGO_ENCODED_RUSTFLAGS").contains("link");
    if var("PROFILE") != "release" || var("TARGET") != "x86_64-unknown-linux-gnu" || own_linker {
        return;
    }
    let version = std::process::Command::new(var("RUSTC"))
        .arg("-vV")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    let minor = version
        .lines()
        .find_map(|line| line.strip_prefix("release: 1."))
        .and_then(|rest| rest.split('.').next())
        .and_then(|minor| minor.parse::<u32>().ok());
    let list = Path::new(&var("CARGO_MANIFEST_DIR")).join(LIST);
    // A source tree without the list (a trimmed copy) builds without the ordering.
    if minor.is_some_and(|minor| minor >= 90) && list.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            list.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

fn main() {
    println!("cargo:rerun-if-changed={MODEL}");
    println!("cargo:rerun-if-changed=build.rs");
    link_with_packed_relocations();
    order_hot_functions();
    let text = std::fs::read_to_string(MODEL).expect("read service model");
    let model: Value = serde_json::from_str(&text).expect("parse service model");
    let shapes = model["shapes"].as_object().expect("shapes").clone();
    let operations = model["operations"].as_object().expect("operations").clone();

    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(
        Path::new(&out_dir).join("shapes.rs"),
        generate_shapes(&shapes),
    )
    .expect("write shapes.rs");
    std::fs::write(
        Path::new(&out_dir).join("operations.rs"),
        generate_operations(&operations, &shapes),
    )
    .expect("write operations.rs");
}

fn generate_shapes(shapes: &Map<String, Value>) -> String {
    let mut out = String::new();
    let sorted: BTreeMap<&String, &Value> = shapes.iter().collect();
    for (name, shape) in sorted {
        match shape["type"].as_str() {
            Some("structure") if shape.get("exception").is_none() => {
                out.push_str(&generate_struct(name, shape, shapes))
            }
            Some("string") if shape.get("enum").is_some() => {
                out.push_str(&generate_enum(name, shape))
            }
            _ => {}
        }
    }
    out
}

fn generate_struct(name: &str, shape: &Value, shapes: &Map<String, Value>) -> String {
    let name = &type_name(name);
    let required: Vec<&str> = shape["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = String::new();
    writeln!(out, "/// Shape `{name}`.").unwrap();
    writeln!(
        out,
        "#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]"
    )
    .unwrap();
    writeln!(out, "pub struct {name} {{").unwrap();
    let members = shape["members"].as_object().expect("members");
    for (member, target) in members {
        let target_name = target["shape"].as_str().expect("member shape");
        let mut ty = rust_type(target_name, shapes);
        if BOXED.contains(&(name.as_str(), member.as_str())) {
            ty = format!("Box<{ty}>");
        }
        let field = field_name(member);
        if required.contains(&member.as_str()) {
            writeln!(out, "    #[serde(rename = \"{member}\")]").unwrap();
            writeln!(out, "    pub {field}: {ty},").unwrap();
        } else {
            writeln!(
                out,
                "    #[serde(rename = \"{member}\", default, skip_serializing_if = \"Option::is_none\")]"
            )
            .unwrap();
            writeln!(out, "    pub {field}: Option<{ty}>,").unwrap();
        }
    }
    writeln!(out, "}}\n").unwrap();
    out.push_str(&generate_shrink(name, shape, shapes));
    out
}

/// `shrink_to_fit` of a struct: a value parsed from JSON text keeps the growth slack of its
/// vectors; this drops the spare capacity of every vector, string and map inside.
fn generate_shrink(name: &str, shape: &Value, shapes: &Map<String, Value>) -> String {
    let required: Vec<&str> = shape["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut body = String::new();
    let members = shape["members"].as_object().expect("members");
    for (member, target) in members {
        let target_name = target["shape"].as_str().expect("member shape");
        let field = field_name(member);
        if required.contains(&member.as_str()) {
            if let Some(stmt) = shrink_stmt(target_name, &format!("self.{field}"), shapes, 0) {
                writeln!(body, "        {stmt}").unwrap();
            }
        } else if let Some(stmt) = shrink_stmt(target_name, "value", shapes, 0) {
            writeln!(
                body,
                "        if let Some(value) = &mut self.{field} {{ {stmt} }}"
            )
            .unwrap();
        }
    }
    let mut out = String::new();
    writeln!(out, "impl {name} {{").unwrap();
    writeln!(
        out,
        "    /// Drops the spare capacity of every vector, string and map inside."
    )
    .unwrap();
    if body.is_empty() {
        writeln!(out, "    pub fn shrink_to_fit(&mut self) {{}}").unwrap();
    } else {
        writeln!(out, "    pub fn shrink_to_fit(&mut self) {{\n{body}    }}").unwrap();
    }
    writeln!(out, "}}\n").unwrap();
    out
}

/// The statement that shrinks the value of shape `shape_name` at the place `place`, if it
/// holds any capacity.
fn shrink_stmt(
    shape_name: &str,
    place: &str,
    shapes: &Map<String, Value>,
    depth: usize,
) -> Option<String> {
    let shape = &shapes[shape_name];
    let item = format!("item{depth}");
    let each = |member: &str, iter: &str| match shrink_stmt(member, &item, shapes, depth + 1) {
        Some(inner) => {
            format!("{place}.shrink_to_fit(); for {item} in {place}.{iter}() {{ {inner} }}")
        }
        None => format!("{place}.shrink_to_fit();"),
    };
    match shape["type"].as_str().expect("type") {
        "structure" => Some(format!("{place}.shrink_to_fit();")),
        "string" if shape.get("enum").is_none() => Some(format!("{place}.shrink_to_fit();")),
        "list" => Some(each(
            shape["member"]["shape"].as_str().expect("list member"),
            "iter_mut",
        )),
        "map" => Some(each(
            shape["value"]["shape"].as_str().expect("map value"),
            "values_mut",
        )),
        _ => None,
    }
}

fn generate_enum(name: &str, shape: &Value) -> String {
    let name = &type_name(name);
    let values: Vec<&str> = shape["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut out = String::new();
    writeln!(out, "/// Enum shape `{name}`.").unwrap();
    writeln!(
        out,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]"
    )
    .unwrap();
    writeln!(out, "pub enum {name} {{").unwrap();
    for (i, value) in values.iter().enumerate() {
        if i == 0 {
            writeln!(out, "    #[default]").unwrap();
        }
        writeln!(out, "    #[serde(rename = \"{value}\")]").unwrap();
        writeln!(out, "    {},", variant_name(value)).unwrap();
    }
    writeln!(out, "}}\n").unwrap();
    writeln!(out, "impl {name} {{").unwrap();
    writeln!(out, "    /// Every value, in the model's order.").unwrap();
    write!(out, "    pub const ALL: &'static [{name}] = &[").unwrap();
    for value in &values {
        write!(out, "{name}::{}, ", variant_name(value)).unwrap();
    }
    writeln!(out, "];").unwrap();
    writeln!(out, "    /// The wire value.").unwrap();
    writeln!(out, "    pub fn as_str(&self) -> &'static str {{").unwrap();
    writeln!(out, "        match self {{").unwrap();
    for value in &values {
        writeln!(
            out,
            "            {name}::{} => \"{value}\",",
            variant_name(value)
        )
        .unwrap();
    }
    writeln!(out, "        }}\n    }}\n").unwrap();
    writeln!(out, "    /// Parses a wire value.").unwrap();
    writeln!(
        out,
        "    pub fn from_wire(value: &str) -> Option<Self> {{\n        Self::ALL.iter().copied().find(|v| v.as_str() == value)\n    }}"
    )
    .unwrap();
    writeln!(out, "}}\n").unwrap();
    writeln!(
        out,
        "impl std::fmt::Display for {name} {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        f.write_str(self.as_str())\n    }}\n}}\n"
    )
    .unwrap();
    out
}

fn rust_type(shape_name: &str, shapes: &Map<String, Value>) -> String {
    let shape = &shapes[shape_name];
    match shape["type"].as_str().expect("type") {
        "structure" => type_name(shape_name),
        "string" if shape.get("enum").is_some() => type_name(shape_name),
        "string" => "String".to_string(),
        "integer" | "long" => "i64".to_string(),
        "boolean" => "bool".to_string(),
        "double" | "float" => "f64".to_string(),
        "timestamp" => "crate::model::Timestamp".to_string(),
        "list" => format!(
            "Vec<{}>",
            rust_type(
                shape["member"]["shape"].as_str().expect("list member"),
                shapes
            )
        ),
        "map" => format!(
            "crate::model::Map<{}>",
            rust_type(shape["value"]["shape"].as_str().expect("map value"), shapes)
        ),
        other => panic!("shape type {other} not supported"),
    }
}

fn generate_operations(operations: &Map<String, Value>, shapes: &Map<String, Value>) -> String {
    let mut out = String::new();
    let names: Vec<&String> = operations.keys().collect();
    writeln!(out, "/// One variant per CodePipeline API operation.").unwrap();
    writeln!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]").unwrap();
    writeln!(out, "pub enum Operation {{").unwrap();
    for name in &names {
        writeln!(out, "    {name},").unwrap();
    }
    writeln!(out, "}}\n").unwrap();
    writeln!(out, "impl Operation {{").unwrap();
    write!(out, "    pub const ALL: [Operation; {}] = [", names.len()).unwrap();
    for name in &names {
        write!(out, "Operation::{name}, ").unwrap();
    }
    writeln!(out, "];").unwrap();
    writeln!(out, "    /// The operation name as in `X-Amz-Target`.").unwrap();
    writeln!(
        out,
        "    pub fn name(&self) -> &'static str {{\n        match self {{"
    )
    .unwrap();
    for name in &names {
        writeln!(out, "            Operation::{name} => \"{name}\",").unwrap();
    }
    writeln!(out, "        }}\n    }}").unwrap();
    writeln!(out, "    /// Looks an operation up by name.").unwrap();
    writeln!(
        out,
        "    pub fn from_name(name: &str) -> Option<Self> {{\n        Self::ALL.iter().copied().find(|op| op.name() == name)\n    }}"
    )
    .unwrap();
    writeln!(out, "    /// The model's input shape name.").unwrap();
    writeln!(
        out,
        "    pub fn input_shape(&self) -> &'static str {{\n        match self {{"
    )
    .unwrap();
    for name in &names {
        let input = operations[name.as_str()]["input"]["shape"]
            .as_str()
            .expect("input");
        writeln!(out, "            Operation::{name} => \"{input}\",").unwrap();
    }
    writeln!(out, "        }}\n    }}").unwrap();
    writeln!(
        out,
        "    /// The error codes the model lists for this operation."
    )
    .unwrap();
    writeln!(
        out,
        "    pub fn errors(&self) -> &'static [ErrorCode] {{\n        match self {{"
    )
    .unwrap();
    for name in &names {
        let errors: Vec<String> = operations[name.as_str()]["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|e| e["shape"].as_str())
                    .map(|e| format!("ErrorCode::{e}"))
                    .collect()
            })
            .unwrap_or_default();
        writeln!(
            out,
            "            Operation::{name} => &[{}],",
            errors.join(", ")
        )
        .unwrap();
    }
    writeln!(out, "        }}\n    }}").unwrap();
    writeln!(out, "}}\n").unwrap();

    let mut codes: Vec<String> = shapes
        .iter()
        .filter(|(_, s)| s.get("exception").is_some())
        .map(|(n, _)| n.clone())
        .collect();
    codes.extend(PROTOCOL_ERRORS.iter().map(|s| s.to_string()));
    codes.sort();
    codes.dedup();
    writeln!(
        out,
        "/// Every error code (`__type`) this service answers with: the model's exception shapes\n/// plus the protocol-level errors of AWS JSON 1.1."
    )
    .unwrap();
    writeln!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]").unwrap();
    writeln!(out, "pub enum ErrorCode {{").unwrap();
    for code in &codes {
        writeln!(out, "    {code},").unwrap();
    }
    writeln!(out, "}}\n").unwrap();
    writeln!(out, "impl ErrorCode {{").unwrap();
    write!(out, "    pub const ALL: [ErrorCode; {}] = [", codes.len()).unwrap();
    for code in &codes {
        write!(out, "ErrorCode::{code}, ").unwrap();
    }
    writeln!(out, "];").unwrap();
    writeln!(out, "    /// The wire name (`__type`).").unwrap();
    writeln!(
        out,
        "    pub fn as_str(&self) -> &'static str {{\n        match self {{"
    )
    .unwrap();
    for code in &codes {
        writeln!(out, "            ErrorCode::{code} => \"{code}\",").unwrap();
    }
    writeln!(out, "        }}\n    }}").unwrap();
    writeln!(out, "}}").unwrap();
    out
}

/// The Rust name of a shape: the model's, except where it would shadow the prelude.
fn type_name(shape: &str) -> String {
    match shape {
        "Result" => "ConditionResult".to_string(),
        other => other.to_string(),
    }
}

/// `pipelineExecutionId` -> `pipeline_execution_id`, `AllowedIPRange` -> `allowed_ip_range`.
fn field_name(member: &str) -> String {
    let chars: Vec<char> = member.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = if i > 0 { Some(chars[i - 1]) } else { None };
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    if RUST_KEYWORDS.contains(&out.as_str()) {
        format!("r#{out}")
    } else {
        out
    }
}

/// `FAILED_ACTIONS` -> `FailedActions`, `CreatePipeline` stays, `V1` stays.
fn variant_name(value: &str) -> String {
    let has_lower = value.chars().any(|c| c.is_ascii_lowercase());
    if has_lower && !value.contains('_') {
        return value
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
    }
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect()
}
