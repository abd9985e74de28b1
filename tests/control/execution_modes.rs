//! Execution modes: superseded, queued and parallel.

use super::*;

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
