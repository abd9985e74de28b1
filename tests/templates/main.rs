//! Loading CloudFormation templates, CDK cloud assemblies and pipeline JSON: `--load` on the
//! real binary, the load endpoint, and what loaded stacks leave for the simulation. The loaded
//! pipelines are read back through the AWS SDK.

#[path = "../common/mod.rs"]
mod common;

use aws_sdk_codepipeline::types::{ActionOwner, PipelineType};
use codepipeline_local::protocol::Scope;
use common::engine::wait_for;
use common::fixtures::{fixture, good_fixtures};
use common::{client, start_with, test_config};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

mod load_endpoint;
mod simulation;
mod startup;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary, serving with `--load` for every path; killed when dropped.
async fn spawn_with_loads(paths: &[PathBuf]) -> (Child, String) {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_codepipeline-local"));
    command.args(["--listen", &format!("127.0.0.1:{port}"), "--no-auto-start"]);
    for path in paths {
        command.arg("--load").arg(path);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the binary");
    let url = format!("http://127.0.0.1:{port}");
    let health = format!("{url}/health");
    wait_for("the binary to answer", || async {
        reqwest::get(&health)
            .await
            .ok()
            .filter(|r| r.status().is_success())
            .map(|_| ())
    })
    .await;
    (child, url)
}

async fn post_load(url: &str, query: &str, body: String) -> (u16, serde_json::Value) {
    // As the admin API requires: a JSON or YAML type (a page cannot send either cross-site).
    let content_type = if body.trim_start().starts_with('{') {
        "application/json"
    } else {
        "application/yaml"
    };
    let response = reqwest::Client::new()
        .post(format!("{url}/_codepipeline-local/load?{query}"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Loads the release template as stack "release": its pipeline's result and version.
async fn load_release(url: &str, parameters: &str) -> (serde_json::Value, serde_json::Value) {
    let text = std::fs::read_to_string(fixture("templates/release.yaml")).unwrap();
    let (status, body) = post_load(url, &format!("stack-name=release{parameters}"), text).await;
    assert_eq!(status, 200, "{body}");
    let pipeline = &body["loaded"][0]["pipelines"][0];
    assert_eq!(pipeline["name"], "payments-service-release");
    (pipeline["result"].clone(), pipeline["version"].clone())
}
