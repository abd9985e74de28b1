//! Moving executions on: after every change, `advance` moves each execution of the pipeline as
//! far as the rules allow, queues the jobs it creates and starts automated rollbacks.

use super::progress;
use super::{actions, rollback_stage, Cx, Outcome};
use crate::model::*;
use crate::store::runtime::*;
use crate::store::{PipelineRecord, RegionState};

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
pub struct Consequences {
    /// Jobs to queue for workers.
    pub jobs: Vec<crate::jobs::JobRecord>,
    /// Automated rollbacks: (stage, the execution that failed in it).
    pub rollbacks: Vec<(String, String)>,
}

/// Moves every execution of a pipeline as far as it can go, queuing the jobs it creates and
/// starting the automated rollbacks its stage conditions ask for.
pub fn advance(cx: &Cx, state: &mut RegionState, pipeline: &str) {
    state.touch_pipeline(pipeline);
    // A bound on the steps of one call, whatever the pipeline does.
    let mut steps = 0..100_000;
    while steps.next().is_some() {
        let RegionState {
            pipelines, jobs, ..
        } = &mut *state;
        let Some(record) = pipelines.get_mut(pipeline) else {
            return;
        };
        let PipelineRecord { arn, runtime, .. } = &mut **record;
        // Steps until nothing changes or a stage asks for a rollback (which needs the whole
        // region): one lookup of the pipeline for all of them.
        let mut effects = Consequences::default();
        let mut changed;
        loop {
            changed = progress::step_all(cx, pipeline, arn, runtime, &mut effects);
            for job in effects.jobs.drain(..) {
                jobs.queue(job);
            }
            if !changed || !effects.rollbacks.is_empty() || steps.next().is_none() {
                break;
            }
        }
        if effects.rollbacks.is_empty() {
            trim_history(runtime, cx.settings.max_executions_per_pipeline);
            return;
        }
        for (stage, failed) in effects.rollbacks {
            automated_rollback(cx, state, pipeline, &stage, &failed);
        }
        if !changed {
            break;
        }
    }
    if let Some(record) = state.pipelines.get_mut(pipeline) {
        trim_history(&mut record.runtime, cx.settings.max_executions_per_pipeline);
    }
}

/// Drops the oldest finished executions (and their action executions) past the cap.
fn trim_history(runtime: &mut PipelineRuntime, cap: usize) {
    while runtime.execution_count() > cap {
        // The oldest finished one: packed, or live but not active.
        let packed = runtime.packed.keys().next().copied();
        let live = runtime
            .executions
            .iter()
            .find(|(_, e)| !e.is_active())
            .map(|(seq, _)| *seq);
        let Some(seq) = packed.into_iter().chain(live).min() else {
            return;
        };
        runtime.trimmed.push(seq);
        runtime.touched.remove(&seq);
        let Some(group) = runtime.remove_execution(seq) else {
            // Undecodable: its ids stay in the id maps, pointing nowhere (not found).
            continue;
        };
        let execution = group.execution;
        runtime.execution_ids.remove(&execution.id);
        for action in &group.actions {
            runtime.action_execution_ids.remove(&action.id);
            let key = action_key(&action.stage, &action.action);
            if runtime.action_latest.get(&key) == Some(&action.sequence) {
                runtime.action_latest.remove(&key);
            }
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
    // A rollback that fails is not rolled back again (that would start rollbacks without end),
    // and a rollback execution is never a rollback target (as in AWS).
    let failed_rollback = record
        .runtime
        .execution(failed)
        .is_some_and(|e| e.execution_type == ExecutionType::Rollback);
    if failed_rollback {
        tracing::info!(
            pipeline,
            stage,
            "a failed rollback execution is not rolled back"
        );
        return;
    }
    let runtime = &record.runtime;
    let target = runtime
        .execution_sequences()
        .into_iter()
        .rev()
        .filter_map(|seq| runtime.execution_at(seq))
        .find(|e| {
            e.id != failed
                && e.execution_type != ExecutionType::Rollback
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
