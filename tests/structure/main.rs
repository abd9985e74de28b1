//! Pipeline structure rules on CreatePipeline and UpdatePipeline, each provoked through the AWS
//! SDK for Rust: pipeline-level problems are InvalidStructureException, stage-level ones
//! InvalidStageDeclarationException, action-level ones InvalidActionDeclarationException and
//! quotas LimitExceededException.

#[path = "../common/mod.rs"]
mod common;

use aws_sdk_codepipeline::types::{
    ActionCategory, ActionOwner, ArtifactStore, ArtifactStoreType, ExecutionMode,
    GitBranchFilterCriteria, GitConfiguration, GitPushFilter, PipelineDeclaration,
    PipelineTriggerDeclaration, PipelineTriggerProviderType, PipelineType,
    PipelineVariableDeclaration, StageDeclaration,
};
use codepipeline_local::Config;
use common::*;

mod pipeline_level;
mod quotas;
mod secrets;
mod stage_and_action_level;

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
