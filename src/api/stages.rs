//! Stage operations: EnableStageTransition, DisableStageTransition, RetryStageExecution,
//! RollbackStage, OverrideStageCondition.

use crate::app::App;
use crate::engine::{self};
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};

pub fn disable_stage_transition(
    app: &App,
    ctx: &RequestContext,
    input: DisableStageTransitionInput,
) -> Result<Empty, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
        engine::set_transition(
            cx,
            state,
            &input.pipeline_name,
            &input.stage_name,
            input.transition_type,
            false,
            Some(input.reason),
            &ctx.caller_arn(),
        )
    })?;
    Ok(Empty::default())
}

pub fn enable_stage_transition(
    app: &App,
    ctx: &RequestContext,
    input: EnableStageTransitionInput,
) -> Result<Empty, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
        engine::set_transition(
            cx,
            state,
            &input.pipeline_name,
            &input.stage_name,
            input.transition_type,
            true,
            None,
            &ctx.caller_arn(),
        )
    })?;
    Ok(Empty::default())
}

pub fn retry_stage_execution(
    app: &App,
    ctx: &RequestContext,
    input: RetryStageExecutionInput,
) -> Result<RetryStageExecutionOutput, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    let id = crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
        engine::retry_stage(
            cx,
            state,
            &input.pipeline_name,
            &input.stage_name,
            &input.pipeline_execution_id,
            input.retry_mode,
            RetryTrigger::ManualStageRetry,
        )
    })?;
    Ok(RetryStageExecutionOutput {
        pipeline_execution_id: Some(id),
    })
}

pub fn rollback_stage(
    app: &App,
    ctx: &RequestContext,
    input: RollbackStageInput,
) -> Result<RollbackStageOutput, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    let id = crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
        engine::rollback_stage(
            cx,
            state,
            &input.pipeline_name,
            &input.stage_name,
            &input.target_pipeline_execution_id,
            TriggerType::ManualRollback,
        )
    })?;
    Ok(RollbackStageOutput {
        pipeline_execution_id: id,
    })
}

pub fn override_stage_condition(
    app: &App,
    ctx: &RequestContext,
    input: OverrideStageConditionInput,
) -> Result<Empty, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
        engine::override_stage_condition(
            cx,
            state,
            &input.pipeline_name,
            &input.stage_name,
            &input.pipeline_execution_id,
            input.condition_type,
        )
    })?;
    Ok(Empty::default())
}
