//! The engine's timers: a simulated action's end, an approval or job timeout, a rule's
//! evaluation. Each is keyed by what it guards (`TimerKey`), so that whatever finishes its
//! subject — an answered approval, a finished job, a stop, a deleted pipeline, a reset —
//! cancels it. They run on the application's timer wheel (`App::timers`, a
//! `crate::runtime::timers::TimerWheel`, reached through the `App` so that the engine does not
//! import the runtime); a timer that fires after its subject is gone finds nothing to do.

use super::{actions, advance, conditions, finish_action_by_id, invoke, Cx, Outcome};
use crate::app::App;
use crate::model::JobStatus;
use crate::protocol::Scope;
use std::time::Duration;

/// Something that happens later, reported back to the engine by the timer wheel.
#[derive(Debug, Clone)]
pub enum Timer {
    /// A simulated action's duration has passed.
    FinishSimulated {
        pipeline: String,
        action_execution_id: String,
    },
    /// A manual approval was not answered in time.
    ApprovalTimeout {
        pipeline: String,
        action_execution_id: String,
    },
    /// A job was not finished in time.
    JobTimeout { pipeline: String, job_id: String },
    /// A stage-condition rule's evaluation is due.
    FinishRule {
        pipeline: String,
        rule_sequence: u64,
    },
}

/// What a timer guards: one per subject (arming it again replaces the timer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimerKey {
    pub scope: Scope,
    pub pipeline: String,
    pub subject: Subject,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// An action execution (by id): a simulated action's end, an approval's timeout.
    Action(String),
    /// A job (by id): its timeout.
    Job(String),
    /// A rule execution (by sequence number in its pipeline): its evaluation.
    Rule(u64),
}

/// A timer that fell due, with the account and region it belongs to.
pub type Due = (Scope, Timer);

impl Timer {
    fn guarded(&self) -> (&str, Subject) {
        match self {
            Timer::FinishSimulated {
                pipeline,
                action_execution_id,
            }
            | Timer::ApprovalTimeout {
                pipeline,
                action_execution_id,
            } => (pipeline, Subject::Action(action_execution_id.clone())),
            Timer::JobTimeout { pipeline, job_id } => (pipeline, Subject::Job(job_id.clone())),
            Timer::FinishRule {
                pipeline,
                rule_sequence,
            } => (pipeline, Subject::Rule(*rule_sequence)),
        }
    }
}

impl Cx<'_> {
    /// Fires `timer` after `delay`, replacing any timer armed for the same subject. A zero
    /// delay fires after the caller has released the region lock, so the caller's state change
    /// is visible to the timer.
    pub fn schedule(&self, delay: Duration, timer: Timer) {
        let (pipeline, subject) = timer.guarded();
        let key = TimerKey {
            scope: self.region.scope.clone(),
            pipeline: pipeline.to_string(),
            subject,
        };
        let due = (self.region.scope.clone(), timer);
        self.app.timers.arm(key, delay, due);
    }

    /// Cancels the timer of a subject that finished (nothing happens if it has none).
    pub fn cancel_timer(&self, pipeline: &str, subject: Subject) {
        self.app.timers.cancel(TimerKey {
            scope: self.region.scope.clone(),
            pipeline: pipeline.to_string(),
            subject,
        });
    }
}

/// Cancels every timer of a pipeline (it was deleted).
pub fn cancel_pipeline(app: &App, scope: &Scope, pipeline: &str) {
    let (scope, pipeline) = (scope.clone(), pipeline.to_string());
    app.timers
        .cancel_where(move |key| key.scope == scope && key.pipeline == pipeline);
}

/// Stops the real work (local executor commands, S3 transfers) of a pipeline's unfinished
/// actions: the pipeline is being deleted or its region reset, so nothing will read the result.
pub fn stop_real_work(app: &App, record: &crate::store::PipelineRecord) {
    for action in record.runtime.action_executions.values() {
        if !action.is_finished() {
            app.running.cancel(&action.id);
        }
    }
}

/// Stops the real work of every pipeline of an account and region (before a reset or import).
pub fn stop_real_work_of_scope(app: &App, scope: &Scope) {
    if let Some(region) = app.store.get(scope) {
        let state = region.lock();
        for record in state.pipelines.values() {
            stop_real_work(app, record);
        }
    }
}

/// Cancels every timer of an account and region (its state was reset or replaced).
pub fn cancel_scope(app: &App, scope: &Scope) {
    let scope = scope.clone();
    app.timers.cancel_where(move |key| key.scope == scope);
}

/// Cancels every timer (all state was reset).
pub fn cancel_all(app: &App) {
    app.timers.cancel_where(|_| true);
}

/// Handles a timer that fired.
pub fn fire(app: &App, scope: &Scope, timer: Timer) {
    let region = app.store.region(scope);
    let cx = Cx {
        app,
        region: &region,
    };
    let mut state = region.lock();
    match timer {
        Timer::FinishSimulated {
            pipeline,
            action_execution_id,
        } => {
            if let Some(outcome) =
                invoke::invoke_target(&cx, &mut state, &pipeline, &action_execution_id)
            {
                finish_action_by_id(&cx, &mut state, &pipeline, &action_execution_id, outcome);
                advance(&cx, &mut state, &pipeline);
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
            let outcome = actions::simulated_outcome(&cx, runtime, action);
            actions::finish_action(&cx, &pipeline, &arn, runtime, seq, outcome);
            advance(&cx, &mut state, &pipeline);
        }
        Timer::ApprovalTimeout {
            pipeline,
            action_execution_id,
        } => {
            let finished = finish_action_by_id(
                &cx,
                &mut state,
                &pipeline,
                &action_execution_id,
                Outcome::failed("JobFailed", "The approval request timed out"),
            );
            if finished {
                advance(&cx, &mut state, &pipeline);
            }
        }
        Timer::FinishRule {
            pipeline,
            rule_sequence,
        } => {
            let Some(record) = state.pipelines.get_mut(&pipeline) else {
                return;
            };
            if conditions::evaluate_rule(&cx, &pipeline, &mut record.runtime, rule_sequence) {
                advance(&cx, &mut state, &pipeline);
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
                &cx,
                &mut state,
                &pipeline,
                &action_execution_id,
                Outcome::failed(
                    "JobFailed",
                    "The job timed out: no worker finished it in time",
                ),
            );
            if finished {
                advance(&cx, &mut state, &pipeline);
            }
        }
    }
}
