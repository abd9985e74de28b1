//! Template text to JSON: JSON as is; YAML with CloudFormation's short-form tags rewritten to
//! their long form (`!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`,
//! `!Sub ...` -> `{"Fn::Sub": ...}`), as CloudFormation reads them.

use serde_json::{Map, Number, Value};
use serde_norway::value::TaggedValue;
use serde_norway::Value as Yaml;

/// The short-form tags CloudFormation knows, by tag name (without `!`).
const FN_TAGS: &[&str] = &[
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "ToJsonString",
    "Length",
];

/// Parses a template (or any JSON/YAML document). Errors carry the parser's line and column.
pub fn parse_document(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text)
            .map_err(|e| format!("Template format error: JSON not well-formed: {e}"));
    }
    let yaml: Yaml = serde_norway::from_str(text)
        .map_err(|e| format!("Template format error: YAML not well-formed: {e}"))?;
    to_json(yaml, "")
}

fn to_json(yaml: Yaml, path: &str) -> Result<Value, String> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => number(&n),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| to_json(item, &format!("{path}/{i}")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Bool(b) => b.to_string(),
                    Yaml::Number(n) => n.to_string(),
                    other => return Err(format!("Template format error: at '{path}': a mapping key must be a scalar, got {other:?}")),
                };
                let child = to_json(value, &format!("{path}/{key}"))?;
                object.insert(key, child);
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => tagged_to_json(*tagged, path)?,
    })
}

fn number(n: &serde_norway::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Number(i.into())
    } else if let Some(u) = n.as_u64() {
        Value::Number(u.into())
    } else {
        n.as_f64()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(n.to_string()))
    }
}

fn tagged_to_json(tagged: TaggedValue, path: &str) -> Result<Value, String> {
    let tag = tagged.tag.to_string();
    let name = tag.trim_start_matches('!');
    let value = to_json(tagged.value, path)?;
    let (key, value) = match name {
        "Ref" => ("Ref".to_string(), value),
        "Condition" => ("Condition".to_string(), value),
        "GetAtt" => ("Fn::GetAtt".to_string(), get_att_long_form(value)),
        _ if FN_TAGS.contains(&name) => (format!("Fn::{name}"), value),
        _ => {
            return Err(format!(
                "Template format error: at '{}': unsupported YAML tag '{tag}'",
                if path.is_empty() { "/" } else { path }
            ))
        }
    };
    let mut object = Map::new();
    object.insert(key, value);
    Ok(Value::Object(object))
}

/// `!GetAtt Res.Attr.Sub` is `["Res", "Attr.Sub"]`; the list form stays as written.
fn get_att_long_form(value: Value) -> Value {
    match value {
        Value::String(s) => match s.split_once('.') {
            Some((resource, attribute)) => Value::Array(vec![resource.into(), attribute.into()]),
            None => Value::String(s),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_form_tags_become_long_form() {
        let doc = parse_document(
            "A: !Ref Param\nB: !GetAtt Role.Arn\nC: !Sub '${AWS::Region}-x'\nD: !Join ['-', [a, !Ref X]]\nE: !If [Cond, 1, 2]\nF: !Equals [!Ref Env, prod]\n",
        )
        .unwrap();
        assert_eq!(doc["A"], json!({"Ref": "Param"}));
        assert_eq!(doc["B"], json!({"Fn::GetAtt": ["Role", "Arn"]}));
        assert_eq!(doc["C"], json!({"Fn::Sub": "${AWS::Region}-x"}));
        assert_eq!(doc["D"], json!({"Fn::Join": ["-", ["a", {"Ref": "X"}]]}));
        assert_eq!(doc["E"], json!({"Fn::If": ["Cond", 1, 2]}));
        assert_eq!(doc["F"], json!({"Fn::Equals": [{"Ref": "Env"}, "prod"]}));
    }

    #[test]
    fn unknown_tags_are_errors_with_a_path() {
        let err = parse_document("Resources:\n  X:\n    Y: !Frobnicate z\n").unwrap_err();
        assert!(err.contains("/Resources/X/Y"), "{err}");
        assert!(err.contains("!Frobnicate"), "{err}");
    }

    #[test]
    fn json_is_read_as_json() {
        assert_eq!(
            parse_document("{\"a\": [1, true]}").unwrap(),
            json!({"a": [1, true]})
        );
        assert!(parse_document("{\"a\": ")
            .unwrap_err()
            .contains("JSON not well-formed"));
    }
}
