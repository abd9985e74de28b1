//! Test harness: starts the server on an ephemeral loopback port and hands out real clients
//! (the AWS SDK for Rust, and raw HTTP for protocol-level checks).
#![allow(dead_code)]

pub mod admin;
pub mod aws_cli;
pub mod codebuild;
pub mod data_dir;
pub mod engine;
pub mod fixtures;
pub mod moto;
pub mod real;

use aws_sdk_codepipeline::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::Client;
use codepipeline_local::{Config, RunningServer};

pub struct TestServer {
    pub server: RunningServer,
    pub client: Client,
    pub url: String,
}

impl TestServer {
    /// A client whose SigV4 credential scope names this access key and region.
    pub fn client_for(&self, access_key: &str, region: &str) -> Client {
        client(&self.url, access_key, region)
    }

    /// A raw JSON 1.1 call: returns (status, `x-amzn-ErrorType` header, body as JSON).
    pub async fn raw(
        &self,
        operation: &str,
        body: &str,
    ) -> (u16, Option<String>, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(&self.url)
            .header("x-amz-target", format!("CodePipeline_20150709.{operation}"))
            .header("content-type", "application/x-amz-json-1.1")
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .map(|v| v.to_str().unwrap().to_string());
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, error_type, json)
    }
}

/// A raw HTTP answer: status, headers and body (as JSON when it parses, else as a string).
pub struct RawResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body's `__type`.
    pub fn error_type(&self) -> Option<&str> {
        self.body.get("__type").and_then(|v| v.as_str())
    }
}

impl TestServer {
    /// A raw `POST /` with an optional `X-Amz-Target` (given whole) and any body bytes.
    pub async fn post(&self, target: Option<&str>, body: impl Into<reqwest::Body>) -> RawResponse {
        let mut request = reqwest::Client::new()
            .post(&self.url)
            .header("content-type", "application/x-amz-json-1.1")
            .body(body);
        if let Some(target) = target {
            request = request.header("x-amz-target", target);
        }
        into_raw(request.send().await.expect("request")).await
    }

    /// A raw `GET` of a path of the server.
    pub async fn get(&self, path: &str) -> RawResponse {
        let response = reqwest::get(format!("{}{path}", self.url))
            .await
            .expect("request");
        into_raw(response).await
    }
}

async fn into_raw(response: reqwest::Response) -> RawResponse {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
    });
    RawResponse {
        status,
        headers,
        body,
    }
}

/// The AWS error code and message of a failed SDK call; panics unless the call failed with an
/// error the service sent (not a connection or deserialization failure).
pub fn service_error<T: std::fmt::Debug, E, R>(
    result: Result<T, aws_sdk_codepipeline::error::SdkError<E, R>>,
) -> (String, String)
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let err = result.expect_err("the call should fail");
    let service = err
        .as_service_error()
        .unwrap_or_else(|| panic!("expected an error from the service, got {err:?}"));
    let code = service
        .meta()
        .code()
        .expect("the error has a code")
        .to_string();
    let message = service.meta().message().unwrap_or_default().to_string();
    (code, message)
}

/// The AWS error code of a failed SDK call (see `service_error`).
pub fn error_code<T: std::fmt::Debug, E, R>(
    result: Result<T, aws_sdk_codepipeline::error::SdkError<E, R>>,
) -> String
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    service_error(result).0
}

/// A test configuration: ephemeral port, no automatic execution on create.
pub fn test_config() -> Config {
    Config {
        listen: "127.0.0.1:0".to_string(),
        ..Config::default()
    }
}

pub async fn start() -> TestServer {
    start_with(test_config()).await
}

/// Starts a server. A restart on a data directory that a server of this process just released
/// retries for a few seconds: a child process that another test forks at that moment holds a
/// copy of the lock's descriptor until it execs.
pub async fn start_with(config: Config) -> TestServer {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let server = loop {
        match codepipeline_local::start(config.clone()).await {
            Ok(server) => break server,
            Err(e)
                if e.to_string().contains("in use by") && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("server starts: {e}"),
        }
    };
    let url = server.url();
    TestServer {
        client: client(&url, "test", "us-east-1"),
        server,
        url,
    }
}

pub fn client(url: &str, access_key: &str, region: &str) -> Client {
    let config = aws_sdk_codepipeline::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(access_key, "secret", None, None, "test"))
        .retry_config(aws_sdk_codepipeline::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

// ---- Pipeline declarations, built with the SDK's own types ----

use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType,
    InputArtifact, OutputArtifact, PipelineDeclaration, StageDeclaration,
};

pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/codepipeline-service";

pub fn type_id(category: ActionCategory, owner: ActionOwner, provider: &str) -> ActionTypeId {
    ActionTypeId::builder()
        .category(category)
        .owner(owner)
        .provider(provider)
        .version("1")
        .build()
        .unwrap()
}

/// An action with inputs and outputs; add configuration with `.configuration(k, v)`.
pub fn action(
    name: &str,
    type_id: ActionTypeId,
    inputs: &[&str],
    outputs: &[&str],
) -> aws_sdk_codepipeline::types::builders::ActionDeclarationBuilder {
    let mut builder = ActionDeclaration::builder()
        .name(name)
        .action_type_id(type_id);
    for input in inputs {
        builder = builder.input_artifacts(InputArtifact::builder().name(*input).build().unwrap());
    }
    for output in outputs {
        builder =
            builder.output_artifacts(OutputArtifact::builder().name(*output).build().unwrap());
    }
    builder
}

/// An S3 source action producing `output`.
pub fn s3_source(name: &str, output: &str) -> ActionDeclaration {
    action(
        name,
        type_id(ActionCategory::Source, ActionOwner::Aws, "S3"),
        &[],
        &[output],
    )
    .configuration("S3Bucket", "source-bucket")
    .configuration("S3ObjectKey", "app.zip")
    .build()
    .unwrap()
}

/// A CodeBuild build action reading `input`.
pub fn codebuild(name: &str, input: &str, outputs: &[&str]) -> ActionDeclaration {
    action(
        name,
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &[input],
        outputs,
    )
    .configuration("ProjectName", "my-project")
    .build()
    .unwrap()
}

/// A CodeDeploy deploy action reading `input`.
pub fn codedeploy(name: &str, input: &str) -> ActionDeclaration {
    action(
        name,
        type_id(ActionCategory::Deploy, ActionOwner::Aws, "CodeDeploy"),
        &[input],
        &[],
    )
    .configuration("ApplicationName", "app")
    .configuration("DeploymentGroupName", "group")
    .build()
    .unwrap()
}

/// A manual approval action.
pub fn manual_approval(name: &str) -> ActionDeclaration {
    action(
        name,
        type_id(ActionCategory::Approval, ActionOwner::Aws, "Manual"),
        &[],
        &[],
    )
    .build()
    .unwrap()
}

pub fn stage(name: &str, actions: Vec<ActionDeclaration>) -> StageDeclaration {
    StageDeclaration::builder()
        .name(name)
        .set_actions(Some(actions))
        .build()
        .unwrap()
}

/// A pipeline with a service role and an S3 artifact store; add stages with `.stages(..)`.
pub fn pipeline(name: &str) -> aws_sdk_codepipeline::types::builders::PipelineDeclarationBuilder {
    PipelineDeclaration::builder()
        .name(name)
        .role_arn(ROLE_ARN)
        .artifact_store(
            ArtifactStore::builder()
                .r#type(ArtifactStoreType::S3)
                .location("artifact-bucket")
                .build()
                .unwrap(),
        )
}

/// Source (S3) -> Build (CodeBuild): the smallest valid pipeline.
pub fn two_stage_pipeline(name: &str) -> PipelineDeclaration {
    pipeline(name)
        .stages(stage("Source", vec![s3_source("Source", "SourceOutput")]))
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &[])],
        ))
        .build()
        .unwrap()
}

/// Artifact counts of a custom action type (`ArtifactDetails`).
pub fn artifacts(minimum: i32, maximum: i32) -> aws_sdk_codepipeline::types::ArtifactDetails {
    aws_sdk_codepipeline::types::ArtifactDetails::builder()
        .minimum_count(minimum)
        .maximum_count(maximum)
        .build()
}
