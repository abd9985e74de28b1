//! Stage transitions: disabled inbound and outbound transitions hold executions.

use super::*;

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
