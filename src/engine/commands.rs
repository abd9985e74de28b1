//! The commands of the API on running executions: stop, retry, rollback, approvals,
//! transitions and condition overrides.

use super::start::{new_execution, pipeline_record, NewExecution};
use super::{actions, advance, conditions, progress, Cx, EngineError, Outcome, Refusal};
use crate::model::*;
use crate::store::runtime::*;
use crate::store::RegionState;
use std::collections::BTreeMap;

/// StopPipelineExecution.
pub fn stop_execution(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    execution_id: &str,
    abandon: bool,
    reason: Option<String>,
) -> Result<(), EngineError> {
    let record = pipeline_record(cx, state, pipeline)?;
    let arn = record.arn.clone();
    let runtime = &mut record.runtime;
    let execution = runtime.execution_mut(execution_id).ok_or_else(|| {
        EngineError::refused(
            Refusal::NotStoppable,
            format!("Pipeline execution '{execution_id}' was not found in pipeline '{pipeline}'"),
        )
    })?;
    match execution.status {
        PipelineExecutionStatus::InProgress => {}
        PipelineExecutionStatus::Stopping if abandon => {}
        PipelineExecutionStatus::Stopping => {
            return Err(EngineError::refused(Refusal::DuplicatedStop,
                format!(
                    "Pipeline execution '{execution_id}' is already stopping. Use abandon to stop it at once"
                ),
            ))
        }
        status => {
            return Err(EngineError::refused(Refusal::NotStoppable,
                format!("Unable to stop pipeline execution '{execution_id}': its status is {status}"),
            ))
        }
    }
    let seq = execution.sequence;
    execution.status = PipelineExecutionStatus::Stopping;
    execution.stop = Some(StopRequest {
        abandon,
        reason: reason
            .clone()
            .or_else(|| execution.stop.as_ref().and_then(|s| s.reason.clone())),
    });
    execution.last_update_time = Timestamp::now();
    if let Position::InStage { stage } = execution.position {
        if let Some(stage) = execution.declaration.stages.get(stage) {
            if let Some(run) = execution.stages.get_mut(&stage.name) {
                run.status = StageExecutionStatus::Stopping;
            }
        }
    }
    cx.publish_execution(pipeline, &arn, execution, "STOPPING");
    let sequences = execution.action_sequences.clone();
    runtime.touch(seq);
    if abandon {
        let in_progress: Vec<u64> = sequences
            .into_iter()
            .filter(|s| {
                runtime
                    .action_executions
                    .get(s)
                    .is_some_and(|a| !a.is_finished())
            })
            .collect();
        let mut jobs = Vec::new();
        for seq in in_progress {
            if let Some(job) = runtime
                .action_executions
                .get(&seq)
                .and_then(|a| a.job_id.clone())
            {
                jobs.push(job);
            }
            actions::finish_action(cx, pipeline, &arn, runtime, seq, Outcome::Abandoned);
        }
        for job in jobs {
            state.jobs.finish(&job, JobStatus::Failed);
        }
    }
    advance(cx, state, pipeline);
    Ok(())
}

/// RetryStageExecution: re-runs the failed (or all) actions of a failed or stopped stage of the
/// latest execution in that stage. The execution keeps its id.
pub fn retry_stage(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    stage_name: &str,
    execution_id: &str,
    mode: StageRetryMode,
    trigger: RetryTrigger,
) -> Result<String, EngineError> {
    let record = pipeline_record(cx, state, pipeline)?;
    if !record.current().stages.iter().any(|s| s.name == stage_name) {
        return Err(EngineError::stage_not_found(stage_name, pipeline));
    }
    let arn = record.arn.clone();
    let runtime = &mut record.runtime;
    let seq = latest_in_stage(runtime, stage_name, execution_id)?;
    // A finished execution is packed: it changes now.
    runtime.unpack(seq);
    if progress::stage_locked(runtime, stage_name, seq) {
        return Err(EngineError::refused(
            Refusal::Conflict,
            format!(
                "Stage '{stage_name}' is running another execution: retry it when that one is done"
            ),
        ));
    }
    let execution = runtime.live_execution_mut(seq).ok_or_else(|| {
        EngineError::refused(
            Refusal::NotLatestExecution,
            format!("Pipeline execution '{execution_id}' was not found"),
        )
    })?;
    let index = execution
        .declaration
        .stages
        .iter()
        .position(|s| s.name == stage_name);
    let run_status = execution.stages.get(stage_name).map(|r| r.status);
    let retryable = matches!(
        execution.status,
        PipelineExecutionStatus::Failed | PipelineExecutionStatus::Stopped
    ) && matches!(
        run_status,
        Some(StageExecutionStatus::Failed) | Some(StageExecutionStatus::Stopped)
    );
    let (Some(index), true) = (index, retryable) else {
        return Err(EngineError::refused(Refusal::StageNotRetryable,
            format!(
                "Stage '{stage_name}' of execution '{execution_id}' cannot be retried: only a failed or stopped stage of a failed or stopped execution can be"
            ),
        ));
    };
    progress::restart_stage(
        cx, pipeline, &arn, runtime, seq, stage_name, index, mode, trigger,
    );
    advance(cx, state, pipeline);
    Ok(execution_id.to_string())
}

/// The sequence number of `execution_id` if it is the latest execution that entered `stage`
/// (retry and override act only on it), else `NotLatestPipelineExecutionException`.
fn latest_in_stage(
    runtime: &PipelineRuntime,
    stage: &str,
    execution_id: &str,
) -> Result<u64, EngineError> {
    let latest = runtime
        .stage_latest
        .get(stage)
        .is_some_and(|id| id.is(execution_id));
    match runtime.execution_ids.get(execution_id) {
        Some(seq) if latest => Ok(*seq),
        _ => Err(EngineError::refused(Refusal::NotLatestExecution,
            format!("Pipeline execution '{execution_id}' is not the latest execution in stage '{stage}'"),
        )),
    }
}

/// RollbackStage: a new execution (type ROLLBACK) runs one stage again with the artifacts and
/// revisions of an earlier execution that succeeded in it.
pub fn rollback_stage(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    stage_name: &str,
    target_id: &str,
    trigger: TriggerType,
) -> Result<String, EngineError> {
    let unable = |message: String| EngineError::refused(Refusal::UnableToRollback, message);
    let record = pipeline_record(cx, state, pipeline)?;
    let declaration = record.current().clone();
    let index = declaration
        .stages
        .iter()
        .position(|s| s.name == stage_name)
        .ok_or_else(|| EngineError::stage_not_found(stage_name, pipeline))?;
    if declaration.pipeline_type != Some(PipelineType::V2) {
        return Err(unable(format!(
            "Pipeline '{pipeline}' is of type V1: stage rollback needs a V2 pipeline"
        )));
    }
    if declaration.execution_mode == Some(ExecutionMode::Parallel) {
        return Err(unable(format!(
            "Pipeline '{pipeline}' runs in PARALLEL mode, where stage rollback is not available"
        )));
    }
    if index == 0 {
        return Err(unable(format!(
            "Stage '{stage_name}' is the source stage and cannot be rolled back"
        )));
    }
    let runtime = &record.runtime;
    let target = runtime.execution(target_id).ok_or_else(|| {
        EngineError::refused(
            Refusal::ExecutionNotFound,
            format!("Pipeline execution '{target_id}' was not found in pipeline '{pipeline}'"),
        )
    })?;
    if target.stages.get(stage_name).map(|r| r.status) != Some(StageExecutionStatus::Succeeded) {
        return Err(unable(format!(
            "Pipeline execution '{target_id}' did not succeed in stage '{stage_name}': the rollback target must have"
        )));
    }
    if target.pipeline_version != declaration.version.unwrap_or(1) {
        return Err(EngineError::refused(Refusal::ExecutionOutdated,
            format!(
                "Pipeline execution '{target_id}' ran version {} of the pipeline, not the current version {}",
                target.pipeline_version,
                declaration.version.unwrap_or(1)
            ),
        ));
    }
    let busy = runtime.active_executions().any(|(_, e)| {
        matches!(e.position, Position::InStage { stage } if e.declaration.stages.get(stage).is_some_and(|s| s.name == stage_name))
    });
    if busy {
        return Err(EngineError::refused(
            Refusal::Conflict,
            format!("Stage '{stage_name}' is in progress: roll it back when it is done"),
        ));
    }
    if runtime
        .stage_latest
        .get(stage_name)
        .is_some_and(|id| id.is(target_id))
    {
        return Err(unable(format!(
            "Pipeline execution '{target_id}' is already the latest execution in stage '{stage_name}'"
        )));
    }
    let inherited = target.into_owned();
    let id = new_execution(
        record,
        declaration,
        NewExecution {
            trigger: ExecutionTrigger {
                trigger_type: Some(trigger),
                trigger_detail: Some(target_id.to_string()),
            },
            execution_type: ExecutionType::Rollback,
            variables: Vec::new(),
            source_overrides: Vec::new(),
            pinned_revisions: BTreeMap::new(),
            position: Position::Waiting { stage: index },
            only_stage: Some(index),
            rollback_target: Some(target_id.to_string()),
            inherited: Some(inherited),
        },
    );
    let arn = record.arn.clone();
    if let Some(execution) = record.runtime.execution(&id) {
        cx.publish_execution(pipeline, &arn, &execution, "STARTED");
    }
    advance(cx, state, pipeline);
    Ok(id)
}

/// PutApprovalResult.
#[allow(clippy::too_many_arguments)]
pub fn put_approval_result(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    stage: &str,
    action: &str,
    token: &str,
    result: &ApprovalResult,
    caller: &str,
) -> Result<Timestamp, EngineError> {
    let record = pipeline_record(cx, state, pipeline)?;
    let declaration = record.current().clone();
    let stage_declaration = declaration
        .stages
        .iter()
        .find(|s| s.name == stage)
        .ok_or_else(|| EngineError::stage_not_found(stage, pipeline))?;
    if !stage_declaration.actions.iter().any(|a| a.name == action) {
        return Err(EngineError::action_not_found(action, stage, pipeline));
    }
    let arn = record.arn.clone();
    let runtime = &mut record.runtime;
    // Newest first, packed (finished) ones too.
    let matching = runtime
        .action_sequences()
        .into_iter()
        .rev()
        .filter_map(|s| runtime.action_at(s))
        .find(|a| a.stage == stage && a.action == action && a.token.as_deref() == Some(token));
    let Some(found) = matching else {
        return Err(EngineError::refused(Refusal::InvalidApprovalToken,
            format!("The token '{token}' is not valid for action '{action}' in stage '{stage}' of pipeline '{pipeline}'"),
        ));
    };
    if found.is_finished() {
        return Err(EngineError::refused(Refusal::ApprovalAlreadyCompleted,
            format!("The approval for action '{action}' with token '{token}' has already been completed"),
        ));
    }
    let seq = found.sequence;
    let outcome = match result.status {
        ApprovalStatus::Approved => Outcome::Succeeded {
            summary: Some(result.summary.clone()).filter(|s| !s.is_empty()),
            output_variables: BTreeMap::new(),
            external_execution_id: None,
            external_execution_url: None,
            percent_complete: None,
            revision: None,
            updated_by: Some(caller.to_string()),
        },
        ApprovalStatus::Rejected => Outcome::Failed {
            code: "JobFailed".into(),
            message: "Rejected".into(),
            summary: Some(result.summary.clone()).filter(|s| !s.is_empty()),
            external_execution_id: None,
            updated_by: Some(caller.to_string()),
        },
    };
    actions::finish_action(cx, pipeline, &arn, runtime, seq, outcome);
    advance(cx, state, pipeline);
    Ok(Timestamp::now())
}

/// EnableStageTransition / DisableStageTransition.
#[allow(clippy::too_many_arguments)]
pub fn set_transition(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    stage: &str,
    kind: StageTransitionType,
    enabled: bool,
    reason: Option<String>,
    caller: &str,
) -> Result<(), EngineError> {
    let record = pipeline_record(cx, state, pipeline)?;
    if !record.current().stages.iter().any(|s| s.name == stage) {
        return Err(EngineError::stage_not_found(stage, pipeline));
    }
    state.touch_pipeline(pipeline);
    let Some(record) = state.pipelines.get_mut(pipeline) else {
        return Ok(());
    };
    let transitions = record
        .runtime
        .transitions
        .entry(stage.to_string())
        .or_default();
    let slot = match kind {
        StageTransitionType::Inbound => &mut transitions.inbound,
        StageTransitionType::Outbound => &mut transitions.outbound,
    };
    *slot = Some(TransitionRecord {
        enabled,
        disabled_reason: if enabled { None } else { reason },
        last_changed_by: Some(caller.to_string()),
        last_changed_at: Timestamp::now(),
    });
    if enabled {
        advance(cx, state, pipeline);
    }
    Ok(())
}

/// OverrideStageCondition: an in-progress beforeEntry or onSuccess condition of the latest
/// execution in a stage counts as met.
pub fn override_stage_condition(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    stage: &str,
    execution_id: &str,
    condition: ConditionType,
) -> Result<(), EngineError> {
    let record = pipeline_record(cx, state, pipeline)?;
    if !record.current().stages.iter().any(|s| s.name == stage) {
        return Err(EngineError::stage_not_found(stage, pipeline));
    }
    let runtime = &mut record.runtime;
    let seq = latest_in_stage(runtime, stage, execution_id)?;
    let kind = match condition {
        ConditionType::BeforeEntry => conditions::BEFORE_ENTRY,
        ConditionType::OnSuccess => conditions::ON_SUCCESS,
    };
    if !conditions::override_condition(cx, pipeline, runtime, seq, stage, kind) {
        return Err(EngineError::refused(Refusal::ConditionNotOverridable,
            format!(
                "The {condition} condition of stage '{stage}' is not being evaluated for execution '{execution_id}'"
            ),
        ));
    }
    advance(cx, state, pipeline);
    Ok(())
}
