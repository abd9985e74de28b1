//! The service model's shapes and constraints, loaded once from the copy embedded in the binary.
//! `validate` walks request bodies against it.

use regex::bytes::{Regex, RegexBuilder};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

const MODEL_JSON: &str = include_str!("../../model/codepipeline-2015-07-09.json");

/// The JSON 1.1 target prefix, `CodePipeline_20150709`.
pub const TARGET_PREFIX: &str = "CodePipeline_20150709";

/// A shape of the service model, reduced to what validation needs.
#[derive(Debug)]
pub enum Shape {
    Structure {
        members: Vec<Member>,
    },
    List {
        member: ShapeId,
        min: Option<i64>,
        max: Option<i64>,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
        min: Option<i64>,
        max: Option<i64>,
    },
    String {
        min: Option<i64>,
        max: Option<i64>,
        /// The model's pattern, kept as written for error messages.
        pattern: Option<String>,
        /// The pattern compiled to match the whole value (shared by the shapes with the same
        /// pattern).
        regex: Option<Arc<Regex>>,
        values: Option<Vec<String>>,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean,
    Timestamp,
}

#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub shape: ShapeId,
    pub required: bool,
}

/// Where a shape sits in `Spec`: shapes refer to their members' shapes this way, so that a walk
/// over a request body follows them without looking names up.
#[derive(Debug, Clone, Copy)]
pub struct ShapeId(usize);

/// All shapes of the model, with their names.
pub struct Spec {
    shapes: Vec<Shape>,
    names: HashMap<String, ShapeId>,
}

static SPEC: LazyLock<Spec> = LazyLock::new(|| Spec::parse(MODEL_JSON));

/// The service model embedded in this binary.
pub fn spec() -> &'static Spec {
    &SPEC
}

impl Spec {
    fn parse(text: &str) -> Spec {
        let model: Value = serde_json::from_str(text).expect("embedded service model is JSON");
        let definitions = model["shapes"].as_object().expect("shapes");
        let names: HashMap<String, ShapeId> = definitions
            .keys()
            .enumerate()
            .map(|(i, name)| (name.clone(), ShapeId(i)))
            .collect();
        let mut patterns = HashMap::new();
        let shapes = definitions
            .values()
            .map(|shape| parse_shape(shape, &names, &mut patterns))
            .collect();
        Spec { shapes, names }
    }

    pub fn shape(&self, name: &str) -> &Shape {
        match self.names.get(name) {
            Some(id) => self.at(*id),
            None => panic!("shape {name} is in the embedded model"),
        }
    }

    /// The shape a member, list or map refers to.
    pub fn at(&self, id: ShapeId) -> &Shape {
        &self.shapes[id.0]
    }
}

/// A model pattern compiled as AWS applies it (a Java regular expression over the whole value):
/// its classes are ASCII (`\w` is `[0-9A-Za-z_]`), and as the model's patterns repeat `.` only
/// without a bound, matching the value's bytes is matching its characters. Compiling classes
/// as ASCII bytes also keeps the automata small.
fn compile(pattern: &str) -> Regex {
    let body = pattern.trim_start_matches('^').trim_end_matches('$');
    RegexBuilder::new(&format!("^(?:{body})$"))
        .unicode(false)
        .build()
        .expect("model pattern compiles")
}

fn parse_shape(
    shape: &Value,
    names: &HashMap<String, ShapeId>,
    patterns: &mut HashMap<String, Arc<Regex>>,
) -> Shape {
    let int = |key: &str| shape.get(key).and_then(Value::as_i64);
    let target = |reference: &Value| {
        let name = reference["shape"].as_str().unwrap_or_default();
        *names
            .get(name)
            .unwrap_or_else(|| panic!("shape {name} is in the embedded model"))
    };
    match shape["type"].as_str().unwrap_or_default() {
        "structure" => {
            let required: Vec<&str> = shape["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let members = shape["members"]
                .as_object()
                .map(|members| {
                    members
                        .iter()
                        .map(|(name, member)| Member {
                            name: name.clone(),
                            shape: target(member),
                            required: required.contains(&name.as_str()),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Shape::Structure { members }
        }
        "list" => Shape::List {
            member: target(&shape["member"]),
            min: int("min"),
            max: int("max"),
        },
        "map" => Shape::Map {
            key: target(&shape["key"]),
            value: target(&shape["value"]),
            min: int("min"),
            max: int("max"),
        },
        "integer" | "long" => Shape::Integer {
            min: int("min"),
            max: int("max"),
        },
        "boolean" => Shape::Boolean,
        "timestamp" => Shape::Timestamp,
        _ => {
            let pattern = shape["pattern"].as_str().map(str::to_string);
            let regex = pattern.as_ref().map(|p| {
                patterns
                    .entry(p.clone())
                    .or_insert_with(|| Arc::new(compile(p)))
                    .clone()
            });
            Shape::String {
                min: int("min"),
                max: int("max"),
                pattern,
                regex,
                values: shape["enum"].as_array().map(|v| {
                    v.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Operation;

    #[test]
    fn every_operation_input_is_a_structure_of_the_model() {
        for op in Operation::ALL {
            assert!(matches!(
                spec().shape(op.input_shape()),
                Shape::Structure { .. }
            ));
        }
        assert_eq!(Operation::ALL.len(), 44);
    }

    #[test]
    fn patterns_match_whole_values_with_ascii_classes_as_java_does() {
        let role = compile(r"arn:aws(-[\w]+)*:iam::[0-9]{12}:role/.*");
        assert!(role.is_match(b"arn:aws:iam::123456789012:role/Deploy"));
        assert!(role.is_match(b"arn:aws-us-gov:iam::123456789012:role/Deploy"));
        assert!(role.is_match("arn:aws:iam::123456789012:role/d\u{e9}ploi".as_bytes()));
        assert!(!role.is_match("arn:aws-\u{e9}:iam::123456789012:role/Deploy".as_bytes()));
        assert!(!role.is_match(b"arn:aws:iam::123456789012:role/a\nb"));
        assert!(!role.is_match(b"xarn:aws:iam::123456789012:role/Deploy"));
        let name = compile(r"[A-Za-z0-9.@\-_]+");
        assert!(name.is_match(b"Source.Output@1-x_y"));
        assert!(!name.is_match(b"Source Output"));
        assert!(!name.is_match(b""));
    }
}
