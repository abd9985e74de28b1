//! The CloudFormation deploy action for real, on `--cloudformation-endpoint` (LocalStack,
//! moto), in the action modes AWS has:
//!
//! - `CREATE_UPDATE`: creates the stack, or updates it when it exists ("No updates are to be
//!   performed" succeeds); a stack in a failed state fails the action as CloudFormation says.
//! - `REPLACE_ON_FAILURE`: the same, but a stack in a failed state is deleted and created anew.
//! - `DELETE_ONLY`: deletes the stack; a stack that does not exist succeeds.
//! - `CHANGE_SET_REPLACE`: deletes the change set if it exists and creates it again.
//! - `CHANGE_SET_EXECUTE`: executes the change set.
//!
//! The template (`TemplatePath`), template configuration and `ParameterOverrides` are read
//! from the input artifacts (`parameters`). The action waits for the operation to settle
//! (`wait`); the stack's outputs become its output variables and, with `OutputFileName`, a
//! JSON file in its output artifact.

pub mod client;
pub mod parameters;
pub mod wait;

use super::artifacts::ArtifactStore;
use super::Task;
use crate::config::Config;
use crate::engine::Outcome;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, Tag};
use aws_sdk_cloudformation::Client;
use client::CfnError;
use parameters::ArtifactFiles;
use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use wait::StackView;

/// What a stack is deployed with.
struct Deployment {
    /// The template's text, or `None` when it is too large and passed by URL.
    template: Option<String>,
    template_url: Option<String>,
    parameters: Vec<Parameter>,
    capabilities: Vec<Capability>,
    role_arn: Option<String>,
    tags: Vec<Tag>,
    stack_policy: Option<String>,
}

/// How an action mode ended well: a summary, the stack whose outputs the action reports, and
/// the id of the stack it acted on (its external execution id).
struct Done {
    summary: String,
    stack: Option<StackView>,
    stack_id: Option<String>,
}

impl Done {
    fn new(summary: String, stack: Option<StackView>) -> Done {
        let stack_id = stack.as_ref().map(|s| s.id.clone());
        Done {
            summary,
            stack,
            stack_id,
        }
    }
}

/// Runs the action against the CloudFormation endpoint.
pub async fn run(config: &Config, store: Option<&ArtifactStore>, task: &Task) -> Outcome {
    let failed = |message: String| Outcome::failed("JobFailed", message);
    let region = task
        .action
        .region
        .as_deref()
        .cloned()
        .unwrap_or_else(|| config.s3_region().to_string());
    let Some(client) = client::client(config, &region) else {
        return failed("This action needs --cloudformation-endpoint".into());
    };
    let setting = |key: &str| {
        task.configuration
            .get(key)
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let Some(stack) = setting("StackName") else {
        return failed("The CloudFormation action needs a StackName".into());
    };
    let mode = setting("ActionMode").unwrap_or_default();
    let mut files = ArtifactFiles::new(store, &task.inputs, config.artifact_max_uncompressed_bytes);
    let done = match mode.as_str() {
        "CREATE_UPDATE" | "REPLACE_ON_FAILURE" => {
            match deployment(task, &mut files).await {
                Ok(deployment) => {
                    create_or_update(&client, &stack, &deployment, mode == "REPLACE_ON_FAILURE")
                        .await
                }
                Err(message) => Err(message),
            }
        }
        "DELETE_ONLY" => delete(&client, &stack, setting("RoleArn")).await,
        "CHANGE_SET_REPLACE" | "CHANGE_SET_EXECUTE" => match setting("ChangeSetName") {
            None => Err(format!("The {mode} action mode needs a ChangeSetName")),
            Some(change_set) if mode == "CHANGE_SET_EXECUTE" => {
                execute_change_set(&client, &stack, &change_set).await
            }
            Some(change_set) => match deployment(task, &mut files).await {
                Ok(deployment) => {
                    replace_change_set(&client, &stack, &change_set, &deployment).await
                }
                Err(message) => Err(message),
            },
        },
        other => Err(format!(
            "ActionMode '{other}' is not one of CREATE_UPDATE, DELETE_ONLY, REPLACE_ON_FAILURE, CHANGE_SET_REPLACE, CHANGE_SET_EXECUTE"
        )),
    };
    let done = match done {
        Ok(done) => done,
        Err(message) => return failed(message),
    };
    let outputs = done
        .stack
        .as_ref()
        .map(|s| s.outputs.clone())
        .unwrap_or_default();
    if let Err(message) =
        write_output_artifact(store, task, setting("OutputFileName"), &outputs).await
    {
        return failed(message);
    }
    super::succeeded(done.summary, outputs, done.stack_id, None)
}

/// The template, parameters and settings of a deploying mode.
async fn deployment(task: &Task, files: &mut ArtifactFiles<'_>) -> Result<Deployment, String> {
    let setting = |key: &str| task.configuration.get(key).filter(|v| !v.is_empty());
    let Some(template_path) = setting("TemplatePath") else {
        return Err("The CloudFormation action needs a TemplatePath".into());
    };
    let template = files.read("TemplatePath", template_path).await?;
    let template = String::from_utf8(template)
        .map_err(|_| format!("The template {template_path} is not UTF-8 text"))?;
    let (template, template_url) = if template.len() > MAX_TEMPLATE_BODY {
        (
            None,
            Some(upload_template(task, files, template_path, template).await?),
        )
    } else {
        (Some(template), None)
    };
    let configuration = match setting("TemplateConfiguration") {
        Some(path) => {
            let text = files.read("TemplateConfiguration", path).await?;
            parameters::template_configuration(&text)?
        }
        None => Default::default(),
    };
    let overrides = match setting("ParameterOverrides") {
        Some(text) => parameters::parameter_overrides(text)?,
        None => Default::default(),
    };
    let values = parameters::resolve_parameters(files, configuration.parameters, overrides).await?;
    Ok(Deployment {
        template,
        template_url,
        parameters: values
            .into_iter()
            .map(|(k, v)| {
                Parameter::builder()
                    .parameter_key(k)
                    .parameter_value(v)
                    .build()
            })
            .collect(),
        capabilities: setting("Capabilities")
            .map(|c| {
                c.split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(Capability::from)
                    .collect()
            })
            .unwrap_or_default(),
        role_arn: setting("RoleArn").cloned(),
        tags: configuration
            .tags
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect(),
        stack_policy: configuration.stack_policy,
    })
}

/// The largest template CloudFormation takes as `TemplateBody`; a larger one goes by URL.
const MAX_TEMPLATE_BODY: usize = 51_200;

/// Puts a large template next to its artifact in the artifact store and returns its S3 URL
/// (path-style `https://s3.amazonaws.com/BUCKET/KEY`, as LocalStack and moto resolve it
/// against their own S3).
async fn upload_template(
    task: &Task,
    files: &ArtifactFiles<'_>,
    template_path: &str,
    template: String,
) -> Result<String, String> {
    let (artifact, path) = parameters::split_file("TemplatePath", template_path)?;
    let (Some(store), Some((bucket, _))) = (files.store(), files.location(artifact)) else {
        return Err(super::artifacts::NO_STORE.to_string());
    };
    let name = path.rsplit('/').next().unwrap_or(path);
    let key = format!(
        "{}/cfn-templates/{}/{name}",
        task.pipeline, task.action_execution_id
    );
    store
        .put(&bucket, &key, template.into_bytes())
        .await
        .map_err(|e| format!("Could not upload the template to s3://{bucket}/{key}. Error: {e}"))?;
    Ok(format!("https://s3.amazonaws.com/{bucket}/{key}"))
}

/// CREATE_UPDATE and REPLACE_ON_FAILURE.
async fn create_or_update(
    client: &Client,
    stack: &str,
    deployment: &Deployment,
    replace_on_failure: bool,
) -> Result<Done, String> {
    let cfn = |e: CfnError| e.to_string();
    let mut existing = wait::describe(client, stack).await.map_err(cfn)?;
    if let Some(current) = existing.as_ref() {
        if replace_on_failure && wait::failed_state(&current.status) {
            tracing::info!(stack, status = %current.status, "cloudformation: replacing a failed stack");
            delete(client, stack, deployment.role_arn.clone()).await?;
            existing = None;
        }
    }
    let creating = existing
        .as_ref()
        .is_none_or(|s| s.status == "REVIEW_IN_PROGRESS");
    let id = if creating {
        client
            .create_stack()
            .stack_name(stack)
            .set_template_body(deployment.template.clone())
            .set_template_url(deployment.template_url.clone())
            .set_parameters(Some(deployment.parameters.clone()))
            .set_capabilities(Some(deployment.capabilities.clone()))
            .set_role_arn(deployment.role_arn.clone())
            .set_tags(Some(deployment.tags.clone()))
            .set_stack_policy_body(deployment.stack_policy.clone())
            .send()
            .await
            .map_err(|e| cfn(CfnError::from_sdk(e)))?
            .stack_id()
            .unwrap_or(stack)
            .to_string()
    } else {
        let updated = client
            .update_stack()
            .stack_name(stack)
            .set_template_body(deployment.template.clone())
            .set_template_url(deployment.template_url.clone())
            .set_parameters(Some(deployment.parameters.clone()))
            .set_capabilities(Some(deployment.capabilities.clone()))
            .set_role_arn(deployment.role_arn.clone())
            .set_tags(Some(deployment.tags.clone()))
            .set_stack_policy_body(deployment.stack_policy.clone())
            .send()
            .await;
        match updated {
            Ok(out) => out.stack_id().unwrap_or(stack).to_string(),
            Err(e) => {
                let e = CfnError::from_sdk(e);
                if e.no_updates() {
                    return Ok(Done::new(
                        format!("No updates are to be performed on stack {stack}"),
                        existing,
                    ));
                }
                return Err(e.to_string());
            }
        }
    };
    let settled = settled_ok(client, stack, &id).await?;
    Ok(Done::new(
        format!(
            "Stack {stack} {}: {}",
            if creating { "created" } else { "updated" },
            settled.status
        ),
        Some(settled),
    ))
}

/// Waits for the stack `id` and fails unless its operation succeeded.
async fn settled_ok(client: &Client, stack: &str, id: &str) -> Result<StackView, String> {
    match wait::settled(client, id).await.map_err(|e| e.to_string())? {
        Some(view) if wait::succeeded(&view.status) => Ok(view),
        Some(view) => Err(wait::failure_message(client, &view).await),
        None => Err(format!("Stack with id {stack} does not exist")),
    }
}

/// DELETE_ONLY (and the first half of REPLACE_ON_FAILURE).
async fn delete(client: &Client, stack: &str, role_arn: Option<String>) -> Result<Done, String> {
    let Some(existing) = wait::describe(client, stack)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(Done::new(
            format!("Stack {stack} does not exist: nothing to delete"),
            None,
        ));
    };
    client
        .delete_stack()
        .stack_name(&existing.id)
        .set_role_arn(role_arn)
        .send()
        .await
        .map_err(|e| CfnError::from_sdk(e).to_string())?;
    match wait::settled(client, &existing.id)
        .await
        .map_err(|e| e.to_string())?
    {
        None => {}
        Some(view) if view.status == "DELETE_COMPLETE" => {}
        Some(view) => return Err(wait::failure_message(client, &view).await),
    }
    Ok(Done::new(format!("Stack {stack} deleted"), None))
}

/// CHANGE_SET_REPLACE.
async fn replace_change_set(
    client: &Client,
    stack: &str,
    change_set: &str,
    deployment: &Deployment,
) -> Result<Done, String> {
    let existing = wait::describe(client, stack)
        .await
        .map_err(|e| e.to_string())?;
    let creating = existing
        .as_ref()
        .is_none_or(|s| s.status == "REVIEW_IN_PROGRESS");
    if existing.is_some() {
        // Replaced: a change set that does not exist yet is fine.
        let deleted = client
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .send()
            .await;
        if let Err(e) = deleted {
            tracing::debug!(stack, change_set, error = %CfnError::from_sdk(e), "cloudformation: no change set to delete");
        }
    }
    let created = client
        .create_change_set()
        .stack_name(stack)
        .change_set_name(change_set)
        .change_set_type(if creating {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .set_template_body(deployment.template.clone())
        .set_template_url(deployment.template_url.clone())
        .set_parameters(Some(deployment.parameters.clone()))
        .set_capabilities(Some(deployment.capabilities.clone()))
        .set_role_arn(deployment.role_arn.clone())
        .set_tags(Some(deployment.tags.clone()))
        .send()
        .await;
    let unchanged = |existing| {
        Done::new(
            format!("Change set {change_set} of stack {stack}: no changes"),
            existing,
        )
    };
    let stack_id = match created {
        Ok(out) => out.stack_id().map(str::to_string),
        Err(e) => {
            let e = CfnError::from_sdk(e);
            return if e.no_updates() {
                Ok(unchanged(existing))
            } else {
                Err(e.to_string())
            };
        }
    };
    let view = wait::change_set(client, stack, change_set)
        .await
        .map_err(|e| e.to_string())?;
    if view.has_no_changes() {
        return Ok(unchanged(existing));
    }
    if view.status == "FAILED" {
        return Err(view
            .reason
            .unwrap_or_else(|| format!("Change set {change_set} failed")));
    }
    let mut done = Done::new(
        format!("Change set {change_set} of stack {stack} created"),
        existing.filter(|s| !creating && wait::succeeded(&s.status)),
    );
    done.stack_id = done.stack_id.or(stack_id);
    Ok(done)
}

/// CHANGE_SET_EXECUTE.
async fn execute_change_set(
    client: &Client,
    stack: &str,
    change_set: &str,
) -> Result<Done, String> {
    let view = wait::change_set(client, stack, change_set)
        .await
        .map_err(|e| e.to_string())?;
    if view.has_no_changes() {
        let current = wait::describe(client, stack)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(Done::new(
            format!("Change set {change_set} of stack {stack} has no changes"),
            current,
        ));
    }
    if view.status == "FAILED" {
        return Err(view
            .reason
            .unwrap_or_else(|| format!("Change set {change_set} failed")));
    }
    client
        .execute_change_set()
        .stack_name(stack)
        .change_set_name(change_set)
        .send()
        .await
        .map_err(|e| CfnError::from_sdk(e).to_string())?;
    // The stack may not show the operation at once: wait for the change set's execution to
    // leave AVAILABLE / EXECUTE_IN_PROGRESS first (a change set that is gone has run).
    let mut delay = std::time::Duration::from_millis(100);
    while let Ok(view) = wait::change_set(client, stack, change_set).await {
        if !matches!(
            view.execution_status.as_str(),
            "AVAILABLE" | "EXECUTE_IN_PROGRESS"
        ) {
            break;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(5));
    }
    let settled = settled_ok(client, stack, stack).await?;
    Ok(Done::new(
        format!(
            "Change set {change_set} of stack {stack} executed: {}",
            settled.status
        ),
        Some(settled),
    ))
}

/// Writes the action's output artifact (when it has one): the stack outputs as JSON in
/// `OutputFileName`, or an empty archive without it.
async fn write_output_artifact(
    store: Option<&ArtifactStore>,
    task: &Task,
    file_name: Option<String>,
    outputs: &BTreeMap<String, String>,
) -> Result<(), String> {
    let Some(output) = task.outputs.first() else {
        return Ok(());
    };
    let Some(store) = store else {
        return match file_name {
            Some(_) => Err(super::artifacts::NO_STORE.to_string()),
            None => Ok(()),
        };
    };
    let mut files = Vec::new();
    if let Some(name) = file_name {
        let json = serde_json::to_vec_pretty(outputs).map_err(|e| e.to_string())?;
        files.push((name, json));
    }
    let bytes =
        zip(&files).map_err(|e| format!("Cannot pack output artifact '{}': {e}", output.name))?;
    store
        .put_artifact(&output.name, &output.bucket, &output.key, bytes)
        .await
}

/// A zip archive of in-memory files.
fn zip(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, contents) in files {
        writer
            .start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .map_err(|e| e.to_string())?;
        writer.write_all(contents).map_err(|e| e.to_string())?;
    }
    Ok(writer.finish().map_err(|e| e.to_string())?.into_inner())
}
