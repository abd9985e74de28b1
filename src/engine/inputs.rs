//! The inputs that do not come from the API: a timer that fell due, the outcome of real work,
//! a Lambda function that could not take its job. Each changes the state and advances the
//! pipeline, as commands do.

use super::{actions, advance, conditions, finish_action_by_id, invoke, Cx, Outcome, Timer};
use crate::model::JobStatus;
use crate::store::RegionState;

/// Real work finished with an outcome (nothing happens when the action already finished, e.g.
/// its execution was stopped and abandoned it).
pub fn on_action_outcome(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    action_execution_id: &str,
    outcome: Outcome,
) {
    if finish_action_by_id(cx, state, pipeline, action_execution_id, outcome) {
        advance(cx, state, pipeline);
    }
}

/// A Lambda job's function could not be invoked or failed: the job and its action fail (if the
/// job still waits for its function).
pub fn on_lambda_failure(cx: &Cx, state: &mut RegionState, job_id: &str, message: String) {
    let Some(job) = state.jobs.jobs.get(job_id) else {
        return;
    };
    if job.is_finished() {
        return;
    }
    let (pipeline, action_execution_id) = (job.pipeline.clone(), job.action_execution_id.clone());
    state.jobs.finish(job_id, JobStatus::Failed);
    on_action_outcome(
        cx,
        state,
        &pipeline,
        &action_execution_id,
        Outcome::failed("JobFailed", message),
    );
}

/// A timer fell due.
pub fn on_timer(cx: &Cx, state: &mut RegionState, timer: Timer) {
    match timer {
        Timer::FinishSimulated {
            pipeline,
            action_execution_id,
        } => {
            if let Some(outcome) = invoke::invoke_target(cx, state, &pipeline, &action_execution_id)
            {
                finish_action_by_id(cx, state, &pipeline, &action_execution_id, outcome);
                advance(cx, state, &pipeline);
                return;
            }
            let Some(record) = state.pipelines.get_mut(&pipeline) else {
                return;
            };
            let arn = record.arn.clone();
            let runtime = &mut record.runtime;
            let Some(&seq) = runtime.action_execution_ids.get(&action_execution_id) else {
                return;
            };
            let Some(action) = runtime.action_executions.get(&seq) else {
                return;
            };
            if action.is_finished() {
                return;
            }
            let outcome = actions::simulated_outcome(cx, runtime, action);
            actions::finish_action(cx, &pipeline, &arn, runtime, seq, outcome);
            advance(cx, state, &pipeline);
        }
        Timer::ApprovalTimeout {
            pipeline,
            action_execution_id,
        } => {
            let finished = finish_action_by_id(
                cx,
                state,
                &pipeline,
                &action_execution_id,
                Outcome::failed("JobFailed", "The approval request timed out"),
            );
            if finished {
                advance(cx, state, &pipeline);
            }
        }
        Timer::FinishRule {
            pipeline,
            rule_sequence,
        } => {
            let Some(record) = state.pipelines.get_mut(&pipeline) else {
                return;
            };
            if conditions::evaluate_rule(cx, &pipeline, &mut record.runtime, rule_sequence) {
                advance(cx, state, &pipeline);
            }
        }
        Timer::JobTimeout { job_id, .. } => {
            let Some(job) = state.jobs.jobs.get(&job_id) else {
                return;
            };
            if job.is_finished() {
                return;
            }
            let (pipeline, action_execution_id) =
                (job.pipeline.clone(), job.action_execution_id.clone());
            state.jobs.finish(&job_id, JobStatus::TimedOut);
            let finished = finish_action_by_id(
                cx,
                state,
                &pipeline,
                &action_execution_id,
                Outcome::failed(
                    "JobFailed",
                    "The job timed out: no worker finished it in time",
                ),
            );
            if finished {
                advance(cx, state, &pipeline);
            }
        }
    }
}
