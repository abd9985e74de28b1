//! The guards of a local dev server (reqwest playing a browser or a DNS-rebinding page; the AWS
//! SDK for Rust, boto3 and the aws CLI as themselves): cross-site and non-JSON requests to the
//! admin API and git events are refused, the Host header is checked (`--allowed-hosts`), the
//! optional admin token, webhook URLs open to any Host, optional CORS on the AWS API.

mod common;

use codepipeline_local::Config;
use common::engine::*;
use common::*;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use std::process::Command;

const ADMIN: &str = "/_codepipeline-local";

/// A request with the given headers: (status, headers, JSON body or string).
async fn send(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, HeaderMap, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

async fn pipeline_count(t: &TestServer) -> usize {
    t.client
        .list_pipelines()
        .send()
        .await
        .unwrap()
        .pipelines()
        .len()
}

#[tokio::test]
async fn a_cross_site_page_cannot_reset_state_or_send_git_events() {
    let t = start_with(manual_config()).await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("kept"))
        .send()
        .await
        .unwrap();
    let reset = format!("{}{ADMIN}/reset", t.url);
    let git = format!("{}{ADMIN}/git-events", t.url);
    let event = json!({"repository": "o/r", "branch": "main", "commit": "abc"}).to_string();
    // What a page of another site can send without a CORS preflight.
    let cross_site: &[&[(&str, &str)]] = &[
        &[
            ("origin", "http://evil.example"),
            ("content-type", "text/plain"),
        ],
        &[
            ("sec-fetch-site", "cross-site"),
            ("content-type", "text/plain"),
        ],
        &[("sec-fetch-site", "same-site")],
        &[("origin", "null")],
    ];
    for headers in cross_site {
        let (status, _, body) = send(reqwest::Method::POST, &reset, headers, Some("x")).await;
        assert_eq!(status, 403, "{headers:?}: {body}");
        assert_eq!(body["error"], "Forbidden");
        let (status, _, body) = send(reqwest::Method::POST, &git, headers, Some(&event)).await;
        assert_eq!(status, 403, "{headers:?}: {body}");
    }
    // A simple-request content type, even without Origin: not JSON, refused.
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let headers = [("content-type", content_type)];
        let (status, _, body) = send(reqwest::Method::POST, &reset, &headers, Some("{}")).await;
        assert_eq!(status, 415, "{content_type}: {body}");
        assert_eq!(body["error"], "UnsupportedMediaType");
        let (status, _, _) = send(reqwest::Method::POST, &git, &headers, Some(&event)).await;
        assert_eq!(status, 415, "{content_type}");
        let state = format!("{}{ADMIN}/state", t.url);
        let (status, _, _) = send(reqwest::Method::PUT, &state, &headers, Some("[]")).await;
        assert_eq!(status, 415, "{content_type}");
    }
    let (status, _, _) = send(reqwest::Method::POST, &reset, &[], Some("{}")).await;
    assert_eq!(status, 415, "a body without a content type");
    assert_eq!(pipeline_count(&t).await, 1, "nothing was reset");

    // The dashboard's own requests (same origin) and tools (no Origin) pass.
    let host = t.url.trim_start_matches("http://").to_string();
    let same_origin = [
        ("origin", t.url.as_str()),
        ("sec-fetch-site", "same-origin"),
        ("content-type", "application/json"),
    ];
    let (status, _, body) = send(reqwest::Method::POST, &git, &same_origin, Some(&event)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = send(reqwest::Method::POST, &reset, &[("host", &host)], None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(pipeline_count(&t).await, 0);
}

#[tokio::test]
async fn the_host_header_is_checked_against_dns_rebinding() {
    let t = start().await;
    let port = t.server.addr.port();
    let config = format!("{}{ADMIN}/config", t.url);
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("app.localhost:{port}"),
    ] {
        let (status, _, body) = send(reqwest::Method::GET, &config, &[("host", &host)], None).await;
        assert_eq!(status, 200, "{host}: {body}");
    }
    let rebound = format!("evil.example:{port}");
    let (status, _, body) = send(reqwest::Method::GET, &config, &[("host", &rebound)], None).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--allowed-hosts evil.example"),
        "{body}"
    );
    // The AWS API answers an AWS error.
    let list = [
        ("host", rebound.as_str()),
        ("x-amz-target", "CodePipeline_20150709.ListPipelines"),
        ("content-type", "application/x-amz-json-1.1"),
    ];
    let (status, headers, body) = send(reqwest::Method::POST, &t.url, &list, Some("{}")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(headers["x-amzn-errortype"], "AccessDeniedException");
    assert_eq!(body["__type"], "AccessDeniedException");
    // Health checks do not care.
    let health = format!("{}/health", t.url);
    let (status, _, _) = send(reqwest::Method::GET, &health, &[("host", &rebound)], None).await;
    assert_eq!(status, 200);

    // Configured names, and `*`.
    let named = start_with(Config {
        allowed_hosts: vec!["codepipeline".into(), ".corp.example".into()],
        ..test_config()
    })
    .await;
    let config = format!("{}{ADMIN}/config", named.url);
    for (host, expected) in [
        ("codepipeline:4566", 200),
        ("ci.corp.example", 200),
        ("evil.example", 403),
    ] {
        let (status, _, _) = send(reqwest::Method::GET, &config, &[("host", host)], None).await;
        assert_eq!(status, expected, "{host}");
    }
    let any = start_with(Config {
        allowed_hosts: vec!["*".into()],
        ..test_config()
    })
    .await;
    let config = format!("{}{ADMIN}/config", any.url);
    let (status, _, _) = send(
        reqwest::Method::GET,
        &config,
        &[("host", "evil.example")],
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn webhook_urls_answer_any_host() {
    let t = start_with(manual_config()).await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("hooked"))
        .send()
        .await
        .unwrap();
    let webhook = aws_sdk_codepipeline::types::WebhookDefinition::builder()
        .name("hook")
        .target_pipeline("hooked")
        .target_action("Source")
        .filters(
            aws_sdk_codepipeline::types::WebhookFilterRule::builder()
                .json_path("$.ref")
                .match_equals("refs/heads/main")
                .build()
                .unwrap(),
        )
        .authentication(aws_sdk_codepipeline::types::WebhookAuthenticationType::Unauthenticated)
        .authentication_configuration(
            aws_sdk_codepipeline::types::WebhookAuthConfiguration::builder().build(),
        )
        .build()
        .unwrap();
    let put = t
        .client
        .put_webhook()
        .webhook(webhook)
        .send()
        .await
        .unwrap();
    let url = put.webhook().unwrap().url().to_string();
    let headers = [
        ("host", "abc123.ngrok.app"),
        ("content-type", "application/json"),
    ];
    let payload = json!({"ref": "refs/heads/main"}).to_string();
    let (status, _, body) = send(reqwest::Method::POST, &url, &headers, Some(&payload)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matched"], true, "{body}");
}

#[tokio::test]
async fn the_admin_token_guards_the_admin_api_only() {
    let t = start_with(Config {
        admin_token: Some("s3cret".into()),
        ..manual_config()
    })
    .await;
    let reset = format!("{}{ADMIN}/reset", t.url);
    for headers in [
        &[][..],
        &[("x-codepipeline-local-admin-token", "wrong")][..],
        &[("authorization", "Bearer wrong")][..],
    ] {
        let (status, _, body) = send(reqwest::Method::POST, &reset, headers, None).await;
        assert_eq!(status, 401, "{headers:?}: {body}");
        assert_eq!(body["error"], "Unauthorized");
    }
    for path in ["/state", "/config"] {
        let (status, _, _) = send(
            reqwest::Method::GET,
            &format!("{}{ADMIN}{path}", t.url),
            &[],
            None,
        )
        .await;
        assert_eq!(status, 401, "{path}");
    }
    let (status, _, _) = send(
        reqwest::Method::POST,
        &reset,
        &[("x-codepipeline-local-admin-token", "s3cret")],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, body) = send(
        reqwest::Method::GET,
        &format!("{}{ADMIN}/config", t.url),
        &[("authorization", "Bearer s3cret")],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["admin_token"], "****", "the token is not shown");
    // Not the dashboard's files, nor the AWS API.
    let (status, _, _) = send(
        reqwest::Method::GET,
        &format!("{}{ADMIN}/ui/", t.url),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(pipeline_count(&t).await, 0);
}

#[tokio::test]
async fn cors_for_the_aws_api_is_off_by_default_and_answers_preflights_when_on() {
    let preflight = [
        ("origin", "http://app.localhost:3000"),
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "content-type,x-amz-target,x-amz-date,authorization",
        ),
    ];
    let t = start().await;
    let (_, headers, _) = send(reqwest::Method::OPTIONS, &t.url, &preflight, None).await;
    assert!(headers.get("access-control-allow-origin").is_none());

    let t = start_with(Config {
        cors_origins: vec!["http://app.localhost:3000".into()],
        ..test_config()
    })
    .await;
    let (status, headers, _) = send(reqwest::Method::OPTIONS, &t.url, &preflight, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://app.localhost:3000"
    );
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(allowed.contains("x-amz-target"), "{allowed}");
    let call = [
        ("origin", "http://app.localhost:3000"),
        ("x-amz-target", "CodePipeline_20150709.ListPipelines"),
        ("content-type", "application/x-amz-json-1.1"),
    ];
    let (status, headers, body) = send(reqwest::Method::POST, &t.url, &call, Some("{}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://app.localhost:3000"
    );
    let other = [
        ("origin", "http://evil.example"),
        ("access-control-request-method", "POST"),
    ];
    let (_, headers, _) = send(reqwest::Method::OPTIONS, &t.url, &other, None).await;
    assert!(headers.get("access-control-allow-origin").is_none());
}

const BOTO3: &str = r#"
import sys, boto3
client = boto3.client("codepipeline", endpoint_url=sys.argv[1], region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
print(len(client.list_pipelines()["pipelines"]))
"#;

/// Runs a command off the runtime (the server runs on it): its output.
async fn run(mut command: Command) -> std::process::Output {
    command
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1");
    tokio::task::spawn_blocking(move || command.output().expect("the command runs"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sdk_works_with_the_default_settings() {
    let t = start_with(manual_config()).await;
    // As users write it: a localhost name.
    let url = format!("http://localhost:{}", t.server.addr.port());
    let rust = client(&url, "test", "us-east-1");
    rust.create_pipeline()
        .pipeline(two_stage_pipeline("everyone"))
        .send()
        .await
        .expect("the Rust SDK");

    let mut python = Command::new("python3");
    python.args(["-c", BOTO3, &url]);
    let python = run(python).await;
    assert!(
        python.status.success(),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&python.stdout).trim(), "1");

    let mut cli = Command::new("aws");
    cli.args([
        "--endpoint-url",
        &url,
        "codepipeline",
        "list-pipelines",
        "--output",
        "json",
    ]);
    let cli = run(cli).await;
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let listed: Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(listed["pipelines"][0]["name"], "everyone");
}
