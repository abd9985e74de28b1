//! Stage-level rules (InvalidStageDeclarationException) and action-level rules
//! (InvalidActionDeclarationException).

use super::*;

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
