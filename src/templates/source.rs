//! What a load reads: a CloudFormation template (JSON or YAML), a CDK cloud assembly
//! directory (`cdk.out`: `manifest.json`, every stack template, nested assemblies such as the
//! stages of CDK Pipelines), or a pipeline JSON as the aws CLI takes it (`{"pipeline": ...}`)
//! or as GetPipeline returns it.

use super::names::StackId;
use super::parse::parse_document;
use super::resources::PipelineResource;
use super::stack::{from_template, Stack};
use super::{Problem, TemplateError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Where and how to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Account and region of stacks that do not name theirs (a CDK environment does).
    pub account: String,
    pub region: String,
    /// The stack name of a single template or pipeline JSON (default: the file's stem).
    pub stack_name: Option<String>,
    /// Template parameter values, for every stack that declares them.
    pub parameters: BTreeMap<String, String>,
    /// Keep the readable resources of a template with problems (`Stack::problems`) instead of
    /// failing it (`validate` reports everything).
    pub keep_going: bool,
}

pub use crate::runtime::stacks::Exports;

/// Reads a file or a cloud assembly directory. `exports` holds the exports of stacks loaded
/// before and receives those of the stacks read here.
pub fn read_path(
    path: &Path,
    options: &LoadOptions,
    exports: &mut Exports,
) -> Result<Vec<Stack>, Vec<Problem>> {
    let file = path.display().to_string();
    if path.is_dir() {
        return read_assembly(path, options, exports);
    }
    if path.file_name().is_some_and(|n| n == "manifest.json") {
        if let Some(dir) = path.parent() {
            return read_assembly(dir, options, exports);
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![Problem::file(&file, format!("cannot read it: {e}"))])?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    read_text(&text, &file, &stem, options, exports)
}

/// A problem when a parameter value is given that no stack of the load declares (a typo would
/// otherwise go unnoticed): CloudFormation's `Parameters: [X] do not exist in the template`.
pub fn unknown_parameters(stacks: &[Stack], options: &LoadOptions) -> Option<Problem> {
    let unknown: Vec<&str> = options
        .parameters
        .keys()
        .filter(|name| !stacks.iter().any(|s| s.parameters.contains(name)))
        .map(String::as_str)
        .collect();
    let file = stacks
        .first()
        .map(|s| s.file.as_str())
        .unwrap_or("--parameter");
    (!unknown.is_empty()).then(|| {
        Problem::new(
            file,
            "",
            TemplateError::new(
                "Parameters",
                format!(
                    "Parameters: [{}] do not exist in the template",
                    unknown.join(", ")
                ),
            ),
        )
    })
}

/// Reads a template or pipeline JSON given as text (the load endpoint's body).
pub fn read_text(
    text: &str,
    file: &str,
    default_stack_name: &str,
    options: &LoadOptions,
    exports: &mut Exports,
) -> Result<Vec<Stack>, Vec<Problem>> {
    let document = parse_document(text).map_err(|e| vec![Problem::file(file, e)])?;
    let stack_name = options
        .stack_name
        .clone()
        .unwrap_or_else(|| stack_name_from(default_stack_name));
    let id = StackId {
        account: options.account.clone(),
        region: options.region.clone(),
        name: stack_name,
    };
    if let Some(pipeline) = pipeline_document(&document) {
        return pipeline_json(&document, pipeline, file, id)
            .map(|s| vec![s])
            .map_err(|e| vec![e]);
    }
    if document.get("Resources").is_some() || document.get("AWSTemplateFormatVersion").is_some() {
        let stack = read_template(&document, file, id, options, exports)?;
        return Ok(vec![stack]);
    }
    Err(vec![Problem::file(
        file,
        "not a CloudFormation template (no Resources), a pipeline JSON ({\"pipeline\": ...}) or a CDK cloud assembly directory",
    )])
}

fn read_template(
    document: &Value,
    file: &str,
    id: StackId,
    options: &LoadOptions,
    exports: &mut Exports,
) -> Result<Stack, Vec<Problem>> {
    let scope = (id.account.clone(), id.region.clone());
    let imports = exports.get(&scope).cloned().unwrap_or_default();
    let mut stack = from_template(document, file, id, &options.parameters, &imports);
    let missing_imports_only =
        !stack.problems.is_empty() && stack.problems.iter().all(Problem::is_missing_import);
    if !stack.problems.is_empty() && (!options.keep_going || missing_imports_only) {
        return Err(std::mem::take(&mut stack.problems));
    }
    exports
        .entry(scope)
        .or_default()
        .extend(stack.exports.clone());
    Ok(stack)
}

/// The declaration of `{"pipeline": {...}}` (CLI input or GetPipeline output) or of a bare one.
fn pipeline_document(document: &Value) -> Option<&Value> {
    match document.get("pipeline") {
        Some(p) if p.is_object() => Some(p),
        _ if document.get("stages").is_some() && document.get("name").is_some() => Some(document),
        _ => None,
    }
}

fn pipeline_json(
    document: &Value,
    pipeline: &Value,
    file: &str,
    id: StackId,
) -> Result<Stack, Problem> {
    let name = pipeline
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Problem::new(
                file,
                "",
                TemplateError::new("pipeline.name", "the pipeline has no name"),
            )
        })?
        .to_string();
    let mut stack = Stack::empty(file, id);
    stack.pipelines.push(PipelineResource {
        logical_id: name.clone(),
        name,
        generated_name: false,
        declaration: pipeline.clone(),
        tags: document
            .get("tags")
            .cloned()
            .unwrap_or(Value::Array(Vec::new())),
        disabled_transitions: Vec::new(),
    });
    Ok(stack)
}

/// A CloudFormation stack name from a file name: letters, digits and hyphens, starting with a
/// letter.
fn stack_name_from(stem: &str) -> String {
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "stack-");
    }
    name.chars().take(128).collect()
}

/// A CDK cloud assembly: every `aws:cloudformation:stack` artifact of `manifest.json`, and the
/// nested assemblies (`cdk:cloud-assembly`) it lists. A stack whose `Fn::ImportValue` names an
/// export of a stack listed later is read after it.
fn read_assembly(
    dir: &Path,
    options: &LoadOptions,
    exports: &mut Exports,
) -> Result<Vec<Stack>, Vec<Problem>> {
    let mut pending = Vec::new();
    collect_assembly_stacks(dir, options, &mut pending, 0)?;
    let mut stacks = Vec::new();
    loop {
        let before = pending.len();
        let mut problems = Vec::new();
        let mut missing_imports = Vec::new();
        let mut waiting = Vec::new();
        for (file, document, id) in pending {
            match read_template(&document, &file, id.clone(), options, exports) {
                Ok(stack) => stacks.push(stack),
                Err(errors) if errors.iter().all(Problem::is_missing_import) => {
                    missing_imports.extend(errors);
                    waiting.push((file, document, id));
                }
                Err(errors) => problems.extend(errors),
            }
        }
        if !problems.is_empty() {
            problems.extend(missing_imports);
            return Err(problems);
        }
        if waiting.is_empty() {
            return Ok(stacks);
        }
        if waiting.len() == before {
            return Err(missing_imports);
        }
        // Those stacks import what a stack read in this round exports: read them again.
        pending = waiting;
    }
}

type PendingStack = (String, Value, StackId);

fn collect_assembly_stacks(
    dir: &Path,
    options: &LoadOptions,
    out: &mut Vec<PendingStack>,
    depth: usize,
) -> Result<(), Vec<Problem>> {
    let manifest_path = dir.join("manifest.json");
    let manifest_file = manifest_path.display().to_string();
    if depth > 8 {
        return Err(vec![Problem::file(
            &manifest_file,
            "cloud assemblies are nested too deeply",
        )]);
    }
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        vec![Problem::file(
            &manifest_file,
            format!("cannot read the cloud assembly manifest: {e}"),
        )]
    })?;
    let manifest: Value = serde_json::from_str(&text).map_err(|e| {
        vec![Problem::file(
            &manifest_file,
            format!("the cloud assembly manifest is not JSON: {e}"),
        )]
    })?;
    let Some(artifacts) = manifest.get("artifacts").and_then(Value::as_object) else {
        return Ok(());
    };
    for (artifact_id, artifact) in artifacts {
        let properties = artifact.get("properties").cloned().unwrap_or(Value::Null);
        match artifact.get("type").and_then(Value::as_str) {
            Some("aws:cloudformation:stack") => {
                let Some(template_file) = properties.get("templateFile").and_then(Value::as_str)
                else {
                    return Err(vec![Problem::file(
                        &manifest_file,
                        format!("artifact {artifact_id} names no templateFile"),
                    )]);
                };
                let template_path = dir.join(template_file);
                let file = template_path.display().to_string();
                let text = std::fs::read_to_string(&template_path)
                    .map_err(|e| vec![Problem::file(&file, format!("cannot read it: {e}"))])?;
                let document = parse_document(&text).map_err(|e| vec![Problem::file(&file, e)])?;
                let (account, region) =
                    environment(artifact.get("environment").and_then(Value::as_str), options);
                let name = properties
                    .get("stackName")
                    .and_then(Value::as_str)
                    .unwrap_or(artifact_id)
                    .to_string();
                out.push((
                    file,
                    document,
                    StackId {
                        account,
                        region,
                        name,
                    },
                ));
            }
            Some("cdk:cloud-assembly") => {
                if let Some(nested) = properties.get("directoryName").and_then(Value::as_str) {
                    collect_assembly_stacks(&dir.join(nested), options, out, depth + 1)?;
                }
            }
            // Asset manifests, the construct tree, ...: nothing to load.
            _ => {}
        }
    }
    Ok(())
}

/// `aws://ACCOUNT/REGION`; `unknown-account` / `unknown-region` (environment-agnostic
/// stacks) fall back to the load's account and region.
fn environment(environment: Option<&str>, options: &LoadOptions) -> (String, String) {
    let mut account = options.account.clone();
    let mut region = options.region.clone();
    if let Some(rest) = environment.and_then(|e| e.strip_prefix("aws://")) {
        let mut parts = rest.splitn(2, '/');
        if let Some(a) = parts
            .next()
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        {
            account = a.to_string();
        }
        if let Some(r) = parts
            .next()
            .filter(|r| !r.starts_with("unknown-") && !r.is_empty())
        {
            region = r.to_string();
        }
    }
    (account, region)
}
