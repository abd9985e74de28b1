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
//! | stages (Enable/DisableStageTransition, RetryStageExecution, RollbackStage) | `stages.rs` |
//! | PutApprovalResult | `approvals.rs` |

mod action_executions;
mod approvals;
mod executions;
mod pagination;
mod pipelines;
mod stages;
mod state;
mod tags;

use crate::app::App;
use crate::model::{Empty, ErrorCode, Operation};
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
    match ctx.operation {
        CreatePipeline => call(app, ctx, input, pipelines::create_pipeline),
        GetPipeline => call(app, ctx, input, pipelines::get_pipeline),
        UpdatePipeline => call(app, ctx, input, pipelines::update_pipeline),
        DeletePipeline => call(app, ctx, input, pipelines::delete_pipeline),
        ListPipelines => call(app, ctx, input, pipelines::list_pipelines),

        StartPipelineExecution => call(app, ctx, input, executions::start_pipeline_execution),
        StopPipelineExecution => call(app, ctx, input, executions::stop_pipeline_execution),
        GetPipelineExecution => call(app, ctx, input, executions::get_pipeline_execution),
        ListPipelineExecutions => call(app, ctx, input, executions::list_pipeline_executions),
        PutActionRevision => call(app, ctx, input, executions::put_action_revision),
        GetPipelineState => call(app, ctx, input, state::get_pipeline_state),
        ListActionExecutions => call(app, ctx, input, action_executions::list_action_executions),

        DisableStageTransition => call(app, ctx, input, stages::disable_stage_transition),
        EnableStageTransition => call(app, ctx, input, stages::enable_stage_transition),
        RetryStageExecution => call(app, ctx, input, stages::retry_stage_execution),
        RollbackStage => call(app, ctx, input, stages::rollback_stage),
        PutApprovalResult => call(app, ctx, input, approvals::put_approval_result),

        TagResource => call(app, ctx, input, tags::tag_resource),
        UntagResource => call(app, ctx, input, tags::untag_resource),
        ListTagsForResource => call(app, ctx, input, tags::list_tags_for_resource),

        other => not_implemented(other),
    }
}

/// Deserializes the (already validated) input, runs the handler, serializes its output.
fn call<I, O, H>(app: &App, ctx: &RequestContext, input: Value, handler: H) -> Result<Vec<u8>, ApiError>
where
    I: DeserializeOwned,
    O: Serialize,
    H: FnOnce(&App, &RequestContext, I) -> Result<O, ApiError>,
{
    let input: I = serde_json::from_value(input)
        .map_err(|e| ApiError::serialization(format!("Could not deserialize request: {e}")))?;
    let output = handler(app, ctx, input)?;
    serde_json::to_vec(&output)
        .map_err(|e| ApiError::new(ErrorCode::InternalFailure, format!("Could not serialize response: {e}")))
}

fn not_implemented(operation: Operation) -> Result<Vec<u8>, ApiError> {
    let _ = Empty::default();
    Err(ApiError::new(
        ErrorCode::UnknownOperationException,
        format!(
            "Operation {} is not implemented by codepipeline-local yet",
            operation.name()
        ),
    ))
}
