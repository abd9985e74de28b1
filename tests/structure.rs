//! Pipeline structure rules on CreatePipeline and UpdatePipeline, each provoked through the AWS
//! SDK for Rust: pipeline-level problems are InvalidStructureException, stage-level ones
//! InvalidStageDeclarationException, action-level ones InvalidActionDeclarationException and
//! quotas LimitExceededException.

mod common;

use aws_sdk_codepipeline::types::{
    ActionCategory, ActionOwner, ArtifactStore, ArtifactStoreType, ExecutionMode,
    GitBranchFilterCriteria, GitConfiguration, GitPushFilter, PipelineDeclaration,
    PipelineTriggerDeclaration, PipelineTriggerProviderType, PipelineType,
    PipelineVariableDeclaration, StageDeclaration,
};
use codepipeline_local::Config;
use common::*;

/// CreatePipeline rejects this declaration with this error code, and the message names the
/// offending item (so the test knows which rule fired).
async fn rejected(t: &TestServer, declaration: PipelineDeclaration, code: &str, mentions: &str) {
    let (got, message) = service_error(
        t.client
            .create_pipeline()
            .pipeline(declaration)
            .send()
            .await,
    );
    assert_eq!(got, code, "{message}");
    assert!(
        message.contains(mentions),
        "'{message}' should mention '{mentions}'"
    );
}

async fn create_ok(t: &TestServer, declaration: PipelineDeclaration) {
    t.client
        .create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .expect("the declaration is valid");
}

fn source_stage() -> StageDeclaration {
    stage("Source", vec![s3_source("Source", "SourceOutput")])
}

fn build_stage() -> StageDeclaration {
    stage("Build", vec![codebuild("Build", "SourceOutput", &[])])
}

fn store() -> ArtifactStore {
    ArtifactStore::builder()
        .r#type(ArtifactStoreType::S3)
        .location("artifact-bucket")
        .build()
        .unwrap()
}

// ---- pipeline level ----

#[tokio::test]
async fn fewer_than_two_stages() {
    let t = start().await;
    let declaration = pipeline("p").stages(source_stage()).build().unwrap();
    rejected(&t, declaration, "InvalidStructureException", "stage").await;
}

#[tokio::test]
async fn first_stage_with_a_non_source_action() {
    let t = start().await;
    let declaration = pipeline("p")
        .stages(stage(
            "Source",
            vec![
                s3_source("Source", "SourceOutput"),
                manual_approval("Approve"),
            ],
        ))
        .stages(build_stage())
        .build()
        .unwrap();
    rejected(&t, declaration, "InvalidStructureException", "Approve").await;
    let declaration = pipeline("p")
        .stages(stage("Approve", vec![manual_approval("Approve")]))
        .stages(stage("Approve2", vec![manual_approval("Approve")]))
        .build()
        .unwrap();
    rejected(&t, declaration, "InvalidStructureException", "Approve").await;
}

#[tokio::test]
async fn source_action_outside_the_first_stage() {
    let t = start().await;
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage("More", vec![s3_source("MoreSource", "MoreOutput")]))
        .build()
        .unwrap();
    rejected(&t, declaration, "InvalidStructureException", "MoreSource").await;
}

#[tokio::test]
async fn input_artifact_not_produced_earlier() {
    let t = start().await;
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage(
            "Build",
            vec![codebuild("Build", "NoSuchArtifact", &[])],
        ))
        .build()
        .unwrap();
    rejected(
        &t,
        declaration,
        "InvalidStructureException",
        "NoSuchArtifact",
    )
    .await;
}

#[tokio::test]
async fn input_artifact_produced_later_in_the_pipeline() {
    let t = start().await;
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage("Test", vec![codebuild("Test", "BuildOutput", &[])]))
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &["BuildOutput"])],
        ))
        .build()
        .unwrap();
    rejected(&t, declaration, "InvalidStructureException", "BuildOutput").await;
}

fn same_stage_flow(consumer_run_order: i32) -> PipelineDeclaration {
    let producer = action(
        "Compile",
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &["SourceOutput"],
        &["Compiled"],
    )
    .configuration("ProjectName", "compile")
    .run_order(1)
    .build()
    .unwrap();
    let consumer = action(
        "Package",
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &["Compiled"],
        &[],
    )
    .configuration("ProjectName", "package")
    .run_order(consumer_run_order)
    .build()
    .unwrap();
    pipeline("flow")
        .stages(source_stage())
        .stages(stage("Build", vec![producer, consumer]))
        .build()
        .unwrap()
}

#[tokio::test]
async fn input_artifact_from_the_same_stage_needs_a_lower_run_order() {
    let t = start().await;
    // The same runOrder: the actions run in parallel.
    rejected(
        &t,
        same_stage_flow(1),
        "InvalidStructureException",
        "Compiled",
    )
    .await;
    create_ok(&t, same_stage_flow(2)).await;
}

#[tokio::test]
async fn duplicate_output_artifact_names() {
    let t = start().await;
    let declaration = pipeline("p")
        .stages(stage(
            "Source",
            vec![
                s3_source("SourceA", "SourceOutput"),
                s3_source("SourceB", "SourceOutput"),
            ],
        ))
        .stages(build_stage())
        .build()
        .unwrap();
    rejected(&t, declaration, "InvalidStructureException", "SourceOutput").await;
    // Also across stages.
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &["SourceOutput"])],
        ))
        .build()
        .unwrap();
    rejected(&t, declaration, "InvalidStructureException", "SourceOutput").await;
}

#[tokio::test]
async fn artifact_store_and_artifact_stores_together() {
    let t = start().await;
    let declaration = pipeline("p")
        .artifact_stores("us-east-1", store())
        .stages(source_stage())
        .stages(build_stage())
        .build()
        .unwrap();
    rejected(
        &t,
        declaration,
        "InvalidStructureException",
        "artifactStores",
    )
    .await;
}

#[tokio::test]
async fn neither_artifact_store_nor_artifact_stores() {
    let t = start().await;
    let declaration = PipelineDeclaration::builder()
        .name("p")
        .role_arn(ROLE_ARN)
        .stages(source_stage())
        .stages(build_stage())
        .build()
        .unwrap();
    rejected(
        &t,
        declaration,
        "InvalidStructureException",
        "artifactStore",
    )
    .await;
}

#[tokio::test]
async fn artifact_stores_must_cover_the_pipeline_region() {
    let t = start().await;
    let declaration = |region: &str| {
        PipelineDeclaration::builder()
            .name("multi")
            .role_arn(ROLE_ARN)
            .artifact_stores(region, store())
            .stages(source_stage())
            .stages(build_stage())
            .build()
            .unwrap()
    };
    rejected(
        &t,
        declaration("eu-west-1"),
        "InvalidStructureException",
        "us-east-1",
    )
    .await;
    create_ok(&t, declaration("us-east-1")).await;
}

fn v1_with(
    change: impl FnOnce(
        aws_sdk_codepipeline::types::builders::PipelineDeclarationBuilder,
    ) -> aws_sdk_codepipeline::types::builders::PipelineDeclarationBuilder,
) -> PipelineDeclaration {
    change(pipeline("p").stages(source_stage()).stages(build_stage()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn variables_need_a_v2_pipeline() {
    let t = start().await;
    let variable = PipelineVariableDeclaration::builder()
        .name("Environment")
        .default_value("dev")
        .build()
        .unwrap();
    let declaration = v1_with(|p| p.variables(variable.clone()));
    rejected(&t, declaration, "InvalidStructureException", "variables").await;
    let declaration = v1_with(|p| {
        p.pipeline_type(PipelineType::V1)
            .variables(variable.clone())
    });
    rejected(&t, declaration, "InvalidStructureException", "variables").await;
    create_ok(
        &t,
        v1_with(|p| p.pipeline_type(PipelineType::V2).variables(variable)),
    )
    .await;
}

#[tokio::test]
async fn triggers_need_a_v2_pipeline() {
    let t = start().await;
    let source = action(
        "Source",
        type_id(
            ActionCategory::Source,
            ActionOwner::Aws,
            "CodeStarSourceConnection",
        ),
        &[],
        &["SourceOutput"],
    )
    .configuration(
        "ConnectionArn",
        "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc",
    )
    .configuration("FullRepositoryId", "owner/repo")
    .configuration("BranchName", "main")
    .build()
    .unwrap();
    let trigger = PipelineTriggerDeclaration::builder()
        .provider_type(PipelineTriggerProviderType::CodeStarSourceConnection)
        .git_configuration(
            GitConfiguration::builder()
                .source_action_name("Source")
                .push(
                    GitPushFilter::builder()
                        .branches(GitBranchFilterCriteria::builder().includes("main").build())
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let declaration = |pipeline_type: PipelineType| {
        pipeline("triggered")
            .pipeline_type(pipeline_type)
            .triggers(trigger.clone())
            .stages(stage("Source", vec![source.clone()]))
            .stages(build_stage())
            .build()
            .unwrap()
    };
    rejected(
        &t,
        declaration(PipelineType::V1),
        "InvalidStructureException",
        "Triggers",
    )
    .await;
    create_ok(&t, declaration(PipelineType::V2)).await;
}

#[tokio::test]
async fn queued_and_parallel_need_a_v2_pipeline() {
    let t = start().await;
    for mode in [ExecutionMode::Queued, ExecutionMode::Parallel] {
        let declaration = v1_with(|p| p.execution_mode(mode.clone()));
        rejected(&t, declaration, "InvalidStructureException", mode.as_str()).await;
    }
    create_ok(&t, v1_with(|p| p.execution_mode(ExecutionMode::Superseded))).await;
    let declaration = v1_with(|p| {
        p.name("parallel")
            .pipeline_type(PipelineType::V2)
            .execution_mode(ExecutionMode::Parallel)
    });
    create_ok(&t, declaration).await;
}

// ---- stage level ----

#[tokio::test]
async fn stage_without_actions() {
    let t = start().await;
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage("Empty", vec![]))
        .build()
        .unwrap();
    rejected(&t, declaration, "InvalidStageDeclarationException", "Empty").await;
}

#[tokio::test]
async fn duplicate_stage_names() {
    let t = start().await;
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &[])],
        ))
        .stages(stage("Build", vec![codebuild("Test", "SourceOutput", &[])]))
        .build()
        .unwrap();
    rejected(&t, declaration, "InvalidStageDeclarationException", "Build").await;
}

// ---- action level ----

#[tokio::test]
async fn duplicate_action_names_in_a_stage() {
    let t = start().await;
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage(
            "Build",
            vec![
                codebuild("Build", "SourceOutput", &[]),
                codebuild("Build", "SourceOutput", &[]),
            ],
        ))
        .build()
        .unwrap();
    rejected(
        &t,
        declaration,
        "InvalidActionDeclarationException",
        "Build",
    )
    .await;
    // The same action name in two stages is fine.
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage("Build", vec![codebuild("Run", "SourceOutput", &[])]))
        .stages(stage("Test", vec![codebuild("Run", "SourceOutput", &[])]))
        .build()
        .unwrap();
    create_ok(&t, declaration).await;
}

#[tokio::test]
async fn fewer_input_artifacts_than_the_action_type_needs() {
    let t = start().await;
    // CodeBuild needs 1 to 5 input artifacts.
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage(
            "Build",
            vec![action(
                "Build",
                type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
                &[],
                &[],
            )
            .configuration("ProjectName", "p")
            .build()
            .unwrap()],
        ))
        .build()
        .unwrap();
    rejected(
        &t,
        declaration,
        "InvalidActionDeclarationException",
        "Build",
    )
    .await;
}

#[tokio::test]
async fn more_artifacts_than_the_action_type_allows() {
    let t = start().await;
    // A manual approval takes no input artifacts.
    let approval = action(
        "Approve",
        type_id(ActionCategory::Approval, ActionOwner::Aws, "Manual"),
        &["SourceOutput"],
        &[],
    )
    .build()
    .unwrap();
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage("Approve", vec![approval]))
        .build()
        .unwrap();
    rejected(
        &t,
        declaration,
        "InvalidActionDeclarationException",
        "Approve",
    )
    .await;
    // An S3 source has exactly one output artifact.
    let source = action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::Aws, "S3"),
        &[],
        &["One", "Two"],
    )
    .configuration("S3Bucket", "b")
    .configuration("S3ObjectKey", "k")
    .build()
    .unwrap();
    let declaration = pipeline("p")
        .stages(stage("Source", vec![source]))
        .stages(stage("Build", vec![codebuild("Build", "One", &[])]))
        .build()
        .unwrap();
    rejected(
        &t,
        declaration,
        "InvalidActionDeclarationException",
        "Source",
    )
    .await;
}

#[tokio::test]
async fn missing_required_configuration() {
    let t = start().await;
    let source = action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::Aws, "S3"),
        &[],
        &["SourceOutput"],
    )
    .configuration("S3Bucket", "source-bucket")
    .build()
    .unwrap();
    let declaration = pipeline("p")
        .stages(stage("Source", vec![source]))
        .stages(build_stage())
        .build()
        .unwrap();
    let (code, message) = service_error(
        t.client
            .create_pipeline()
            .pipeline(declaration)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidActionDeclarationException");
    assert!(message.contains("S3ObjectKey"), "{message}");
}

#[tokio::test]
async fn unknown_aws_action_type() {
    let t = start().await;
    let unknown = action(
        "Build",
        type_id(ActionCategory::Build, ActionOwner::Aws, "NoSuchProvider"),
        &["SourceOutput"],
        &[],
    )
    .build()
    .unwrap();
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage("Build", vec![unknown]))
        .build()
        .unwrap();
    rejected(
        &t,
        declaration,
        "InvalidActionDeclarationException",
        "NoSuchProvider",
    )
    .await;
}

#[tokio::test]
async fn unregistered_custom_action_type() {
    let t = start().await;
    let custom = action(
        "Build",
        type_id(ActionCategory::Build, ActionOwner::Custom, "MyJenkins"),
        &["SourceOutput"],
        &[],
    )
    .build()
    .unwrap();
    let declaration = pipeline("p")
        .stages(source_stage())
        .stages(stage("Build", vec![custom]))
        .build()
        .unwrap();
    rejected(
        &t,
        declaration,
        "InvalidActionDeclarationException",
        "MyJenkins",
    )
    .await;
}

// ---- quotas ----

#[tokio::test]
async fn more_stages_than_the_limit() {
    let t = start_with(Config {
        max_stages: 3,
        ..test_config()
    })
    .await;
    let with_stages = |count: usize| {
        let mut builder = pipeline("long").stages(source_stage());
        for i in 1..count {
            builder = builder.stages(stage(
                &format!("Build{i}"),
                vec![codebuild("Build", "SourceOutput", &[])],
            ));
        }
        builder.build().unwrap()
    };
    rejected(&t, with_stages(4), "LimitExceededException", "4").await;
    create_ok(&t, with_stages(3)).await;
}

#[tokio::test]
async fn more_actions_in_a_stage_than_the_limit() {
    let t = start_with(Config {
        max_actions_per_stage: 2,
        ..test_config()
    })
    .await;
    let with_actions = |count: usize| {
        let actions = (0..count)
            .map(|i| codebuild(&format!("Build{i}"), "SourceOutput", &[]))
            .collect();
        pipeline("wide")
            .stages(source_stage())
            .stages(stage("Build", actions))
            .build()
            .unwrap()
    };
    rejected(&t, with_actions(3), "LimitExceededException", "3").await;
    create_ok(&t, with_actions(2)).await;
}

// ---- updates are checked too ----

#[tokio::test]
async fn update_pipeline_checks_the_same_rules() {
    let t = start().await;
    create_ok(&t, two_stage_pipeline("p")).await;
    let broken = pipeline("p")
        .stages(source_stage())
        .stages(stage("Build", vec![codebuild("Build", "Missing", &[])]))
        .build()
        .unwrap();
    let code = error_code(t.client.update_pipeline().pipeline(broken).send().await);
    assert_eq!(code, "InvalidStructureException");
}

// ---- secrets ----

#[tokio::test]
async fn secret_configuration_is_masked_when_read_back() {
    let t = start().await;
    let github = action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::ThirdParty, "GitHub"),
        &[],
        &["SourceOutput"],
    )
    .configuration("Owner", "octocat")
    .configuration("Repo", "hello-world")
    .configuration("Branch", "main")
    .configuration("OAuthToken", "ghp_supersecret")
    .build()
    .unwrap();
    let declaration = pipeline("github")
        .stages(stage("Source", vec![github]))
        .stages(build_stage())
        .build()
        .unwrap();
    let created = t
        .client
        .create_pipeline()
        .pipeline(declaration.clone())
        .send()
        .await
        .expect("create");
    let configuration =
        |p: &PipelineDeclaration| p.stages()[0].actions()[0].configuration().unwrap().clone();
    let shown = configuration(created.pipeline().unwrap());
    assert_eq!(shown["OAuthToken"], "****");
    assert_eq!(shown["Owner"], "octocat");

    let got = t
        .client
        .get_pipeline()
        .name("github")
        .send()
        .await
        .expect("get");
    let shown = configuration(got.pipeline().unwrap());
    assert_eq!(shown["OAuthToken"], "****");
    assert_eq!(shown["Repo"], "hello-world");
    assert_eq!(shown["Branch"], "main");

    let updated = t
        .client
        .update_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .expect("update");
    assert_eq!(
        configuration(updated.pipeline().unwrap())["OAuthToken"],
        "****"
    );
}
