//! Running executions: stages in order, failure, run orders, and the execution a new pipeline
//! starts.

use super::*;

fn three_stage_pipeline(name: &str) -> PipelineDeclaration {
    pipeline(name)
        .stages(stage("Source", vec![s3_source("Source", "SourceOutput")]))
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &["BuildOutput"])],
        ))
        .stages(stage("Deploy", vec![codedeploy("Deploy", "BuildOutput")]))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_started_execution_runs_every_stage_and_succeeds() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(three_stage_pipeline("app"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "app").await;
    let execution = wait_finished(c, "app", &id).await;
    assert_eq!(
        execution.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
    assert_eq!(execution.pipeline_version(), Some(1));
    assert_eq!(
        execution.trigger().and_then(|t| t.trigger_type()),
        Some(&TriggerType::StartPipelineExecution)
    );
    assert_eq!(execution.execution_type(), Some(&ExecutionType::Standard));
    // The source action's revision is the execution's artifact revision.
    let revisions = execution.artifact_revisions();
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0].name(), Some("SourceOutput"));
    assert!(revisions[0].revision_id().is_some());

    let state = c.get_pipeline_state().name("app").send().await.unwrap();
    for stage in state.stage_states() {
        let latest = stage.latest_execution().expect("stage ran");
        assert_eq!(latest.pipeline_execution_id(), id);
        assert_eq!(latest.status(), &StageExecutionStatus::Succeeded);
        for action in stage.action_states() {
            assert_eq!(
                action.latest_execution().and_then(|e| e.status()),
                Some(&ActionExecutionStatus::Succeeded)
            );
        }
    }
    let source = state.stage_states()[0].action_states()[0]
        .current_revision()
        .expect("revision");
    assert_eq!(Some(source.revision_id()), revisions[0].revision_id());

    // Action executions: newest first, with artifacts located in the artifact store.
    let actions = action_executions(c, "app", &id).await;
    let names: Vec<_> = actions.iter().map(|a| a.action_name().unwrap()).collect();
    assert_eq!(names, ["Deploy", "Build", "Source"]);
    let build = &actions[1];
    let input = build.input().unwrap();
    assert_eq!(input.configuration().unwrap()["ProjectName"], "my-project");
    let artifact = &input.input_artifacts()[0];
    assert_eq!(artifact.name(), Some("SourceOutput"));
    let location = artifact.s3_location().unwrap();
    assert_eq!(location.bucket(), Some("artifact-bucket"));
    assert!(location.key().unwrap().starts_with("app/SourceOutp/"));
    let source_outputs = actions[2].output().unwrap().output_variables().unwrap();
    assert!(source_outputs.contains_key("ETag") && source_outputs.contains_key("VersionId"));
}

#[tokio::test]
async fn creating_a_pipeline_starts_an_execution_unless_turned_off() {
    let t = start().await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("auto"))
        .send()
        .await
        .unwrap();
    let list = t
        .client
        .list_pipeline_executions()
        .pipeline_name("auto")
        .send()
        .await
        .unwrap();
    let summary = &list.pipeline_execution_summaries()[0];
    assert_eq!(
        summary.trigger().and_then(|t| t.trigger_type()),
        Some(&TriggerType::CreatePipeline)
    );
    wait_status(
        &t.client,
        "auto",
        summary.pipeline_execution_id().unwrap(),
        PipelineExecutionStatus::Succeeded,
    )
    .await;

    let manual = start_with(manual_config()).await;
    manual
        .client
        .create_pipeline()
        .pipeline(two_stage_pipeline("quiet"))
        .send()
        .await
        .unwrap();
    let list = manual
        .client
        .list_pipeline_executions()
        .pipeline_name("quiet")
        .send()
        .await
        .unwrap();
    assert!(list.pipeline_execution_summaries().is_empty());
}

#[tokio::test]
async fn a_failed_action_fails_its_stage_and_later_stages_are_not_entered() {
    let mut config = manual_config();
    let mut fail = rule("CodeBuild", Behavior::Fail);
    fail.message = Some("Unit tests failed".into());
    config.actions.push(fail);
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(three_stage_pipeline("broken"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "broken").await;
    let execution = wait_finished(c, "broken", &id).await;
    assert_eq!(execution.status(), Some(&PipelineExecutionStatus::Failed));
    assert!(execution
        .status_summary()
        .unwrap()
        .contains("Unit tests failed"));

    let build = stage_state(c, "broken", "Build").await;
    assert_eq!(
        build.latest_execution().unwrap().status(),
        &StageExecutionStatus::Failed
    );
    let latest = build.action_states()[0].latest_execution().unwrap();
    assert_eq!(latest.status(), Some(&ActionExecutionStatus::Failed));
    assert_eq!(
        latest.error_details().unwrap().message(),
        Some("Unit tests failed")
    );
    let deploy = stage_state(c, "broken", "Deploy").await;
    assert!(deploy.latest_execution().is_none(), "Deploy must not run");
    assert!(deploy.action_states()[0].latest_execution().is_none());
}

#[tokio::test]
async fn actions_run_by_run_order_and_equal_run_orders_run_together() {
    let mut config = manual_config();
    let mut slow = rule("CodeBuild", Behavior::Succeed);
    slow.duration_ms = Some(150);
    config.actions.push(slow);
    let t = start_with(config).await;
    let c = &t.client;
    let build = |name: &str, order: i32| {
        action(
            name,
            type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
            &["Src"],
            &[],
        )
        .configuration("ProjectName", "p")
        .run_order(order)
        .build()
        .unwrap()
    };
    let declaration = pipeline("ordered")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage(
            "Build",
            vec![build("A", 1), build("B", 1), build("C", 2)],
        ))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "ordered").await;
    wait_status(c, "ordered", &id, PipelineExecutionStatus::Succeeded).await;
    let actions = action_executions(c, "ordered", &id).await;
    let get = |n: &str| actions.iter().find(|a| a.action_name() == Some(n)).unwrap();
    let (a, b, cc) = (get("A"), get("B"), get("C"));
    // A and B (runOrder 1) overlap; C (runOrder 2) starts after both ended.
    assert!(a.start_time().unwrap() < b.last_update_time().unwrap());
    assert!(b.start_time().unwrap() < a.last_update_time().unwrap());
    assert!(cc.start_time().unwrap() >= a.last_update_time().unwrap());
    assert!(cc.start_time().unwrap() >= b.last_update_time().unwrap());
}
