//! StartPipelineExecution, StopPipelineExecution, GetPipelineExecution,
//! ListPipelineExecutions, PutActionRevision.

use super::lookup::{find_execution, pipeline};
use super::pagination::{decode_position, newest_first, page_size};
use crate::app::App;
use crate::engine::{self, PipelineExecutionRecord, StartRequest};
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};

pub fn start_pipeline_execution(
    app: &App,
    ctx: &RequestContext,
    input: StartPipelineExecutionInput,
) -> Result<StartPipelineExecutionOutput, ApiError> {
    let region = app.store.region(&ctx.scope);
    let id = crate::runtime::start_execution(
        app,
        &region,
        &input.name,
        StartRequest {
            trigger_type: Some(TriggerType::StartPipelineExecution),
            trigger_detail: Some(ctx.caller_arn()),
            variables: input.variables.unwrap_or_default(),
            source_overrides: input.source_revisions.unwrap_or_default(),
            client_token: input.client_request_token,
            ..StartRequest::default()
        },
    )?;
    Ok(StartPipelineExecutionOutput {
        pipeline_execution_id: Some(id),
    })
}

pub fn stop_pipeline_execution(
    app: &App,
    ctx: &RequestContext,
    input: StopPipelineExecutionInput,
) -> Result<StopPipelineExecutionOutput, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
        engine::stop_execution(
            cx,
            state,
            &input.pipeline_name,
            &input.pipeline_execution_id,
            input.abandon.unwrap_or(false),
            input.reason,
        )
    })?;
    Ok(StopPipelineExecutionOutput {
        pipeline_execution_id: Some(input.pipeline_execution_id),
    })
}

pub fn get_pipeline_execution(
    app: &App,
    ctx: &RequestContext,
    input: GetPipelineExecutionInput,
) -> Result<GetPipelineExecutionOutput, ApiError> {
    let region = app.store.read(&ctx.scope);
    let state = region.lock();
    let record = pipeline(&state.pipelines, &input.pipeline_name, ctx)?;
    let execution = find_execution(record, &input.pipeline_name, &input.pipeline_execution_id)?;
    Ok(GetPipelineExecutionOutput {
        pipeline_execution: Some(PipelineExecution {
            pipeline_name: Some(input.pipeline_name.clone()),
            pipeline_version: Some(execution.pipeline_version),
            pipeline_execution_id: Some(execution.id.clone()),
            status: Some(execution.status),
            status_summary: execution.status_summary.clone(),
            artifact_revisions: Some(execution.artifact_revisions.clone()),
            variables: Some(execution.variables.clone()).filter(|v| !v.is_empty()),
            trigger: Some(execution.trigger.clone()),
            execution_mode: Some(execution.execution_mode),
            execution_type: Some(execution.execution_type),
            rollback_metadata: rollback_metadata(&execution),
        }),
    })
}

pub fn list_pipeline_executions(
    app: &App,
    ctx: &RequestContext,
    input: ListPipelineExecutionsInput,
) -> Result<ListPipelineExecutionsOutput, ApiError> {
    let before = decode_position(input.next_token.as_deref())?;
    let size = page_size(input.max_results, 100);
    let succeeded_in = input
        .filter
        .and_then(|f| f.succeeded_in_stage)
        .and_then(|s| s.stage_name);
    let region = app.store.read(&ctx.scope);
    let state = region.lock();
    let record = pipeline(&state.pipelines, &input.pipeline_name, ctx)?;
    let (summaries, next_token) =
        newest_first(&record.runtime.execution_sequences(), before, size, |seq| {
            let execution = record.runtime.execution_at(seq)?;
            let execution = &*execution;
            let wanted = succeeded_in.as_ref().is_none_or(|stage| {
                execution
                    .stages
                    .get(stage)
                    .is_some_and(|r| r.status == StageExecutionStatus::Succeeded)
            });
            wanted.then(|| summary(execution))
        });
    Ok(ListPipelineExecutionsOutput {
        pipeline_execution_summaries: Some(summaries),
        next_token,
    })
}

pub fn put_action_revision(
    app: &App,
    ctx: &RequestContext,
    input: PutActionRevisionInput,
) -> Result<PutActionRevisionOutput, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    let (new_revision, execution_id) =
        crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
            engine::put_action_revision(
                cx,
                state,
                &input.pipeline_name,
                &input.stage_name,
                &input.action_name,
                &input.action_revision,
            )
        })?;
    Ok(PutActionRevisionOutput {
        new_revision: Some(new_revision),
        pipeline_execution_id: execution_id,
    })
}

fn rollback_metadata(execution: &PipelineExecutionRecord) -> Option<PipelineRollbackMetadata> {
    execution
        .rollback_target
        .as_ref()
        .map(|target| PipelineRollbackMetadata {
            rollback_target_pipeline_execution_id: Some(target.clone()),
        })
}

fn summary(execution: &PipelineExecutionRecord) -> PipelineExecutionSummary {
    PipelineExecutionSummary {
        pipeline_execution_id: Some(execution.id.clone()),
        status: Some(execution.status),
        status_summary: execution.status_summary.clone(),
        start_time: Some(execution.start_time),
        last_update_time: Some(execution.last_update_time),
        source_revisions: Some(execution.source_revisions.clone()),
        trigger: Some(execution.trigger.clone()),
        stop_trigger: execution.stop.as_ref().map(|s| StopExecutionTrigger {
            reason: s.reason.clone(),
        }),
        execution_mode: Some(execution.execution_mode),
        execution_type: Some(execution.execution_type),
        rollback_metadata: rollback_metadata(execution),
    }
}
