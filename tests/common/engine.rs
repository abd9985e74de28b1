//! Waiting on executions: poll real state through the SDK until a condition holds (bounded, so a
//! broken engine fails the test instead of hanging it).

use aws_sdk_codepipeline::types::{
    ActionExecutionDetail, ActionExecutionFilter, ApprovalResult, ApprovalStatus,
    PipelineExecution, PipelineExecutionStatus, StageState,
};
use aws_sdk_codepipeline::Client;
use codepipeline_local::config::Config;
use codepipeline_local::engine::behavior::{ActionRule, Behavior};
use std::time::{Duration, Instant};

const WAIT_LIMIT: Duration = Duration::from_secs(20);

/// A config whose engine does not start executions by itself.
pub fn manual_config() -> Config {
    Config {
        auto_start: false,
        ..super::test_config()
    }
}

/// An action rule for the behaviour config.
pub fn rule(provider: &str, behavior: Behavior) -> ActionRule {
    ActionRule {
        provider: Some(provider.to_string()),
        behavior,
        ..ActionRule::default()
    }
}

/// Polls until `check` returns Some, or panics after the limit.
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if start.elapsed() > WAIT_LIMIT {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn execution(client: &Client, pipeline: &str, id: &str) -> PipelineExecution {
    client
        .get_pipeline_execution()
        .pipeline_name(pipeline)
        .pipeline_execution_id(id)
        .send()
        .await
        .expect("get pipeline execution")
        .pipeline_execution
        .expect("execution")
}

/// Waits until the execution reaches `status`.
pub async fn wait_status(
    client: &Client,
    pipeline: &str,
    id: &str,
    status: PipelineExecutionStatus,
) -> PipelineExecution {
    wait_for(&format!("execution {id} to be {status:?}"), || async {
        let e = execution(client, pipeline, id).await;
        (e.status() == Some(&status)).then_some(e)
    })
    .await
}

/// Waits until the execution is no longer InProgress/Stopping, and returns it.
pub async fn wait_finished(client: &Client, pipeline: &str, id: &str) -> PipelineExecution {
    wait_for(&format!("execution {id} to finish"), || async {
        let e = execution(client, pipeline, id).await;
        match e.status() {
            Some(PipelineExecutionStatus::InProgress) | Some(PipelineExecutionStatus::Stopping) => {
                None
            }
            _ => Some(e),
        }
    })
    .await
}

pub async fn start_execution(client: &Client, pipeline: &str) -> String {
    client
        .start_pipeline_execution()
        .name(pipeline)
        .send()
        .await
        .expect("start pipeline execution")
        .pipeline_execution_id
        .expect("execution id")
}

pub async fn stage_state(client: &Client, pipeline: &str, stage: &str) -> StageState {
    client
        .get_pipeline_state()
        .name(pipeline)
        .send()
        .await
        .expect("get pipeline state")
        .stage_states
        .unwrap_or_default()
        .into_iter()
        .find(|s| s.stage_name() == Some(stage))
        .expect("stage in state")
}

/// The token of the approval action waiting in a stage.
pub async fn wait_approval_token(
    client: &Client,
    pipeline: &str,
    stage: &str,
    action: &str,
) -> String {
    wait_for(&format!("approval {stage}/{action} to wait"), || async {
        let state = stage_state(client, pipeline, stage).await;
        state
            .action_states()
            .iter()
            .find(|a| a.action_name() == Some(action))
            .and_then(|a| a.latest_execution())
            .and_then(|e| e.token().map(str::to_string))
    })
    .await
}

/// Approves the approval action `stage`/`action` whose waiting execution `token` names.
pub async fn approve_with(client: &Client, pipeline: &str, stage: &str, action: &str, token: &str) {
    client
        .put_approval_result()
        .pipeline_name(pipeline)
        .stage_name(stage)
        .action_name(action)
        .token(token)
        .result(
            ApprovalResult::builder()
                .status(ApprovalStatus::Approved)
                .summary("ok")
                .build()
                .expect("an approval result"),
        )
        .send()
        .await
        .expect("approve");
}

/// Waits for the approval action `stage`/`action` to wait, then approves it.
pub async fn approve_waiting(client: &Client, pipeline: &str, stage: &str, action: &str) {
    let token = wait_approval_token(client, pipeline, stage, action).await;
    approve_with(client, pipeline, stage, action, &token).await;
}

pub async fn action_executions(
    client: &Client,
    pipeline: &str,
    execution_id: &str,
) -> Vec<ActionExecutionDetail> {
    client
        .list_action_executions()
        .pipeline_name(pipeline)
        .filter(
            ActionExecutionFilter::builder()
                .pipeline_execution_id(execution_id)
                .build(),
        )
        .send()
        .await
        .expect("list action executions")
        .action_execution_details
        .unwrap_or_default()
}

/// The error message an action execution failed with ("" when none).
pub fn error_message(detail: &ActionExecutionDetail) -> String {
    detail
        .output()
        .and_then(|o| o.execution_result())
        .and_then(|r| r.error_details())
        .and_then(|e| e.message())
        .unwrap_or_default()
        .to_string()
}

/// The external execution id an action execution reports.
pub fn external_execution_id(detail: &ActionExecutionDetail) -> String {
    detail
        .output()
        .and_then(|o| o.execution_result())
        .and_then(|r| r.external_execution_id())
        .expect("an external execution id")
        .to_string()
}
