//! For tests of actions that do real work: moto's S3 server (`super::moto`), the S3 calls the
//! tests make on it, and builders of pipelines with real actions.

use super::engine::{action_executions, manual_config};
use super::{action, type_id};
use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use codepipeline_local::config::Config;

pub use super::moto::Moto;

impl Moto {
    /// An S3 client of the endpoint with the emulator's default credentials.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        s3_client(&self.url, "test", "test", "")
    }
}

/// An S3 client as a job worker builds it: the endpoint plus the job's artifactCredentials.
pub fn s3_client(endpoint: &str, key: &str, secret: &str, token: &str) -> aws_sdk_s3::Client {
    let token = Some(token.to_string()).filter(|t| !t.is_empty());
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, token, None, "job"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str, versioned: bool) {
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    if versioned {
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
}

pub async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
) -> (String, String) {
    let out = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(bytes.into())
        .send()
        .await
        .unwrap();
    (
        out.version_id().unwrap_or_default().to_string(),
        out.e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string(),
    )
}

pub async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("s3://{bucket}/{key}: {e:?}"))
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

/// Keys of a bucket under a prefix.
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

pub fn real_config(moto: &Moto) -> Config {
    Config {
        s3_endpoint: Some(moto.url.clone()),
        ..manual_config()
    }
}

// ---- pipelines ----

pub fn source(bucket: &str, key: &str, output: &str) -> ActionDeclaration {
    action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::Aws, "S3"),
        &[],
        &[output],
    )
    .configuration("S3Bucket", bucket)
    .configuration("S3ObjectKey", key)
    .namespace("SourceVariables")
    .build()
    .unwrap()
}

pub fn s3_deploy(input: &str, bucket: &str, prefix: &str) -> ActionDeclaration {
    action(
        "Deploy",
        type_id(ActionCategory::Deploy, ActionOwner::Aws, "S3"),
        &[input],
        &[],
    )
    .configuration("BucketName", bucket)
    .configuration("Extract", "true")
    .configuration("ObjectKey", prefix)
    .build()
    .unwrap()
}

pub fn commands(
    commands: &[&str],
    input: &str,
    output: Option<(&str, &[&str])>,
) -> ActionDeclaration {
    let mut builder = action(
        "Commands",
        type_id(ActionCategory::Compute, ActionOwner::Aws, "Commands"),
        &[input],
        &[],
    )
    .set_commands(Some(commands.iter().map(|c| c.to_string()).collect()));
    if let Some((name, files)) = output {
        builder = builder.output_artifacts(
            OutputArtifact::builder()
                .name(name)
                .set_files(Some(files.iter().map(|f| f.to_string()).collect()))
                .build()
                .unwrap(),
        );
    }
    builder.build().unwrap()
}

pub async fn action_detail(
    c: &Client,
    pipeline: &str,
    execution_id: &str,
    name: &str,
) -> ActionExecutionDetail {
    action_executions(c, pipeline, execution_id)
        .await
        .into_iter()
        .find(|a| a.action_name() == Some(name))
        .unwrap_or_else(|| panic!("no action execution of {name}"))
}

pub fn output_variables(
    detail: &ActionExecutionDetail,
) -> std::collections::HashMap<String, String> {
    detail
        .output()
        .and_then(|o| o.output_variables())
        .cloned()
        .unwrap_or_default()
}
