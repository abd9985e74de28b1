//! The service model's shapes and constraints, loaded once from the copy embedded in the binary.
//! `validate` walks request bodies against it.

use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

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
        member: String,
        min: Option<i64>,
        max: Option<i64>,
    },
    Map {
        key: String,
        value: String,
        min: Option<i64>,
        max: Option<i64>,
    },
    String {
        min: Option<i64>,
        max: Option<i64>,
        /// The model's pattern, kept as written for error messages.
        pattern: Option<String>,
        /// The pattern compiled to match the whole value.
        regex: Option<Regex>,
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
    pub shape: String,
    pub required: bool,
}

/// All shapes of the model by name.
pub struct Spec {
    shapes: HashMap<String, Shape>,
}

static SPEC: LazyLock<Spec> = LazyLock::new(|| Spec::parse(MODEL_JSON));

/// The service model embedded in this binary.
pub fn spec() -> &'static Spec {
    &SPEC
}

impl Spec {
    fn parse(text: &str) -> Spec {
        let model: Value = serde_json::from_str(text).expect("embedded service model is JSON");
        let mut shapes = HashMap::new();
        for (name, shape) in model["shapes"].as_object().expect("shapes") {
            shapes.insert(name.clone(), parse_shape(shape));
        }
        Spec { shapes }
    }

    pub fn shape(&self, name: &str) -> &Shape {
        self.shapes
            .get(name)
            .unwrap_or_else(|| panic!("shape {name} is in the embedded model"))
    }
}

fn parse_shape(shape: &Value) -> Shape {
    let int = |key: &str| shape.get(key).and_then(Value::as_i64);
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
                            shape: member["shape"].as_str().unwrap_or_default().to_string(),
                            required: required.contains(&name.as_str()),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Shape::Structure { members }
        }
        "list" => Shape::List {
            member: shape["member"]["shape"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            min: int("min"),
            max: int("max"),
        },
        "map" => Shape::Map {
            key: shape["key"]["shape"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            value: shape["value"]["shape"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
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
                let body = p.trim_start_matches('^').trim_end_matches('$');
                Regex::new(&format!("^(?:{body})$")).expect("model pattern compiles")
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
}
