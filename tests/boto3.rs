//! boto3 (botocore), as Python users drive the server: `endpoint_url`, a paginator over
//! ListPipelines, an execution run to Succeeded, a modelled error class. boto3 comes with
//! moto[server], which `scripts/test-prereqs.sh` installs; without python3 and boto3 this test fails.

mod common;

use std::process::Command;

const SCRIPT: &str = r#"
import json, sys, time
import boto3

client = boto3.client(
    "codepipeline",
    endpoint_url=sys.argv[1],
    region_name="eu-central-1",
    aws_access_key_id="123456789012",
    aws_secret_access_key="secret",
)

def declaration(name):
    return {
        "name": name,
        "roleArn": "arn:aws:iam::123456789012:role/codepipeline-service",
        "artifactStore": {"type": "S3", "location": "artifact-bucket"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "b", "S3ObjectKey": "app.zip"},
                "outputArtifacts": [{"name": "Src"}]}]},
            {"name": "Build", "actions": [{
                "name": "Build",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "p"},
                "inputArtifacts": [{"name": "Src"}]}]},
        ],
    }

for i in range(7):
    client.create_pipeline(pipeline=declaration(f"py-{i}"))

pages = client.get_paginator("list_pipelines").paginate(PaginationConfig={"PageSize": 3})
names = [p["name"] for page in pages for p in page["pipelines"]]

arn = client.get_pipeline(name="py-0")["metadata"]["pipelineArn"]
execution_id = client.start_pipeline_execution(name="py-0")["pipelineExecutionId"]
status = "InProgress"
for _ in range(500):
    status = client.get_pipeline_execution(pipelineName="py-0", pipelineExecutionId=execution_id)["pipelineExecution"]["status"]
    if status != "InProgress":
        break
    time.sleep(0.01)

try:
    client.get_pipeline(name="missing")
    error = None
except client.exceptions.PipelineNotFoundException as e:
    error = e.response["Error"]["Code"]

print(json.dumps({"names": names, "arn": arn, "status": status, "error": error}))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn boto3_creates_pages_runs_and_reads_modelled_errors() {
    let boto3 = Command::new("python3").args(["-c", "import boto3"]).output();
    assert!(
        boto3.is_ok_and(|o| o.status.success()),
        "python3 with boto3 is needed: run scripts/test-prereqs.sh"
    );
    let t = common::start_with(common::engine::manual_config()).await;
    let url = t.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg("-c")
            .arg(SCRIPT)
            .arg(&url)
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .output()
            .expect("python3 runs (then run scripts/test-prereqs.sh for boto3)")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "the boto3 script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("JSON from the script");
    let names: Vec<String> = (0..7).map(|i| format!("py-{i}")).collect();
    assert_eq!(
        result["names"],
        serde_json::json!(names),
        "the paginator walked every page in order"
    );
    // The 12-digit access key is the account, the client's region is the region.
    assert_eq!(
        result["arn"],
        "arn:aws:codepipeline:eu-central-1:123456789012:py-0"
    );
    assert_eq!(result["status"], "Succeeded");
    assert_eq!(result["error"], "PipelineNotFoundException");
}
