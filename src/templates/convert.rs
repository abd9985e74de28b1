//! A template's resolved properties (PascalCase) to the CodePipeline API's JSON (camelCase),
//! walking the API's shapes in the embedded service model: every property must name a member
//! of the shape (compared without case, as `RoleArn` names `roleArn`), or it is an error with
//! its path. Scalars are coerced as CloudFormation does: numbers and booleans given where the
//! API takes a string become strings (`PollForSourceChanges: false` -> `"false"`), numeric
//! strings given for integers become numbers.

use super::intrinsics::join;
use super::TemplateError;
use crate::model::spec::{spec, Shape};
use serde_json::{Map, Value};

/// Converts `value` to the API shape named `shape`.
pub fn to_api(value: &Value, shape: &str, path: &str) -> Result<Value, TemplateError> {
    convert(value, spec().shape(shape), path)
}

fn convert(value: &Value, shape: &Shape, path: &str) -> Result<Value, TemplateError> {
    match shape {
        Shape::Structure { members } => {
            let object = value
                .as_object()
                .ok_or_else(|| error(path, format!("expected an object, got {value}")))?;
            let mut out = Map::new();
            for (key, child) in object {
                let member = members
                    .iter()
                    .find(|m| m.name.eq_ignore_ascii_case(key))
                    .ok_or_else(|| {
                        error(
                            &join(path, key),
                            format!("the property {key} is not supported here"),
                        )
                    })?;
                out.insert(
                    member.name.clone(),
                    convert(child, spec().at(member.shape), &join(path, key))?,
                );
            }
            Ok(Value::Object(out))
        }
        Shape::List { member, .. } => {
            let items = value
                .as_array()
                .ok_or_else(|| error(path, format!("expected a list, got {value}")))?;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, spec().at(*member), &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Shape::Map {
            value: value_shape, ..
        } => {
            let object = value
                .as_object()
                .ok_or_else(|| error(path, format!("expected an object, got {value}")))?;
            let mut out = Map::new();
            for (key, child) in object {
                out.insert(
                    key.clone(),
                    convert(child, spec().at(*value_shape), &join(path, key))?,
                );
            }
            Ok(Value::Object(out))
        }
        Shape::String { .. } | Shape::Timestamp => match value {
            Value::String(_) => Ok(value.clone()),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(error(path, format!("expected a string, got {other}"))),
        },
        Shape::Integer { .. } => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| error(path, format!("expected an integer, got '{s}'"))),
            other => Err(error(path, format!("expected an integer, got {other}"))),
        },
        Shape::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            other => Err(error(path, format!("expected a boolean, got {other}"))),
        },
    }
}

fn error(path: &str, message: String) -> TemplateError {
    TemplateError {
        path: path.to_string(),
        code: "ValidationError",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pascal_case_becomes_the_api_names_and_scalars_are_coerced() {
        let stage = json!({
            "Name": "Source",
            "Actions": [{
                "Name": "Src",
                "ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": 1},
                "Configuration": {"S3Bucket": "b", "PollForSourceChanges": false, "Depth": 3},
                "RunOrder": "2",
                "OutputArtifacts": [{"Name": "out"}]
            }]
        });
        let api = to_api(&stage, "StageDeclaration", "Stages[0]").unwrap();
        assert_eq!(
            api,
            json!({
                "name": "Source",
                "actions": [{
                    "name": "Src",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "b", "PollForSourceChanges": "false", "Depth": "3"},
                    "runOrder": 2,
                    "outputArtifacts": [{"name": "out"}]
                }]
            })
        );
    }

    #[test]
    fn unknown_properties_are_errors_with_their_path() {
        let err = to_api(
            &json!({"Name": "S", "Colour": "red"}),
            "StageDeclaration",
            "Stages[1]",
        )
        .unwrap_err();
        assert_eq!(err.path, "Stages[1].Colour");
        let err = to_api(
            &json!({"Name": "S", "Actions": [{"RunOrder": "x"}]}),
            "StageDeclaration",
            "S",
        )
        .unwrap_err();
        assert_eq!(err.path, "S.Actions[0].RunOrder");
    }
}
