//! Webhook filters: each rule's `jsonPath` (JSONPath, RFC 9535) selects values of the JSON
//! payload. With `matchEquals`, some selected value must equal it once its `{Key}` placeholders
//! are replaced by the target action's configuration values (`refs/heads/{Branch}`); a value is
//! compared by its string form (strings as they are, other values as JSON). Without
//! `matchEquals`, the path must select something. Every rule must match.

use crate::model::*;
use crate::protocol::ApiError;
use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;
use std::sync::LazyLock;

/// PutWebhook's check: every `jsonPath` must parse.
pub fn check_patterns(filters: &[WebhookFilterRule]) -> Result<(), ApiError> {
    for filter in filters {
        JsonPath::parse(&filter.json_path).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidWebhookFilterPatternException,
                format!("The JSONPath '{}' is not valid: {e}", filter.json_path),
            )
        })?;
    }
    Ok(())
}

/// Evaluates every rule against the payload; the error names the first rule that failed.
pub fn evaluate(
    filters: &[WebhookFilterRule],
    payload: &Value,
    configuration: &Map<String>,
) -> Result<(), String> {
    for filter in filters {
        let path = JsonPath::parse(&filter.json_path)
            .map_err(|e| format!("The JSONPath '{}' is not valid: {e}", filter.json_path))?;
        let selected = path.query(payload).all();
        match &filter.match_equals {
            None => {
                if selected.is_empty() {
                    return Err(format!(
                        "'{}' selects nothing in the payload",
                        filter.json_path
                    ));
                }
            }
            Some(pattern) => {
                let expected = expand(pattern, configuration);
                if !selected.iter().any(|v| string_form(v) == expected) {
                    let found: Vec<String> = selected.iter().map(|v| string_form(v)).collect();
                    return Err(format!(
                        "'{}' selects {found:?}, none equal to '{expected}'",
                        filter.json_path
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Replaces `{Key}` by the configuration value of `Key`; unknown keys stay as written.
pub fn expand(pattern: &str, configuration: &Map<String>) -> String {
    static PLACEHOLDER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\{([A-Za-z0-9_.\-]+)\}").expect("valid regex"));
    PLACEHOLDER
        .replace_all(pattern, |caps: &regex::Captures| {
            configuration
                .get(&caps[1])
                .cloned()
                .unwrap_or_else(|| caps[0].to_string())
        })
        .into_owned()
}

fn string_form(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The commit a payload announces, and its message: a GitHub push (`head_commit`, `after`) or
/// pull request (`pull_request.head.sha`, title). None when the payload names no commit (a
/// branch deletion's `after` is all zeros).
pub fn commit_of(payload: &Value) -> Option<(String, Option<String>)> {
    let text = |pointer: &str| {
        payload
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let is_commit = |s: &String| !s.is_empty() && !s.bytes().all(|b| b == b'0');
    if let Some(id) = text("/head_commit/id").filter(is_commit) {
        return Some((id, text("/head_commit/message")));
    }
    if let Some(id) = text("/after").filter(is_commit) {
        return Some((id, text("/head_commit/message")));
    }
    if let Some(id) = text("/pull_request/head/sha").filter(is_commit) {
        return Some((id, text("/pull_request/title")));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(path: &str, equals: Option<&str>) -> WebhookFilterRule {
        WebhookFilterRule {
            json_path: path.into(),
            match_equals: equals.map(str::to_string),
        }
    }

    #[test]
    fn placeholders_take_configuration_values() {
        let configuration = crate::model::Map::from([("Branch".to_string(), "main".to_string())]);
        assert_eq!(
            expand("refs/heads/{Branch}", &configuration),
            "refs/heads/main"
        );
        assert_eq!(
            expand("refs/heads/{Other}", &configuration),
            "refs/heads/{Other}"
        );
    }

    #[test]
    fn every_rule_must_match() {
        let configuration = crate::model::Map::from([("Branch".to_string(), "main".to_string())]);
        let payload =
            json!({"ref": "refs/heads/main", "commits": [{"id": "a"}, {"id": "b"}], "size": 2});
        let ok = [
            rule("$.ref", Some("refs/heads/{Branch}")),
            rule("$.commits[*].id", Some("b")),
        ];
        assert!(evaluate(&ok, &payload, &configuration).is_ok());
        assert!(evaluate(&[rule("$.size", Some("2"))], &payload, &configuration).is_ok());
        assert!(evaluate(&[rule("$.commits", None)], &payload, &configuration).is_ok());
        assert!(evaluate(&[rule("$.missing", None)], &payload, &configuration).is_err());
        let wrong = [
            rule("$.ref", Some("refs/heads/{Branch}")),
            rule("$.ref", Some("refs/heads/dev")),
        ];
        assert!(evaluate(&wrong, &payload, &configuration).is_err());
        assert!(check_patterns(&[rule("$.ref[", None)]).is_err());
        assert!(check_patterns(&[rule("$..ref", None)]).is_ok());
    }

    #[test]
    fn commits_come_from_push_or_pull_request_payloads() {
        let push = json!({"after": "abc", "head_commit": {"id": "abc", "message": "Fix"}});
        assert_eq!(commit_of(&push), Some(("abc".into(), Some("Fix".into()))));
        let deletion = json!({"after": "0000000000000000000000000000000000000000"});
        assert_eq!(commit_of(&deletion), None);
        let pr = json!({"pull_request": {"head": {"sha": "def"}, "title": "Feature"}});
        assert_eq!(commit_of(&pr), Some(("def".into(), Some("Feature".into()))));
    }
}
