//! Applies read stacks to an `App` through the API's own handlers (the same input validation
//! and structure rules as a client's CreatePipeline, UpdatePipeline, PutWebhook,
//! CreateCustomActionType, DisableStageTransition): an existing pipeline is updated (a new
//! version), as a stack update would.

use super::caller::Caller;
use super::catalog::LoadedStack;
use super::source::{read_path, LoadOptions};
use super::stack::Stack;
use super::{describe, Problem, TemplateError};
use crate::app::App;
use crate::config::Config;
use crate::model::{ErrorCode, Operation};
use crate::protocol::{ApiError, Scope};
use serde::Serialize;
use serde_json::{json, Value};

/// What a load created or updated in one stack (the load endpoint's answer).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackReport {
    pub stack_name: String,
    pub account: String,
    pub region: String,
    pub file: String,
    pub pipelines: Vec<Applied>,
    pub webhooks: Vec<Applied>,
    pub action_types: Vec<Applied>,
    pub codebuild_projects: Vec<String>,
    pub outputs: std::collections::BTreeMap<String, String>,
}

/// One resource: its name and `created`, `updated` or `unchanged`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub logical_id: String,
    pub name: String,
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// Stop at the first problem (a load), or go on and collect every problem (`validate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    StopAtFirst,
    CollectAll,
}

/// Reads `config.load` (before the app exists): the stacks, and the configuration with their
/// CodeBuild projects added to `codebuild_projects` (a configured project of the same name
/// wins), so the local executor can run them.
pub fn prepare_startup(mut config: Config) -> Result<(Config, Vec<Stack>), String> {
    let options = LoadOptions {
        account: config.account_id.clone(),
        region: config.region.clone(),
        stack_name: None,
        parameters: config.parameters.clone(),
        keep_going: false,
    };
    let mut exports = Default::default();
    let mut stacks = Vec::new();
    for path in &config.load {
        let read = read_path(path, &options, &mut exports).map_err(|p| describe(&p))?;
        stacks.extend(read);
    }
    if let Some(problem) = super::source::unknown_parameters(&stacks, &options) {
        return Err(problem.to_string());
    }
    for project in stacks.iter().flat_map(|s| s.codebuild_projects.iter()) {
        if !config
            .codebuild_projects
            .iter()
            .any(|p| p.name == project.project.name)
        {
            config.codebuild_projects.push(project.project.clone());
        }
    }
    Ok((config, stacks))
}

/// Applies the stacks of `prepare_startup`; the first problem stops the server.
pub async fn load_at_startup(
    app: &App,
    stacks: &[Stack],
    host: Option<&str>,
) -> Result<(), String> {
    let (reports, problems) = apply(app, stacks, ApplyMode::StopAtFirst, host).await;
    if !problems.is_empty() {
        return Err(describe(&problems));
    }
    for report in &reports {
        tracing::info!(
            stack = %report.stack_name,
            account = %report.account,
            region = %report.region,
            pipelines = report.pipelines.len(),
            webhooks = report.webhooks.len(),
            "loaded {}",
            report.file
        );
    }
    Ok(())
}

/// Applies stacks in order: custom action types, pipelines (with tags and disabled
/// transitions), webhooks; then records the stack (`catalog`).
pub async fn apply(
    app: &App,
    stacks: &[Stack],
    mode: ApplyMode,
    host: Option<&str>,
) -> (Vec<StackReport>, Vec<Problem>) {
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    for stack in stacks {
        let (report, stack_problems) = apply_stack(app, stack, mode, host).await;
        let failed = !stack_problems.is_empty();
        problems.extend(stack_problems);
        reports.push(report);
        if failed && mode == ApplyMode::StopAtFirst {
            break;
        }
    }
    (reports, problems)
}

async fn apply_stack(
    app: &App,
    stack: &Stack,
    mode: ApplyMode,
    host: Option<&str>,
) -> (StackReport, Vec<Problem>) {
    let scope = Scope {
        account: stack.id.account.clone(),
        region: stack.id.region.clone(),
    };
    let caller = Caller::new(app, &scope, host);
    let mut report = StackReport {
        stack_name: stack.id.name.clone(),
        account: scope.account.clone(),
        region: scope.region.clone(),
        file: stack.file.clone(),
        outputs: stack.outputs.clone(),
        codebuild_projects: stack
            .codebuild_projects
            .iter()
            .map(|p| p.project.name.clone())
            .collect(),
        ..StackReport::default()
    };
    let mut problems = Vec::new();
    let problem = |logical_id: &str, path: &str, e: ApiError| {
        Problem::new(
            &stack.file,
            logical_id,
            TemplateError {
                path: path.to_string(),
                code: e.code.as_str(),
                message: e.message,
            },
        )
    };
    macro_rules! check {
        ($result:expr, $logical_id:expr, $path:expr) => {
            match $result {
                Ok(value) => value,
                Err(e) => {
                    problems.push(problem($logical_id, $path, e));
                    if mode == ApplyMode::StopAtFirst {
                        return (report, problems);
                    }
                    continue;
                }
            }
        };
    }
    for action_type in &stack.action_types {
        let id = format!(
            "Custom/{}/{}/{}",
            action_type.input["category"].as_str().unwrap_or_default(),
            action_type.input["provider"].as_str().unwrap_or_default(),
            action_type.input["version"].as_str().unwrap_or_default()
        );
        let result = match caller
            .call(Operation::CreateCustomActionType, action_type.input.clone())
            .await
        {
            Ok(_) => "created",
            // The same type loaded again: custom action types cannot be updated.
            Err(e) if e.code == ErrorCode::ActionTypeAlreadyExistsException => "unchanged",
            Err(e) => {
                problems.push(problem(&action_type.logical_id, "Properties", e));
                if mode == ApplyMode::StopAtFirst {
                    return (report, problems);
                }
                continue;
            }
        };
        report.action_types.push(Applied {
            logical_id: action_type.logical_id.clone(),
            name: id,
            result,
            version: None,
        });
    }
    for pipeline in &stack.pipelines {
        if pipeline.generated_name {
            tracing::info!(stack = %stack.id.name, "pipeline {} has no Name: named it {}", pipeline.logical_id, pipeline.name);
        }
        let exists = app
            .store
            .region(&scope)
            .lock()
            .pipelines
            .contains_key(&pipeline.name);
        let has_tags = pipeline.tags.as_array().is_some_and(|t| !t.is_empty());
        let (output, result) = if exists {
            let output = check!(
                caller
                    .call(
                        Operation::UpdatePipeline,
                        json!({ "pipeline": pipeline.declaration })
                    )
                    .await,
                &pipeline.logical_id,
                "Properties"
            );
            if has_tags {
                let arn = app.store.region(&scope).arn(&pipeline.name);
                check!(
                    caller
                        .call(
                            Operation::TagResource,
                            json!({ "resourceArn": arn, "tags": pipeline.tags })
                        )
                        .await,
                    &pipeline.logical_id,
                    "Properties.Tags"
                );
            }
            (output, "updated")
        } else {
            let mut input = json!({ "pipeline": pipeline.declaration });
            if has_tags {
                input["tags"] = pipeline.tags.clone();
            }
            (
                check!(
                    caller.call(Operation::CreatePipeline, input).await,
                    &pipeline.logical_id,
                    "Properties"
                ),
                "created",
            )
        };
        for (stage, reason) in &pipeline.disabled_transitions {
            let input = json!({ "pipelineName": pipeline.name, "stageName": stage, "transitionType": "Inbound", "reason": reason });
            check!(
                caller.call(Operation::DisableStageTransition, input).await,
                &pipeline.logical_id,
                "Properties.DisableInboundStageTransitions"
            );
        }
        report.pipelines.push(Applied {
            logical_id: pipeline.logical_id.clone(),
            name: pipeline.name.clone(),
            result,
            version: output.pointer("/pipeline/version").and_then(Value::as_i64),
        });
    }
    for webhook in &stack.webhooks {
        let name = webhook
            .input
            .pointer("/webhook/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let existed = app.store.region(&scope).lock().webhooks.contains_key(&name);
        check!(
            caller
                .call(Operation::PutWebhook, webhook.input.clone())
                .await,
            &webhook.logical_id,
            "Properties"
        );
        if webhook.register_with_third_party {
            check!(
                caller
                    .call(
                        Operation::RegisterWebhookWithThirdParty,
                        json!({ "webhookName": name })
                    )
                    .await,
                &webhook.logical_id,
                "Properties.RegisterWithThirdParty"
            );
        }
        report.webhooks.push(Applied {
            logical_id: webhook.logical_id.clone(),
            name,
            result: if existed { "updated" } else { "created" },
            version: None,
        });
    }
    app.stacks.insert(
        scope.clone(),
        stack.id.name.clone(),
        LoadedStack {
            file: stack.file.clone(),
            outputs: stack.outputs.clone(),
            exports: stack.exports.clone(),
            codebuild_projects: stack
                .codebuild_projects
                .iter()
                .map(|p| p.project.clone())
                .collect(),
            pipelines: stack
                .pipelines
                .iter()
                .map(|p| (p.logical_id.clone(), p.name.clone()))
                .collect(),
        },
    );
    (report, problems)
}
