//! How executions move through a pipeline (the CodePipeline user guide's "how pipeline
//! executions work"):
//! - stages run in order; inside a stage, actions run in groups of equal `runOrder`, lowest first,
//!   the actions of a group in parallel; a failed action fails its stage and the execution;
//! - SUPERSEDED (default) and QUEUED: a stage holds one execution at a time (it is locked while
//!   an execution runs in it); executions wait to enter a locked stage. In SUPERSEDED mode a newer
//!   execution waiting at the same place replaces the older one, which ends `Superseded`; in QUEUED
//!   mode they enter in order. PARALLEL executions never wait for each other;
//! - a disabled transition holds executions in front of its stage until it is enabled;
//! - a stop request ends the execution once nothing runs any more (stop and wait) or at once
//!   (stop and abandon, see `engine::stop_execution`).

use super::actions;
use super::advance::Consequences;
use super::conditions;
use super::Cx;
use crate::model::*;
use crate::store::ids::RecordId;
use crate::store::runtime::*;
use std::collections::HashMap;

/// Moves every active execution of a pipeline one step; true if anything changed.
pub fn step_all(
    cx: &Cx,
    name: &str,
    arn: &str,
    runtime: &mut PipelineRuntime,
    effects: &mut Consequences,
) -> bool {
    let mut changed = supersede_waiting(cx, name, arn, runtime);
    let active: Vec<u64> = runtime.active.iter().copied().collect();
    for seq in active {
        changed |= step_execution(cx, name, arn, runtime, seq, effects);
    }
    changed
}

fn step_execution(
    cx: &Cx,
    name: &str,
    arn: &str,
    runtime: &mut PipelineRuntime,
    seq: u64,
    effects: &mut Consequences,
) -> bool {
    let Some(execution) = runtime.executions.get(&seq) else {
        return false;
    };
    if !execution.is_active() {
        return false;
    }
    let changed = match execution.position {
        Position::Waiting { stage } => try_enter(cx, name, arn, runtime, seq, stage),
        Position::InStage { stage } => step_stage(cx, name, arn, runtime, seq, stage, effects),
        Position::Finished => false,
    };
    if changed {
        runtime.touch(seq);
    }
    changed
}

/// The name of the stage an execution is at (waiting for or inside).
fn stage_name_at(execution: &PipelineExecutionRecord) -> Option<&str> {
    let index = match execution.position {
        Position::Waiting { stage } | Position::InStage { stage } => stage,
        Position::Finished => return None,
    };
    execution
        .declaration
        .stages
        .get(index)
        .map(|s| s.name.as_str())
}

fn is_waiting_at(execution: &PipelineExecutionRecord, stage: &str) -> bool {
    matches!(execution.position, Position::Waiting { .. })
        && stage_name_at(execution) == Some(stage)
}

fn is_inside(execution: &PipelineExecutionRecord, stage: &str) -> bool {
    matches!(execution.position, Position::InStage { .. })
        && stage_name_at(execution) == Some(stage)
}

/// Whether another (non-PARALLEL) execution holds the stage.
pub fn stage_locked(runtime: &PipelineRuntime, stage: &str, except: u64) -> bool {
    runtime.active_executions().any(|(seq, e)| {
        seq != except && e.execution_mode != ExecutionMode::Parallel && is_inside(e, stage)
    })
}

/// SUPERSEDED mode: of the executions waiting in front of the same stage, only the newest
/// stays; the others end `Superseded`.
fn supersede_waiting(cx: &Cx, name: &str, arn: &str, runtime: &mut PipelineRuntime) -> bool {
    let mut newest: HashMap<String, u64> = HashMap::new();
    let mut waiting: Vec<(u64, String)> = Vec::new();
    for (seq, e) in runtime.active_executions() {
        if e.execution_mode != ExecutionMode::Superseded
            || !matches!(e.position, Position::Waiting { .. })
        {
            continue;
        }
        if let Some(stage) = stage_name_at(e) {
            let entry = newest.entry(stage.to_string()).or_insert(seq);
            *entry = (*entry).max(seq);
            waiting.push((seq, stage.to_string()));
        }
    }
    let superseded: Vec<u64> = waiting
        .into_iter()
        .filter(|(seq, stage)| newest.get(stage) != Some(seq))
        .map(|(seq, _)| seq)
        .collect();
    for seq in &superseded {
        finish_execution(
            cx,
            name,
            arn,
            runtime,
            *seq,
            PipelineExecutionStatus::Superseded,
            None,
        );
    }
    !superseded.is_empty()
}

fn try_enter(
    cx: &Cx,
    name: &str,
    arn: &str,
    runtime: &mut PipelineRuntime,
    seq: u64,
    index: usize,
) -> bool {
    let execution = &runtime.executions[&seq];
    let declaration = execution.declaration.clone();
    let Some(stage) = declaration.stages.get(index) else {
        finish_execution(
            cx,
            name,
            arn,
            runtime,
            seq,
            PipelineExecutionStatus::Succeeded,
            None,
        );
        return true;
    };
    if let Some(stop) = &execution.stop {
        let reason = stop.reason.clone();
        finish_execution(
            cx,
            name,
            arn,
            runtime,
            seq,
            PipelineExecutionStatus::Stopped,
            reason,
        );
        return true;
    }
    if !runtime.transition_enabled(&stage.name, StageTransitionType::Inbound) {
        return false;
    }
    if index > 0
        && execution.only_stage.is_none()
        && !runtime.transition_enabled(
            &declaration.stages[index - 1].name,
            StageTransitionType::Outbound,
        )
    {
        return false;
    }
    if execution.execution_mode != ExecutionMode::Parallel {
        if stage_locked(runtime, &stage.name, seq) {
            return false;
        }
        let earlier_waiting = runtime.active_executions().any(|(other, e)| {
            other < seq
                && e.execution_mode == ExecutionMode::Queued
                && is_waiting_at(e, &stage.name)
        });
        if execution.execution_mode == ExecutionMode::Queued && earlier_waiting {
            return false;
        }
    }
    let now = Timestamp::now();
    let Some(execution) = runtime.live_execution_mut(seq) else {
        return false;
    };
    let phase = if stage.before_entry.is_some() {
        StagePhase::BeforeEntry
    } else {
        StagePhase::Actions { group: 0 }
    };
    execution.stages.insert(
        stage.name.clone(),
        StageExecutionRecord {
            stage: stage.name.clone(),
            status: StageExecutionStatus::InProgress,
            execution_type: execution.execution_type,
            phase,
            entered: now,
            manual_retries: 0,
            auto_retries: 0,
            latest_retry_trigger: None,
            conditions: Default::default(),
            actions: Default::default(),
        },
    );
    execution.position = Position::InStage { stage: index };
    execution.last_update_time = now;
    let execution_id = RecordId::new(&execution.id);
    cx.publish_stage(name, arn, execution, &stage.name, "STARTED");
    runtime
        .stage_latest
        .insert(stage.name.clone(), execution_id);
    true
}

fn step_stage(
    cx: &Cx,
    name: &str,
    arn: &str,
    runtime: &mut PipelineRuntime,
    seq: u64,
    index: usize,
    effects: &mut Consequences,
) -> bool {
    let execution = &runtime.executions[&seq];
    let declaration = execution.declaration.clone();
    let Some(stage) = declaration.stages.get(index) else {
        return false;
    };
    let Some(run) = execution.stages.get(&stage.name) else {
        return false;
    };
    let stopping = execution.stop.is_some();
    match run.phase {
        StagePhase::Actions { group } => step_actions(
            cx, name, arn, runtime, seq, index, stage, group, stopping, effects,
        ),
        StagePhase::BeforeEntry | StagePhase::OnSuccess | StagePhase::OnFailure => {
            conditions::step(cx, name, arn, runtime, seq, index, stage, stopping, effects)
        }
        StagePhase::Done => false,
    }
}

/// The action indexes of a stage grouped by runOrder, lowest first.
pub fn run_order_groups(stage: &StageDeclaration) -> Vec<Vec<usize>> {
    let mut orders: Vec<i64> = stage
        .actions
        .iter()
        .map(|a| a.run_order.unwrap_or(1))
        .collect();
    orders.sort_unstable();
    orders.dedup();
    orders
        .into_iter()
        .map(|order| {
            stage
                .actions
                .iter()
                .enumerate()
                .filter(|(_, a)| a.run_order.unwrap_or(1) == order)
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn step_actions(
    cx: &Cx,
    name: &str,
    arn: &str,
    runtime: &mut PipelineRuntime,
    seq: u64,
    index: usize,
    stage: &StageDeclaration,
    group: usize,
    stopping: bool,
    effects: &mut Consequences,
) -> bool {
    let groups = run_order_groups(stage);
    let Some(members) = groups.get(group) else {
        finish_stage(
            cx,
            name,
            arn,
            runtime,
            StageRef { seq, index, stage },
            StageExecutionStatus::Succeeded,
        );
        return true;
    };
    let mut changed = false;
    if !stopping {
        for &i in members {
            let action = &stage.actions[i];
            let started = runtime.executions[&seq]
                .stages
                .get(&stage.name)
                .is_some_and(|run| run.actions.contains_key(&action.name));
            if !started {
                if let Some(started) =
                    actions::start_action(cx, name, arn, runtime, seq, stage, action)
                {
                    effects.jobs.extend(started.job);
                    changed = true;
                }
            }
        }
    }
    let statuses: Vec<Option<ActionExecutionStatus>> = {
        let run = &runtime.executions[&seq].stages[&stage.name];
        members
            .iter()
            .map(|&i| {
                run.actions
                    .get(&stage.actions[i].name)
                    .and_then(|s| runtime.action_executions.get(s))
                    .map(|r| r.status)
            })
            .collect()
    };
    if statuses.contains(&Some(ActionExecutionStatus::InProgress)) {
        return changed;
    }
    if stopping {
        finish_stage(
            cx,
            name,
            arn,
            runtime,
            StageRef { seq, index, stage },
            StageExecutionStatus::Stopped,
        );
        return true;
    }
    let failed = statuses.iter().any(|s| {
        matches!(
            s,
            Some(ActionExecutionStatus::Failed) | Some(ActionExecutionStatus::Abandoned)
        )
    });
    if failed {
        if stage.on_failure.is_some() {
            set_phase(runtime, seq, &stage.name, StagePhase::OnFailure);
        } else {
            finish_stage(
                cx,
                name,
                arn,
                runtime,
                StageRef { seq, index, stage },
                StageExecutionStatus::Failed,
            );
        }
        return true;
    }
    if group + 1 < groups.len() {
        set_phase(
            runtime,
            seq,
            &stage.name,
            StagePhase::Actions { group: group + 1 },
        );
    } else if stage.on_success.is_some() {
        set_phase(runtime, seq, &stage.name, StagePhase::OnSuccess);
    } else {
        finish_stage(
            cx,
            name,
            arn,
            runtime,
            StageRef { seq, index, stage },
            StageExecutionStatus::Succeeded,
        );
    }
    true
}

pub fn set_phase(runtime: &mut PipelineRuntime, seq: u64, stage: &str, phase: StagePhase) {
    if let Some(run) = runtime
        .live_execution_mut(seq)
        .and_then(|e| e.stages.get_mut(stage))
    {
        run.phase = phase;
    }
}

/// A stage of an execution: the execution's sequence number, the stage's index and declaration.
#[derive(Clone, Copy)]
pub struct StageRef<'a> {
    pub seq: u64,
    pub index: usize,
    pub stage: &'a StageDeclaration,
}

/// Ends a stage execution and moves the pipeline execution on (or ends it).
pub fn finish_stage(
    cx: &Cx,
    name: &str,
    arn: &str,
    runtime: &mut PipelineRuntime,
    at: StageRef,
    status: StageExecutionStatus,
) {
    let StageRef { seq, index, stage } = at;
    let Some(execution) = runtime.live_execution_mut(seq) else {
        return;
    };
    let now = Timestamp::now();
    if let Some(run) = execution.stages.get_mut(&stage.name) {
        run.status = status;
        run.phase = StagePhase::Done;
    }
    execution.last_update_time = now;
    let event = match status {
        StageExecutionStatus::Succeeded => "SUCCEEDED",
        StageExecutionStatus::Failed => "FAILED",
        StageExecutionStatus::Stopped => "STOPPED",
        StageExecutionStatus::Cancelled => "CANCELED",
        _ => "RESUMED",
    };
    cx.publish_stage(name, arn, execution, &stage.name, event);
    match status {
        StageExecutionStatus::Succeeded | StageExecutionStatus::Skipped => {
            let last =
                execution.only_stage.is_some() || index + 1 >= execution.declaration.stages.len();
            if last {
                finish_execution(
                    cx,
                    name,
                    arn,
                    runtime,
                    seq,
                    PipelineExecutionStatus::Succeeded,
                    None,
                );
            } else {
                execution.position = Position::Waiting { stage: index + 1 };
            }
        }
        StageExecutionStatus::Failed => {
            let summary = failure_summary(runtime, seq, &stage.name);
            finish_execution(
                cx,
                name,
                arn,
                runtime,
                seq,
                PipelineExecutionStatus::Failed,
                summary,
            );
        }
        _ => {
            let reason = execution.stop.as_ref().and_then(|s| s.reason.clone());
            finish_execution(
                cx,
                name,
                arn,
                runtime,
                seq,
                PipelineExecutionStatus::Stopped,
                reason,
            );
        }
    }
}

/// AWS's summary of a failed execution names the failed action.
fn failure_summary(runtime: &PipelineRuntime, seq: u64, stage: &str) -> Option<String> {
    let run = runtime.executions.get(&seq)?.stages.get(stage)?;
    let failed = run
        .actions
        .values()
        .filter_map(|s| runtime.action_executions.get(s))
        .find(|a| {
            matches!(
                a.status,
                ActionExecutionStatus::Failed | ActionExecutionStatus::Abandoned
            )
        });
    Some(match failed {
        Some(action) => format!(
            "Stage '{stage}' failed: action '{}' failed{}",
            action.action,
            action
                .error_details
                .as_ref()
                .and_then(|d| d.message.as_ref())
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        None => format!("Stage '{stage}' failed"),
    })
}

/// Ends a pipeline execution with a final status.
pub fn finish_execution(
    cx: &Cx,
    name: &str,
    arn: &str,
    runtime: &mut PipelineRuntime,
    seq: u64,
    status: PipelineExecutionStatus,
    summary: Option<String>,
) {
    runtime.touch(seq);
    let Some(execution) = runtime.live_execution_mut(seq) else {
        return;
    };
    execution.status = status;
    execution.position = Position::Finished;
    execution.last_update_time = Timestamp::now();
    if summary.is_some() {
        execution.status_summary = summary;
    }
    let event = match status {
        PipelineExecutionStatus::Succeeded => "SUCCEEDED",
        PipelineExecutionStatus::Failed => "FAILED",
        PipelineExecutionStatus::Stopped => "STOPPED",
        PipelineExecutionStatus::Superseded => "SUPERSEDED",
        PipelineExecutionStatus::Cancelled => "CANCELED",
        _ => "RESUMED",
    };
    tracing::info!(pipeline = name, execution_id = %execution.id, status = %status, "execution finished");
    cx.publish_execution(name, arn, execution, event);
    runtime.sync_active(seq);
    runtime.compact_finished(seq);
}

/// Runs a failed or stopped stage again (RetryStageExecution, or an onFailure RETRY): all its
/// actions, or those that did not succeed. The execution is InProgress again, with the same id.
#[allow(clippy::too_many_arguments)]
pub fn restart_stage(
    cx: &Cx,
    name: &str,
    arn: &str,
    runtime: &mut PipelineRuntime,
    seq: u64,
    stage: &str,
    index: usize,
    mode: StageRetryMode,
    trigger: RetryTrigger,
) {
    runtime.touch(seq);
    let Some(execution) = runtime.executions.get(&seq) else {
        return;
    };
    let succeeded: Vec<String> = execution
        .stages
        .get(stage)
        .map(|run| {
            run.actions
                .iter()
                .filter(|(_, s)| {
                    runtime
                        .action_executions
                        .get(s)
                        .is_some_and(|a| a.status == ActionExecutionStatus::Succeeded)
                })
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    let Some(execution) = runtime.live_execution_mut(seq) else {
        return;
    };
    let Some(run) = execution.stages.get_mut(stage) else {
        return;
    };
    match mode {
        StageRetryMode::AllActions => run.actions.clear(),
        StageRetryMode::FailedActions => run.actions.retain(|name, _| succeeded.contains(name)),
    }
    run.status = StageExecutionStatus::InProgress;
    run.phase = StagePhase::Actions { group: 0 };
    run.conditions.remove("ON_FAILURE");
    match trigger {
        RetryTrigger::ManualStageRetry => run.manual_retries += 1,
        RetryTrigger::AutomatedStageRetry => run.auto_retries += 1,
    }
    run.latest_retry_trigger = Some(trigger);
    execution.status = PipelineExecutionStatus::InProgress;
    execution.status_summary = None;
    execution.stop = None;
    execution.position = Position::InStage { stage: index };
    execution.last_update_time = Timestamp::now();
    cx.publish_execution(name, arn, execution, "RESUMED");
    cx.publish_stage(name, arn, execution, stage, "RESUMED");
    runtime.sync_active(seq);
}
