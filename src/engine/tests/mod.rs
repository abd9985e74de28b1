//! Table-driven tests of the state machine, without HTTP: each case is a pipeline and a
//! sequence of inputs (commands, timers falling due), each followed by the expected statuses of
//! the executions, the actions in progress and the effects the step asked for.

mod cases;
mod work;

use super::behavior::{ActionRule, Behavior, ConditionRuleBehavior};
use super::*;
use crate::model::*;
use crate::protocol::Scope;
use crate::store::{PipelineRecord, RegionState};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const PIPELINE: &str = "p";

/// One input to the engine.
#[derive(Debug, Clone)]
pub enum Input {
    /// StartPipelineExecution.
    Start,
    /// Every armed simulated-action and rule timer falls due, until none is left.
    Tick,
    /// The approval timer of the pending approval falls due.
    ExpireApproval,
    /// StopPipelineExecution of the n-th execution (0: the first started).
    Stop { execution: usize, abandon: bool },
    /// DisableStageTransition / EnableStageTransition (inbound).
    Transition { stage: &'static str, enabled: bool },
    /// PutApprovalResult for the pending approval of a stage.
    Approve { stage: &'static str, approved: bool },
    /// RetryStageExecution (failed actions) of the n-th execution.
    Retry {
        execution: usize,
        stage: &'static str,
    },
    /// RollbackStage to the n-th execution.
    Rollback { stage: &'static str, target: usize },
    /// The real work of every running real action ends with success.
    FinishReal,
    /// A worker took the pending job and reports success (`continuation`: still running).
    JobSucceeds { continuation: bool },
    /// A worker took the pending job and reports failure.
    JobFails,
    /// PutActionRevision of the source action with this revision.
    PutRevision(&'static str),
    /// The state was restored (a restart): timers are lost, `resume` picks executions up.
    Resume,
}

/// What must hold after an input.
pub struct Expect {
    /// The statuses of the executions, in start order.
    pub executions: &'static [&'static str],
    /// The action executions in progress, as `Stage.Action`, sorted.
    pub running: &'static [&'static str],
    /// Effects the step asked for (each must be among them; see `effect_name`).
    pub effects: &'static [&'static str],
    /// The step is refused with this error (the state does not change).
    pub refused: Option<Refusal>,
}

pub const fn expect(
    executions: &'static [&'static str],
    running: &'static [&'static str],
) -> Expect {
    Expect {
        executions,
        running,
        effects: &[],
        refused: None,
    }
}

impl Expect {
    pub const fn effects(self, effects: &'static [&'static str]) -> Expect {
        Expect { effects, ..self }
    }
    pub const fn refused(self, reason: Refusal) -> Expect {
        Expect {
            refused: Some(reason),
            ..self
        }
    }
}

pub struct Case {
    pub name: &'static str,
    pub pipeline: Value,
    pub action_rules: Vec<ActionRule>,
    pub condition_rules: Vec<ConditionRuleBehavior>,
    pub steps: Vec<(Input, Expect)>,
}

/// An action of a pipeline: `(name, owner/provider/category, runOrder)`.
pub fn action(name: &str, provider: &str, run_order: i64) -> Value {
    let (category, owner) = match provider {
        "S3Source" => ("Source", "AWS"),
        "Manual" => ("Approval", "AWS"),
        "CodeBuild" => ("Build", "AWS"),
        "S3" => ("Deploy", "AWS"),
        "Custom" => ("Build", "Custom"),
        "Lambda" => ("Invoke", "AWS"),
        other => panic!("no such test provider {other}"),
    };
    let provider = if provider == "S3Source" {
        "S3"
    } else {
        provider
    };
    let mut declaration = json!({
        "name": name,
        "actionTypeId": {"category": category, "owner": owner, "provider": provider, "version": "1"},
        "runOrder": run_order,
        "configuration": {},
    });
    if category == "Source" {
        declaration["outputArtifacts"] = json!([{"name": format!("{name}Out")}]);
    }
    declaration
}

pub fn stage(name: &str, actions: Vec<Value>) -> Value {
    json!({"name": name, "actions": actions})
}

/// A V2 pipeline in `mode` with a source stage and the given stages.
pub fn pipeline(mode: &str, stages: Vec<Value>) -> Value {
    let mut all = vec![stage("Source", vec![action("Src", "S3Source", 1)])];
    all.extend(stages);
    json!({
        "name": PIPELINE,
        "roleArn": "arn:aws:iam::123456789012:role/pipeline",
        "artifactStore": {"type": "S3", "location": "bucket"},
        "pipelineType": "V2",
        "executionMode": mode,
        "stages": all,
        "version": 1,
    })
}

pub fn fail_rule(action: &str) -> ActionRule {
    ActionRule {
        action: Some(action.to_string()),
        behavior: Behavior::Fail,
        ..ActionRule::default()
    }
}

/// S3 deploy actions do real work, Lambda invoke actions go to a function; everything else is
/// simulated.
struct World;

impl Surroundings for World {
    fn plan(&self, action: &ActionDeclaration, _: &Map<String>) -> Option<Plan> {
        let id = &action.action_type_id;
        match (id.category, id.provider.as_str()) {
            (ActionCategory::Deploy, "S3") => Some(Plan::Real(RealWork::S3Deploy)),
            (ActionCategory::Invoke, "Lambda") => Some(Plan::Lambda),
            _ => None,
        }
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

/// The region's state and the timers and real work the effects left pending.
struct Sim {
    state: RegionState,
    scope: Scope,
    action_rules: Vec<ActionRule>,
    condition_rules: Vec<ConditionRuleBehavior>,
    /// Armed timers in arming order (a re-armed subject moves to the end).
    timers: Vec<Timer>,
    /// Real work started and not stopped: action execution ids.
    real: Vec<String>,
}

fn effect_name(effect: &Effect) -> String {
    match effect {
        Effect::ArmTimer { timer, .. } => match timer {
            Timer::FinishSimulated { .. } => "ArmTimer:FinishSimulated",
            Timer::ApprovalTimeout { .. } => "ArmTimer:ApprovalTimeout",
            Timer::JobTimeout { .. } => "ArmTimer:JobTimeout",
            Timer::FinishRule { .. } => "ArmTimer:FinishRule",
        }
        .to_string(),
        Effect::CancelTimer { subject, .. } => match subject {
            Subject::Action(_) => "CancelTimer:Action",
            Subject::Job(_) => "CancelTimer:Job",
            Subject::Rule(_) => "CancelTimer:Rule",
        }
        .to_string(),
        Effect::StartReal { .. } => "StartReal".into(),
        Effect::StopReal { .. } => "StopReal".into(),
        Effect::InvokeLambda { .. } => "InvokeLambda".into(),
        Effect::Publish { .. } => "Publish".into(),
    }
}

impl Sim {
    fn new(case: &Case) -> Sim {
        let declaration: PipelineDeclaration =
            serde_json::from_value(case.pipeline.clone()).expect("a pipeline declaration");
        let mut state = RegionState::default();
        state.pipelines.insert(
            PIPELINE.to_string(),
            Box::new(PipelineRecord::new(
                "arn:aws:codepipeline:us-east-1:123456789012:p".into(),
                declaration,
                Vec::new(),
            )),
        );
        Sim {
            state,
            scope: Scope {
                account: "123456789012".into(),
                region: "us-east-1".into(),
            },
            action_rules: case.action_rules.clone(),
            condition_rules: case.condition_rules.clone(),
            timers: Vec::new(),
            real: Vec::new(),
        }
    }

    /// Runs one engine step and keeps what its effects leave pending.
    fn step<R>(&mut self, f: impl FnOnce(&Cx, &mut RegionState) -> R) -> (R, Vec<Effect>) {
        let settings = Settings {
            action_rules: &self.action_rules,
            condition_rules: &self.condition_rules,
            events: true,
            ..Settings::default()
        };
        let cx = Cx::new(&self.scope, settings, &World);
        let answer = f(&cx, &mut self.state);
        let effects = cx.take_effects();
        for effect in &effects {
            match effect {
                Effect::ArmTimer { timer, .. } => {
                    let key = timer.guarded();
                    let key = (key.0.to_string(), key.1);
                    self.timers.retain(|t| {
                        let k = t.guarded();
                        (k.0.to_string(), k.1) != key
                    });
                    self.timers.push(timer.clone());
                }
                Effect::CancelTimer { pipeline, subject } => self
                    .timers
                    .retain(|t| t.guarded() != (pipeline.as_str(), subject.clone())),
                Effect::StartReal {
                    action_execution_id,
                    ..
                } => self.real.push(action_execution_id.clone()),
                Effect::StopReal {
                    action_execution_id,
                } => self.real.retain(|id| id != action_execution_id),
                Effect::InvokeLambda { .. } | Effect::Publish { .. } => {}
            }
        }
        (answer, effects)
    }

    fn execution_id(&self, n: usize) -> String {
        let runtime = &self.state.pipelines[PIPELINE].runtime;
        runtime
            .executions
            .values()
            .nth(n)
            .map(|e| e.id.clone())
            .expect("the execution exists")
    }

    fn apply(&mut self, input: &Input) -> (Result<(), EngineError>, Vec<Effect>) {
        match input.clone() {
            Input::Start => self.step(|cx, state| {
                start_execution(cx, state, PIPELINE, StartRequest::default()).map(|_| ())
            }),
            Input::Tick => {
                let mut effects = Vec::new();
                while let Some(at) = self.timers.iter().position(|t| {
                    matches!(t, Timer::FinishSimulated { .. } | Timer::FinishRule { .. })
                }) {
                    let timer = self.timers.remove(at);
                    let (_, more) = self.step(|cx, state| inputs::on_timer(cx, state, timer));
                    effects.extend(more);
                }
                (Ok(()), effects)
            }
            Input::ExpireApproval => {
                let at = self
                    .timers
                    .iter()
                    .position(|t| matches!(t, Timer::ApprovalTimeout { .. }))
                    .expect("an approval timer is armed");
                let timer = self.timers.remove(at);
                let (_, effects) = self.step(|cx, state| inputs::on_timer(cx, state, timer));
                (Ok(()), effects)
            }
            Input::Stop { execution, abandon } => {
                let id = self.execution_id(execution);
                self.step(|cx, state| stop_execution(cx, state, PIPELINE, &id, abandon, None))
            }
            Input::Transition { stage, enabled } => self.step(|cx, state| {
                set_transition(
                    cx,
                    state,
                    PIPELINE,
                    stage,
                    StageTransitionType::Inbound,
                    enabled,
                    Some("test".into()),
                    "tester",
                )
            }),
            Input::Approve { stage, approved } => {
                let runtime = &self.state.pipelines[PIPELINE].runtime;
                let pending = runtime
                    .action_executions
                    .values()
                    .find(|a| a.stage == stage && !a.is_finished() && a.token.is_some())
                    .expect("a pending approval");
                let (action, token) = (pending.action.clone(), pending.token.clone());
                let result = ApprovalResult {
                    summary: "ok".into(),
                    status: if approved {
                        ApprovalStatus::Approved
                    } else {
                        ApprovalStatus::Rejected
                    },
                };
                self.step(|cx, state| {
                    put_approval_result(
                        cx,
                        state,
                        PIPELINE,
                        stage,
                        &action,
                        token.as_deref().unwrap_or_default(),
                        &result,
                        "tester",
                    )
                    .map(|_| ())
                })
            }
            Input::Retry { execution, stage } => {
                let id = self.execution_id(execution);
                self.step(|cx, state| {
                    retry_stage(
                        cx,
                        state,
                        PIPELINE,
                        stage,
                        &id,
                        StageRetryMode::FailedActions,
                        RetryTrigger::ManualStageRetry,
                    )
                    .map(|_| ())
                })
            }
            Input::Rollback { stage, target } => {
                let id = self.execution_id(target);
                self.step(|cx, state| {
                    rollback_stage(cx, state, PIPELINE, stage, &id, TriggerType::ManualRollback)
                        .map(|_| ())
                })
            }
            Input::FinishReal => {
                let mut effects = Vec::new();
                for id in std::mem::take(&mut self.real) {
                    let outcome = Outcome::Succeeded {
                        summary: Some("done".into()),
                        output_variables: BTreeMap::new(),
                        external_execution_id: None,
                        external_execution_url: None,
                        percent_complete: None,
                        revision: None,
                        updated_by: None,
                    };
                    let (_, more) = self.step(|cx, state| {
                        inputs::on_action_outcome(cx, state, PIPELINE, &id, outcome)
                    });
                    effects.extend(more);
                }
                (Ok(()), effects)
            }
            Input::JobSucceeds { continuation } => {
                let job = self.take_job();
                let result = jobs::JobSuccess {
                    current_revision: None,
                    continuation_token: continuation.then(|| "more".to_string()),
                    execution_details: None,
                    output_variables: None,
                };
                self.step(|cx, state| jobs::succeed(cx, state, &job, result))
            }
            Input::JobFails => {
                let job = self.take_job();
                let failure = FailureDetails {
                    r#type: FailureType::JobFailed,
                    message: "broken".into(),
                    external_execution_id: None,
                };
                self.step(|cx, state| jobs::fail(cx, state, &job, failure))
            }
            Input::PutRevision(revision) => {
                let revision = ActionRevision {
                    created: Timestamp::now(),
                    revision_change_id: revision.to_string(),
                    revision_id: revision.to_string(),
                };
                self.step(|cx, state| {
                    put_action_revision(cx, state, PIPELINE, "Source", "Src", &revision).map(|_| ())
                })
            }
            Input::Resume => {
                self.timers.clear();
                self.real.clear();
                let (_, effects) = self.step(resume);
                (Ok(()), effects)
            }
        }
    }

    /// The job of an action in progress, taken by a worker (as PollForJobs does).
    fn take_job(&mut self) -> String {
        let job = self
            .state
            .jobs
            .jobs
            .values_mut()
            .find(|j| !j.is_finished())
            .expect("a pending job");
        job.status = JobStatus::Dispatched;
        job.id.clone()
    }

    fn executions(&self) -> Vec<String> {
        let runtime = &self.state.pipelines[PIPELINE].runtime;
        runtime
            .executions
            .values()
            .map(|e| e.status.as_str().to_string())
            .collect()
    }

    fn running(&self) -> Vec<String> {
        let runtime = &self.state.pipelines[PIPELINE].runtime;
        let mut running: Vec<String> = runtime
            .action_executions
            .values()
            .filter(|a| !a.is_finished())
            .map(|a| format!("{}.{}", a.stage, a.action))
            .collect();
        running.sort();
        running
    }
}

pub fn run(case: Case) {
    let mut sim = Sim::new(&case);
    for (n, (input, expected)) in case.steps.iter().enumerate() {
        let at = format!("{}, step {n} ({input:?})", case.name);
        let (answer, effects) = sim.apply(input);
        match (answer, expected.refused) {
            (Ok(()), None) => {}
            (Err(EngineError::Refused { reason, .. }), Some(wanted)) => {
                assert_eq!(reason, wanted, "{at}: refused for another reason")
            }
            (answer, wanted) => panic!("{at}: answered {answer:?}, expected refusal {wanted:?}"),
        }
        assert_eq!(
            sim.executions(),
            expected.executions,
            "{at}: execution statuses"
        );
        assert_eq!(sim.running(), expected.running, "{at}: actions in progress");
        let names: Vec<String> = effects.iter().map(effect_name).collect();
        for wanted in expected.effects {
            assert!(
                names.iter().any(|n| n == wanted),
                "{at}: no {wanted} among the effects {names:?}"
            );
        }
    }
}
