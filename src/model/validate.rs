//! Generic input validation against the service model, the way AWS's front end does it:
//! a value of the wrong JSON type is a `SerializationException`; a value that breaks a
//! constraint (required, length, pattern, enum, range, list and map sizes) is reported in a
//! `ValidationException` of the form
//! `2 validation errors detected: Value 'a b' at 'pipeline.name' failed to satisfy constraint:
//! Member must satisfy regular expression pattern: [A-Za-z0-9.@\-_]+; Value null at ...`.
//! List elements are addressed as `stages.1.member` (1-based), as AWS does.

use super::spec::{spec, Shape};
use super::ApiError;
use serde_json::Value;

/// Checks a request body against the input shape of an operation.
pub fn validate_input(shape: &str, body: &Value) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(ApiError::serialization(
            "Start of structure or map expected at the top level of the request body",
        ));
    }
    let mut errors = Vec::new();
    walk(spec().shape(shape), body, &Path::Root, &mut errors)?;
    match errors.len() {
        0 => Ok(()),
        1 => Err(ApiError::validation(format!(
            "1 validation error detected: {}",
            errors[0]
        ))),
        n => Err(ApiError::validation(format!(
            "{n} validation errors detected: {}",
            errors.join("; ")
        ))),
    }
}

/// Builds a `ValidationException` message for one value, for checks done outside the model.
pub fn constraint_message(value: &Value, path: &str, constraint: &str) -> String {
    format!(
        "Value {} at '{path}' failed to satisfy constraint: {constraint}",
        describe(value)
    )
}

/// Where a value sits in the request (`pipeline.stages.1.member.name`), rendered only when an
/// error names it.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    /// A list element, 0-based here, `.N.member` 1-based in the text.
    Item(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Member(Path::Root, name) => f.write_str(name),
            Path::Member(parent, name) => write!(f, "{parent}.{name}"),
            Path::Item(parent, i) => write!(f, "{parent}.{}.member", i + 1),
        }
    }
}

fn constraint_at(value: &Value, path: &Path, constraint: &str) -> String {
    constraint_message(value, &path.to_string(), constraint)
}

fn walk(
    shape: &Shape,
    value: &Value,
    path: &Path,
    errors: &mut Vec<String>,
) -> Result<(), ApiError> {
    match shape {
        Shape::Structure { members } => {
            let object = value
                .as_object()
                .ok_or_else(|| type_error(path, "structure", value))?;
            for member in members {
                let member_path = Path::Member(path, &member.name);
                match object.get(&member.name) {
                    None | Some(Value::Null) => {
                        if member.required {
                            errors.push(constraint_at(
                                &Value::Null,
                                &member_path,
                                "Member must not be null",
                            ));
                        }
                    }
                    Some(child) => walk(spec().at(member.shape), child, &member_path, errors)?,
                }
            }
        }
        Shape::List { member, min, max } => {
            let items = value
                .as_array()
                .ok_or_else(|| type_error(path, "list", value))?;
            check_size(value, items.len(), *min, *max, path, errors);
            for (i, item) in items.iter().enumerate() {
                let item_path = Path::Item(path, i);
                if item.is_null() {
                    errors.push(constraint_at(item, &item_path, "Member must not be null"));
                } else {
                    walk(spec().at(*member), item, &item_path, errors)?;
                }
            }
        }
        Shape::Map {
            key,
            value: value_shape,
            min,
            max,
        } => {
            let entries = value
                .as_object()
                .ok_or_else(|| type_error(path, "map", value))?;
            check_size(value, entries.len(), *min, *max, path, errors);
            let mut key_failures = Vec::new();
            let mut value_failures = Vec::new();
            let (key, value_shape) = (spec().at(*key), spec().at(*value_shape));
            for (k, v) in entries {
                if !plainly_valid(key, k) {
                    let mut failures = Vec::new();
                    walk(key, &Value::String(k.clone()), &Path::Root, &mut failures)?;
                    key_failures.extend(failures.into_iter().map(bare_constraint));
                }
                if v.is_null() {
                    value_failures.push("Member must not be null".to_string());
                    continue;
                }
                let mut failures = Vec::new();
                walk(value_shape, v, &Path::Member(path, k), &mut failures)?;
                value_failures.extend(failures.into_iter().map(bare_constraint));
            }
            for (kind, mut failures) in [("Map keys", key_failures), ("Map value", value_failures)]
            {
                if failures.is_empty() {
                    continue;
                }
                failures.sort();
                failures.dedup();
                errors.push(constraint_at(
                    value,
                    path,
                    &format!("{kind} must satisfy constraint: [{}]", failures.join(", ")),
                ));
            }
        }
        Shape::String {
            min,
            max,
            pattern,
            regex,
            values,
        } => {
            let text = value
                .as_str()
                .ok_or_else(|| type_error(path, "string", value))?;
            if let Some(values) = values {
                if !values.iter().any(|v| v == text) {
                    errors.push(constraint_at(
                        value,
                        path,
                        &format!(
                            "Member must satisfy enum value set: [{}]",
                            values.join(", ")
                        ),
                    ));
                }
            }
            let length = text.chars().count();
            check_length(value, length, *min, *max, path, errors);
            if let (Some(pattern), Some(regex)) = (pattern, regex) {
                if !regex.is_match(text.as_bytes()) {
                    errors.push(constraint_at(
                        value,
                        path,
                        &format!("Member must satisfy regular expression pattern: {pattern}"),
                    ));
                }
            }
        }
        Shape::Integer { min, max } => {
            let number = value
                .as_i64()
                .ok_or_else(|| type_error(path, "integer", value))?;
            if let Some(max) = max {
                if number > *max {
                    errors.push(constraint_at(
                        value,
                        path,
                        &format!("Member must have value less than or equal to {max}"),
                    ));
                }
            }
            if let Some(min) = min {
                if number < *min {
                    errors.push(constraint_at(
                        value,
                        path,
                        &format!("Member must have value greater than or equal to {min}"),
                    ));
                }
            }
        }
        Shape::Boolean => {
            if !value.is_boolean() {
                return Err(type_error(path, "boolean", value));
            }
        }
        Shape::Timestamp => {
            let ok = match value {
                Value::Number(n) => n
                    .as_f64()
                    .and_then(crate::model::Timestamp::from_epoch_seconds)
                    .is_some(),
                Value::String(s) => {
                    serde_json::from_value::<crate::model::Timestamp>(Value::String(s.clone()))
                        .is_ok()
                }
                _ => false,
            };
            if !ok {
                return Err(type_error(path, "timestamp", value));
            }
        }
    }
    Ok(())
}

/// Whether a map key meets its string shape's constraints (the common case, checked without
/// making a JSON value of it).
fn plainly_valid(shape: &Shape, text: &str) -> bool {
    match shape {
        Shape::String {
            min,
            max,
            regex,
            values,
            ..
        } => {
            let length = text.chars().count() as i64;
            values
                .as_ref()
                .is_none_or(|values| values.iter().any(|v| v == text))
                && min.is_none_or(|min| length >= min)
                && max.is_none_or(|max| length <= max)
                && regex.as_ref().is_none_or(|r| r.is_match(text.as_bytes()))
        }
        _ => false,
    }
}

fn check_length(
    value: &Value,
    length: usize,
    min: Option<i64>,
    max: Option<i64>,
    path: &Path,
    errors: &mut Vec<String>,
) {
    if let Some(max) = max {
        if length as i64 > max {
            errors.push(constraint_at(
                value,
                path,
                &format!("Member must have length less than or equal to {max}"),
            ));
        }
    }
    if let Some(min) = min {
        if (length as i64) < min {
            errors.push(constraint_at(
                value,
                path,
                &format!("Member must have length greater than or equal to {min}"),
            ));
        }
    }
}

fn check_size(
    value: &Value,
    size: usize,
    min: Option<i64>,
    max: Option<i64>,
    path: &Path,
    errors: &mut Vec<String>,
) {
    check_length(value, size, min, max, path, errors)
}

/// `Value 'x' at 'k' failed to satisfy constraint: C` -> `C` (for map key/value summaries).
fn bare_constraint(message: String) -> String {
    match message.split_once("failed to satisfy constraint: ") {
        Some((_, constraint)) => constraint.to_string(),
        None => message,
    }
}

fn type_error(path: &Path, expected: &str, value: &Value) -> ApiError {
    let found = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "structure or map",
    };
    let at = if matches!(path, Path::Root) {
        String::new()
    } else {
        format!(" at '{path}'")
    };
    ApiError::serialization(format!(
        "Cannot deserialize value{at}: expected {expected}, found {found}"
    ))
}

/// Renders a value the way AWS's validation messages do: `'text'`, `'42'`, `null`,
/// `'[a, b]'`, `'{k=v}'`.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        other => format!("'{}'", render(other)),
    }
}

fn render(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{k}={}", render(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ErrorCode;
    use serde_json::json;

    fn message(shape: &str, body: Value) -> (ErrorCode, String) {
        let err = validate_input(shape, &body).unwrap_err();
        (err.code, err.message)
    }

    #[test]
    fn a_bad_pipeline_name_is_reported_as_aws_does() {
        let (code, msg) = message("GetPipelineInput", json!({"name": "a b"}));
        assert_eq!(code, ErrorCode::ValidationException);
        assert_eq!(
            msg,
            "1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+"
        );
    }

    #[test]
    fn several_errors_are_counted_and_joined() {
        let (_, msg) = message(
            "ListPipelinesInput",
            json!({"maxResults": 0, "nextToken": ""}),
        );
        assert!(msg.starts_with("2 validation errors detected: "), "{msg}");
        assert!(msg.contains("Value '' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 1"));
        assert!(msg.contains("Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"));
    }

    #[test]
    fn list_members_use_one_based_member_paths() {
        let (_, msg) = message(
            "TagResourceInput",
            json!({"resourceArn": "arn:aws:codepipeline:us-east-1:000000000000:p", "tags": [{"key": "k"}]}),
        );
        assert!(msg.contains("Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null"), "{msg}");
    }

    #[test]
    fn wrong_json_types_are_serialization_errors() {
        let (code, _) = message("GetPipelineInput", json!({"name": 5}));
        assert_eq!(code, ErrorCode::SerializationException);
        let (code, _) = message("ListPipelinesInput", json!({"maxResults": 1.5}));
        assert_eq!(code, ErrorCode::SerializationException);
        let err = validate_input("ListPipelinesInput", &json!([])).unwrap_err();
        assert_eq!(err.code, ErrorCode::SerializationException);
    }

    #[test]
    fn enums_list_their_values() {
        let (_, msg) = message(
            "EnableStageTransitionInput",
            json!({"pipelineName": "p", "stageName": "s", "transitionType": "Sideways"}),
        );
        assert!(
            msg.contains("Member must satisfy enum value set: [Inbound, Outbound]"),
            "{msg}"
        );
    }

    #[test]
    fn map_values_are_checked() {
        let body = json!({"pipeline": {"name": "p", "roleArn": "arn:aws:iam::123456789012:role/r",
            "stages": [{"name": "s", "actions": [{"name": "a",
              "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
              "configuration": {"S3Bucket": ""}}]}]}});
        let (_, msg) = message("CreatePipelineInput", body);
        assert!(msg.contains("at 'pipeline.stages.1.member.actions.1.member.configuration' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length greater than or equal to 1]"), "{msg}");
    }
}
