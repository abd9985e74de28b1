//! Pipeline executions through the AWS SDK for Rust: start, run, fail, variables, revisions.

mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::*;
use codepipeline_local::engine::behavior::Behavior;
use common::engine::*;
use common::*;

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

#[tokio::test]
async fn variables_resolve_from_namespaces_pipeline_variables_and_the_execution_id() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let source = action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::Aws, "CodeCommit"),
        &[],
        &["Src"],
    )
    .configuration("RepositoryName", "repo")
    .configuration("BranchName", "main")
    .namespace("SourceVariables")
    .build()
    .unwrap();
    let build = action("Build", type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"), &["Src"], &[])
        .configuration("ProjectName", "p-#{variables.Env}")
        .configuration(
            "EnvironmentVariables",
            "#{SourceVariables.CommitId}/#{SourceVariables.BranchName}/#{codepipeline.PipelineExecutionId}",
        )
        .build()
        .unwrap();
    let declaration = pipeline("vars")
        .pipeline_type(PipelineType::V2)
        .variables(
            PipelineVariableDeclaration::builder()
                .name("Env")
                .default_value("dev")
                .build()
                .unwrap(),
        )
        .stages(stage("Source", vec![source]))
        .stages(stage("Build", vec![build]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = c
        .start_pipeline_execution()
        .name("vars")
        .variables(
            PipelineVariable::builder()
                .name("Env")
                .value("prod")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .pipeline_execution_id
        .unwrap();
    let execution = wait_status(c, "vars", &id, PipelineExecutionStatus::Succeeded).await;
    let variables = execution.variables();
    assert_eq!(variables[0].name(), Some("Env"));
    assert_eq!(variables[0].resolved_value(), Some("prod"));

    let actions = action_executions(c, "vars", &id).await;
    let source = actions
        .iter()
        .find(|a| a.action_name() == Some("Source"))
        .unwrap();
    let commit = source.output().unwrap().output_variables().unwrap()["CommitId"].clone();
    assert_eq!(commit.len(), 40);
    let build = actions
        .iter()
        .find(|a| a.action_name() == Some("Build"))
        .unwrap();
    let resolved = build.input().unwrap().resolved_configuration().unwrap();
    assert_eq!(resolved["ProjectName"], "p-prod");
    assert_eq!(
        resolved["EnvironmentVariables"],
        format!("{commit}/main/{id}")
    );
    // The unresolved configuration is kept as declared.
    assert_eq!(
        build.input().unwrap().configuration().unwrap()["ProjectName"],
        "p-#{variables.Env}"
    );
}

#[tokio::test]
async fn an_unresolvable_variable_fails_the_action_with_a_clear_message() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let build = action(
        "Build",
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &["Src"],
        &[],
    )
    .configuration("ProjectName", "#{Missing.Thing}")
    .build()
    .unwrap();
    let declaration = pipeline("unresolved")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Build", vec![build]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "unresolved").await;
    wait_status(c, "unresolved", &id, PipelineExecutionStatus::Failed).await;
    let build = stage_state(c, "unresolved", "Build").await;
    let latest = build.action_states()[0].latest_execution().unwrap();
    assert_eq!(
        latest.error_details().unwrap().message(),
        Some("Unable to resolve variable '#{Missing.Thing}'")
    );
}

#[tokio::test]
async fn pipeline_variables_need_a_value_and_a_declaration() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let declaration = pipeline("strict")
        .pipeline_type(PipelineType::V2)
        .variables(
            PipelineVariableDeclaration::builder()
                .name("Required")
                .build()
                .unwrap(),
        )
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Build", vec![codebuild("Build", "Src", &[])]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let err = c
        .start_pipeline_execution()
        .name("strict")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = c
        .start_pipeline_execution()
        .name("strict")
        .variables(
            PipelineVariable::builder()
                .name("Undeclared")
                .value("x")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = c
        .start_pipeline_execution()
        .name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineNotFoundException"));
}

#[tokio::test]
async fn a_client_request_token_makes_start_idempotent() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("idem"))
        .send()
        .await
        .unwrap();
    let first = c
        .start_pipeline_execution()
        .name("idem")
        .client_request_token("tok-1")
        .send()
        .await
        .unwrap();
    let again = c
        .start_pipeline_execution()
        .name("idem")
        .client_request_token("tok-1")
        .send()
        .await
        .unwrap();
    let other = c
        .start_pipeline_execution()
        .name("idem")
        .client_request_token("tok-2")
        .send()
        .await
        .unwrap();
    assert_eq!(first.pipeline_execution_id(), again.pipeline_execution_id());
    assert_ne!(first.pipeline_execution_id(), other.pipeline_execution_id());
}

#[tokio::test]
async fn source_revision_overrides_are_used_by_the_source_action() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let source = action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::Aws, "CodeCommit"),
        &[],
        &["Src"],
    )
    .configuration("RepositoryName", "repo")
    .configuration("BranchName", "main")
    .build()
    .unwrap();
    let declaration = pipeline("pinned")
        .pipeline_type(PipelineType::V2)
        .stages(stage("Source", vec![source]))
        .stages(stage("Build", vec![codebuild("Build", "Src", &[])]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let id = c
        .start_pipeline_execution()
        .name("pinned")
        .source_revisions(
            SourceRevisionOverride::builder()
                .action_name("Source")
                .revision_type(SourceRevisionType::CommitId)
                .revision_value(commit)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .pipeline_execution_id
        .unwrap();
    let execution = wait_status(c, "pinned", &id, PipelineExecutionStatus::Succeeded).await;
    assert_eq!(
        execution.artifact_revisions()[0].revision_id(),
        Some(commit)
    );
    let list = c
        .list_pipeline_executions()
        .pipeline_name("pinned")
        .send()
        .await
        .unwrap();
    assert_eq!(
        list.pipeline_execution_summaries()[0].source_revisions()[0].revision_id(),
        Some(commit)
    );
}

#[tokio::test]
async fn put_action_revision_starts_an_execution_only_for_a_new_revision() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("rev"))
        .send()
        .await
        .unwrap();
    let revision = |id: &str| {
        ActionRevision::builder()
            .revision_id(id)
            .revision_change_id(format!("change-{id}"))
            .created(aws_sdk_codepipeline::primitives::DateTime::from_secs(
                1_700_000_000,
            ))
            .build()
            .unwrap()
    };
    let put = c
        .put_action_revision()
        .pipeline_name("rev")
        .stage_name("Source")
        .action_name("Source")
        .action_revision(revision("v1"))
        .send()
        .await
        .unwrap();
    assert!(put.new_revision());
    let id = put.pipeline_execution_id().unwrap().to_string();
    let execution = wait_status(c, "rev", &id, PipelineExecutionStatus::Succeeded).await;
    assert_eq!(execution.artifact_revisions()[0].revision_id(), Some("v1"));
    assert_eq!(
        execution.trigger().and_then(|t| t.trigger_type()),
        Some(&TriggerType::PutActionRevision)
    );

    let again = c
        .put_action_revision()
        .pipeline_name("rev")
        .stage_name("Source")
        .action_name("Source")
        .action_revision(revision("v1"))
        .send()
        .await
        .unwrap();
    assert!(!again.new_revision());
    assert!(again.pipeline_execution_id().is_none());
    let list = c
        .list_pipeline_executions()
        .pipeline_name("rev")
        .send()
        .await
        .unwrap();
    assert_eq!(list.pipeline_execution_summaries().len(), 1);

    let err = c
        .put_action_revision()
        .pipeline_name("rev")
        .stage_name("Nope")
        .action_name("Source")
        .action_revision(revision("v2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("StageNotFoundException"));
    let err = c
        .put_action_revision()
        .pipeline_name("rev")
        .stage_name("Source")
        .action_name("Nope")
        .action_revision(revision("v2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionNotFoundException"));
}

#[tokio::test]
async fn list_pipeline_executions_is_newest_first_paginated_and_filterable() {
    let mut config = manual_config();
    let mut fail = rule("CodeBuild", Behavior::Fail);
    fail.pipeline = Some("hist".into());
    config.actions.push(fail);
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("hist"))
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = start_execution(c, "hist").await;
        wait_finished(c, "hist", &id).await;
        ids.push(id);
    }
    let page1 = c
        .list_pipeline_executions()
        .pipeline_name("hist")
        .max_results(2)
        .send()
        .await
        .unwrap();
    let page2 = c
        .list_pipeline_executions()
        .pipeline_name("hist")
        .max_results(2)
        .next_token(page1.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let page3 = c
        .list_pipeline_executions()
        .pipeline_name("hist")
        .max_results(2)
        .next_token(page2.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert!(page3.next_token().is_none());
    let listed: Vec<String> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| p.pipeline_execution_summaries().iter())
        .map(|s| s.pipeline_execution_id().unwrap().to_string())
        .collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);

    // Every execution failed in Build, so none succeeded in it; all succeeded in Source.
    let filtered = |stage: &str| {
        c.list_pipeline_executions()
            .pipeline_name("hist")
            .filter(
                PipelineExecutionFilter::builder()
                    .succeeded_in_stage(SucceededInStageFilter::builder().stage_name(stage).build())
                    .build(),
            )
            .send()
    };
    assert!(filtered("Build")
        .await
        .unwrap()
        .pipeline_execution_summaries()
        .is_empty());
    assert_eq!(
        filtered("Source")
            .await
            .unwrap()
            .pipeline_execution_summaries()
            .len(),
        5
    );

    let err = c
        .list_pipeline_executions()
        .pipeline_name("hist")
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidNextTokenException"));
    let err = c
        .get_pipeline_execution()
        .pipeline_name("hist")
        .pipeline_execution_id("00000000-0000-0000-0000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineExecutionNotFoundException"));
}

#[tokio::test]
async fn executions_history_is_capped() {
    let mut config = manual_config();
    config.max_executions_per_pipeline = 3;
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("capped"))
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = start_execution(c, "capped").await;
        wait_finished(c, "capped", &id).await;
        ids.push(id);
    }
    let list = c
        .list_pipeline_executions()
        .pipeline_name("capped")
        .send()
        .await
        .unwrap();
    let listed: Vec<_> = list
        .pipeline_execution_summaries()
        .iter()
        .map(|s| s.pipeline_execution_id().unwrap())
        .collect();
    assert_eq!(listed, [ids[4].as_str(), ids[3].as_str(), ids[2].as_str()]);
    let err = c
        .get_pipeline_execution()
        .pipeline_name("capped")
        .pipeline_execution_id(&ids[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineExecutionNotFoundException"));
}

#[tokio::test]
async fn list_action_executions_filters_by_execution_and_checks_it_exists() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("acts"))
        .send()
        .await
        .unwrap();
    let first = start_execution(c, "acts").await;
    wait_finished(c, "acts", &first).await;
    let second = start_execution(c, "acts").await;
    wait_finished(c, "acts", &second).await;
    let all = c
        .list_action_executions()
        .pipeline_name("acts")
        .send()
        .await
        .unwrap();
    assert_eq!(all.action_execution_details().len(), 4);
    let only = action_executions(c, "acts", &first).await;
    assert_eq!(only.len(), 2);
    assert!(only
        .iter()
        .all(|a| a.pipeline_execution_id() == Some(first.as_str())));
    let page = c
        .list_action_executions()
        .pipeline_name("acts")
        .max_results(3)
        .send()
        .await
        .unwrap();
    assert_eq!(page.action_execution_details().len(), 3);
    let rest = c
        .list_action_executions()
        .pipeline_name("acts")
        .max_results(3)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.action_execution_details().len(), 1);
    let err = c
        .list_action_executions()
        .pipeline_name("acts")
        .filter(
            ActionExecutionFilter::builder()
                .pipeline_execution_id("00000000-0000-0000-0000-000000000000")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineExecutionNotFoundException"));
}
