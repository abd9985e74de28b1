//! Pipeline-level rules (InvalidStructureException): stages, source actions, artifact flow,
//! artifact stores, what needs a V2 pipeline; UpdatePipeline checks the same rules.

use super::*;

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
