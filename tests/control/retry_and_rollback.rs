//! Retrying failed stages and rolling a stage back to an earlier execution.

use super::*;

#[tokio::test]
async fn retry_reruns_the_failed_actions_of_the_latest_execution() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(approval_pipeline("retry"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "retry").await;
    let token = wait_approval_token(c, "retry", "Approve", "Approval").await;
    approve(c, "retry", &token, ApprovalStatus::Rejected)
        .await
        .unwrap();
    wait_status(c, "retry", &id, PipelineExecutionStatus::Failed).await;

    // A succeeded stage cannot be retried.
    let err = c
        .retry_stage_execution()
        .pipeline_name("retry")
        .stage_name("Source")
        .pipeline_execution_id(&id)
        .retry_mode(StageRetryMode::FailedActions)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("StageNotRetryableException"));

    let retried = c
        .retry_stage_execution()
        .pipeline_name("retry")
        .stage_name("Approve")
        .pipeline_execution_id(&id)
        .retry_mode(StageRetryMode::FailedActions)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.pipeline_execution_id(), Some(id.as_str()));
    assert_eq!(
        execution(c, "retry", &id).await.status(),
        Some(&PipelineExecutionStatus::InProgress)
    );
    let token2 = wait_approval_token(c, "retry", "Approve", "Approval").await;
    assert_ne!(token, token2);
    let approve_stage = stage_state(c, "retry", "Approve").await;
    let metadata = approve_stage.retry_stage_metadata().unwrap();
    assert_eq!(metadata.manual_stage_retry_attempt(), Some(1));
    assert_eq!(
        metadata.latest_retry_trigger(),
        Some(&RetryTrigger::ManualStageRetry)
    );
    approve(c, "retry", &token2, ApprovalStatus::Approved)
        .await
        .unwrap();
    wait_status(c, "retry", &id, PipelineExecutionStatus::Succeeded).await;
    // Two action executions of the approval in this pipeline execution.
    let approvals = action_executions(c, "retry", &id)
        .await
        .into_iter()
        .filter(|a| a.action_name() == Some("Approval"))
        .count();
    assert_eq!(approvals, 2);
}

#[tokio::test]
async fn only_the_latest_execution_in_a_stage_can_be_retried() {
    let mut config = manual_config();
    config.actions.push(rule("CodeBuild", Behavior::Fail));
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("latest"))
        .send()
        .await
        .unwrap();
    let first = start_execution(c, "latest").await;
    wait_status(c, "latest", &first, PipelineExecutionStatus::Failed).await;
    let second = start_execution(c, "latest").await;
    wait_status(c, "latest", &second, PipelineExecutionStatus::Failed).await;
    let err = c
        .retry_stage_execution()
        .pipeline_name("latest")
        .stage_name("Build")
        .pipeline_execution_id(&first)
        .retry_mode(StageRetryMode::AllActions)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NotLatestPipelineExecutionException"));
    // ALL_ACTIONS reruns the whole stage (and fails again, the rule still says so).
    c.retry_stage_execution()
        .pipeline_name("latest")
        .stage_name("Build")
        .pipeline_execution_id(&second)
        .retry_mode(StageRetryMode::AllActions)
        .send()
        .await
        .unwrap();
    wait_status(c, "latest", &second, PipelineExecutionStatus::Failed).await;
    let builds = action_executions(c, "latest", &second)
        .await
        .into_iter()
        .filter(|a| a.stage_name() == Some("Build"))
        .count();
    assert_eq!(builds, 2);
    let err = c
        .retry_stage_execution()
        .pipeline_name("latest")
        .stage_name("Nope")
        .pipeline_execution_id(&second)
        .retry_mode(StageRetryMode::AllActions)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("StageNotFoundException"));
}

fn v2_two_stage(name: &str) -> PipelineDeclaration {
    pipeline(name)
        .pipeline_type(PipelineType::V2)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Build", vec![codebuild("Build", "Src", &[])]))
        .build()
        .unwrap()
}

#[tokio::test]
async fn rollback_reruns_a_stage_with_an_earlier_successful_execution() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(v2_two_stage("roll"))
        .send()
        .await
        .unwrap();
    let good = start_execution(c, "roll").await;
    let good_execution = wait_status(c, "roll", &good, PipelineExecutionStatus::Succeeded).await;
    let newer = start_execution(c, "roll").await;
    wait_status(c, "roll", &newer, PipelineExecutionStatus::Succeeded).await;

    let rollback = c
        .rollback_stage()
        .pipeline_name("roll")
        .stage_name("Build")
        .target_pipeline_execution_id(&good)
        .send()
        .await
        .unwrap()
        .pipeline_execution_id
        .clone();
    let execution = wait_status(c, "roll", &rollback, PipelineExecutionStatus::Succeeded).await;
    assert_eq!(execution.execution_type(), Some(&ExecutionType::Rollback));
    assert_eq!(
        execution.trigger().and_then(|t| t.trigger_type()),
        Some(&TriggerType::ManualRollback)
    );
    assert_eq!(
        execution
            .rollback_metadata()
            .and_then(|m| m.rollback_target_pipeline_execution_id()),
        Some(good.as_str())
    );
    assert_eq!(
        execution.artifact_revisions()[0].revision_id(),
        good_execution.artifact_revisions()[0].revision_id()
    );
    // Only the Build stage ran.
    let actions = action_executions(c, "roll", &rollback).await;
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].stage_name(), Some("Build"));
    let build = stage_state(c, "roll", "Build").await;
    assert_eq!(
        build.latest_execution().unwrap().pipeline_execution_id(),
        rollback
    );
    assert_eq!(
        build.latest_execution().unwrap().r#type(),
        Some(&ExecutionType::Rollback)
    );

    let err = c
        .rollback_stage()
        .pipeline_name("roll")
        .stage_name("Build")
        .target_pipeline_execution_id("00000000-0000-0000-0000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineExecutionNotFoundException"));
    let err = c
        .rollback_stage()
        .pipeline_name("roll")
        .stage_name("Source")
        .target_pipeline_execution_id(&good)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnableToRollbackStageException"));
}

#[tokio::test]
async fn rollback_needs_a_v2_pipeline_and_a_target_that_succeeded_in_the_stage() {
    let mut config = manual_config();
    let mut fail = rule("CodeBuild", Behavior::Fail);
    fail.pipeline = Some("failing".into());
    config.actions.push(fail);
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("v1"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "v1").await;
    wait_status(c, "v1", &id, PipelineExecutionStatus::Succeeded).await;
    let err = c
        .rollback_stage()
        .pipeline_name("v1")
        .stage_name("Build")
        .target_pipeline_execution_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnableToRollbackStageException"));

    c.create_pipeline()
        .pipeline(v2_two_stage("failing"))
        .send()
        .await
        .unwrap();
    let failed = start_execution(c, "failing").await;
    wait_status(c, "failing", &failed, PipelineExecutionStatus::Failed).await;
    let err = c
        .rollback_stage()
        .pipeline_name("failing")
        .stage_name("Build")
        .target_pipeline_execution_id(&failed)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnableToRollbackStageException"));
}
