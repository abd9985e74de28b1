//! Applies read stacks to an `App` through the API's own handlers (the same input validation
//! and structure rules as a client's CreatePipeline, UpdatePipeline, PutWebhook,
//! CreateCustomActionType, DisableStageTransition): an existing pipeline is updated (a new
//! version), as a stack update would.

use super::caller::Caller;
use super::resources::{ActionTypeResource, PipelineResource, WebhookResource};
use super::source::{read_path, LoadOptions};
use super::stack::Stack;
use super::{describe, Problem, TemplateError};
use crate::app::App;
use crate::config::Config;
use crate::model::structure::fill_defaults;
use crate::model::{ErrorCode, Operation, PipelineDeclaration};
use crate::protocol::{ApiError, Scope};
use crate::runtime::stacks::LoadedStack;
use crate::store::Region;
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
        parameters: config.parameters.iter().cloned().collect(),
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
    let stop = mode == ApplyMode::StopAtFirst;
    for action_type in &stack.action_types {
        match apply_action_type(&caller, action_type).await {
            Ok(applied) => report.action_types.push(applied),
            Err(e) => {
                problems.push(problem(&stack.file, &action_type.logical_id, e));
                if stop {
                    return (report, problems);
                }
            }
        }
    }
    for pipeline in &stack.pipelines {
        if pipeline.generated_name {
            tracing::info!(stack = %stack.id.name, "pipeline {} has no Name: named it {}", pipeline.logical_id, pipeline.name);
        }
        match apply_pipeline(app, &caller, &scope, pipeline).await {
            Ok(applied) => report.pipelines.push(applied),
            Err(e) => {
                problems.push(problem(&stack.file, &pipeline.logical_id, e));
                if stop {
                    return (report, problems);
                }
            }
        }
    }
    for webhook in &stack.webhooks {
        match apply_webhook(app, &caller, &scope, webhook).await {
            Ok(applied) => report.webhooks.push(applied),
            Err(e) => {
                problems.push(problem(&stack.file, &webhook.logical_id, e));
                if stop {
                    return (report, problems);
                }
            }
        }
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

/// An API error, and the path (below the resource) of what caused it.
type Failure = (&'static str, ApiError);

fn problem(file: &str, logical_id: &str, (path, e): Failure) -> Problem {
    let error = TemplateError {
        path: path.to_string(),
        code: e.code.as_str(),
        message: e.message,
    };
    Problem::new(file, logical_id, error)
}

fn at(path: &'static str) -> impl Fn(ApiError) -> Failure {
    move |e| (path, e)
}

async fn apply_action_type(
    caller: &Caller<'_>,
    action_type: &ActionTypeResource,
) -> Result<Applied, Failure> {
    let field = |key: &str| {
        action_type.input[key]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let id = format!(
        "Custom/{}/{}/{}",
        field("category"),
        field("provider"),
        field("version")
    );
    let result = match caller
        .call(Operation::CreateCustomActionType, action_type.input.clone())
        .await
    {
        Ok(_) => "created",
        // The same type loaded again: custom action types cannot be updated.
        Err(e) if e.code == ErrorCode::ActionTypeAlreadyExistsException => "unchanged",
        Err(e) => return Err(("Properties", e)),
    };
    Ok(Applied {
        logical_id: action_type.logical_id.clone(),
        name: id,
        result,
        version: None,
    })
}

/// CreatePipeline, or UpdatePipeline (and TagResource) when it exists; then the disabled
/// transitions.
async fn apply_pipeline(
    app: &App,
    caller: &Caller<'_>,
    scope: &Scope,
    pipeline: &PipelineResource,
) -> Result<Applied, Failure> {
    let region = app.store.region(scope);
    let exists = region.lock().pipelines.contains_key(&pipeline.name);
    let has_tags = pipeline.tags.as_array().is_some_and(|t| !t.is_empty());
    let mut input = json!({ "pipeline": pipeline.declaration });
    let (version, result) = if let Some(version) = unchanged_version(&region, pipeline) {
        // As a stack update without changes: no new version (nor execution).
        (Some(version), "unchanged")
    } else if exists {
        let output = caller
            .call(Operation::UpdatePipeline, input)
            .await
            .map_err(at("Properties"))?;
        (pipeline_version(&output), "updated")
    } else {
        if has_tags {
            input["tags"] = pipeline.tags.clone();
        }
        let output = caller
            .call(Operation::CreatePipeline, input)
            .await
            .map_err(at("Properties"))?;
        (pipeline_version(&output), "created")
    };
    if exists && has_tags {
        let tags = json!({ "resourceArn": region.arn(&pipeline.name), "tags": pipeline.tags });
        caller
            .call(Operation::TagResource, tags)
            .await
            .map_err(at("Properties.Tags"))?;
    }
    for (stage, reason) in &pipeline.disabled_transitions {
        let input = json!({ "pipelineName": pipeline.name, "stageName": stage, "transitionType": "Inbound", "reason": reason });
        caller
            .call(Operation::DisableStageTransition, input)
            .await
            .map_err(at("Properties.DisableInboundStageTransitions"))?;
    }
    Ok(Applied {
        logical_id: pipeline.logical_id.clone(),
        name: pipeline.name.clone(),
        result,
        version,
    })
}

fn pipeline_version(output: &Value) -> Option<i64> {
    output.pointer("/pipeline/version").and_then(Value::as_i64)
}

/// The current version of the pipeline when the declaration is the same as that version's
/// (with AWS's defaults filled in).
fn unchanged_version(region: &Region, pipeline: &PipelineResource) -> Option<i64> {
    let mut declaration: PipelineDeclaration =
        serde_json::from_value(pipeline.declaration.clone()).ok()?;
    fill_defaults(&mut declaration);
    let state = region.lock();
    let current = state.pipelines.get(&pipeline.name)?.current();
    declaration.version = current.version;
    (**current == declaration)
        .then_some(current.version)
        .flatten()
}

/// PutWebhook (creates or replaces), and RegisterWebhookWithThirdParty when asked.
async fn apply_webhook(
    app: &App,
    caller: &Caller<'_>,
    scope: &Scope,
    webhook: &WebhookResource,
) -> Result<Applied, Failure> {
    let name = webhook
        .input
        .pointer("/webhook/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let existed = app.store.region(scope).lock().webhooks.contains_key(&name);
    caller
        .call(Operation::PutWebhook, webhook.input.clone())
        .await
        .map_err(at("Properties"))?;
    if webhook.register_with_third_party {
        caller
            .call(
                Operation::RegisterWebhookWithThirdParty,
                json!({ "webhookName": name }),
            )
            .await
            .map_err(at("Properties.RegisterWithThirdParty"))?;
    }
    Ok(Applied {
        logical_id: webhook.logical_id.clone(),
        name,
        result: if existed { "updated" } else { "created" },
        version: None,
    })
}
