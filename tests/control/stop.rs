//! Stopping executions: stop and wait, stop and abandon, escalation.

use super::*;

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
