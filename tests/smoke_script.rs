//! `docker/smoke.sh`, the compose smoke test, run with the aws CLI against a test server: create
//! a pipeline with a manual approval, start it, approve, wait for Succeeded. The server starts
//! executions on create (the default, as in the container), so the script also has to get past
//! that first execution. Needs the aws CLI; fails without it.

mod common;

use std::path::Path;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn the_compose_smoke_script_passes_against_the_server() {
    let t = common::start().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/smoke.sh");
    let mut command = tokio::process::Command::new("bash");
    command
        .arg(&script)
        .env("ENDPOINT", &t.url)
        .env("PIPELINE", "compose-smoke")
        .env("TIMEOUT_SECONDS", "60")
        .env("KEEP_PIPELINE", "1")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .kill_on_drop(true);
    let aws = std::process::Command::new("aws").arg("--version").output();
    assert!(
        aws.is_ok_and(|o| o.status.success()),
        "the aws CLI is needed on PATH: run scripts/test-prereqs.sh"
    );
    let output = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .expect("smoke.sh finishes")
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "smoke.sh failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("smoke test passed"), "{stdout}");

    // What the script did is visible through the SDK.
    let executions = t
        .client
        .list_pipeline_executions()
        .pipeline_name("compose-smoke")
        .send()
        .await
        .unwrap()
        .pipeline_execution_summaries
        .unwrap_or_default();
    assert!(executions
        .iter()
        .any(|e| e.status()
            == Some(&aws_sdk_codepipeline::types::PipelineExecutionStatus::Succeeded)));
}
