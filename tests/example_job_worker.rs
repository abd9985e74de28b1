//! `examples/job-worker/`: the custom action type and the pipeline are created with the aws CLI
//! from the example's files, and the example's boto3 worker (`worker.py`) does the job, as the
//! README tells a user to run them.

mod common;

use common::aws_cli::aws_ok;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn example(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/job-worker")
        .join(file)
}

fn file_url(file: &str) -> String {
    format!("file://{}", example(file).display())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_worker_builds_the_example_pipeline() {
    // As the example's README runs it: --no-auto-start true.
    let t = common::start_with(common::engine::manual_config()).await;
    let url = t.url.as_str();
    aws_ok(
        url,
        &[
            "create-custom-action-type",
            "--cli-input-json",
            &file_url("action-type.json"),
        ],
    )
    .await;
    aws_ok(
        url,
        &[
            "create-pipeline",
            "--cli-input-json",
            &file_url("pipeline.json"),
        ],
    )
    .await;
    let started = aws_ok(
        url,
        &["start-pipeline-execution", "--name", "job-worker-example"],
    )
    .await;
    let id = started["pipelineExecutionId"]
        .as_str()
        .expect("an execution id")
        .to_string();

    let mut worker = tokio::process::Command::new("python3");
    worker
        .arg(example("worker.py"))
        .args(["--endpoint", url, "--jobs", "1", "--timeout", "60"])
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(90), worker.output())
        .await
        .expect("the worker finishes its job within 90 s")
        .expect("python3 runs the worker (scripts/test-prereqs.sh installs boto3)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the worker failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("building my-app for pipeline job-worker-example"),
        "{stdout}"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let execution = aws_ok(
            url,
            &[
                "get-pipeline-execution",
                "--pipeline-name",
                "job-worker-example",
                "--pipeline-execution-id",
                &id,
            ],
        )
        .await;
        let status = execution["pipelineExecution"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if status != "InProgress" || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, "Succeeded");

    let actions = aws_ok(
        url,
        &[
            "list-action-executions",
            "--pipeline-name",
            "job-worker-example",
            "--filter",
            &format!("pipelineExecutionId={id}"),
        ],
    )
    .await;
    let build: &Value = actions["actionExecutionDetails"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["actionName"] == "Build"))
        .expect("the Build action's execution");
    assert_eq!(
        build["output"]["executionResult"]["externalExecutionSummary"],
        "Built my-app"
    );
    assert_eq!(build["output"]["outputVariables"]["BUILD_NUMBER"], "1");
}
