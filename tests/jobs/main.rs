//! Job workers written with the AWS SDK for Rust: custom action types, the job protocol
//! (poll, acknowledge, success with output variables, continuation tokens, failure), ThirdParty
//! jobs, and AWS actions in worker mode.

#[path = "../common/mod.rs"]
mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use codepipeline_local::engine::behavior::Behavior;
use common::engine::*;
use common::*;
use std::collections::HashSet;

mod action_types;
mod job_protocol;
mod third_party;

fn custom_id(provider: &str) -> ActionTypeId {
    ActionTypeId::builder()
        .category(ActionCategory::Build)
        .owner(ActionOwner::Custom)
        .provider(provider)
        .version("1")
        .build()
        .unwrap()
}

async fn create_custom_type(c: &Client, provider: &str) {
    c.create_custom_action_type()
        .category(ActionCategory::Build)
        .provider(provider)
        .version("1")
        .configuration_properties(
            ActionConfigurationProperty::builder()
                .name("ProjectName")
                .required(true)
                .key(true)
                .secret(false)
                .queryable(true)
                .build()
                .unwrap(),
        )
        .configuration_properties(
            ActionConfigurationProperty::builder()
                .name("Token")
                .required(false)
                .key(false)
                .secret(true)
                .build()
                .unwrap(),
        )
        .input_artifact_details(common::artifacts(1, 1))
        .output_artifact_details(common::artifacts(0, 1))
        .tags(Tag::builder().key("team").value("ci").build().unwrap())
        .send()
        .await
        .expect("create custom action type");
}

/// Source -> Build (custom, namespace BuildVars) -> Deploy (CodeDeploy reading #{BuildVars.Image}).
fn worker_pipeline(name: &str, provider: &str, project: &str) -> PipelineDeclaration {
    let build = action("Build", custom_id(provider), &["Src"], &["Built"])
        .configuration("ProjectName", project)
        .configuration("Token", "s3cr3t")
        .namespace("BuildVars")
        .build()
        .unwrap();
    let deploy = action(
        "Deploy",
        type_id(ActionCategory::Deploy, ActionOwner::Aws, "CodeDeploy"),
        &["Built"],
        &[],
    )
    .configuration("ApplicationName", "#{BuildVars.Image}")
    .configuration("DeploymentGroupName", "group")
    .build()
    .unwrap();
    pipeline(name)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Build", vec![build]))
        .stages(stage("Deploy", vec![deploy]))
        .build()
        .unwrap()
}

fn third_party_id(provider: &str) -> ActionTypeId {
    ActionTypeId::builder()
        .category(ActionCategory::Test)
        .owner(ActionOwner::ThirdParty)
        .provider(provider)
        .version("1")
        .build()
        .unwrap()
}
