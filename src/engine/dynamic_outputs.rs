//! Output variables whose names the user chooses — CloudFormation stack outputs, CodeBuild
//! exported variables, a Lambda function's `outputVariables`, a Commands action's declared
//! `outputVariables` — which a simulated action cannot know. So that what the pipeline reads
//! resolves, a simulated action of such a provider exports every variable that the pipeline
//! references from its namespace (and every name a Commands action declares), valued
//! `simulated-<Name>`. `[[actions]] output_variables` replace these values.

use crate::model::catalog;
use crate::model::*;
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// `#{Namespace.Name}`.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"#\{([A-Za-z0-9@_-]+)\.([^}]+)\}").expect("the reference pattern is valid")
});

/// The placeholder value of a dynamic output variable.
pub fn placeholder(name: &str) -> String {
    format!("simulated-{name}")
}

/// The dynamic output variables a simulated action exports (empty for fixed-output providers).
pub fn placeholders(
    pipeline: &PipelineDeclaration,
    action: &ActionDeclaration,
) -> BTreeMap<String, String> {
    let id = &action.action_type_id;
    if !catalog::action_type(id).is_some_and(|t| t.dynamic_outputs) {
        return BTreeMap::new();
    }
    let names: Vec<String> = if id.provider == "Commands" {
        action.output_variables.clone().unwrap_or_default()
    } else {
        match &action.namespace {
            Some(namespace) => referenced(pipeline, namespace),
            None => Vec::new(),
        }
    };
    names
        .into_iter()
        .map(|name| {
            let value = placeholder(&name);
            (name, value)
        })
        .collect()
}

/// The variable names that any string of the declaration reads from `namespace`.
fn referenced(pipeline: &PipelineDeclaration, namespace: &str) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(value) = serde_json::to_value(pipeline) {
        collect(&value, namespace, &mut names);
    }
    names.sort();
    names.dedup();
    names
}

fn collect(value: &Value, namespace: &str, names: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            for found in REFERENCE.captures_iter(text) {
                if &found[1] == namespace {
                    names.push(found[2].to_string());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, namespace, names)),
        Value::Object(map) => map.values().for_each(|v| collect(v, namespace, names)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(
        provider: &str,
        category: ActionCategory,
        namespace: Option<&str>,
    ) -> ActionDeclaration {
        ActionDeclaration {
            name: provider.into(),
            action_type_id: ActionTypeId {
                category,
                owner: ActionOwner::Aws,
                provider: provider.into(),
                version: "1".into(),
            },
            namespace: namespace.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn a_stack_exports_what_later_actions_read_from_its_namespace() {
        let deploy = action("CloudFormation", ActionCategory::Deploy, Some("MyStack"));
        let mut reader = action("Lambda", ActionCategory::Invoke, None);
        reader.configuration = Some(BTreeMap::from([(
            "UserParameters".to_string(),
            "#{MyStack.FunctionUrl} #{MyStack.ApiUrl} #{Other.X}".to_string(),
        )]));
        let pipeline = PipelineDeclaration {
            stages: vec![StageDeclaration {
                name: "Deploy".into(),
                actions: vec![deploy.clone(), reader],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            placeholders(&pipeline, &deploy),
            BTreeMap::from([
                ("ApiUrl".to_string(), "simulated-ApiUrl".to_string()),
                (
                    "FunctionUrl".to_string(),
                    "simulated-FunctionUrl".to_string()
                ),
            ])
        );
        let s3 = action("S3", ActionCategory::Deploy, Some("MyStack"));
        assert!(placeholders(&pipeline, &s3).is_empty());
    }

    #[test]
    fn commands_exports_its_declared_output_variables() {
        let mut commands = action("Commands", ActionCategory::Compute, Some("Build"));
        commands.output_variables = Some(vec!["VERSION".into()]);
        let pipeline = PipelineDeclaration::default();
        assert_eq!(
            placeholders(&pipeline, &commands),
            BTreeMap::from([("VERSION".to_string(), "simulated-VERSION".to_string())])
        );
    }
}
