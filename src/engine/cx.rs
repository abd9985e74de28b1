//! What a step of the engine is given and what it asks for.
//!
//! The engine is synchronous and does no I/O: a step gets the region's state, plain settings
//! (`Settings`, copied or borrowed from the configuration) and a few look-ups of its surroundings
//! (`Surroundings`, answered by the runtime driver), changes the state, and records what must
//! happen outside the state as `Effect`s in its `Cx`. The driver (`runtime`) performs them
//! once the step is done.

use super::behavior::{ActionRule, ConditionRuleBehavior};
use super::timers::{Subject, Timer};
use crate::model::*;
use crate::protocol::Scope;
use crate::store::runtime::{ActionExecutionRecord, PipelineExecutionRecord, Plan, RealWork};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

/// The settings the engine reads (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// How long a manual approval waits (an action's `timeoutInMinutes` overrides it).
    pub approval_timeout: Duration,
    /// How long a job waits for a worker (an action's `timeoutInMinutes` overrides it).
    pub job_timeout: Duration,
    /// Finished executions kept per pipeline.
    pub max_executions_per_pipeline: usize,
    /// What simulated actions do, first match wins.
    pub action_rules: &'a [ActionRule],
    /// What simulated stage-condition rules do, first match wins.
    pub condition_rules: &'a [ConditionRuleBehavior],
    /// Whether anyone listens to state-change events (else none are built).
    pub events: bool,
}

impl Default for Settings<'_> {
    fn default() -> Self {
        Settings {
            approval_timeout: Duration::from_secs(7 * 24 * 3600),
            job_timeout: Duration::from_secs(3600),
            max_executions_per_pipeline: 1000,
            action_rules: &[],
            condition_rules: &[],
            events: false,
        }
    }
}

/// What the engine asks of its surroundings while it decides: answers, never actions.
pub trait Surroundings {
    /// What an AWS action does instead of being simulated (`actions::plan`).
    fn plan(&self, action: &ActionDeclaration, configuration: &Map<String>) -> Option<Plan>;
    /// The outputs of a stack a loaded template made, if there is one.
    fn stack_outputs(&self, stack: &str) -> Option<BTreeMap<String, String>>;
    /// The `exported-variables` of a CodeBuild project a template or the configuration declares.
    fn project_exports(&self, project: &str) -> Option<Vec<String>>;
    /// The credentials jobs carry for the real artifact store, when there is one.
    fn job_credentials(&self) -> Option<AWSSessionCredentials>;
}

/// Surroundings with nothing in them: every action simulated, no stacks, no real store.
pub struct Nothing;

impl Surroundings for Nothing {
    fn plan(&self, _: &ActionDeclaration, _: &Map<String>) -> Option<Plan> {
        None
    }
    fn stack_outputs(&self, _: &str) -> Option<BTreeMap<String, String>> {
        None
    }
    fn project_exports(&self, _: &str) -> Option<Vec<String>> {
        None
    }
    fn job_credentials(&self) -> Option<AWSSessionCredentials> {
        None
    }
}

/// Which kind of state-change event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Pipeline,
    Stage,
    Action,
}

/// Something that must happen outside the region's state, in the order the engine asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Fire `timer` after `delay`, replacing the timer of the same subject.
    ArmTimer { delay: Duration, timer: Timer },
    /// Cancel the timer of a subject (nothing happens if it has none).
    CancelTimer { pipeline: String, subject: Subject },
    /// Start the real work of an action execution that the engine just started.
    StartReal {
        pipeline: String,
        action_execution_id: String,
        work: RealWork,
    },
    /// Stop the real work of an action execution that finished (nothing if none runs).
    StopReal { action_execution_id: String },
    /// Hand a Lambda job (already on the job board) to its function.
    InvokeLambda { job_id: String },
    /// Publish a state-change event about `resource` (a pipeline ARN).
    Publish {
        kind: EventKind,
        resource: String,
        detail: Value,
    },
}

/// The context of one engine step: where it runs, what it may read, what it asks for.
pub struct Cx<'a> {
    pub scope: &'a Scope,
    pub settings: Settings<'a>,
    pub world: &'a dyn Surroundings,
    effects: RefCell<Vec<Effect>>,
}

impl<'a> Cx<'a> {
    pub fn new(scope: &'a Scope, settings: Settings<'a>, world: &'a dyn Surroundings) -> Self {
        Cx {
            scope,
            settings,
            world,
            effects: RefCell::new(Vec::new()),
        }
    }

    /// Records an effect.
    pub fn effect(&self, effect: Effect) {
        self.effects.borrow_mut().push(effect);
    }

    /// The effects recorded so far, leaving none.
    pub fn take_effects(&self) -> Vec<Effect> {
        std::mem::take(&mut *self.effects.borrow_mut())
    }

    /// Fires `timer` after `delay`, replacing any timer armed for the same subject.
    pub fn schedule(&self, delay: Duration, timer: Timer) {
        self.effect(Effect::ArmTimer { delay, timer });
    }

    /// Cancels the timer of a subject that finished.
    pub fn cancel_timer(&self, pipeline: &str, subject: Subject) {
        self.effect(Effect::CancelTimer {
            pipeline: pipeline.to_string(),
            subject,
        });
    }

    fn publish(&self, kind: EventKind, arn: &str, detail: Value) {
        self.effect(Effect::Publish {
            kind,
            resource: arn.to_string(),
            detail,
        });
    }

    pub fn publish_execution(
        &self,
        pipeline: &str,
        arn: &str,
        execution: &PipelineExecutionRecord,
        state: &str,
    ) {
        if !self.settings.events {
            return;
        }
        let detail = json!({
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
        });
        self.publish(EventKind::Pipeline, arn, detail);
    }

    pub fn publish_stage(
        &self,
        pipeline: &str,
        arn: &str,
        execution: &PipelineExecutionRecord,
        stage: &str,
        state: &str,
    ) {
        if !self.settings.events {
            return;
        }
        let detail = json!({
            "pipeline": pipeline,
            "execution-id": execution.id,
            "start-time": execution.start_time.0.to_rfc3339(),
            "stage": stage,
            "state": state,
            "version": execution.pipeline_version,
            "pipeline-execution-attempt": 1,
        });
        self.publish(EventKind::Stage, arn, detail);
    }

    pub fn publish_action(
        &self,
        pipeline: &str,
        arn: &str,
        record: &ActionExecutionRecord,
        action: &ActionDeclaration,
        state: &str,
    ) {
        if !self.settings.events {
            return;
        }
        let type_id = &action.action_type_id;
        let detail = json!({
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
        });
        self.publish(EventKind::Action, arn, detail);
    }
}
