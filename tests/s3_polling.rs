//! `PollForSourceChanges` of S3 sources with `--s3-endpoint` (moto's S3): a new version of the
//! source object starts the pipeline by itself, once, pinned to that version.

mod common;

use aws_sdk_codepipeline::types::*;
use codepipeline_local::config::Config;
use common::engine::*;
use common::real::{create_bucket, put, Moto};
use common::*;

async fn executions(c: &aws_sdk_codepipeline::Client, name: &str) -> Vec<PipelineExecutionSummary> {
    c.list_pipeline_executions()
        .pipeline_name(name)
        .send()
        .await
        .unwrap()
        .pipeline_execution_summaries()
        .to_vec()
}

/// Waits for an execution of `name` whose source revision is `revision`; returns its id.
async fn execution_for(c: &aws_sdk_codepipeline::Client, name: &str, revision: &str) -> String {
    wait_for(
        &format!("an execution of {name} for {revision}"),
        || async {
            executions(c, name).await.into_iter().find_map(|e| {
                e.source_revisions()
                    .iter()
                    .any(|r| r.revision_id() == Some(revision))
                    .then(|| e.pipeline_execution_id().unwrap_or_default().to_string())
            })
        },
    )
    .await
}

#[tokio::test]
async fn an_s3_source_that_polls_starts_the_pipeline_when_its_object_changes() {
    let moto = Moto::start().await;
    let s3 = moto.s3();
    create_bucket(&s3, "source-bucket", true).await;
    create_bucket(&s3, "artifact-bucket", false).await;
    let (first, _) = put(&s3, "source-bucket", "app.zip", b"v1".to_vec()).await;
    let t = start_with(Config {
        s3_endpoint: Some(moto.url.clone()),
        repository_poll_interval_ms: 100,
        ..manual_config()
    })
    .await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("polled"))
        .send()
        .await
        .unwrap();
    let manual = start_execution(c, "polled").await;
    let ran = wait_finished(c, "polled", &manual).await;
    assert_eq!(
        ran.artifact_revisions()[0].revision_id(),
        Some(first.as_str())
    );

    let (second, _) = put(&s3, "source-bucket", "app.zip", b"v2".to_vec()).await;
    let id = execution_for(c, "polled", &second).await;
    let polled = wait_finished(c, "polled", &id).await;
    assert_eq!(polled.status(), Some(&PipelineExecutionStatus::Succeeded));
    assert_eq!(
        polled.trigger().unwrap().trigger_type(),
        Some(&TriggerType::PollForSourceChanges)
    );
    assert_eq!(executions(c, "polled").await.len(), 2);
}
