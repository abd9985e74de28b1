//! Manual approvals: approved, rejected and unanswered.

use super::*;

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
