//! The CodePipeline resources of a template, from their resolved properties to the API's
//! inputs: `AWS::CodePipeline::Pipeline` (CreatePipeline), `AWS::CodePipeline::Webhook`
//! (PutWebhook), `AWS::CodePipeline::CustomActionType` (CreateCustomActionType) and
//! `AWS::CodeBuild::Project` (kept for CodeBuild actions: buildspec, environment variables,
//! `exported-variables`).

use super::convert::to_api;
use super::intrinsics::{join, placeholder};
use super::TemplateError;
use crate::actions::buildspec::BuildspecArtifacts;
use crate::actions::commands::CodeBuildProject;
use serde_json::{json, Map, Value};

/// A pipeline resource as CreatePipeline/UpdatePipeline take it.
#[derive(Debug, Clone)]
pub struct PipelineResource {
    pub logical_id: String,
    pub name: String,
    /// The name was made up (`<stack>-<logicalId>-<suffix>`): the template gave none.
    pub generated_name: bool,
    /// The API's `PipelineDeclaration`.
    pub declaration: Value,
    /// The API's `TagList`.
    pub tags: Value,
    /// `DisableInboundStageTransitions`: (stage, reason).
    pub disabled_transitions: Vec<(String, String)>,
}

/// A webhook resource as PutWebhook takes it.
#[derive(Debug, Clone)]
pub struct WebhookResource {
    pub logical_id: String,
    /// The API's `PutWebhookInput`.
    pub input: Value,
    pub register_with_third_party: bool,
}

/// A custom action type as CreateCustomActionType takes it.
#[derive(Debug, Clone)]
pub struct ActionTypeResource {
    pub logical_id: String,
    /// The API's `CreateCustomActionTypeInput`.
    pub input: Value,
}

/// A CodeBuild project, kept for the CodeBuild actions that name it.
#[derive(Debug, Clone)]
pub struct ProjectResource {
    pub logical_id: String,
    pub project: CodeBuildProject,
}

fn take(props: &mut Map<String, Value>, key: &str) -> Option<Value> {
    props.remove(key)
}

fn error(path: &str, message: impl Into<String>) -> TemplateError {
    TemplateError {
        path: path.to_string(),
        code: "ValidationError",
        message: message.into(),
    }
}

fn string(value: &Value, path: &str) -> Result<String, TemplateError> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| error(path, format!("expected a string, got {value}")))
}

pub fn pipeline(
    logical_id: &str,
    properties: Value,
    physical_name: String,
    path: &str,
) -> Result<PipelineResource, TemplateError> {
    let mut props = into_object(properties, path)?;
    let generated_name = !props.contains_key("Name");
    take(&mut props, "Name");
    // Replaces the pipeline on update in CloudFormation; a load always updates in place.
    take(&mut props, "RestartExecutionOnUpdate");
    let tags = match take(&mut props, "Tags") {
        Some(tags) => to_api(&tags, "TagList", &join(path, "Tags"))?,
        None => Value::Array(Vec::new()),
    };
    let mut disabled_transitions = Vec::new();
    if let Some(list) = take(&mut props, "DisableInboundStageTransitions") {
        let list_path = join(path, "DisableInboundStageTransitions");
        for (i, item) in list.as_array().into_iter().flatten().enumerate() {
            let item_path = format!("{list_path}[{i}]");
            let stage = item
                .get("StageName")
                .ok_or_else(|| error(&item_path, "StageName is required"))?;
            let reason = item
                .get("Reason")
                .ok_or_else(|| error(&item_path, "Reason is required"))?;
            disabled_transitions.push((
                string(stage, &join(&item_path, "StageName"))?,
                string(reason, &join(&item_path, "Reason"))?,
            ));
        }
    }
    let artifact_stores = take(&mut props, "ArtifactStores")
        .map(|stores| artifact_store_map(&stores, &join(path, "ArtifactStores")))
        .transpose()?;
    let mut declaration = to_api(&Value::Object(props), "PipelineDeclaration", path)?;
    if let Some(object) = declaration.as_object_mut() {
        object.insert("name".into(), Value::String(physical_name.clone()));
        if let Some(stores) = artifact_stores {
            object.insert("artifactStores".into(), stores);
        }
    }
    Ok(PipelineResource {
        logical_id: logical_id.to_string(),
        name: physical_name,
        generated_name,
        declaration,
        tags,
        disabled_transitions,
    })
}

/// `ArtifactStores: [{Region, ArtifactStore}]` -> `artifactStores: {REGION: store}`.
fn artifact_store_map(stores: &Value, path: &str) -> Result<Value, TemplateError> {
    let mut map = Map::new();
    let items = stores
        .as_array()
        .ok_or_else(|| error(path, "expected a list"))?;
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let region = item
            .get("Region")
            .ok_or_else(|| error(&item_path, "Region is required"))?;
        let store = item
            .get("ArtifactStore")
            .ok_or_else(|| error(&item_path, "ArtifactStore is required"))?;
        if let Some(extra) = item
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "Region" && *k != "ArtifactStore"))
        {
            return Err(error(
                &join(&item_path, extra),
                format!("the property {extra} is not supported here"),
            ));
        }
        map.insert(
            string(region, &join(&item_path, "Region"))?,
            to_api(store, "ArtifactStore", &join(&item_path, "ArtifactStore"))?,
        );
    }
    Ok(Value::Object(map))
}

pub fn webhook(
    logical_id: &str,
    properties: Value,
    physical_name: String,
    path: &str,
) -> Result<WebhookResource, TemplateError> {
    let mut props = into_object(properties, path)?;
    take(&mut props, "Name");
    // The API keeps no pipeline version on a webhook.
    take(&mut props, "TargetPipelineVersion");
    let register = match take(&mut props, "RegisterWithThirdParty") {
        Some(Value::Bool(b)) => b,
        Some(Value::String(s))
            if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
        {
            s.eq_ignore_ascii_case("true")
        }
        Some(other) => {
            return Err(error(
                &join(path, "RegisterWithThirdParty"),
                format!("expected a boolean, got {other}"),
            ))
        }
        None => false,
    };
    let tags = take(&mut props, "Tags")
        .map(|t| to_api(&t, "TagList", &join(path, "Tags")))
        .transpose()?;
    let mut definition = to_api(&Value::Object(props), "WebhookDefinition", path)?;
    if let Some(object) = definition.as_object_mut() {
        object.insert("name".into(), Value::String(physical_name));
    }
    let mut input = json!({ "webhook": definition });
    if let Some(tags) = tags {
        input["tags"] = tags;
    }
    Ok(WebhookResource {
        logical_id: logical_id.to_string(),
        input,
        register_with_third_party: register,
    })
}

pub fn custom_action_type(
    logical_id: &str,
    properties: Value,
    path: &str,
) -> Result<ActionTypeResource, TemplateError> {
    Ok(ActionTypeResource {
        logical_id: logical_id.to_string(),
        input: to_api(&properties, "CreateCustomActionTypeInput", path)?,
    })
}

/// A CodeBuild project: its name, inline buildspec (YAML or JSON) and plain-text environment
/// variables. Other properties describe the build host and are not needed here.
pub fn codebuild_project(
    logical_id: &str,
    properties: &Value,
    physical_name: String,
    path: &str,
) -> Result<ProjectResource, TemplateError> {
    let mut project = CodeBuildProject {
        name: physical_name,
        ..CodeBuildProject::default()
    };
    let env_path = join(path, "Environment.EnvironmentVariables");
    let variables = properties.pointer("/Environment/EnvironmentVariables");
    for (i, variable) in variables
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let item_path = format!("{env_path}[{i}]");
        let name = string(
            variable.get("Name").unwrap_or(&Value::Null),
            &join(&item_path, "Name"),
        )?;
        let value = match variable.get("Value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => return Err(error(&join(&item_path, "Value"), "expected a string")),
        };
        // The local executor resolves these against --ssm-endpoint/--secretsmanager-endpoint.
        match variable.get("Type").and_then(Value::as_str) {
            Some("PARAMETER_STORE") => {
                project
                    .env
                    .parameter_store
                    .insert(name.clone(), value.clone());
            }
            Some("SECRETS_MANAGER") => {
                project
                    .env
                    .secrets_manager
                    .insert(name.clone(), value.clone());
            }
            _ => {}
        }
        let value = match variable.get("Type").and_then(Value::as_str) {
            Some("PARAMETER_STORE") => placeholder(&format!("ssm:{value}")),
            Some("SECRETS_MANAGER") => placeholder(&format!("secretsmanager:{value}")),
            _ => value,
        };
        project.env.variables.insert(name, value);
    }
    project.image = properties
        .pointer("/Environment/Image")
        .and_then(Value::as_str)
        .map(str::to_string);
    project.git_clone_depth = properties
        .pointer("/Source/GitCloneDepth")
        .and_then(|d| d.as_u64().or_else(|| d.as_str()?.parse().ok()))
        .and_then(|d| u32::try_from(d).ok());
    if let Some(buildspec) = properties.pointer("/Source/BuildSpec") {
        let spec_path = join(path, "Source.BuildSpec");
        let text = string(buildspec, &spec_path)?;
        // Kept as written for the local executor (inline, or a file of the primary source).
        project.buildspec = Some(text.clone());
        // A file name in the source (buildspec.yml) cannot be read here: only inline specs.
        if text.contains('\n') || text.trim_start().starts_with('{') {
            apply_buildspec(&mut project, &text, &spec_path)?;
        }
    }
    Ok(ProjectResource {
        logical_id: logical_id.to_string(),
        project,
    })
}

/// Reads the parts of a buildspec the local executor and the simulation use.
fn apply_buildspec(
    project: &mut CodeBuildProject,
    text: &str,
    path: &str,
) -> Result<(), TemplateError> {
    let spec = super::parse::parse_document(text)
        .map_err(|e| error(path, format!("the buildspec is not valid: {e}")))?;
    if let Some(variables) = spec.pointer("/env/variables").and_then(Value::as_object) {
        for (name, value) in variables {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            project.env.variables.insert(name.clone(), value);
        }
    }
    project.env.exported_variables = strings(spec.pointer("/env/exported-variables"));
    project.phases.install = strings(spec.pointer("/phases/install/commands"));
    project.phases.pre_build = strings(spec.pointer("/phases/pre_build/commands"));
    project.phases.build = strings(spec.pointer("/phases/build/commands"));
    project.phases.post_build = strings(spec.pointer("/phases/post_build/commands"));
    if let Some(artifacts) = spec.get("artifacts") {
        project.artifacts = Some(buildspec_artifacts(artifacts));
        for (name, secondary) in artifacts
            .get("secondary-artifacts")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            project
                .secondary_artifacts
                .insert(name.clone(), buildspec_artifacts(secondary));
        }
    }
    Ok(())
}

fn buildspec_artifacts(value: &Value) -> BuildspecArtifacts {
    BuildspecArtifacts {
        files: strings(value.get("files")),
        base_directory: value
            .get("base-directory")
            .and_then(Value::as_str)
            .map(str::to_string),
        discard_paths: matches!(value.get("discard-paths"), Some(Value::Bool(true)))
            || value.get("discard-paths").and_then(Value::as_str) == Some("yes"),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn into_object(value: Value, path: &str) -> Result<Map<String, Value>, TemplateError> {
    match value {
        Value::Object(object) => Ok(object),
        Value::Null => Ok(Map::new()),
        other => Err(error(
            path,
            format!("Properties must be an object, got {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_projects_git_clone_depth_is_read_from_its_source() {
        let properties = serde_json::json!({
            "Source": {"Type": "CODEPIPELINE", "GitCloneDepth": 1, "BuildSpec": "buildspec.yml"}
        });
        let resource =
            codebuild_project("Build", &properties, "app-build".into(), "Resources.Build").unwrap();
        assert_eq!(resource.project.git_clone_depth, Some(1));
        let full = serde_json::json!({"Source": {"Type": "CODEPIPELINE"}});
        let resource =
            codebuild_project("Build", &full, "app-build".into(), "Resources.Build").unwrap();
        assert_eq!(resource.project.git_clone_depth, None);
    }
}
