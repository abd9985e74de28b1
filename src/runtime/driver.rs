//! The driver of the engine: applies inputs under the region's lock and performs the effects.

use crate::app::App;
use crate::engine::{self, Cx, Effect, EventKind, Settings, Subject, Surroundings, Timer};
use crate::events::{ACTION_DETAIL_TYPE, PIPELINE_DETAIL_TYPE, STAGE_DETAIL_TYPE};
use crate::model::*;
use crate::protocol::Scope;
use crate::store::runtime::{Outcome, Plan};
use crate::store::{PipelineRecord, Region, RegionState};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a timer guards, in which account and region: one timer per key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimerKey {
    pub scope: Scope,
    pub pipeline: String,
    pub subject: Subject,
}

/// A timer that fell due, with the account and region it belongs to.
pub type Due = (Scope, Timer);

/// The engine's surroundings as the application knows them.
struct World<'a> {
    app: &'a App,
    scope: &'a Scope,
}

impl Surroundings for World<'_> {
    fn plan(&self, action: &ActionDeclaration, configuration: &Map<String>) -> Option<Plan> {
        crate::actions::plan(&self.app.config, action, configuration)
    }

    fn stack_outputs(&self, stack: &str) -> Option<BTreeMap<String, String>> {
        self.app.stacks.outputs(self.scope, stack)
    }

    fn project_exports(&self, name: &str) -> Option<Vec<String>> {
        let project = self
            .app
            .stacks
            .codebuild_project(self.scope, name)
            .or_else(|| {
                self.app
                    .config
                    .codebuild_projects
                    .iter()
                    .find(|p| p.name == name)
                    .cloned()
            })?;
        Some(project.env.exported_variables)
    }

    fn job_credentials(&self) -> Option<AWSSessionCredentials> {
        crate::actions::artifacts::job_credentials(&self.app.config)
    }
}

fn settings(app: &App) -> Settings<'_> {
    let config = &app.config;
    Settings {
        approval_timeout: config.approval_timeout,
        job_timeout: config.job_timeout,
        max_executions_per_pipeline: config.max_executions_per_pipeline,
        action_rules: &config.actions,
        condition_rules: &config.rules,
        events: app.events.has_subscribers(),
    }
}

/// Locks the region, applies `step` to the engine and performs the effects it asked for.
pub fn with_engine<R>(
    app: &App,
    region: &Arc<Region>,
    step: impl FnOnce(&Cx, &mut RegionState) -> R,
) -> R {
    let mut state = region.lock();
    with_engine_locked(app, &region.scope, &mut state, step)
}

/// `with_engine` for a caller that holds the region's lock already.
pub fn with_engine_locked<R>(
    app: &App,
    scope: &Scope,
    state: &mut RegionState,
    step: impl FnOnce(&Cx, &mut RegionState) -> R,
) -> R {
    let world = World { app, scope };
    let cx = Cx::new(scope, settings(app), &world);
    let answer = step(&cx, state);
    let mut fired = Vec::new();
    for round in 0.. {
        let effects = cx.take_effects();
        if effects.is_empty() {
            break;
        }
        let due = perform(app, scope, state, effects, &fired, round < MAX_ROUNDS);
        for timer in due {
            fired.push(timer.guarded().1);
            engine::inputs::on_timer(&cx, state, timer);
        }
    }
    answer
}

/// How many rounds of timers due at once one step applies before it leaves the rest to the
/// wheel (a bound on the time the region's lock is held, whatever the pipelines do).
const MAX_ROUNDS: usize = 1_000;

/// Whether a timer armed with `delay` is applied in the same step: a simulated action or a rule
/// evaluation that takes no time ends under the lock that started it, as if its timer had
/// fallen due at once (one lock, one commit, no task for the wheel).
fn due_now(delay: std::time::Duration, timer: &Timer) -> bool {
    delay.is_zero()
        && matches!(
            timer,
            Timer::FinishSimulated { .. } | Timer::FinishRule { .. }
        )
}

/// Performs the effects of a step, in order, still under the region's lock (a timer or a task
/// that reports back waits for the lock, so it sees the step's state). Returns the timers due
/// at once (`due_now`, when `inline`), for the caller to apply next; `fired` are the subjects
/// of timers applied that way, never armed on the wheel, so none is cancelled there.
fn perform(
    app: &App,
    scope: &Scope,
    state: &mut RegionState,
    effects: Vec<Effect>,
    fired: &[Subject],
    inline: bool,
) -> Vec<Timer> {
    let mut due = Vec::new();
    for effect in effects {
        match effect {
            Effect::ArmTimer { delay, timer } if inline && due_now(delay, &timer) => {
                due.push(timer);
            }
            Effect::CancelTimer { subject, .. } if fired.contains(&subject) => {}
            Effect::ArmTimer { delay, timer } => {
                let (pipeline, subject) = timer.guarded();
                let key = TimerKey {
                    scope: scope.clone(),
                    pipeline: pipeline.to_string(),
                    subject,
                };
                app.timers.arm(key, delay, (scope.clone(), timer));
            }
            Effect::CancelTimer { pipeline, subject } => app.timers.cancel(TimerKey {
                scope: scope.clone(),
                pipeline,
                subject,
            }),
            Effect::StartReal {
                pipeline,
                action_execution_id,
                work,
            } => super::real::start(app, scope, state, &pipeline, &action_execution_id, work),
            Effect::StopReal {
                action_execution_id,
            } => app.running.cancel(&action_execution_id),
            Effect::InvokeLambda { job_id } => super::lambda::invoke(app, scope, state, &job_id),
            Effect::Publish {
                kind,
                resource,
                detail,
            } => {
                let detail_type = match kind {
                    EventKind::Pipeline => PIPELINE_DETAIL_TYPE,
                    EventKind::Stage => STAGE_DETAIL_TYPE,
                    EventKind::Action => ACTION_DETAIL_TYPE,
                };
                app.events.publish(scope, detail_type, &resource, detail);
            }
        }
    }
    due
}

/// Starts an execution of `pipeline` (`engine::start_execution` under the region's lock): the
/// entry point for what starts executions outside the API (webhooks, git events, watchers).
pub fn start_execution(
    app: &App,
    region: &Arc<Region>,
    pipeline: &str,
    request: engine::StartRequest,
) -> Result<String, engine::EngineError> {
    with_engine(app, region, |cx, state| {
        engine::start_execution(cx, state, pipeline, request)
    })
}

/// Handles a timer that fell due.
pub fn fire(app: &App, scope: &Scope, timer: Timer) {
    let region = app.store.region(scope);
    with_engine(app, &region, |cx, state| {
        engine::inputs::on_timer(cx, state, timer)
    });
}

/// Feeds a real action's outcome back to the engine.
pub fn report(
    app: &App,
    scope: &Scope,
    pipeline: &str,
    action_execution_id: &str,
    outcome: Outcome,
) {
    let region = app.store.region(scope);
    with_engine(app, &region, |cx, state| {
        engine::inputs::on_action_outcome(cx, state, pipeline, action_execution_id, outcome)
    });
}

/// Picks up a region's executions after its state was restored (`engine::resume`).
pub fn resume(app: &App, region: &Arc<Region>) {
    with_engine(app, region, engine::resume);
}

/// Cancels every timer of a pipeline (it was deleted).
pub fn cancel_pipeline(app: &App, scope: &Scope, pipeline: &str) {
    let (scope, pipeline) = (scope.clone(), pipeline.to_string());
    app.timers
        .cancel_where(move |key| key.scope == scope && key.pipeline == pipeline);
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

/// Stops the real work (local executor commands, S3 transfers) of a pipeline's unfinished
/// actions: the pipeline is being deleted or its region reset, so nothing will read the result.
pub fn stop_real_work(app: &App, record: &PipelineRecord) {
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
