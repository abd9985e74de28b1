//! The `validate` and `run` commands of the real binary, on the committed fixtures.

mod common;

use common::fixtures::{fixture, good_fixtures};
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;
use tokio::process::Command;

/// Runs the binary with these arguments (bounded: a hang fails the test).
async fn binary(args: &[&str], paths: &[PathBuf]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_codepipeline-local"));
    command.args(args);
    for path in paths {
        command.arg(path);
    }
    let output = command.kill_on_drop(true).output();
    tokio::time::timeout(Duration::from_secs(90), output)
        .await
        .expect("the command ends")
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[tokio::test]
async fn validate_passes_every_fixture() {
    let output = binary(&["validate"], &good_fixtures()).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(stdout(&output), "");
    assert!(stderr(&output).contains("pipeline(s) checked: no problems"));
}

#[tokio::test]
async fn validate_prints_one_line_per_problem_and_exits_1() {
    let output = binary(
        &["validate"],
        &[
            fixture("templates/broken/structure.yaml"),
            fixture("templates/broken/unknown-property.yaml"),
            fixture("templates/broken/unsupported-intrinsic.yaml"),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    let file = |name: &str| {
        fixture(&format!("templates/broken/{name}"))
            .display()
            .to_string()
    };
    assert_eq!(
        lines,
        [
            format!("{}: Misplaced (Properties): InvalidStructureException: Stage 'Build' must contain at least one source action: the first stage of a pipeline holds the source actions", file("structure.yaml")),
            format!("{}: Typo (Resources.Typo.Properties.Stages[0].Actions[0].RunOrdr): ValidationError: the property RunOrdr is not supported here", file("unknown-property.yaml")),
            format!("{}: Pipeline (Resources.Pipeline.Properties.Stages[0].Actions[0].Configuration.S3ObjectKey.Fn::Select.Fn::Cidr): ValidationError: the intrinsic function Fn::Cidr is not supported by codepipeline-local", file("unsupported-intrinsic.yaml")),
        ]
    );
    // A missing import is a problem too: the first one met (a resource's properties are read
    // in name order: ArtifactStore's import before RoleArn's).
    let output = binary(&["validate"], &[fixture("templates/release.yaml")]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("No export named shared-ArtifactBucket found"),
        "{}",
        stdout(&output)
    );
}

#[tokio::test]
async fn run_takes_every_fixture_to_succeeded() {
    let shared = fixture("templates/shared.yaml").display().to_string();
    let cross = fixture("templates/cross-region.json").display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--load", &shared], "templates/release.yaml"),
        (
            vec!["--pipeline", "Pipeline"],
            "templates/cross-region.json",
        ),
        (vec![], "templates/pipeline.json"),
        // The pipelines of other --load paths do not count: PATH defines one.
        (vec!["--load", &cross], "templates/pipeline.json"),
        (vec![], "cdk/cdk-pipelines.out"),
        (vec![], "cdk/classic.out"),
    ];
    for (extra, path) in cases {
        let mut args = vec!["run", "--approve", "--listen", "127.0.0.1:0"];
        args.extend(extra);
        let output = binary(&args, &[fixture(path)]).await;
        let out = stdout(&output);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{path}: {out}{}",
            stderr(&output)
        );
        assert!(out.contains("serving on http://127.0.0.1:"), "{out}");
        assert!(
            out.lines()
                .last()
                .unwrap_or_default()
                .ends_with("Succeeded"),
            "{out}"
        );
    }
}

#[tokio::test]
async fn run_shows_each_action_and_answers_approvals() {
    let shared = fixture("templates/shared.yaml").display().to_string();
    let output = binary(
        &[
            "run",
            "--approve",
            "--listen",
            "127.0.0.1:0",
            "--load",
            &shared,
            "--variable",
            "DeployTarget=production",
        ],
        &[fixture("templates/release.yaml")],
    )
    .await;
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    for line in [
        "Source: Succeeded",
        "  Test/UnitTests: Succeeded",
        "  Deploy/Approve: Succeeded",
        "Approved by codepipeline-local run",
        "payments-service-release: execution ",
    ] {
        assert!(out.contains(line), "{line} in {out}");
    }
    // Rejected: the execution fails, exit 1. A variable the condition rejects: the same.
    let output = binary(
        &[
            "run",
            "--reject",
            "--listen",
            "127.0.0.1:0",
            "--load",
            &shared,
        ],
        &[fixture("templates/release.yaml")],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output)
        .lines()
        .last()
        .unwrap_or_default()
        .ends_with("Failed"));
}

#[tokio::test]
async fn run_exits_1_when_an_action_fails_and_2_on_a_load_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fail.toml");
    std::fs::write(
        &config,
        "[[actions]]\nprovider = \"CodeBuild\"\nbehavior = \"fail\"\nmessage = \"Build failed\"\n",
    )
    .unwrap();
    let output = binary(
        &[
            "run",
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ],
        &[fixture("templates/pipeline.json")],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("Build/Build: Failed"),
        "{}",
        stdout(&output)
    );

    let output = binary(
        &["run", "--listen", "127.0.0.1:0"],
        &[fixture("templates/broken/structure.yaml")],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("InvalidStructureException"),
        "{}",
        stderr(&output)
    );

    let output = binary(
        &["run", "--listen", "127.0.0.1:0"],
        &[fixture("templates/cross-region.json")],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("choose one with --pipeline"),
        "{}",
        stderr(&output)
    );
}
