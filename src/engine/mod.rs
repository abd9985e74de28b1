//! The execution engine: runs pipeline executions stage by stage as CodePipeline does.
//!
//! All execution state lives in the region's store (see `state`). Every change — a new
//! execution, an action finishing, a transition enabled, an approval, a job result, a timer — is
//! applied under the region lock and followed by `advance`, which moves every execution of the
//! pipeline as far as the rules allow (`progress`). Time only enters through timers that report
//! back (`timers`): no polling loops.

pub mod actions;
pub mod behavior;
pub mod conditions;
pub mod dynamic_outputs;
pub mod invoke;
mod outcome;
mod progress;
pub mod simulate;
pub mod timers;
pub mod variables;

pub use crate::store::runtime::Outcome;
pub use crate::store::runtime::*;
pub use progress::run_order_groups;
pub use timers::{Subject, Timer};

use crate::app::App;
use crate::events::{ACTION_DETAIL_TYPE, PIPELINE_DETAIL_TYPE, STAGE_DETAIL_TYPE};
use crate::model::*;
use crate::protocol::ApiError;
use crate::store::{PipelineRecord, Region, RegionState};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The engine's view of where it runs: the application and one account/region.
pub struct Cx<'a> {
    pub app: &'a App,
    pub region: &'a Arc<Region>,
}

impl Cx<'_> {
    pub fn publish_execution(
        &self,
        pipeline: &str,
        arn: &str,
        execution: &PipelineExecutionRecord,
        state: &str,
    ) {
        if !self.app.events.has_subscribers() {
            return;
        }
        self.app.events.publish(
            &self.region.scope,
            PIPELINE_DETAIL_TYPE,
            arn,
            json!({
                "pipeline": pipeline,
                "execution-id": execution.id,
                "start-time": execution.start_time.0.to_rfc3339(),
                "execution-trigger": {
                    "trigger-type": execution.trigger.trigger_type.map(|t| t.as_str()),
                    "trigger-detail": execution.trigger.trigger_detail,
                },
                "state": state,
                "version": execution.pipeline_version,
                "pipeline-execution-attempt": 1,
            }),
        );
    }

    pub fn publish_stage(
        &self,
        pipeline: &str,
        arn: &str,
        execution: &PipelineExecutionRecord,
        stage: &str,
        state: &str,
    ) {
        if !self.app.events.has_subscribers() {
            return;
        }
        self.app.events.publish(
            &self.region.scope,
            STAGE_DETAIL_TYPE,
            arn,
            json!({
                "pipeline": pipeline,
                "execution-id": execution.id,
                "start-time": execution.start_time.0.to_rfc3339(),
                "stage": stage,
                "state": state,
                "version": execution.pipeline_version,
                "pipeline-execution-attempt": 1,
            }),
        );
    }

    pub fn publish_action(
        &self,
        pipeline: &str,
        arn: &str,
        record: &ActionExecutionRecord,
        action: &ActionDeclaration,
        state: &str,
    ) {
        if !self.app.events.has_subscribers() {
            return;
        }
        let type_id = &action.action_type_id;
        self.app.events.publish(
            &self.region.scope,
            ACTION_DETAIL_TYPE,
            arn,
            json!({
                "pipeline": pipeline,
                "execution-id": record.pipeline_execution_id,
                "action-execution-id": record.id,
                "start-time": record.start_time.0.to_rfc3339(),
                "stage": record.stage,
                "action": record.action,
                "state": state,
                "region": record.input.region,
                "type": {
                    "owner": type_id.owner.as_str(),
                    "provider": type_id.provider,
                    "category": type_id.category.as_str(),
                    "version": type_id.version,
                },
                "version": record.pipeline_version,
                "pipeline-execution-attempt": 1,
                "input-artifacts": record.input.input_artifacts,
                "output-artifacts": record.output_artifacts,
            }),
        );
    }
}

/// Finishes an in-progress action execution (by id) with an outcome. False if it was not
/// in progress.
pub fn finish_action_by_id(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    action_execution_id: &str,
    outcome: Outcome,
) -> bool {
    let Some(record) = state.pipelines.get_mut(pipeline) else {
        return false;
    };
    let arn = record.arn.clone();
    let Some(&seq) = record.runtime.action_execution_ids.get(action_execution_id) else {
        return false;
    };
    actions::finish_action(cx, pipeline, &arn, &mut record.runtime, seq, outcome)
}

/// What a step of the engine asks for beyond the pipeline's own state.
#[derive(Default)]
pub struct Effects {
    /// Jobs to queue for workers.
    pub jobs: Vec<crate::jobs::JobRecord>,
    /// Automated rollbacks: (stage, the execution that failed in it).
    pub rollbacks: Vec<(String, String)>,
}

/// Moves every execution of a pipeline as far as it can go, queuing the jobs it creates and
/// starting the automated rollbacks its stage conditions ask for.
pub fn advance(cx: &Cx, state: &mut RegionState, pipeline: &str) {
    state.touch_pipeline(pipeline);
    for _ in 0..100_000 {
        let Some(record) = state.pipelines.get_mut(pipeline) else {
            return;
        };
        let arn = record.arn.clone();
        let mut effects = Effects::default();
        let changed = progress::step_all(cx, pipeline, &arn, &mut record.runtime, &mut effects);
        for job in effects.jobs {
            state.jobs.queue(job);
        }
        for (stage, failed) in effects.rollbacks {
            automated_rollback(cx, state, pipeline, &stage, &failed);
        }
        if !changed {
            break;
        }
    }
    if let Some(record) = state.pipelines.get_mut(pipeline) {
        trim_history(
            &mut record.runtime,
            cx.app.config.max_executions_per_pipeline,
        );
    }
}

/// Drops the oldest finished executions (and their action executions) past the cap.
fn trim_history(runtime: &mut PipelineRuntime, cap: usize) {
    while runtime.executions.len() > cap {
        let Some(seq) = runtime
            .executions
            .iter()
            .find(|(_, e)| !e.is_active())
            .map(|(seq, _)| *seq)
        else {
            return;
        };
        let Some(execution) = runtime.executions.remove(&seq) else {
            return;
        };
        runtime.trimmed.push(seq);
        runtime.touched.remove(&seq);
        runtime.execution_ids.remove(&execution.id);
        for action_seq in &execution.action_sequences {
            if let Some(action) = runtime.action_executions.remove(action_seq) {
                runtime.action_execution_ids.remove(&action.id);
                let key = action_key(&action.stage, &action.action);
                if runtime.action_latest.get(&key) == Some(action_seq) {
                    runtime.action_latest.remove(&key);
                }
            }
        }
        for rule_seq in &execution.rule_sequences {
            runtime.rule_executions.remove(rule_seq);
        }
        runtime.client_tokens.retain(|_, id| id != &execution.id);
    }
}

/// onFailure/onSuccess ROLLBACK: roll the stage back to the latest earlier execution that
/// succeeded in it (nothing happens when there is none).
fn automated_rollback(cx: &Cx, state: &mut RegionState, pipeline: &str, stage: &str, failed: &str) {
    let Some(record) = state.pipelines.get(pipeline) else {
        return;
    };
    let target = record
        .runtime
        .executions
        .values()
        .rev()
        .find(|e| {
            e.id != failed
                && e.stages
                    .get(stage)
                    .is_some_and(|r| r.status == StageExecutionStatus::Succeeded)
        })
        .map(|e| e.id.clone());
    let Some(target) = target else {
        tracing::info!(
            pipeline,
            stage,
            "no earlier successful execution to roll back to"
        );
        return;
    };
    if let Err(e) = rollback_stage(
        cx,
        state,
        pipeline,
        stage,
        &target,
        TriggerType::AutomatedRollback,
    ) {
        tracing::info!(pipeline, stage, error = %e, "automated rollback not possible");
    }
}

/// How a new execution starts.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    pub trigger_type: Option<TriggerType>,
    pub trigger_detail: Option<String>,
    pub variables: Vec<PipelineVariable>,
    pub source_overrides: Vec<SourceRevisionOverride>,
    pub pinned_revisions: BTreeMap<String, ActionRevisionRecord>,
    pub client_token: Option<String>,
}

/// Most executions waiting or running at once in QUEUED and PARALLEL modes.
const MAX_CONCURRENT_EXECUTIONS: usize = 50;

/// StartPipelineExecution (and the automatic starts): creates an execution at the first stage.
pub fn start_execution(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    request: StartRequest,
) -> Result<String, ApiError> {
    let record = state
        .pipelines
        .get_mut(pipeline)
        .ok_or_else(|| ApiError::pipeline_not_found(pipeline, &cx.region.scope.account))?;
    if let Some(token) = &request.client_token {
        if let Some(existing) = record.runtime.client_tokens.get(token) {
            return Ok(existing.clone());
        }
    }
    let declaration = record.current().clone();
    let variables = resolve_pipeline_variables(&declaration, &request.variables)?;
    for o in &request.source_overrides {
        let is_source = declaration
            .stages
            .first()
            .is_some_and(|s| s.actions.iter().any(|a| a.name == o.action_name));
        if !is_source {
            return Err(ApiError::validation(format!(
                "Source revision override names action '{}', which is not a source action of pipeline '{pipeline}'",
                o.action_name
            )));
        }
    }
    let mode = declaration
        .execution_mode
        .unwrap_or(ExecutionMode::Superseded);
    if mode != ExecutionMode::Superseded {
        let active = record.runtime.active.len();
        if active >= MAX_CONCURRENT_EXECUTIONS {
            return Err(ApiError::new(
                ErrorCode::ConcurrentPipelineExecutionsLimitExceededException,
                format!(
                    "Pipeline '{pipeline}' already has {active} executions in progress, the most allowed in {mode} mode"
                ),
            ));
        }
    }
    let id = new_execution(
        record,
        declaration,
        NewExecution {
            trigger: ExecutionTrigger {
                trigger_type: request.trigger_type,
                trigger_detail: request.trigger_detail,
            },
            execution_type: ExecutionType::Standard,
            variables,
            source_overrides: request.source_overrides,
            pinned_revisions: request.pinned_revisions,
            position: Position::Waiting { stage: 0 },
            only_stage: None,
            rollback_target: None,
            inherited: None,
        },
    );
    if let Some(token) = request.client_token {
        record.runtime.client_tokens.insert(token, id.clone());
    }
    let arn = record.arn.clone();
    if let Some(execution) = record.runtime.execution(&id) {
        tracing::info!(pipeline, execution_id = %id, trigger = execution.trigger.trigger_type.as_ref().map_or("", |t| t.as_str()), "execution started");
        cx.publish_execution(pipeline, &arn, execution, "STARTED");
    }
    advance(cx, state, pipeline);
    Ok(id)
}

/// Declared variables with their defaults, overridden by the values given at start.
fn resolve_pipeline_variables(
    declaration: &PipelineDeclaration,
    given: &[PipelineVariable],
) -> Result<Vec<ResolvedPipelineVariable>, ApiError> {
    let declared = declaration.variables.clone().unwrap_or_default();
    if !given.is_empty() && declaration.pipeline_type != Some(PipelineType::V2) {
        return Err(ApiError::validation(
            "Pipeline variables can only be given for pipelines of type V2",
        ));
    }
    for variable in given {
        if !declared.iter().any(|d| d.name == variable.name) {
            return Err(ApiError::validation(format!(
                "Variable '{}' is not declared in the pipeline",
                variable.name
            )));
        }
    }
    let mut resolved = Vec::new();
    for d in &declared {
        let value = given
            .iter()
            .rev()
            .find(|v| v.name == d.name)
            .map(|v| v.value.clone())
            .or_else(|| d.default_value.clone())
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "Variable '{}' has no default value: give it a value when starting the pipeline",
                    d.name
                ))
            })?;
        resolved.push(ResolvedPipelineVariable {
            name: Some(d.name.clone()),
            resolved_value: Some(value),
        });
    }
    Ok(resolved)
}

struct NewExecution {
    trigger: ExecutionTrigger,
    execution_type: ExecutionType,
    variables: Vec<ResolvedPipelineVariable>,
    source_overrides: Vec<SourceRevisionOverride>,
    pinned_revisions: BTreeMap<String, ActionRevisionRecord>,
    position: Position,
    only_stage: Option<usize>,
    rollback_target: Option<String>,
    /// Artifacts, namespaces and revisions carried over (rollbacks).
    inherited: Option<PipelineExecutionRecord>,
}

fn new_execution(
    record: &mut PipelineRecord,
    declaration: Arc<PipelineDeclaration>,
    new: NewExecution,
) -> String {
    let runtime = &mut record.runtime;
    runtime.next_sequence += 1;
    let sequence = runtime.next_sequence;
    let id = uuid::Uuid::new_v4().to_string();
    let now = Timestamp::now();
    let mut execution = PipelineExecutionRecord {
        id: id.clone(),
        sequence,
        pipeline_version: declaration.version.unwrap_or(1),
        execution_mode: declaration
            .execution_mode
            .unwrap_or(ExecutionMode::Superseded),
        declaration,
        status: PipelineExecutionStatus::InProgress,
        status_summary: None,
        start_time: now,
        last_update_time: now,
        trigger: new.trigger,
        execution_type: new.execution_type,
        rollback_target: new.rollback_target,
        variables: new.variables,
        source_overrides: new.source_overrides,
        pinned_revisions: new.pinned_revisions,
        artifact_revisions: Vec::new(),
        source_revisions: Vec::new(),
        artifacts: BTreeMap::new(),
        namespaces: BTreeMap::new(),
        stop: None,
        position: new.position,
        stages: BTreeMap::new(),
        only_stage: new.only_stage,
        action_sequences: Vec::new(),
        rule_sequences: Vec::new(),
    };
    if let Some(from) = new.inherited {
        execution.variables = from.variables;
        execution.artifact_revisions = from.artifact_revisions;
        execution.source_revisions = from.source_revisions;
        execution.artifacts = from.artifacts;
        execution.namespaces = from.namespaces;
    }
    runtime.execution_ids.insert(id.clone(), sequence);
    runtime.executions.insert(sequence, execution);
    runtime.touch(sequence);
    runtime.sync_active(sequence);
    id
}

/// StopPipelineExecution.
pub fn stop_execution(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    execution_id: &str,
    abandon: bool,
    reason: Option<String>,
) -> Result<(), ApiError> {
    let record = state
        .pipelines
        .get_mut(pipeline)
        .ok_or_else(|| ApiError::pipeline_not_found(pipeline, &cx.region.scope.account))?;
    let arn = record.arn.clone();
    let runtime = &mut record.runtime;
    let execution = runtime.execution_mut(execution_id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PipelineExecutionNotStoppableException,
            format!("Pipeline execution '{execution_id}' was not found in pipeline '{pipeline}'"),
        )
    })?;
    match execution.status {
        PipelineExecutionStatus::InProgress => {}
        PipelineExecutionStatus::Stopping if abandon => {}
        PipelineExecutionStatus::Stopping => {
            return Err(ApiError::new(
                ErrorCode::DuplicatedStopRequestException,
                format!(
                    "Pipeline execution '{execution_id}' is already stopping. Use abandon to stop it at once"
                ),
            ))
        }
        status => {
            return Err(ApiError::new(
                ErrorCode::PipelineExecutionNotStoppableException,
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
) -> Result<String, ApiError> {
    let record = state
        .pipelines
        .get_mut(pipeline)
        .ok_or_else(|| ApiError::pipeline_not_found(pipeline, &cx.region.scope.account))?;
    if !record.current().stages.iter().any(|s| s.name == stage_name) {
        return Err(ApiError::stage_not_found(stage_name, pipeline));
    }
    let arn = record.arn.clone();
    let runtime = &mut record.runtime;
    let seq = latest_in_stage(runtime, stage_name, execution_id)?;
    if progress::stage_locked(runtime, stage_name, seq) {
        return Err(ApiError::new(
            ErrorCode::ConflictException,
            format!(
                "Stage '{stage_name}' is running another execution: retry it when that one is done"
            ),
        ));
    }
    let execution = runtime.executions.get_mut(&seq).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotLatestPipelineExecutionException,
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
        return Err(ApiError::new(
            ErrorCode::StageNotRetryableException,
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
) -> Result<u64, ApiError> {
    let latest = runtime.stage_latest.get(stage).map(String::as_str) == Some(execution_id);
    match runtime.execution_ids.get(execution_id) {
        Some(seq) if latest => Ok(*seq),
        _ => Err(ApiError::new(
            ErrorCode::NotLatestPipelineExecutionException,
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
) -> Result<String, ApiError> {
    let unable =
        |message: String| ApiError::new(ErrorCode::UnableToRollbackStageException, message);
    let record = state
        .pipelines
        .get_mut(pipeline)
        .ok_or_else(|| ApiError::pipeline_not_found(pipeline, &cx.region.scope.account))?;
    let declaration = record.current().clone();
    let index = declaration
        .stages
        .iter()
        .position(|s| s.name == stage_name)
        .ok_or_else(|| ApiError::stage_not_found(stage_name, pipeline))?;
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
        ApiError::new(
            ErrorCode::PipelineExecutionNotFoundException,
            format!("Pipeline execution '{target_id}' was not found in pipeline '{pipeline}'"),
        )
    })?;
    if target.stages.get(stage_name).map(|r| r.status) != Some(StageExecutionStatus::Succeeded) {
        return Err(unable(format!(
            "Pipeline execution '{target_id}' did not succeed in stage '{stage_name}': the rollback target must have"
        )));
    }
    if target.pipeline_version != declaration.version.unwrap_or(1) {
        return Err(ApiError::new(
            ErrorCode::PipelineExecutionOutdatedException,
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
        return Err(ApiError::new(
            ErrorCode::ConflictException,
            format!("Stage '{stage_name}' is in progress: roll it back when it is done"),
        ));
    }
    if runtime.stage_latest.get(stage_name).map(String::as_str) == Some(target_id) {
        return Err(unable(format!(
            "Pipeline execution '{target_id}' is already the latest execution in stage '{stage_name}'"
        )));
    }
    let inherited = target.clone();
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
        cx.publish_execution(pipeline, &arn, execution, "STARTED");
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
) -> Result<Timestamp, ApiError> {
    let record = state
        .pipelines
        .get_mut(pipeline)
        .ok_or_else(|| ApiError::pipeline_not_found(pipeline, &cx.region.scope.account))?;
    let declaration = record.current().clone();
    let stage_declaration = declaration
        .stages
        .iter()
        .find(|s| s.name == stage)
        .ok_or_else(|| ApiError::stage_not_found(stage, pipeline))?;
    if !stage_declaration.actions.iter().any(|a| a.name == action) {
        return Err(ApiError::action_not_found(action, stage, pipeline));
    }
    let arn = record.arn.clone();
    let runtime = &mut record.runtime;
    let matching = runtime
        .action_executions
        .values()
        .rev()
        .find(|a| a.stage == stage && a.action == action && a.token.as_deref() == Some(token));
    let Some(found) = matching else {
        return Err(ApiError::new(
            ErrorCode::InvalidApprovalTokenException,
            format!("The token '{token}' is not valid for action '{action}' in stage '{stage}' of pipeline '{pipeline}'"),
        ));
    };
    if found.is_finished() {
        return Err(ApiError::new(
            ErrorCode::ApprovalAlreadyCompletedException,
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
) -> Result<(), ApiError> {
    let record = state
        .pipelines
        .get_mut(pipeline)
        .ok_or_else(|| ApiError::pipeline_not_found(pipeline, &cx.region.scope.account))?;
    if !record.current().stages.iter().any(|s| s.name == stage) {
        return Err(ApiError::stage_not_found(stage, pipeline));
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

/// PutActionRevision: records a new revision of a source action and starts an execution for
/// it; a revision equal to the current one changes nothing.
pub fn put_action_revision(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    stage: &str,
    action: &str,
    revision: &ActionRevision,
) -> Result<(bool, Option<String>), ApiError> {
    let record = state
        .pipelines
        .get_mut(pipeline)
        .ok_or_else(|| ApiError::pipeline_not_found(pipeline, &cx.region.scope.account))?;
    let declaration = record.current().clone();
    let stage_declaration = declaration
        .stages
        .iter()
        .find(|s| s.name == stage)
        .ok_or_else(|| ApiError::stage_not_found(stage, pipeline))?;
    let action_declaration = stage_declaration
        .actions
        .iter()
        .find(|a| a.name == action)
        .ok_or_else(|| ApiError::action_not_found(action, stage, pipeline))?;
    if action_declaration.action_type_id.category != ActionCategory::Source {
        return Err(ApiError::validation(format!(
            "Action '{action}' in stage '{stage}' is not a source action"
        )));
    }
    let key = action_key(stage, action);
    if record
        .runtime
        .current_revisions
        .get(&key)
        .is_some_and(|r| r.revision_id == revision.revision_id)
    {
        return Ok((false, None));
    }
    let pinned = ActionRevisionRecord {
        revision_id: revision.revision_id.clone(),
        revision_change_id: revision.revision_change_id.clone(),
        created: revision.created,
        summary: None,
        branch: None,
    };
    record.runtime.current_revisions.insert(key, pinned.clone());
    let id = start_execution(
        cx,
        state,
        pipeline,
        StartRequest {
            trigger_type: Some(TriggerType::PutActionRevision),
            trigger_detail: Some(format!("{stage}/{action}")),
            pinned_revisions: BTreeMap::from([(action.to_string(), pinned)]),
            ..StartRequest::default()
        },
    )?;
    Ok((true, Some(id)))
}

/// Picks up executions after their state was restored (from disk or an import): every action
/// still in progress gets its timer back (a simulated action finishes, an approval or job times
/// out when its remaining time has passed), then every pipeline advances.
pub fn resume(app: &App, region: &Arc<Region>) {
    let cx = Cx { app, region };
    let mut state = region.lock();
    let now = Timestamp::now().millis();
    let elapsed = |start: Timestamp| Duration::from_millis((now - start.millis()).max(0) as u64);
    let names: Vec<String> = state.pipelines.keys().cloned().collect();
    for record in state.pipelines.values_mut() {
        record.runtime.rebuild_active();
    }
    // Real actions whose task was lost with the previous process: (pipeline, action id).
    let mut interrupted: Vec<(String, String)> = Vec::new();
    for name in &names {
        let Some(record) = state.pipelines.get(name) else {
            continue;
        };
        for action in record.runtime.action_executions.values() {
            if action.is_finished() {
                continue;
            }
            let waited = elapsed(action.start_time);
            let own_timeout = record
                .runtime
                .execution(&action.pipeline_execution_id)
                .and_then(|e| {
                    e.declaration
                        .stages
                        .iter()
                        .find(|s| s.name == action.stage)
                        .and_then(|s| s.actions.iter().find(|a| a.name == action.action))
                })
                .and_then(actions::action_timeout);
            match &action.runner {
                Runner::Simulated { duration_ms, .. } => cx.schedule(
                    Duration::from_millis(*duration_ms).saturating_sub(waited),
                    Timer::FinishSimulated {
                        pipeline: name.clone(),
                        action_execution_id: action.id.clone(),
                    },
                ),
                Runner::Approval => cx.schedule(
                    own_timeout
                        .unwrap_or(app.config.approval_timeout)
                        .saturating_sub(waited),
                    Timer::ApprovalTimeout {
                        pipeline: name.clone(),
                        action_execution_id: action.id.clone(),
                    },
                ),
                Runner::Real { .. } => interrupted.push((name.clone(), action.id.clone())),
                Runner::Job { .. } => {
                    if let Some(job_id) = &action.job_id {
                        let created = state
                            .jobs
                            .jobs
                            .get(job_id)
                            .map(|j| j.created)
                            .unwrap_or(action.start_time);
                        cx.schedule(
                            own_timeout
                                .unwrap_or(app.config.job_timeout)
                                .saturating_sub(elapsed(created)),
                            Timer::JobTimeout {
                                pipeline: name.clone(),
                                job_id: job_id.clone(),
                            },
                        );
                    }
                }
            }
        }
    }
    for name in &names {
        let Some(record) = state.pipelines.get(name) else {
            continue;
        };
        for (sequence, rule) in &record.runtime.rule_executions {
            if rule.status == RuleExecutionStatus::InProgress {
                cx.schedule(
                    Duration::from_millis(rule.duration_ms)
                        .saturating_sub(elapsed(rule.start_time)),
                    Timer::FinishRule {
                        pipeline: name.clone(),
                        rule_sequence: *sequence,
                    },
                );
            }
        }
    }
    for (pipeline, action_execution_id) in interrupted {
        finish_action_by_id(
            &cx,
            &mut state,
            &pipeline,
            &action_execution_id,
            Outcome::failed(
                "JobFailed",
                "The action was interrupted: codepipeline-local stopped while it ran",
            ),
        );
    }
    for name in &names {
        advance(&cx, &mut state, name);
    }
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
) -> Result<(), ApiError> {
    let record = state
        .pipelines
        .get_mut(pipeline)
        .ok_or_else(|| ApiError::pipeline_not_found(pipeline, &cx.region.scope.account))?;
    if !record.current().stages.iter().any(|s| s.name == stage) {
        return Err(ApiError::stage_not_found(stage, pipeline));
    }
    let runtime = &mut record.runtime;
    let seq = latest_in_stage(runtime, stage, execution_id)?;
    let kind = match condition {
        ConditionType::BeforeEntry => conditions::BEFORE_ENTRY,
        ConditionType::OnSuccess => conditions::ON_SUCCESS,
    };
    if !conditions::override_condition(cx, pipeline, runtime, seq, stage, kind) {
        return Err(ApiError::new(
            ErrorCode::ConditionNotOverridableException,
            format!(
                "The {condition} condition of stage '{stage}' is not being evaluated for execution '{execution_id}'"
            ),
        ));
    }
    advance(cx, state, pipeline);
    Ok(())
}
