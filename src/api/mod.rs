//! One handler per CodePipeline operation, grouped by resource family. Each handler reads like
//! the API reference: typed input in, typed output (or an AWS error) out.
//!
//! | family | file |
//! |---|---|
//! | pipelines (Create/Get/Update/Delete/ListPipelines) | `pipelines.rs` |
//! | tags | `tags.rs` |
//! | executions (Start/Stop/GetPipelineExecution, ListPipelineExecutions, PutActionRevision) | `executions.rs` |
//! | GetPipelineState | `state.rs` |
//! | ListActionExecutions | `action_executions.rs` |
//! | stages (Enable/DisableStageTransition, RetryStageExecution, RollbackStage, OverrideStageCondition) | `stages.rs` |
//! | ListRuleExecutions | `rule_executions.rs` |
//! | PutApprovalResult | `approvals.rs` |
//! | webhooks (Put/List/DeleteWebhook, Register/DeregisterWebhookWithThirdParty) | `webhooks.rs` |
//! | action types (Create/DeleteCustomActionType, ListActionTypes, Get/UpdateActionType) | `action_types.rs` |
//! | jobs (PollForJobs, AcknowledgeJob, GetJobDetails, PutJobSuccess/FailureResult) | `jobs.rs` |
//! | ThirdParty jobs (the same, ThirdParty variants) | `third_party_jobs.rs` |
//! | ListDeployActionExecutionTargets | `deploy_targets.rs` |
//! | ListRuleTypes | `rule_types.rs` |

mod action_executions;
mod action_types;
mod approvals;
mod deploy_targets;
mod engine_errors;
mod executions;
mod jobs;
mod lookup;
mod pagination;
mod pipelines;
mod rule_executions;
mod rule_types;
mod stages;
mod state;
mod tags;
mod third_party_jobs;
mod webhooks;

use crate::app::App;
use crate::model::{ErrorCode, Operation};
use crate::protocol::{ApiError, RequestContext};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use pagination::{decode_token, encode_token};

/// Routes a validated request to its operation's handler.
pub async fn dispatch(app: App, ctx: RequestContext, input: Value) -> Result<Vec<u8>, ApiError> {
    use Operation::*;
    let app = &app;
    let ctx = &ctx;
    if matches!(ctx.operation, CreatePipeline | UpdatePipeline) {
        // The opt-in role check asks IAM over the network: before the handler takes the lock.
        let role_arn = input["pipeline"]["roleArn"].as_str().unwrap_or_default();
        crate::role_check::check_role(&app.config, role_arn).await?;
    }
    match ctx.operation {
        CreatePipeline => call(app, ctx, input, pipelines::create_pipeline).await,
        GetPipeline => call(app, ctx, input, pipelines::get_pipeline).await,
        UpdatePipeline => call(app, ctx, input, pipelines::update_pipeline).await,
        DeletePipeline => call(app, ctx, input, pipelines::delete_pipeline).await,
        ListPipelines => call(app, ctx, input, pipelines::list_pipelines).await,

        StartPipelineExecution => call(app, ctx, input, executions::start_pipeline_execution).await,
        StopPipelineExecution => call(app, ctx, input, executions::stop_pipeline_execution).await,
        GetPipelineExecution => call(app, ctx, input, executions::get_pipeline_execution).await,
        ListPipelineExecutions => call(app, ctx, input, executions::list_pipeline_executions).await,
        PutActionRevision => call(app, ctx, input, executions::put_action_revision).await,
        GetPipelineState => call(app, ctx, input, state::get_pipeline_state).await,
        ListActionExecutions => {
            call(app, ctx, input, action_executions::list_action_executions).await
        }

        DisableStageTransition => call(app, ctx, input, stages::disable_stage_transition).await,
        EnableStageTransition => call(app, ctx, input, stages::enable_stage_transition).await,
        RetryStageExecution => call(app, ctx, input, stages::retry_stage_execution).await,
        RollbackStage => call(app, ctx, input, stages::rollback_stage).await,
        OverrideStageCondition => call(app, ctx, input, stages::override_stage_condition).await,
        ListRuleExecutions => call(app, ctx, input, rule_executions::list_rule_executions).await,
        PutApprovalResult => call(app, ctx, input, approvals::put_approval_result).await,

        CreateCustomActionType => {
            call(app, ctx, input, action_types::create_custom_action_type).await
        }
        DeleteCustomActionType => {
            call(app, ctx, input, action_types::delete_custom_action_type).await
        }
        ListActionTypes => call(app, ctx, input, action_types::list_action_types).await,
        GetActionType => call(app, ctx, input, action_types::get_action_type).await,
        UpdateActionType => call(app, ctx, input, action_types::update_action_type).await,

        PollForJobs => call(app, ctx, input, jobs::poll_for_jobs).await,
        AcknowledgeJob => call(app, ctx, input, jobs::acknowledge_job).await,
        GetJobDetails => call(app, ctx, input, jobs::get_job_details).await,
        PutJobSuccessResult => call(app, ctx, input, jobs::put_job_success_result).await,
        PutJobFailureResult => call(app, ctx, input, jobs::put_job_failure_result).await,

        PollForThirdPartyJobs => {
            call(app, ctx, input, third_party_jobs::poll_for_third_party_jobs).await
        }
        GetThirdPartyJobDetails => {
            call(
                app,
                ctx,
                input,
                third_party_jobs::get_third_party_job_details,
            )
            .await
        }
        AcknowledgeThirdPartyJob => {
            call(
                app,
                ctx,
                input,
                third_party_jobs::acknowledge_third_party_job,
            )
            .await
        }
        PutThirdPartyJobSuccessResult => {
            call(
                app,
                ctx,
                input,
                third_party_jobs::put_third_party_job_success_result,
            )
            .await
        }
        PutThirdPartyJobFailureResult => {
            call(
                app,
                ctx,
                input,
                third_party_jobs::put_third_party_job_failure_result,
            )
            .await
        }

        ListDeployActionExecutionTargets => {
            call(
                app,
                ctx,
                input,
                deploy_targets::list_deploy_action_execution_targets,
            )
            .await
        }
        ListRuleTypes => call(app, ctx, input, rule_types::list_rule_types).await,

        TagResource => call(app, ctx, input, tags::tag_resource).await,
        UntagResource => call(app, ctx, input, tags::untag_resource).await,
        ListTagsForResource => call(app, ctx, input, tags::list_tags_for_resource).await,

        PutWebhook => call(app, ctx, input, webhooks::put_webhook).await,
        ListWebhooks => call(app, ctx, input, webhooks::list_webhooks).await,
        DeleteWebhook => call(app, ctx, input, webhooks::delete_webhook).await,
        RegisterWebhookWithThirdParty => {
            call(app, ctx, input, webhooks::register_webhook_with_third_party).await
        }
        DeregisterWebhookWithThirdParty => {
            call(
                app,
                ctx,
                input,
                webhooks::deregister_webhook_with_third_party,
            )
            .await
        }
    }
}

/// Deserializes the (already validated) input, runs the handler once the region admits it
/// (`Region::admitted`: a region that does not exist yet admits at once), serializes its output.
async fn call<I, O, H>(
    app: &App,
    ctx: &RequestContext,
    input: Value,
    handler: H,
) -> Result<Vec<u8>, ApiError>
where
    I: DeserializeOwned,
    O: Serialize,
    H: FnOnce(&App, &RequestContext, I) -> Result<O, ApiError>,
{
    let input: I = serde_json::from_value(input)
        .map_err(|e| ApiError::serialization(format!("Could not deserialize request: {e}")))?;
    let output = match app.store.get(&ctx.scope) {
        Some(region) => region.admitted(|| handler(app, ctx, input)).await,
        None => handler(app, ctx, input),
    }?;
    // Most answers take a few hundred bytes to a few KiB: room for them from the start.
    let mut body = Vec::with_capacity(2048);
    serde_json::to_writer(&mut body, &output).map_err(|e| {
        ApiError::new(
            ErrorCode::InternalFailure,
            format!("Could not serialize response: {e}"),
        )
    })?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    /// Every request's future holds `dispatch`'s, and is moved several times on its way through
    /// hyper, axum and the middleware: a large one costs a copy of it each time (the role
    /// check's HTTP request once made it 5 KiB, 4% of CreatePipeline's instructions).
    #[tokio::test]
    async fn the_dispatch_future_stays_small() {
        let Ok(app) = crate::app::App::new(crate::config::Config::default(), "test") else {
            panic!("the default configuration makes an App");
        };
        let ctx = crate::protocol::RequestContext {
            scope: crate::protocol::Scope {
                account: "123456789012".into(),
                region: "us-east-1".into(),
            },
            request_id: String::new(),
            operation: crate::model::Operation::CreatePipeline,
            host: None,
        };
        let future = super::dispatch(app, ctx, serde_json::Value::Null);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 2048, "the dispatch future takes {size} bytes");
    }
}
