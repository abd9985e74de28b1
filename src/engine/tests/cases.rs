//! The cases: one test per concept, each a table of inputs and expectations.

use super::*;
use serde_json::json;

pub(super) const IP: &str = "InProgress";
pub(super) const OK: &str = "Succeeded";
pub(super) const FAILED: &str = "Failed";
pub(super) const STOPPED: &str = "Stopped";
const STOPPING: &str = "Stopping";
const SUPERSEDED: &str = "Superseded";

pub(super) fn case(name: &'static str, pipeline: Value, steps: Vec<(Input, Expect)>) -> Case {
    Case {
        name,
        pipeline,
        action_rules: Vec::new(),
        condition_rules: Vec::new(),
        steps,
    }
}

pub(super) fn build_stage() -> Value {
    stage("Build", vec![action("Compile", "CodeBuild", 1)])
}

#[test]
fn run_order_groups_run_one_after_the_other() {
    run(case(
        "runOrder",
        pipeline(
            "SUPERSEDED",
            vec![stage(
                "Build",
                vec![
                    action("A", "CodeBuild", 1),
                    action("B", "CodeBuild", 1),
                    action("C", "CodeBuild", 2),
                ],
            )],
        ),
        vec![
            (
                Input::Start,
                expect(&[IP], &["Source.Src"]).effects(&["ArmTimer:FinishSimulated", "Publish"]),
            ),
            (Input::Tick, expect(&[OK], &[])),
        ],
    ));
    // Step by step: the first group (A, B) runs together, C only after both.
    let mut sim = Sim::new(&case(
        "runOrder steps",
        pipeline(
            "SUPERSEDED",
            vec![stage(
                "Build",
                vec![
                    action("A", "CodeBuild", 1),
                    action("B", "CodeBuild", 1),
                    action("C", "CodeBuild", 2),
                ],
            )],
        ),
        Vec::new(),
    ));
    sim.apply(&Input::Start).0.expect("started");
    let fire_one = |sim: &mut Sim| {
        let timer = sim.timers.remove(0);
        sim.step(|cx, state| inputs::on_timer(cx, state, timer));
    };
    fire_one(&mut sim);
    assert_eq!(sim.running(), ["Build.A", "Build.B"]);
    fire_one(&mut sim);
    assert_eq!(sim.running(), ["Build.B"], "C waits for its whole group");
    fire_one(&mut sim);
    assert_eq!(sim.running(), ["Build.C"]);
}

#[test]
fn superseded_mode_replaces_a_waiting_execution() {
    run(case(
        "SUPERSEDED",
        pipeline("SUPERSEDED", vec![build_stage()]),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Start, expect(&[IP, IP], &["Source.Src"])),
            (Input::Start, expect(&[IP, SUPERSEDED, IP], &["Source.Src"])),
            (Input::Tick, expect(&[OK, SUPERSEDED, OK], &[])),
        ],
    ));
}

#[test]
fn queued_mode_runs_every_execution_in_order() {
    run(case(
        "QUEUED",
        pipeline("QUEUED", vec![build_stage()]),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Start, expect(&[IP, IP], &["Source.Src"])),
            (Input::Start, expect(&[IP, IP, IP], &["Source.Src"])),
            (Input::Tick, expect(&[OK, OK, OK], &[])),
        ],
    ));
}

#[test]
fn parallel_mode_runs_executions_side_by_side() {
    run(case(
        "PARALLEL",
        pipeline("PARALLEL", vec![build_stage()]),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (
                Input::Start,
                expect(&[IP, IP], &["Source.Src", "Source.Src"]),
            ),
            (Input::Tick, expect(&[OK, OK], &[])),
        ],
    ));
}

#[test]
fn a_disabled_transition_holds_executions_until_enabled() {
    run(case(
        "transitions",
        pipeline("SUPERSEDED", vec![build_stage()]),
        vec![
            (
                Input::Transition {
                    stage: "Build",
                    enabled: false,
                },
                expect(&[], &[]),
            ),
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[IP], &[])),
            (
                Input::Transition {
                    stage: "Build",
                    enabled: true,
                },
                expect(&[IP], &["Build.Compile"]),
            ),
            (Input::Tick, expect(&[OK], &[])),
        ],
    ));
}

#[test]
fn stop_waits_for_running_actions_and_abandon_does_not() {
    let with_approval = pipeline(
        "SUPERSEDED",
        vec![stage("Gate", vec![action("Approve", "Manual", 1)])],
    );
    run(case(
        "stop and wait",
        with_approval.clone(),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (
                Input::Tick,
                expect(&[IP], &["Gate.Approve"]).effects(&["ArmTimer:ApprovalTimeout"]),
            ),
            (
                Input::Stop {
                    execution: 0,
                    abandon: false,
                },
                expect(&[STOPPING], &["Gate.Approve"]),
            ),
            (
                Input::Stop {
                    execution: 0,
                    abandon: false,
                },
                expect(&[STOPPING], &["Gate.Approve"]).refused(Refusal::DuplicatedStop),
            ),
            (
                Input::Approve {
                    stage: "Gate",
                    approved: true,
                },
                expect(&[STOPPED], &[]).effects(&["CancelTimer:Action"]),
            ),
        ],
    ));
    run(case(
        "stop and abandon",
        with_approval,
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[IP], &["Gate.Approve"])),
            (
                Input::Stop {
                    execution: 0,
                    abandon: true,
                },
                expect(&[STOPPED], &[]).effects(&["CancelTimer:Action"]),
            ),
            (
                Input::Stop {
                    execution: 0,
                    abandon: true,
                },
                expect(&[STOPPED], &[]).refused(Refusal::NotStoppable),
            ),
        ],
    ));
}

#[test]
fn approvals_succeed_fail_and_time_out() {
    let gate = || {
        pipeline(
            "SUPERSEDED",
            vec![stage("Gate", vec![action("Approve", "Manual", 1)])],
        )
    };
    run(case(
        "approved",
        gate(),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[IP], &["Gate.Approve"])),
            (
                Input::Approve {
                    stage: "Gate",
                    approved: true,
                },
                expect(&[OK], &[]),
            ),
        ],
    ));
    run(case(
        "rejected",
        gate(),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[IP], &["Gate.Approve"])),
            (
                Input::Approve {
                    stage: "Gate",
                    approved: false,
                },
                expect(&[FAILED], &[]),
            ),
        ],
    ));
    run(case(
        "timed out",
        gate(),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[IP], &["Gate.Approve"])),
            (Input::ExpireApproval, expect(&[FAILED], &[])),
        ],
    ));
}

#[test]
fn a_failed_stage_can_be_retried() {
    let mut retried = case(
        "retry",
        pipeline("SUPERSEDED", vec![build_stage()]),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[FAILED], &[])),
            (
                Input::Retry {
                    execution: 0,
                    stage: "Build",
                },
                expect(&[IP], &["Build.Compile"]),
            ),
        ],
    );
    retried.action_rules = vec![fail_rule("Compile")];
    run(retried);
    let mut not_retryable = case(
        "retry of a running stage",
        pipeline("SUPERSEDED", vec![build_stage()]),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (
                Input::Retry {
                    execution: 0,
                    stage: "Source",
                },
                expect(&[IP], &["Source.Src"]).refused(Refusal::StageNotRetryable),
            ),
        ],
    );
    not_retryable.action_rules = Vec::new();
    run(not_retryable);
}

#[test]
fn a_stage_rolls_back_to_an_earlier_successful_execution() {
    run(case(
        "rollback",
        pipeline("SUPERSEDED", vec![build_stage()]),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[OK], &[])),
            (Input::Start, expect(&[OK, IP], &["Source.Src"])),
            (Input::Tick, expect(&[OK, OK], &[])),
            (
                Input::Rollback {
                    stage: "Build",
                    target: 0,
                },
                expect(&[OK, OK, IP], &["Build.Compile"]),
            ),
            (Input::Tick, expect(&[OK, OK, OK], &[])),
            (
                Input::Rollback {
                    stage: "Source",
                    target: 0,
                },
                expect(&[OK, OK, OK], &[]).refused(Refusal::UnableToRollback),
            ),
        ],
    ));
}

#[test]
fn an_on_failure_rollback_condition_rolls_the_stage_back() {
    let mut build = build_stage();
    build["onFailure"] = json!({"result": "ROLLBACK"});
    let mut failing = case(
        "onFailure ROLLBACK",
        pipeline("SUPERSEDED", vec![build]),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[OK], &[])),
        ],
    );
    run(failing);
    // The second run fails in Build: an automated rollback to the first execution runs.
    let mut build = build_stage();
    build["onFailure"] = json!({"result": "ROLLBACK"});
    failing = case(
        "onFailure ROLLBACK after a failure",
        pipeline("SUPERSEDED", vec![build]),
        Vec::new(),
    );
    let mut sim = Sim::new(&failing);
    sim.apply(&Input::Start).0.expect("started");
    sim.apply(&Input::Tick).0.expect("ran");
    // Compile fails in the second execution only (the rule is read when an action starts).
    sim.action_rules = vec![fail_rule("Compile")];
    sim.apply(&Input::Start).0.expect("started");
    let source_done = sim.timers.remove(0);
    sim.step(|cx, state| inputs::on_timer(cx, state, source_done));
    assert_eq!(sim.running(), ["Build.Compile"]);
    sim.action_rules.clear();
    sim.apply(&Input::Tick).0.expect("ran");
    let runtime = &sim.state.pipelines[PIPELINE].runtime;
    let types: Vec<(String, &str)> = runtime
        .executions
        .values()
        .map(|e| (e.status.as_str().to_string(), e.execution_type.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            (OK.to_string(), "STANDARD"),
            (FAILED.to_string(), "STANDARD"),
            (OK.to_string(), "ROLLBACK"),
        ]
    );
}

#[test]
fn a_failed_rollback_is_not_rolled_back_again() {
    let mut build = build_stage();
    build["onFailure"] = json!({"result": "ROLLBACK"});
    let mut sim = Sim::new(&case(
        "failing rollback",
        pipeline("SUPERSEDED", vec![build]),
        Vec::new(),
    ));
    sim.apply(&Input::Start).0.expect("started");
    sim.apply(&Input::Tick).0.expect("ran");
    sim.action_rules = vec![fail_rule("Compile")];
    sim.apply(&Input::Start).0.expect("started");
    sim.apply(&Input::Tick).0.expect("ran");
    let runtime = &sim.state.pipelines[PIPELINE].runtime;
    let types: Vec<(String, &str)> = runtime
        .executions
        .values()
        .map(|e| (e.status.as_str().to_string(), e.execution_type.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            (OK.to_string(), "STANDARD"),
            (FAILED.to_string(), "STANDARD"),
            (FAILED.to_string(), "ROLLBACK"),
        ]
    );
}

#[test]
fn a_failing_before_entry_condition_fails_the_stage() {
    let mut build = build_stage();
    build["beforeEntry"] = json!({"conditions": [{"result": "FAIL", "rules": [{
        "name": "Alarm",
        "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "CloudWatchAlarm", "version": "1"},
        "configuration": {"AlarmName": "high-errors"},
    }]}]});
    let mut gated = case(
        "beforeEntry fails",
        pipeline("SUPERSEDED", vec![build.clone()]),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (
                Input::Tick,
                expect(&[FAILED], &[]).effects(&["ArmTimer:FinishRule"]),
            ),
        ],
    );
    gated.condition_rules = vec![ConditionRuleBehavior {
        result: behavior::RuleOutcome::Fail,
        ..ConditionRuleBehavior::default()
    }];
    run(gated);
    run(case(
        "beforeEntry passes",
        pipeline("SUPERSEDED", vec![build]),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[OK], &[])),
        ],
    ));
}

#[test]
fn unknown_pipelines_and_stages_are_refused() {
    let mut sim = Sim::new(&case(
        "not found",
        pipeline("SUPERSEDED", vec![build_stage()]),
        Vec::new(),
    ));
    let (answer, _) = sim.step(|cx, state| {
        start_execution(cx, state, "missing", StartRequest::default()).map(|_| ())
    });
    assert!(matches!(answer, Err(EngineError::PipelineNotFound { .. })));
    let (answer, effects) = sim.apply(&Input::Transition {
        stage: "Nope",
        enabled: false,
    });
    assert!(matches!(answer, Err(EngineError::StageNotFound { .. })));
    assert!(effects.is_empty(), "a refused command asks for nothing");
}
