//! Controlling executions through the AWS SDK for Rust: approvals, transitions, execution modes,
//! stop, retry and rollback.

mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use codepipeline_local::engine::behavior::Behavior;
use common::engine::*;
use common::*;

/// Source -> Approve (manual approval) -> Build.
fn approval_pipeline(name: &str) -> PipelineDeclaration {
    pipeline(name)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Approve", vec![manual_approval("Approval")]))
        .stages(stage("Build", vec![codebuild("Build", "Src", &[])]))
        .build()
        .unwrap()
}

fn approval(status: ApprovalStatus, summary: &str) -> ApprovalResult {
    ApprovalResult::builder()
        .status(status)
        .summary(summary)
        .build()
        .unwrap()
}

async fn approve(
    c: &Client,
    pipeline: &str,
    token: &str,
    status: ApprovalStatus,
) -> std::result::Result<(), String> {
    c.put_approval_result()
        .pipeline_name(pipeline)
        .stage_name("Approve")
        .action_name("Approval")
        .token(token)
        .result(approval(status, "looks good"))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| e.code().unwrap_or("?").to_string())
}

#[tokio::test]
async fn a_manual_approval_waits_for_its_token_and_approval_continues_the_pipeline() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(approval_pipeline("gate"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "gate").await;
    let token = wait_approval_token(c, "gate", "Approve", "Approval").await;
    let state = stage_state(c, "gate", "Approve").await;
    assert_eq!(
        state.action_states()[0]
            .latest_execution()
            .unwrap()
            .status(),
        Some(&ActionExecutionStatus::InProgress)
    );
    assert!(stage_state(c, "gate", "Build")
        .await
        .latest_execution()
        .is_none());

    let wrong = "00000000-0000-0000-0000-000000000000";
    assert_eq!(
        approve(c, "gate", wrong, ApprovalStatus::Approved).await,
        Err("InvalidApprovalTokenException".into())
    );
    let approved_at = c
        .put_approval_result()
        .pipeline_name("gate")
        .stage_name("Approve")
        .action_name("Approval")
        .token(&token)
        .result(approval(ApprovalStatus::Approved, "ship it"))
        .send()
        .await
        .unwrap()
        .approved_at;
    assert!(approved_at.is_some());
    wait_status(c, "gate", &id, PipelineExecutionStatus::Succeeded).await;
    let done = stage_state(c, "gate", "Approve").await;
    let latest = done.action_states()[0].latest_execution().unwrap();
    assert_eq!(latest.status(), Some(&ActionExecutionStatus::Succeeded));
    assert_eq!(latest.summary(), Some("ship it"));
    assert!(latest.token().is_none());
    assert_eq!(
        approve(c, "gate", &token, ApprovalStatus::Approved).await,
        Err("ApprovalAlreadyCompletedException".into())
    );
    // Unknown names are reported as AWS does.
    let err = c
        .put_approval_result()
        .pipeline_name("gate")
        .stage_name("Nope")
        .action_name("Approval")
        .token(&token)
        .result(approval(ApprovalStatus::Approved, ""))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("StageNotFoundException"));
    let err = c
        .put_approval_result()
        .pipeline_name("gate")
        .stage_name("Approve")
        .action_name("Nope")
        .token(&token)
        .result(approval(ApprovalStatus::Approved, ""))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionNotFoundException"));
}

#[tokio::test]
async fn a_rejected_approval_fails_the_execution() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(approval_pipeline("reject"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "reject").await;
    let token = wait_approval_token(c, "reject", "Approve", "Approval").await;
    approve(c, "reject", &token, ApprovalStatus::Rejected)
        .await
        .unwrap();
    wait_status(c, "reject", &id, PipelineExecutionStatus::Failed).await;
    let latest = stage_state(c, "reject", "Approve").await.action_states()[0]
        .latest_execution()
        .cloned()
        .unwrap();
    assert_eq!(latest.status(), Some(&ActionExecutionStatus::Failed));
    assert!(stage_state(c, "reject", "Build")
        .await
        .latest_execution()
        .is_none());
}

#[tokio::test]
async fn an_unanswered_approval_times_out() {
    let mut config = manual_config();
    config.approval_timeout = std::time::Duration::from_millis(100);
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(approval_pipeline("late"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "late").await;
    wait_status(c, "late", &id, PipelineExecutionStatus::Failed).await;
    let latest = stage_state(c, "late", "Approve").await.action_states()[0]
        .latest_execution()
        .cloned()
        .unwrap();
    assert_eq!(latest.status(), Some(&ActionExecutionStatus::Failed));
    assert!(latest
        .error_details()
        .unwrap()
        .message()
        .unwrap()
        .contains("timed out"));
}

#[tokio::test]
async fn a_disabled_transition_holds_executions_until_it_is_enabled() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("held"))
        .send()
        .await
        .unwrap();
    c.disable_stage_transition()
        .pipeline_name("held")
        .stage_name("Build")
        .transition_type(StageTransitionType::Inbound)
        .reason("Release freeze")
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "held").await;
    let build = wait_for("the execution to wait at Build", || async {
        let s = stage_state(c, "held", "Build").await;
        s.inbound_execution().is_some().then_some(s)
    })
    .await;
    assert_eq!(
        build.inbound_execution().unwrap().pipeline_execution_id(),
        id
    );
    let transition = build.inbound_transition_state().unwrap();
    assert!(!transition.enabled());
    assert_eq!(transition.disabled_reason(), Some("Release freeze"));
    assert!(transition.last_changed_by().is_some());
    assert!(transition.last_changed_at().is_some());
    assert!(build.latest_execution().is_none());
    assert_eq!(
        execution(c, "held", &id).await.status(),
        Some(&PipelineExecutionStatus::InProgress)
    );

    c.enable_stage_transition()
        .pipeline_name("held")
        .stage_name("Build")
        .transition_type(StageTransitionType::Inbound)
        .send()
        .await
        .unwrap();
    wait_status(c, "held", &id, PipelineExecutionStatus::Succeeded).await;
    let build = stage_state(c, "held", "Build").await;
    assert!(build.inbound_transition_state().unwrap().enabled());
    assert!(build.inbound_execution().is_none());

    let err = c
        .disable_stage_transition()
        .pipeline_name("held")
        .stage_name("Nope")
        .transition_type(StageTransitionType::Inbound)
        .reason("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("StageNotFoundException"));
    let err = c
        .disable_stage_transition()
        .pipeline_name("held")
        .stage_name("Build")
        .transition_type(StageTransitionType::Inbound)
        .reason("not allowed: #")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
}

#[tokio::test]
async fn an_outbound_transition_holds_executions_after_their_stage() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("out"))
        .send()
        .await
        .unwrap();
    c.disable_stage_transition()
        .pipeline_name("out")
        .stage_name("Source")
        .transition_type(StageTransitionType::Outbound)
        .reason("hold")
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "out").await;
    wait_for("the execution to wait at Build", || async {
        stage_state(c, "out", "Build")
            .await
            .inbound_execution()
            .map(|_| ())
    })
    .await;
    assert_eq!(
        stage_state(c, "out", "Source")
            .await
            .latest_execution()
            .unwrap()
            .status(),
        &StageExecutionStatus::Succeeded
    );
    c.enable_stage_transition()
        .pipeline_name("out")
        .stage_name("Source")
        .transition_type(StageTransitionType::Outbound)
        .send()
        .await
        .unwrap();
    wait_status(c, "out", &id, PipelineExecutionStatus::Succeeded).await;
}

/// Three executions started back to back on a pipeline whose Build takes a while.
async fn three_close_executions(mode: Option<ExecutionMode>) -> (TestServer, Vec<String>) {
    let mut config = manual_config();
    let mut slow = rule("CodeBuild", Behavior::Succeed);
    slow.duration_ms = Some(300);
    config.actions.push(slow);
    let t = start_with(config).await;
    let mut builder = pipeline("modes")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Build", vec![codebuild("Build", "Src", &[])]));
    if let Some(mode) = mode {
        builder = builder.pipeline_type(PipelineType::V2).execution_mode(mode);
    }
    t.client
        .create_pipeline()
        .pipeline(builder.build().unwrap())
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(start_execution(&t.client, "modes").await);
    }
    (t, ids)
}

#[tokio::test]
async fn superseded_mode_replaces_an_execution_waiting_for_a_locked_stage() {
    let (t, ids) = three_close_executions(None).await;
    let c = &t.client;
    let mut statuses = Vec::new();
    for id in &ids {
        statuses.push(
            wait_finished(c, "modes", id)
                .await
                .status()
                .cloned()
                .unwrap(),
        );
    }
    assert_eq!(
        statuses,
        [
            PipelineExecutionStatus::Succeeded,
            PipelineExecutionStatus::Superseded,
            PipelineExecutionStatus::Succeeded
        ]
    );
    // The superseded execution never built.
    assert!(action_executions(c, "modes", &ids[1])
        .await
        .iter()
        .all(|a| a.stage_name() != Some("Build")));
}

#[tokio::test]
async fn queued_mode_runs_every_execution_one_at_a_time_in_order() {
    let (t, ids) = three_close_executions(Some(ExecutionMode::Queued)).await;
    let c = &t.client;
    let mut builds = Vec::new();
    for id in &ids {
        assert_eq!(
            wait_finished(c, "modes", id).await.status(),
            Some(&PipelineExecutionStatus::Succeeded)
        );
        let actions = action_executions(c, "modes", id).await;
        let build = actions
            .iter()
            .find(|a| a.stage_name() == Some("Build"))
            .cloned()
            .unwrap();
        builds.push(build);
    }
    for pair in builds.windows(2) {
        assert!(
            pair[1].start_time().unwrap() >= pair[0].last_update_time().unwrap(),
            "builds must not overlap"
        );
    }
}

#[tokio::test]
async fn parallel_mode_runs_executions_independently() {
    let (t, ids) = three_close_executions(Some(ExecutionMode::Parallel)).await;
    let c = &t.client;
    let mut builds = Vec::new();
    for id in &ids {
        let e = wait_finished(c, "modes", id).await;
        assert_eq!(e.status(), Some(&PipelineExecutionStatus::Succeeded));
        assert_eq!(e.execution_mode(), Some(&ExecutionMode::Parallel));
        let actions = action_executions(c, "modes", id).await;
        builds.push(
            actions
                .iter()
                .find(|a| a.stage_name() == Some("Build"))
                .cloned()
                .unwrap(),
        );
    }
    // All three builds were running at the same time.
    let latest_start = builds
        .iter()
        .map(|b| *b.start_time().unwrap())
        .max()
        .unwrap();
    let earliest_end = builds
        .iter()
        .map(|b| *b.last_update_time().unwrap())
        .min()
        .unwrap();
    assert!(latest_start < earliest_end);
}

#[tokio::test]
async fn stop_and_wait_lets_running_actions_finish_then_stops() {
    let mut config = manual_config();
    let mut slow = rule("CodeBuild", Behavior::Succeed);
    slow.duration_ms = Some(300);
    config.actions.push(slow);
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(approval_pipeline("stopwait"))
        .send()
        .await
        .unwrap();
    // Approve quickly so that Build (300 ms) is running when we stop.
    let id = start_execution(c, "stopwait").await;
    let token = wait_approval_token(c, "stopwait", "Approve", "Approval").await;
    approve(c, "stopwait", &token, ApprovalStatus::Approved)
        .await
        .unwrap();
    wait_for("Build to run", || async {
        stage_state(c, "stopwait", "Build")
            .await
            .latest_execution()
            .map(|_| ())
    })
    .await;
    c.stop_pipeline_execution()
        .pipeline_name("stopwait")
        .pipeline_execution_id(&id)
        .reason("Stop for the weekend")
        .send()
        .await
        .unwrap();
    assert_eq!(
        execution(c, "stopwait", &id).await.status(),
        Some(&PipelineExecutionStatus::Stopping)
    );
    let err = c
        .stop_pipeline_execution()
        .pipeline_name("stopwait")
        .pipeline_execution_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DuplicatedStopRequestException"));
    wait_status(c, "stopwait", &id, PipelineExecutionStatus::Stopped).await;
    let build = stage_state(c, "stopwait", "Build").await;
    assert_eq!(
        build.latest_execution().unwrap().status(),
        &StageExecutionStatus::Stopped
    );
    assert_eq!(
        build.action_states()[0]
            .latest_execution()
            .unwrap()
            .status(),
        Some(&ActionExecutionStatus::Succeeded),
        "the running action finished"
    );
    let summary = c
        .list_pipeline_executions()
        .pipeline_name("stopwait")
        .send()
        .await
        .unwrap();
    let summary = &summary.pipeline_execution_summaries()[0];
    assert_eq!(
        summary.stop_trigger().and_then(|s| s.reason()),
        Some("Stop for the weekend")
    );
    let err = c
        .stop_pipeline_execution()
        .pipeline_name("stopwait")
        .pipeline_execution_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineExecutionNotStoppableException"));
}

#[tokio::test]
async fn stop_and_abandon_abandons_running_actions_at_once() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(approval_pipeline("abandon"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "abandon").await;
    let token = wait_approval_token(c, "abandon", "Approve", "Approval").await;
    c.stop_pipeline_execution()
        .pipeline_name("abandon")
        .pipeline_execution_id(&id)
        .abandon(true)
        .send()
        .await
        .unwrap();
    let e = execution(c, "abandon", &id).await;
    assert_eq!(e.status(), Some(&PipelineExecutionStatus::Stopped));
    let approve_stage = stage_state(c, "abandon", "Approve").await;
    assert_eq!(
        approve_stage.latest_execution().unwrap().status(),
        &StageExecutionStatus::Stopped
    );
    assert_eq!(
        approve_stage.action_states()[0]
            .latest_execution()
            .unwrap()
            .status(),
        Some(&ActionExecutionStatus::Abandoned)
    );
    assert_eq!(
        approve(c, "abandon", &token, ApprovalStatus::Approved).await,
        Err("ApprovalAlreadyCompletedException".into())
    );
}

#[tokio::test]
async fn a_stopping_execution_can_be_escalated_to_abandon() {
    let mut config = manual_config();
    let mut slow = rule("CodeBuild", Behavior::Succeed);
    slow.duration_ms = Some(5_000);
    config.actions.push(slow);
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("escalate"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "escalate").await;
    wait_for("Build to run", || async {
        stage_state(c, "escalate", "Build")
            .await
            .latest_execution()
            .map(|_| ())
    })
    .await;
    c.stop_pipeline_execution()
        .pipeline_name("escalate")
        .pipeline_execution_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        execution(c, "escalate", &id).await.status(),
        Some(&PipelineExecutionStatus::Stopping)
    );
    c.stop_pipeline_execution()
        .pipeline_name("escalate")
        .pipeline_execution_id(&id)
        .abandon(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        execution(c, "escalate", &id).await.status(),
        Some(&PipelineExecutionStatus::Stopped)
    );
}

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
