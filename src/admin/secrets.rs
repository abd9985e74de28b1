//! Secrets in admin documents. The state export and the configuration hide them by default
//! (`****`, as GetPipeline and ListWebhooks do); `?secrets=true` shows them (a full backup).
//!
//! Secret are: the values of an action's `configuration` (or `resolvedConfiguration`) whose key is secret for some action
//! type (GitHub's `OAuthToken`, `secret` properties of custom action types), a webhook's
//! `SecretToken`, and the environment variables of `codebuild_projects`.

use serde_json::Value;
use std::collections::BTreeSet;

pub const MASK: &str = "****";

/// Always secret in an action configuration (the GitHub version 1 source action's token).
const GITHUB_TOKEN: &str = "OAuthToken";
const WEBHOOK_SECRET: &str = "SecretToken";

/// Secret configuration keys: `OAuthToken`, and the `secret` properties of the custom action
/// types in `state` (an exported region state).
pub fn secret_keys(state: &Value) -> BTreeSet<String> {
    let mut keys = BTreeSet::from([GITHUB_TOKEN.to_string()]);
    let types = state.get("action_types").and_then(Value::as_object);
    for registered in types.into_iter().flat_map(|t| t.values()) {
        let properties = registered
            .pointer("/action_type/actionConfigurationProperties")
            .and_then(Value::as_array);
        for property in properties.into_iter().flatten() {
            if property.get("secret") == Some(&Value::Bool(true)) {
                if let Some(name) = property.get("name").and_then(Value::as_str) {
                    keys.insert(name.to_string());
                }
            }
        }
    }
    keys
}

/// Replaces every secret value in `document` with `****`.
pub fn mask(document: &mut Value, keys: &BTreeSet<String>) {
    visit(document, keys, &mut |_, value| {
        *value = Value::String(MASK.into())
    });
}

/// The paths of the secret values of `document` that are `****` (a masked export).
pub fn masked_paths(document: &mut Value, keys: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    visit(document, keys, &mut |path, value| {
        if value.as_str() == Some(MASK) {
            found.push(path.to_string());
        }
    });
    found
}

/// Calls `f` with the path and value of every secret in `value`.
fn visit(value: &mut Value, keys: &BTreeSet<String>, f: &mut dyn FnMut(&str, &mut Value)) {
    walk(value, "", keys, f);
}

fn walk(
    value: &mut Value,
    path: &str,
    keys: &BTreeSet<String>,
    f: &mut dyn FnMut(&str, &mut Value),
) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let child_path = format!("{path}/{key}");
                let secrets: Option<&dyn Fn(&str) -> bool> = match key.as_str() {
                    "configuration" | "resolvedConfiguration" => Some(&|k| keys.contains(k)),
                    "authenticationConfiguration" => Some(&|k| k == WEBHOOK_SECRET),
                    _ => None,
                };
                match (secrets, child.as_object_mut()) {
                    (Some(is_secret), Some(entries)) => {
                        for (name, secret) in entries.iter_mut() {
                            if is_secret(name) && !secret.is_null() {
                                f(&format!("{child_path}/{name}"), secret);
                            }
                        }
                    }
                    _ => walk(child, &child_path, keys, f),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &format!("{path}/{i}"), keys, f);
            }
        }
        _ => {}
    }
}

/// Masks the secrets of a serialized `Config`: the S3 secret key, the admin token, the
/// environment variables of the CodeBuild projects and the passwords of repository URLs.
pub fn mask_config(config: &mut Value) {
    for key in ["s3_secret_access_key", "admin_token"] {
        if let Some(value) = config.get_mut(key).filter(|v| !v.is_null()) {
            *value = Value::String(MASK.into());
        }
    }
    let projects = config
        .get_mut("codebuild_projects")
        .and_then(Value::as_array_mut);
    for project in projects.into_iter().flatten() {
        let variables = project
            .pointer_mut("/env/variables")
            .and_then(Value::as_object_mut);
        for value in variables.into_iter().flat_map(|v| v.values_mut()) {
            *value = Value::String(MASK.into());
        }
    }
    let repositories = config.get_mut("repositories").and_then(Value::as_array_mut);
    for repository in repositories.into_iter().flatten() {
        if let Some(path) = repository.get_mut("path") {
            if let Some(text) = path.as_str() {
                *path = Value::String(crate::actions::git::remote::redact(text));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_where_they_are_and_nowhere_else() {
        let mut doc = json!({
            "pipelines": {"p": {"versions": [{"stages": [{"actions": [{
                "name": "OAuthToken",
                "configuration": {"OAuthToken": "gh-token", "Owner": "me", "Password": "pw"}
            }]}]}]}},
            "webhooks": {"w": {"definition": {"authenticationConfiguration": {"SecretToken": "s", "AllowedIPRange": "10.0.0.0/8"}}}}
        });
        let keys = BTreeSet::from(["OAuthToken".to_string(), "Password".to_string()]);
        mask(&mut doc, &keys);
        let action = &doc["pipelines"]["p"]["versions"][0]["stages"][0]["actions"][0];
        assert_eq!(action["name"], "OAuthToken");
        assert_eq!(action["configuration"]["OAuthToken"], MASK);
        assert_eq!(action["configuration"]["Password"], MASK);
        assert_eq!(action["configuration"]["Owner"], "me");
        let auth = &doc["webhooks"]["w"]["definition"]["authenticationConfiguration"];
        assert_eq!(auth["SecretToken"], MASK);
        assert_eq!(auth["AllowedIPRange"], "10.0.0.0/8");
        assert_eq!(
            masked_paths(&mut doc, &keys),
            [
                "/pipelines/p/versions/0/stages/0/actions/0/configuration/OAuthToken",
                "/pipelines/p/versions/0/stages/0/actions/0/configuration/Password",
                "/webhooks/w/definition/authenticationConfiguration/SecretToken",
            ]
        );
    }

    #[test]
    fn codebuild_environment_values_are_masked() {
        let mut config =
            json!({"codebuild_projects": [{"name": "b", "env": {"variables": {"TOKEN": "t"}}}]});
        mask_config(&mut config);
        assert_eq!(
            config["codebuild_projects"][0]["env"]["variables"]["TOKEN"],
            MASK
        );
        assert_eq!(config["codebuild_projects"][0]["name"], "b");
    }

    #[test]
    fn repository_url_passwords_are_masked() {
        let mut config = json!({"repositories": [
            {"id": "o/a", "path": "https://me:tok3n@git.example.com/o/a.git"},
            {"id": "o/b", "path": "/src/b"}
        ]});
        mask_config(&mut config);
        assert_eq!(
            config["repositories"][0]["path"],
            "https://me:***@git.example.com/o/a.git"
        );
        assert_eq!(config["repositories"][1]["path"], "/src/b");
    }
}
