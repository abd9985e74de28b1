//! Starting executions: idempotent starts, source revision overrides and PutActionRevision.

use super::*;

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
