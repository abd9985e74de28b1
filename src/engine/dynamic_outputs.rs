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

/// The dynamic output variables that the simulated action `(stage, action)` of the pipeline
/// exports (none for fixed-output providers).
pub fn placeholders(
    pipeline: &PipelineDeclaration,
    (stage, action): (&str, &str),
) -> BTreeMap<String, String> {
    let Some(action) = pipeline
        .stages
        .iter()
        .find(|s| s.name == stage)
        .and_then(|s| s.actions.iter().find(|a| a.name == action))
    else {
        return BTreeMap::new();
    };
    let id = &action.action_type_id;
    if !catalog::action_type(id).is_some_and(|t| t.dynamic_outputs) {
        return BTreeMap::new();
    }
    // CloudFormation reports stack outputs in every mode but DELETE_ONLY.
    let deletes = action
        .configuration
        .as_ref()
        .and_then(|c| c.get("ActionMode"))
        .is_some_and(|mode| mode == "DELETE_ONLY");
    if id.provider == "CloudFormation" && deletes {
        return BTreeMap::new();
    }
    let names: Vec<String> = if id.provider == "Commands" {
        action
            .output_variables
            .as_deref()
            .cloned()
            .unwrap_or_default()
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

/// What a loaded template declares that a simulated action exports, exactly (AWS exports no
/// other names): for a CloudFormation deploy of a loaded stack, its `Outputs` with their values;
/// for a CodeBuild action of a known project, its `exported-variables`. `None` when nothing is
/// known (then `placeholders` apply).
pub fn declared(
    type_id: &ActionTypeId,
    configuration: &Map<String>,
    stack_outputs: impl Fn(&str) -> Option<BTreeMap<String, String>>,
    project_exports: impl Fn(&str) -> Option<Vec<String>>,
) -> Option<BTreeMap<String, String>> {
    let get = |key: &str| configuration.get(key).map(String::as_str);
    match type_id.provider.as_str() {
        "CloudFormation" if get("ActionMode") != Some("DELETE_ONLY") => {
            stack_outputs(get("StackName")?)
        }
        "CodeBuild" => Some(
            project_exports(get("ProjectName")?)?
                .into_iter()
                .map(|name| {
                    let value = placeholder(&name);
                    (name, value)
                })
                .collect(),
        ),
        _ => None,
    }
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

    fn action(provider: &str, category: ActionCategory, namespace: &str) -> ActionDeclaration {
        ActionDeclaration {
            name: namespace.into(),
            action_type_id: ActionTypeId {
                category,
                owner: ActionOwner::Aws,
                provider: provider.into(),
                version: "1".into(),
            },
            namespace: Some(namespace.to_string()),
            ..Default::default()
        }
    }

    fn configured(mut action: ActionDeclaration, key: &str, value: &str) -> ActionDeclaration {
        action.configuration = Some(Map::from([(key.to_string(), value.to_string())]));
        action
    }

    fn one_stage(actions: Vec<ActionDeclaration>) -> PipelineDeclaration {
        PipelineDeclaration {
            stages: vec![StageDeclaration {
                name: "Deploy".into(),
                actions,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_stack_exports_what_the_pipeline_reads_from_its_namespace() {
        let reader = configured(
            action("Lambda", ActionCategory::Invoke, "Reader"),
            "UserParameters",
            "#{MyStack.FunctionUrl} #{MyStack.ApiUrl} #{Other.X} #{Files.Y} #{Gone.Z}",
        );
        let pipeline = one_stage(vec![
            action("CloudFormation", ActionCategory::Deploy, "MyStack"),
            action("S3", ActionCategory::Deploy, "Files"),
            configured(
                action("CloudFormation", ActionCategory::Deploy, "Gone"),
                "ActionMode",
                "DELETE_ONLY",
            ),
            reader,
        ]);
        assert_eq!(
            placeholders(&pipeline, ("Deploy", "MyStack")),
            BTreeMap::from([
                ("ApiUrl".to_string(), "simulated-ApiUrl".to_string()),
                (
                    "FunctionUrl".to_string(),
                    "simulated-FunctionUrl".to_string()
                ),
            ])
        );
        assert!(placeholders(&pipeline, ("Deploy", "Files")).is_empty());
        assert!(placeholders(&pipeline, ("Deploy", "Gone")).is_empty());
    }

    #[test]
    fn commands_exports_its_declared_output_variables() {
        let mut commands = action("Commands", ActionCategory::Compute, "Build");
        commands.output_variables = Some(Box::new(vec!["VERSION".into()]));
        let pipeline = one_stage(vec![commands]);
        assert_eq!(
            placeholders(&pipeline, ("Deploy", "Build")),
            BTreeMap::from([("VERSION".to_string(), "simulated-VERSION".to_string())])
        );
    }
}
