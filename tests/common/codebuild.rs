//! For the CodeBuild tests (`tests/codebuild*.rs`): moto's SSM and CodeBuild clients, the
//! executor's configuration, a source holding files, and pipelines Source -> Build.

use super::engine::{start_execution, wait_finished};
use super::real::{create_bucket, put, source, Moto};
use super::{action, pipeline, stage, type_id};
use aws_sdk_codepipeline::types::*;
use codepipeline_local::actions::artifacts::{zip_bytes, zip_entries};
use codepipeline_local::config::Config;

pub fn file_in_zip(bytes: &[u8], name: &str) -> String {
    let entries = zip_entries(bytes).unwrap();
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    let (_, contents) = entries
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} not in the zip: {names:?}"));
    String::from_utf8(contents.clone()).unwrap()
}

pub fn zip_names(bytes: &[u8]) -> Vec<String> {
    zip_entries(bytes)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

pub fn ssm(moto: &Moto) -> aws_sdk_ssm::Client {
    let conf = aws_sdk_ssm::Config::builder()
        .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
        .endpoint_url(&moto.url)
        .region(aws_sdk_ssm::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_ssm::Client::from_conf(conf)
}

pub fn codebuild_client(moto: &Moto) -> aws_sdk_codebuild::Client {
    let conf = aws_sdk_codebuild::Config::builder()
        .behavior_version(aws_sdk_codebuild::config::BehaviorVersion::latest())
        .endpoint_url(&moto.url)
        .region(aws_sdk_codebuild::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_codebuild::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_codebuild::Client::from_conf(conf)
}

pub fn build_config(moto: &Moto) -> Config {
    let mut config = super::real::real_config(moto);
    config.local_executor = true;
    config.ssm_endpoint = Some(moto.url.clone());
    config
}

/// A source bucket holding `files` as app.zip, and the artifact bucket; the source's version.
pub async fn source_with(moto: &Moto, files: &[(&str, &[u8])]) -> String {
    let s3 = moto.s3();
    create_bucket(&s3, "source-bucket", true).await;
    create_bucket(&s3, "artifact-bucket", false).await;
    put(&s3, "source-bucket", "app.zip", zip_bytes(files))
        .await
        .0
}

pub fn build_action(project: &str, outputs: &[&str]) -> ActionDeclaration {
    action(
        "Build",
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &["Src"],
        outputs,
    )
    .configuration("ProjectName", project)
    .namespace("BuildVariables")
    .build()
    .unwrap()
}

/// Creates and runs a pipeline Source -> Build (-> more stages); the finished execution's id.
pub async fn run(
    c: &aws_sdk_codepipeline::Client,
    name: &str,
    stages: Vec<StageDeclaration>,
) -> String {
    run_with_sources(c, name, Vec::new(), stages).await
}

/// `run`, with more source actions beside the one of app.zip (output artifact `Src`).
pub async fn run_with_sources(
    c: &aws_sdk_codepipeline::Client,
    name: &str,
    more_sources: Vec<ActionDeclaration>,
    stages: Vec<StageDeclaration>,
) -> String {
    let mut sources = vec![source("source-bucket", "app.zip", "Src")];
    sources.extend(more_sources);
    let mut declaration = pipeline(name)
        .pipeline_type(PipelineType::V2)
        .stages(stage("Source", sources));
    for s in stages {
        declaration = declaration.stages(s);
    }
    c.create_pipeline()
        .pipeline(declaration.build().unwrap())
        .send()
        .await
        .unwrap();
    let id = start_execution(c, name).await;
    wait_finished(c, name, &id).await;
    id
}

pub fn log_of(detail: &ActionExecutionDetail) -> String {
    let url = detail
        .output()
        .unwrap()
        .execution_result()
        .unwrap()
        .external_execution_url()
        .unwrap()
        .to_string();
    std::fs::read_to_string(url.strip_prefix("file://").unwrap()).unwrap()
}
