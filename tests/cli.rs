//! A smoke test through the `aws` CLI (botocore): pipeline CRUD against a running server.
//! The CLI must be installed (`pip install awscli`); without it this test fails.

mod common;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `aws --endpoint-url URL codepipeline ARGS...` off the async runtime, isolated from any
/// local AWS configuration.
async fn aws(url: &str, args: &[&str]) -> Output {
    let mut command = Command::new("aws");
    command
        .arg("--endpoint-url")
        .arg(url)
        .arg("--output")
        .arg("json")
        .arg("codepipeline")
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL");
    let description = format!("aws codepipeline {}", args.join(" "));
    tokio::task::spawn_blocking(move || {
        command.output().unwrap_or_else(|e| {
            panic!("cannot run the aws CLI ({e}): run scripts/test-prereqs.sh")
        })
    })
    .await
    .unwrap_or_else(|e| panic!("{description}: {e}"))
}

/// Runs a CLI command that must succeed and returns its JSON output (`null` when it prints
/// nothing).
async fn aws_ok(url: &str, args: &[&str]) -> Value {
    let output = aws(url, args).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "aws codepipeline {} failed ({}):\n{}\n{}",
        args.join(" "),
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("CLI output is not JSON ({e}): {stdout}"))
    }
}

/// A scratch directory for the CLI's input files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("codepipeline-local-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    fn write(&self, file: &str, value: &Value) -> String {
        let path: &Path = &self.0.join(file);
        std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).expect("write input file");
        format!("file://{}", path.display())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn declaration(stages: Vec<Value>) -> Value {
    json!({
        "name": "cli-pipeline",
        "roleArn": common::ROLE_ARN,
        "artifactStore": {"type": "S3", "location": "artifact-bucket"},
        "stages": stages
    })
}

fn source_stage() -> Value {
    json!({"name": "Source", "actions": [{
        "name": "Source",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"S3Bucket": "source-bucket", "S3ObjectKey": "app.zip"},
        "outputArtifacts": [{"name": "SourceOutput"}]
    }]})
}

fn build_stage() -> Value {
    json!({"name": "Build", "actions": [{
        "name": "Build",
        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
        "configuration": {"ProjectName": "my-project"},
        "inputArtifacts": [{"name": "SourceOutput"}]
    }]})
}

fn approval_stage() -> Value {
    json!({"name": "Approve", "actions": [{
        "name": "Approve",
        "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
    }]})
}

#[tokio::test(flavor = "multi_thread")]
async fn pipeline_crud_through_the_aws_cli() {
    let t = common::start().await;
    let url = t.url.clone();
    let scratch = Scratch::new("cli");

    let create_input = scratch.write(
        "create.json",
        &json!({
            "pipeline": declaration(vec![source_stage(), build_stage()]),
            "tags": [{"key": "team", "value": "cli"}]
        }),
    );
    let created = aws_ok(
        &url,
        &["create-pipeline", "--cli-input-json", &create_input],
    )
    .await;
    assert_eq!(created["pipeline"]["name"], "cli-pipeline");
    assert_eq!(created["pipeline"]["version"], 1);
    assert_eq!(created["pipeline"]["pipelineType"], "V1");
    assert_eq!(
        created["pipeline"]["stages"][0]["actions"][0]["runOrder"],
        1
    );
    assert_eq!(created["tags"], json!([{"key": "team", "value": "cli"}]));

    let got = aws_ok(&url, &["get-pipeline", "--name", "cli-pipeline"]).await;
    assert_eq!(got["pipeline"]["version"], 1);
    assert_eq!(got["pipeline"]["stages"].as_array().unwrap().len(), 2);
    assert_eq!(
        got["metadata"]["pipelineArn"],
        "arn:aws:codepipeline:us-east-1:000000000000:cli-pipeline"
    );
    // AWS CLI v1 prints timestamps as they came (epoch seconds), v2 as ISO 8601.
    let created_at = &got["metadata"]["created"];
    assert!(
        created_at.as_f64().is_some_and(|s| s > 1.6e9)
            || created_at.as_str().is_some_and(|s| s.starts_with("20")),
        "{created_at}"
    );

    let listed = aws_ok(&url, &["list-pipelines"]).await;
    let pipelines = listed["pipelines"].as_array().expect("pipelines");
    assert_eq!(pipelines.len(), 1);
    assert_eq!(pipelines[0]["name"], "cli-pipeline");
    assert_eq!(pipelines[0]["version"], 1);

    let update_input = scratch.write(
        "update.json",
        &json!({"pipeline": declaration(vec![source_stage(), build_stage(), approval_stage()])}),
    );
    let updated = aws_ok(
        &url,
        &["update-pipeline", "--cli-input-json", &update_input],
    )
    .await;
    assert_eq!(updated["pipeline"]["version"], 2);
    assert_eq!(updated["pipeline"]["stages"][2]["name"], "Approve");
    let got = aws_ok(
        &url,
        &[
            "get-pipeline",
            "--name",
            "cli-pipeline",
            "--pipeline-version",
            "1",
        ],
    )
    .await;
    assert_eq!(got["pipeline"]["version"], 1);
    assert_eq!(got["pipeline"]["stages"].as_array().unwrap().len(), 2);

    let deleted = aws_ok(&url, &["delete-pipeline", "--name", "cli-pipeline"]).await;
    assert_eq!(deleted, Value::Null, "delete-pipeline prints nothing");
    let listed = aws_ok(&url, &["list-pipelines"]).await;
    assert_eq!(listed["pipelines"], json!([]));

    // Errors reach the CLI as AWS errors.
    let missing = aws(&url, &["get-pipeline", "--name", "cli-pipeline"]).await;
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("(PipelineNotFoundException)"), "{stderr}");
}

/// The CLI scenario: create -> start -> get-pipeline-state shows Succeeded.
#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_runs_to_succeeded_through_the_aws_cli() {
    let t = common::start_with(common::engine::manual_config()).await;
    let url = t.url.clone();
    let scratch = Scratch::new("cli-run");
    let input = scratch.write(
        "run.json",
        &json!({ "pipeline": declaration(vec![source_stage(), build_stage()]) }),
    );
    aws_ok(&url, &["create-pipeline", "--cli-input-json", &input]).await;
    let started = aws_ok(
        &url,
        &["start-pipeline-execution", "--name", "cli-pipeline"],
    )
    .await;
    let id = started["pipelineExecutionId"]
        .as_str()
        .expect("execution id")
        .to_string();
    let execution = common::engine::wait_for("the CLI run to finish", || {
        let url = url.clone();
        let id = id.clone();
        async move {
            let out = aws_ok(
                &url,
                &[
                    "get-pipeline-execution",
                    "--pipeline-name",
                    "cli-pipeline",
                    "--pipeline-execution-id",
                    &id,
                ],
            )
            .await;
            let status = out["pipelineExecution"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (status != "InProgress").then_some(out)
        }
    })
    .await;
    assert_eq!(execution["pipelineExecution"]["status"], "Succeeded");
    let state = aws_ok(&url, &["get-pipeline-state", "--name", "cli-pipeline"]).await;
    let stages = state["stageStates"].as_array().expect("stage states");
    assert_eq!(stages.len(), 2);
    for stage in stages {
        assert_eq!(stage["latestExecution"]["status"], "Succeeded", "{stage}");
        assert_eq!(stage["latestExecution"]["pipelineExecutionId"], id.as_str());
        assert_eq!(
            stage["actionStates"][0]["latestExecution"]["status"],
            "Succeeded"
        );
    }
}
