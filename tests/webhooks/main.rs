//! Webhooks through real clients: the API with the AWS SDK for Rust, deliveries to the webhook
//! URL with reqwest (signed as GitHub signs them).

#[path = "../common/mod.rs"]
mod common;

use aws_sdk_codepipeline::types::*;
use common::engine::*;
use common::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

mod api;
mod deliveries;

const SECRET: &str = "webhook-s3cret";

const COMMIT: &str = "9f2c4b7e1d3a5c6b8e0f1a2b3c4d5e6f7a8b9c0d";

/// GitHub (version 1) source -> CodeBuild, watching branch `main` of `octo/app`.
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

fn filter(path: &str, equals: Option<&str>) -> WebhookFilterRule {
    WebhookFilterRule::builder()
        .json_path(path)
        .set_match_equals(equals.map(str::to_string))
        .build()
        .unwrap()
}

fn auth_config(secret: Option<&str>, range: Option<&str>) -> WebhookAuthConfiguration {
    WebhookAuthConfiguration::builder()
        .set_secret_token(secret.map(str::to_string))
        .set_allowed_ip_range(range.map(str::to_string))
        .build()
}

/// A GITHUB_HMAC webhook on `app`/`Source` firing for pushes to the action's branch.
fn github_webhook(name: &str) -> WebhookDefinition {
    WebhookDefinition::builder()
        .name(name)
        .target_pipeline("app")
        .target_action("Source")
        .filters(filter("$.ref", Some("refs/heads/{Branch}")))
        .authentication(WebhookAuthenticationType::GithubHmac)
        .authentication_configuration(auth_config(Some(SECRET), None))
        .build()
        .unwrap()
}

fn ip_webhook(name: &str, range: &str) -> WebhookDefinition {
    WebhookDefinition::builder()
        .name(name)
        .target_pipeline("app")
        .target_action("Source")
        .set_filters(Some(vec![]))
        .authentication(WebhookAuthenticationType::Ip)
        .authentication_configuration(auth_config(None, Some(range)))
        .build()
        .unwrap()
}

fn push_payload(branch: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "ref": format!("refs/heads/{branch}"),
        "before": "0000000000000000000000000000000000000000",
        "after": COMMIT,
        "repository": {"full_name": "octo/app", "name": "app"},
        "head_commit": {"id": COMMIT, "message": "Fix the build"},
        "commits": [{"id": COMMIT, "message": "Fix the build"}],
    }))
    .unwrap()
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs a payload to a webhook URL with extra headers: (status, JSON body).
async fn deliver(url: &str, body: Vec<u8>, headers: &[(&str, String)]) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("delivery");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn put(t: &TestServer, definition: WebhookDefinition) -> ListWebhookItem {
    t.client
        .put_webhook()
        .webhook(definition)
        .send()
        .await
        .expect("put webhook")
        .webhook
        .expect("webhook")
}

async fn executions(t: &TestServer, pipeline: &str) -> Vec<PipelineExecutionSummary> {
    t.client
        .list_pipeline_executions()
        .pipeline_name(pipeline)
        .send()
        .await
        .unwrap()
        .pipeline_execution_summaries
        .unwrap_or_default()
}

async fn listed(t: &TestServer, name: &str) -> ListWebhookItem {
    t.client
        .list_webhooks()
        .send()
        .await
        .unwrap()
        .webhooks
        .unwrap_or_default()
        .into_iter()
        .find(|w| w.definition().map(|d| d.name()) == Some(name))
        .expect("webhook listed")
}

async fn started() -> TestServer {
    let t = start_with(manual_config()).await;
    t.client
        .create_pipeline()
        .pipeline(github_pipeline("app"))
        .send()
        .await
        .unwrap();
    t
}
