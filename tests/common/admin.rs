//! The admin API over HTTP, and SDK shortcuts its tests share.

use super::{two_stage_pipeline, TestServer};
use aws_sdk_codepipeline::Client;
use serde_json::Value;

pub const ADMIN: &str = "/_codepipeline-local";

pub async fn admin(
    t: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<String>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{ADMIN}{path}", t.url));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let response = request.send().await.expect("admin request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

pub async fn names(c: &Client) -> Vec<String> {
    c.list_pipelines()
        .send()
        .await
        .expect("list pipelines")
        .pipelines
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.name().map(str::to_string))
        .collect()
}

pub async fn create(c: &Client, name: &str) {
    c.create_pipeline()
        .pipeline(two_stage_pipeline(name))
        .send()
        .await
        .expect("create pipeline");
}

/// `PUT /_codepipeline-local/state` with `document`.
pub async fn import(t: &TestServer, document: &Value) -> (u16, Value) {
    admin(
        t,
        reqwest::Method::PUT,
        "/state",
        Some(document.to_string()),
    )
    .await
}
