//! Controlling executions through the AWS SDK for Rust: approvals, transitions, execution modes,
//! stop, retry and rollback.

#[path = "../common/mod.rs"]
mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use codepipeline_local::engine::behavior::Behavior;
use common::engine::*;
use common::*;

mod approvals;
mod execution_modes;
mod retry_and_rollback;
mod stop;
mod transitions;

/// Source -> Approve (manual approval) -> Build.
fn approval_pipeline(name: &str) -> PipelineDeclaration {
    pipeline(name)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Approve", vec![manual_approval("Approval")]))
        .stages(stage("Build", vec![codebuild("Build", "Src", &[])]))
        .build()
        .unwrap()
}

fn approval(status: ApprovalStatus, summary: &str) -> ApprovalResult {
    ApprovalResult::builder()
        .status(status)
        .summary(summary)
        .build()
        .unwrap()
}

async fn approve(
    c: &Client,
    pipeline: &str,
    token: &str,
    status: ApprovalStatus,
) -> std::result::Result<(), String> {
    c.put_approval_result()
        .pipeline_name(pipeline)
        .stage_name("Approve")
        .action_name("Approval")
        .token(token)
        .result(approval(status, "looks good"))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| e.code().unwrap_or("?").to_string())
}
