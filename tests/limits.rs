//! Every configurable limit, enforced with the error AWS answers: request body size, pipelines
//! per region, executions kept per pipeline, webhook payload size, stages and actions per
//! pipeline, custom action types, webhooks, tags per resource, concurrent executions.

mod common;

use aws_sdk_codepipeline::types::*;
use codepipeline_local::Config;
use common::engine::*;
use common::*;
use serde_json::json;

const PREFIX: &str = "CodePipeline_20150709";

fn config() -> Config {
    manual_config()
}

/// The answer is an AWS error with this status and code, in the body and the header.
fn assert_aws_error(response: &RawResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "{:?}", response.body);
    assert_eq!(response.error_type(), Some(code), "{:?}", response.body);
    assert_eq!(response.header("x-amzn-errortype"), Some(code));
    assert!(response.body["message"].is_string(), "{:?}", response.body);
}

#[tokio::test]
async fn a_request_body_over_max_body_bytes_is_413_request_entity_too_large() {
    let mut config = config();
    config.max_body_bytes = 1024;
    let t = start_with(config).await;
    let target = format!("{PREFIX}.ListPipelines");
    // Exactly at the limit: accepted.
    let at_limit = format!("{{}}{}", " ".repeat(1022));
    assert_eq!(at_limit.len(), 1024);
    let response = t.post(Some(&target), at_limit).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    // One byte over: 413.
    let over = format!("{{}}{}", " ".repeat(1023));
    let response = t.post(Some(&target), over).await;
    assert_aws_error(&response, 413, "RequestEntityTooLargeException");
    assert!(
        response.body["message"]
            .as_str()
            .unwrap()
            .contains("1024 bytes"),
        "{:?}",
        response.body
    );
    // Through the SDK: the same code.
    let (code, _) = service_error(t.client.get_pipeline().name("x".repeat(2000)).send().await);
    assert_eq!(code, "RequestEntityTooLargeException");
    // The server goes on serving.
    t.client.list_pipelines().send().await.expect("list");
}

#[tokio::test]
async fn pipelines_past_max_pipelines_are_limit_exceeded_per_region() {
    let mut config = config();
    config.max_pipelines = 2;
    let t = start_with(config).await;
    for name in ["one", "two"] {
        t.client
            .create_pipeline()
            .pipeline(two_stage_pipeline(name))
            .send()
            .await
            .expect("create");
    }
    let (code, message) = service_error(
        t.client
            .create_pipeline()
            .pipeline(two_stage_pipeline("three"))
            .send()
            .await,
    );
    assert_eq!(code, "LimitExceededException", "{message}");
    // Not created.
    assert_eq!(
        error_code(t.client.get_pipeline().name("three").send().await),
        "PipelineNotFoundException"
    );
    // Another region has its own quota.
    t.client_for("test", "eu-west-1")
        .create_pipeline()
        .pipeline(two_stage_pipeline("three"))
        .send()
        .await
        .expect("another region");
    // A deletion frees a slot.
    t.client.delete_pipeline().name("one").send().await.unwrap();
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("three"))
        .send()
        .await
        .expect("a freed slot");
}

#[tokio::test]
async fn finished_executions_past_max_executions_per_pipeline_are_dropped_oldest_first() {
    let mut config = config();
    config.max_executions_per_pipeline = 3;
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("capped"))
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = start_execution(c, "capped").await;
        wait_finished(c, "capped", &id).await;
        ids.push(id);
    }
    let listed: Vec<String> = c
        .list_pipeline_executions()
        .pipeline_name("capped")
        .send()
        .await
        .unwrap()
        .pipeline_execution_summaries()
        .iter()
        .map(|s| s.pipeline_execution_id().unwrap().to_string())
        .collect();
    assert_eq!(listed, [ids[4].clone(), ids[3].clone(), ids[2].clone()]);
    for dropped in &ids[..2] {
        let (code, _) = service_error(
            c.get_pipeline_execution()
                .pipeline_name("capped")
                .pipeline_execution_id(dropped)
                .send()
                .await,
        );
        assert_eq!(code, "PipelineExecutionNotFoundException");
    }
    // The newest is still complete, and the pipeline's state still names it.
    let kept = execution(c, "capped", &ids[4]).await;
    assert_eq!(kept.status(), Some(&PipelineExecutionStatus::Succeeded));
    let state = stage_state(c, "capped", "Build").await;
    assert_eq!(
        state.latest_execution().map(|e| e.pipeline_execution_id()),
        Some(ids[4].as_str())
    );
}

fn github_pipeline(name: &str) -> PipelineDeclaration {
    let source = action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::ThirdParty, "GitHub"),
        &[],
        &["SourceOutput"],
    )
    .configuration("Owner", "octo")
    .configuration("Repo", "app")
    .configuration("Branch", "main")
    .configuration("OAuthToken", "gh-token")
    .build()
    .unwrap();
    pipeline(name)
        .stages(stage("Source", vec![source]))
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &[])],
        ))
        .build()
        .unwrap()
}

fn ip_webhook(name: &str) -> WebhookDefinition {
    WebhookDefinition::builder()
        .name(name)
        .target_pipeline("app")
        .target_action("Source")
        .set_filters(Some(vec![]))
        .authentication(WebhookAuthenticationType::Ip)
        .authentication_configuration(
            WebhookAuthConfiguration::builder()
                .allowed_ip_range("127.0.0.0/8")
                .build(),
        )
        .build()
        .unwrap()
}

async fn deliver(url: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .body(body)
        .send()
        .await
        .expect("delivery");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// A push payload padded with spaces to exactly `size` bytes.
fn payload_of_size(size: usize) -> Vec<u8> {
    let mut body = serde_json::to_vec(&json!({
        "ref": "refs/heads/main",
        "after": "0123456789abcdef0123456789abcdef01234567",
        "head_commit": {"id": "0123456789abcdef0123456789abcdef01234567", "message": "m"},
    }))
    .unwrap();
    assert!(body.len() <= size);
    body.resize(size, b' ');
    body
}

#[tokio::test]
async fn a_webhook_payload_over_max_webhook_payload_bytes_is_413() {
    let mut config = config();
    config.max_webhook_payload_bytes = 1024;
    let t = start_with(config).await;
    t.client
        .create_pipeline()
        .pipeline(github_pipeline("app"))
        .send()
        .await
        .unwrap();
    let hook = t
        .client
        .put_webhook()
        .webhook(ip_webhook("hook"))
        .send()
        .await
        .unwrap()
        .webhook
        .unwrap();
    let (status, answer) = deliver(hook.url(), payload_of_size(1025)).await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("1024 bytes"),
        "{answer}"
    );
    // Nothing started.
    let executions = t
        .client
        .list_pipeline_executions()
        .pipeline_name("app")
        .send()
        .await
        .unwrap();
    assert!(executions.pipeline_execution_summaries().is_empty());
    // At the limit: delivered, and the execution starts.
    let (status, answer) = deliver(hook.url(), payload_of_size(1024)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["matched"], true, "{answer}");
    // Git events share the limit.
    let (status, _) = deliver(
        &format!("{}/_codepipeline-local/git-events", t.url),
        payload_of_size(1025),
    )
    .await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn stages_and_actions_past_their_quotas_are_limit_exceeded() {
    let mut config = config();
    config.max_stages = 2;
    config.max_actions_per_stage = 1;
    let t = start_with(config).await;
    let three_stages = pipeline("three")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Build", vec![codebuild("Build", "Src", &[])]))
        .stages(stage("Test", vec![codebuild("Test", "Src", &[])]))
        .build()
        .unwrap();
    let (code, message) = service_error(
        t.client
            .create_pipeline()
            .pipeline(three_stages)
            .send()
            .await,
    );
    assert_eq!(code, "LimitExceededException", "{message}");
    let two_actions = pipeline("wide")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage(
            "Build",
            vec![
                codebuild("Build", "Src", &[]),
                codebuild("Lint", "Src", &[]),
            ],
        ))
        .build()
        .unwrap();
    let (code, message) = service_error(
        t.client
            .create_pipeline()
            .pipeline(two_actions)
            .send()
            .await,
    );
    assert_eq!(code, "LimitExceededException", "{message}");
    // UpdatePipeline enforces the same quotas.
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("ok"))
        .send()
        .await
        .expect("within the quotas");
    let grown = pipeline("ok")
        .stages(stage("Source", vec![s3_source("Source", "SourceOutput")]))
        .stages(stage(
            "Build",
            vec![
                codebuild("Build", "SourceOutput", &[]),
                codebuild("Lint", "SourceOutput", &[]),
            ],
        ))
        .build()
        .unwrap();
    let (code, _) = service_error(t.client.update_pipeline().pipeline(grown).send().await);
    assert_eq!(code, "LimitExceededException");
}

async fn create_custom(
    c: &aws_sdk_codepipeline::Client,
    provider: &str,
) -> std::result::Result<(), String> {
    c.create_custom_action_type()
        .category(ActionCategory::Build)
        .provider(provider)
        .version("1")
        .input_artifact_details(common::artifacts(0, 1))
        .output_artifact_details(common::artifacts(0, 1))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            use aws_sdk_codepipeline::error::ProvideErrorMetadata;
            e.code().unwrap_or("no code").to_string()
        })
}

#[tokio::test]
async fn custom_action_types_past_max_custom_action_types_are_limit_exceeded() {
    let mut config = config();
    config.max_custom_action_types = 1;
    let t = start_with(config).await;
    create_custom(&t.client, "First").await.expect("first");
    assert_eq!(
        create_custom(&t.client, "Second").await,
        Err("LimitExceededException".to_string())
    );
}

#[tokio::test]
async fn webhooks_past_max_webhooks_are_limit_exceeded() {
    let mut config = config();
    config.max_webhooks = 1;
    let t = start_with(config).await;
    t.client
        .create_pipeline()
        .pipeline(github_pipeline("app"))
        .send()
        .await
        .unwrap();
    t.client
        .put_webhook()
        .webhook(ip_webhook("first"))
        .send()
        .await
        .expect("first");
    // Replacing the existing one is not a new webhook.
    t.client
        .put_webhook()
        .webhook(ip_webhook("first"))
        .send()
        .await
        .expect("update in place");
    let (code, _) = service_error(
        t.client
            .put_webhook()
            .webhook(ip_webhook("second"))
            .send()
            .await,
    );
    assert_eq!(code, "LimitExceededException");
}

fn tags(n: usize) -> Vec<Tag> {
    (0..n)
        .map(|i| {
            Tag::builder()
                .key(format!("k{i}"))
                .value("v")
                .build()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn more_than_50_tags_are_too_many_tags() {
    let t = start_with(config()).await;
    let (code, _) = service_error(
        t.client
            .create_pipeline()
            .pipeline(two_stage_pipeline("tagged"))
            .set_tags(Some(tags(51)))
            .send()
            .await,
    );
    assert_eq!(code, "TooManyTagsException");
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("tagged"))
        .set_tags(Some(tags(50)))
        .send()
        .await
        .expect("50 tags");
    let arn = "arn:aws:codepipeline:us-east-1:000000000000:tagged";
    let (code, _) = service_error(
        t.client
            .tag_resource()
            .resource_arn(arn)
            .tags(Tag::builder().key("one-more").value("v").build().unwrap())
            .send()
            .await,
    );
    assert_eq!(code, "TooManyTagsException");
    // Re-tagging an existing key is not a new tag.
    t.client
        .tag_resource()
        .resource_arn(arn)
        .tags(Tag::builder().key("k0").value("w").build().unwrap())
        .send()
        .await
        .expect("overwrite");
}

#[tokio::test]
async fn more_than_50_running_executions_of_a_parallel_pipeline_are_refused() {
    let t = start_with(config()).await;
    let c = &t.client;
    let waiting = pipeline("parallel")
        .pipeline_type(PipelineType::V2)
        .execution_mode(ExecutionMode::Parallel)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Approve", vec![manual_approval("Approve")]))
        .build()
        .unwrap();
    c.create_pipeline().pipeline(waiting).send().await.unwrap();
    for _ in 0..50 {
        start_execution(c, "parallel").await;
    }
    let (code, _) = service_error(c.start_pipeline_execution().name("parallel").send().await);
    assert_eq!(code, "ConcurrentPipelineExecutionsLimitExceededException");
}
