//! Every pipeline of `examples/` runs to Succeeded with the default settings: created through
//! the aws CLI (`create-pipeline --cli-input-json file://examples/...`, which starts an
//! execution), manual approvals answered by the test through the SDK.

mod common;

use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use common::aws_cli::aws_ok;
use common::engine::*;
use std::time::Duration;

/// In creation order: `invoke-target` before the pipeline that invokes it.
const EXAMPLES: &[&str] = &[
    "minimal-two-stage",
    "approval-gate",
    "classic-s3-codebuild-cloudformation",
    "cdk-pipelines",
    "v2-variables-triggers-queued",
    "cross-region-ecs",
    "github-ecr-lambda-beanstalk-stepfunctions",
    "invoke-target",
    "commands-inspector-ec2-invoke",
];

fn example_path(name: &str) -> String {
    format!("{}/examples/{name}.json", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_example_file_is_listed() {
    let dir = format!("{}/examples", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".json").map(str::to_string))
        .collect();
    files.sort();
    let mut listed: Vec<String> = EXAMPLES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
}

/// Approves every approval waiting in the pipeline until the execution finishes.
async fn run_to_end(client: &Client, pipeline: &str, id: &str) -> PipelineExecution {
    for _ in 0..2000 {
        let e = execution(client, pipeline, id).await;
        if e.status() != Some(&PipelineExecutionStatus::InProgress) {
            return e;
        }
        let state = client
            .get_pipeline_state()
            .name(pipeline)
            .send()
            .await
            .unwrap();
        for stage in state.stage_states() {
            for action in stage.action_states() {
                let Some(token) = action.latest_execution().and_then(|x| x.token()) else {
                    continue;
                };
                client
                    .put_approval_result()
                    .pipeline_name(pipeline)
                    .stage_name(stage.stage_name().unwrap())
                    .action_name(action.action_name().unwrap())
                    .token(token)
                    .result(
                        ApprovalResult::builder()
                            .status(ApprovalStatus::Approved)
                            .summary("Approved by tests/examples.rs")
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{pipeline}: execution {id} did not finish");
}

async fn latest_execution_id(client: &Client, pipeline: &str) -> String {
    client
        .list_pipeline_executions()
        .pipeline_name(pipeline)
        .send()
        .await
        .unwrap()
        .pipeline_execution_summaries()
        .first()
        .and_then(|s| s.pipeline_execution_id())
        .unwrap_or_else(|| panic!("{pipeline} has no execution"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_example_runs_to_succeeded_with_default_settings() {
    let t = common::start().await;
    let c = &t.client;
    for name in EXAMPLES {
        let input = format!("file://{}", example_path(name));
        let created = aws_ok(&t.url, &["create-pipeline", "--cli-input-json", &input]).await;
        assert_eq!(created["pipeline"]["name"], *name);
        let id = latest_execution_id(c, name).await;
        let done = run_to_end(c, name, &id).await;
        assert_eq!(
            done.status(),
            Some(&PipelineExecutionStatus::Succeeded),
            "{name}: {:?}\n{:#?}",
            done.status_summary(),
            action_executions(c, name, &id)
                .await
                .iter()
                .filter(|a| a.status() == Some(&ActionExecutionStatus::Failed))
                .collect::<Vec<_>>()
        );
    }

    // The invoke action started invoke-target with its variables and source revision.
    let invoker = latest_execution_id(c, "commands-inspector-ec2-invoke").await;
    let release = action_executions(c, "commands-inspector-ec2-invoke", &invoker)
        .await
        .into_iter()
        .find(|a| a.action_name() == Some("Release"))
        .unwrap();
    let started = external_execution_id(&release);
    let target = run_to_end(c, "invoke-target", &started).await;
    assert_eq!(target.status(), Some(&PipelineExecutionStatus::Succeeded));
    let variables = target.variables();
    assert_eq!(variables.len(), 1);
    assert_eq!(variables[0].resolved_value(), Some("simulated-VERSION"));
}
