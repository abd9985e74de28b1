//! Cases of work done outside the engine: real work, worker and Lambda jobs, revisions, and
//! picking executions up after a restart.

use super::cases::{build_stage, case, FAILED, IP, OK, STOPPED};
use super::*;

#[test]
fn real_work_reports_back_as_an_outcome() {
    run(case(
        "real work",
        pipeline(
            "SUPERSEDED",
            vec![stage("Deploy", vec![action("Put", "S3", 1)])],
        ),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[IP], &["Deploy.Put"])),
            (Input::FinishReal, expect(&[OK], &[])),
        ],
    ));
}

#[test]
fn abandon_stops_real_work() {
    run(case(
        "abandon real work",
        pipeline(
            "SUPERSEDED",
            vec![stage("Deploy", vec![action("Put", "S3", 1)])],
        ),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (
                Input::Tick,
                expect(&[IP], &["Deploy.Put"]).effects(&["StartReal"]),
            ),
            (
                Input::Stop {
                    execution: 0,
                    abandon: true,
                },
                expect(&[STOPPED], &[]).effects(&["StopReal"]),
            ),
        ],
    ));
}

#[test]
fn worker_jobs_finish_their_actions() {
    let worker = || {
        pipeline(
            "SUPERSEDED",
            vec![stage("Build", vec![action("Make", "Custom", 1)])],
        )
    };
    run(case(
        "job succeeds after a continuation",
        worker(),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (
                Input::Tick,
                expect(&[IP], &["Build.Make"]).effects(&["ArmTimer:JobTimeout"]),
            ),
            (
                Input::JobSucceeds { continuation: true },
                expect(&[IP], &["Build.Make"]).effects(&["CancelTimer:Job", "ArmTimer:JobTimeout"]),
            ),
            (
                Input::JobSucceeds {
                    continuation: false,
                },
                expect(&[OK], &[]).effects(&["CancelTimer:Job"]),
            ),
        ],
    ));
    run(case(
        "job fails",
        worker(),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[IP], &["Build.Make"])),
            (Input::JobFails, expect(&[FAILED], &[])),
        ],
    ));
}

#[test]
fn lambda_jobs_are_handed_to_their_function() {
    run(case(
        "lambda",
        pipeline(
            "SUPERSEDED",
            vec![stage("Invoke", vec![action("Fn", "Lambda", 1)])],
        ),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (
                Input::Tick,
                expect(&[IP], &["Invoke.Fn"]).effects(&["InvokeLambda", "ArmTimer:JobTimeout"]),
            ),
            (
                Input::JobSucceeds { continuation: true },
                expect(&[IP], &["Invoke.Fn"]).effects(&["InvokeLambda"]),
            ),
        ],
    ));
}

#[test]
fn a_new_revision_starts_an_execution_once() {
    run(case(
        "PutActionRevision",
        pipeline("SUPERSEDED", vec![build_stage()]),
        vec![
            (Input::PutRevision("r1"), expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[OK], &[])),
            (Input::PutRevision("r1"), expect(&[OK], &[])),
            (Input::PutRevision("r2"), expect(&[OK, IP], &["Source.Src"])),
        ],
    ));
}

#[test]
fn resume_rearms_timers_and_fails_interrupted_real_work() {
    run(case(
        "resume simulated",
        pipeline("SUPERSEDED", vec![build_stage()]),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (
                Input::Resume,
                expect(&[IP], &["Source.Src"]).effects(&["ArmTimer:FinishSimulated"]),
            ),
            (Input::Tick, expect(&[OK], &[])),
        ],
    ));
    run(case(
        "resume real work",
        pipeline(
            "SUPERSEDED",
            vec![stage("Deploy", vec![action("Put", "S3", 1)])],
        ),
        vec![
            (Input::Start, expect(&[IP], &["Source.Src"])),
            (Input::Tick, expect(&[IP], &["Deploy.Put"])),
            (Input::Resume, expect(&[FAILED], &[])),
        ],
    ));
}
