//! The admin API under `/_codepipeline-local/` (reset, state export and import, effective
//! configuration, dashboard assets, health), and configuration loading from TOML and JSON files
//! with flag > file > default precedence.

mod common;

use aws_sdk_codepipeline::types::{ApprovalResult, ApprovalStatus, PipelineExecutionStatus};
use codepipeline_local::config::{self, Config};
use codepipeline_local::engine::behavior::Behavior;
use common::admin::*;
use common::engine::*;
use common::*;
use serde_json::json;
use std::time::Duration;

fn approval_pipeline(name: &str) -> aws_sdk_codepipeline::types::PipelineDeclaration {
    pipeline(name)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Approve", vec![manual_approval("Approval")]))
        .stages(stage("Build", vec![codebuild("Build", "Src", &[])]))
        .build()
        .unwrap()
}

#[tokio::test]
async fn reset_empties_every_scope_or_only_the_one_named() {
    let t = start_with(manual_config()).await;
    let us = &t.client;
    let eu = t.client_for("test", "eu-west-1");
    let other_account = t.client_for("111122223333", "us-east-1");
    create(us, "a").await;
    create(&eu, "b").await;
    create(&other_account, "c").await;

    // One scope: account defaults to the configured one when only the region is given.
    let (status, body) = admin(&t, reqwest::Method::POST, "/reset?region=eu-west-1", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"reset": [{"account": "000000000000", "region": "eu-west-1"}]})
    );
    assert!(names(&eu).await.is_empty());
    assert_eq!(names(us).await, vec!["a"]);
    assert_eq!(names(&other_account).await, vec!["c"]);

    let (status, _) = admin(
        &t,
        reqwest::Method::POST,
        "/reset?account=111122223333&region=us-east-1",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(names(&other_account).await.is_empty());
    assert_eq!(names(us).await, vec!["a"]);

    // Everything.
    create(&eu, "b").await;
    let (status, body) = admin(&t, reqwest::Method::POST, "/reset", None).await;
    assert_eq!(status, 200);
    assert!(body["reset"].as_array().unwrap().len() >= 2, "{body}");
    assert!(names(us).await.is_empty());
    assert!(names(&eu).await.is_empty());
    let (_, state) = admin(&t, reqwest::Method::GET, "/state", None).await;
    assert_eq!(state, json!([]));
    // The server goes on as new.
    create(us, "a").await;
    assert_eq!(names(us).await, vec!["a"]);
}

#[tokio::test]
async fn exported_state_imports_into_another_server_and_its_executions_resume() {
    let source = start_with(manual_config()).await;
    let c = &source.client;
    c.create_pipeline()
        .pipeline(approval_pipeline("gate"))
        .send()
        .await
        .unwrap();
    create(&source.client_for("test", "eu-west-1"), "elsewhere").await;
    let id = start_execution(c, "gate").await;
    let token = wait_approval_token(c, "gate", "Approve", "Approval").await;

    let (status, exported) = admin(&source, reqwest::Method::GET, "/state", None).await;
    assert_eq!(status, 200);
    let scopes: Vec<(&str, &str)> = exported
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| {
            (
                s["account"].as_str().unwrap(),
                s["region"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        scopes,
        vec![("000000000000", "eu-west-1"), ("000000000000", "us-east-1")]
    );
    assert!(exported[1]["state"]["pipelines"]["gate"].is_object());
    let (_, one) = admin(
        &source,
        reqwest::Method::GET,
        "/state?region=eu-west-1",
        None,
    )
    .await;
    assert_eq!(one.as_array().unwrap().len(), 1);

    // Seed a fresh server from the export, as a test would from a file.
    let file = std::env::temp_dir().join(format!(
        "codepipeline-local-state-{}.json",
        std::process::id()
    ));
    std::fs::write(&file, serde_json::to_vec_pretty(&exported).unwrap()).unwrap();
    let target = start_with(manual_config()).await;
    let (status, body) = admin(
        &target,
        reqwest::Method::PUT,
        "/state",
        Some(std::fs::read_to_string(&file).unwrap()),
    )
    .await;
    std::fs::remove_file(&file).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["imported"].as_array().unwrap().len(), 2);
    let t2 = &target.client;
    assert_eq!(names(t2).await, vec!["gate"]);
    assert_eq!(
        names(&target.client_for("test", "eu-west-1")).await,
        vec!["elsewhere"]
    );
    assert_eq!(
        execution(t2, "gate", &id).await.status(),
        Some(&PipelineExecutionStatus::InProgress)
    );
    // The waiting approval came along with its token; approving it finishes the run.
    assert_eq!(
        wait_approval_token(t2, "gate", "Approve", "Approval").await,
        token
    );
    t2.put_approval_result()
        .pipeline_name("gate")
        .stage_name("Approve")
        .action_name("Approval")
        .token(&token)
        .result(
            ApprovalResult::builder()
                .status(ApprovalStatus::Approved)
                .summary("imported")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("approve on the imported server");
    assert_eq!(
        wait_finished(t2, "gate", &id).await.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
    // The source server is untouched.
    assert_eq!(
        execution(c, "gate", &id).await.status(),
        Some(&PipelineExecutionStatus::InProgress)
    );
}

#[tokio::test]
async fn import_replaces_the_named_scopes_and_rejects_bad_documents() {
    let t = start_with(manual_config()).await;
    create(&t.client, "old").await;
    let eu = t.client_for("test", "eu-west-1");
    create(&eu, "kept").await;
    // A scope asked for by name is exported even when empty: the state of a fresh region.
    let (_, fresh) = admin(&t, reqwest::Method::GET, "/state?region=ap-south-1", None).await;
    assert_eq!(fresh[0]["region"], "ap-south-1");
    let empty = fresh[0]["state"].clone();
    assert_eq!(empty["pipelines"], json!({}));

    let document = json!([{"account": "000000000000", "region": "us-east-1", "state": empty}]);
    let (status, body) = import(&t, &document).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"imported": [{"account": "000000000000", "region": "us-east-1"}]})
    );
    assert!(names(&t.client).await.is_empty());
    assert_eq!(names(&eu).await, vec!["kept"]);

    for bad in ["not json", "{}", r#"[{"account": "000000000000"}]"#] {
        let (status, body) = admin(&t, reqwest::Method::PUT, "/state", Some(bad.into())).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"], "BadRequest");
    }
    assert_eq!(names(&eu).await, vec!["kept"]);
}

#[tokio::test]
async fn the_effective_configuration_is_served_as_json() {
    let mut config = manual_config();
    config.max_pipelines = 7;
    config.approval_timeout = Duration::from_secs(90);
    config.actions = vec![rule("CodeBuild", Behavior::Fail)];
    let t = start_with(config).await;
    let (status, body) = admin(&t, reqwest::Method::GET, "/config", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["max_pipelines"], 7);
    // The configuration file's key names.
    assert_eq!(body["approval_timeout_seconds"], 90);
    assert_eq!(body["no_auto_start"], true);
    assert_eq!(body["region"], "us-east-1");
    assert_eq!(body["actions"][0]["provider"], "CodeBuild");
    assert_eq!(body["actions"][0]["behavior"], "fail");
}

#[tokio::test]
async fn the_served_configuration_fed_back_with_config_gives_the_same_configuration() {
    let mut config = manual_config();
    config.max_pipelines = 7;
    config.approval_timeout = Duration::from_secs(90);
    config.local_executor = true;
    config.s3_endpoint = Some("http://127.0.0.1:5000".into());
    config.s3_secret_access_key = "s3cret".into();
    config.admin_token = Some("let-me-in".into());
    config.actions = vec![rule("CodeBuild", Behavior::Fail)];
    let t = start_with(config).await;
    let token = ("x-codepipeline-local-admin-token", "let-me-in");
    let served: serde_json::Value = reqwest::Client::new()
        .get(format!("{}{ADMIN}/config?secrets=true", t.url))
        .header(token.0, token.1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["s3_secret_access_key"], "s3cret");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, served.to_string()).unwrap();
    let loaded = Config::from_args([std::ffi::OsString::from("--config"), file.into()])
        .expect("the served configuration loads");
    assert_eq!(serde_json::to_value(&loaded).unwrap(), served);
    // Without ?secrets=true the secrets are masked.
    let masked: serde_json::Value = reqwest::Client::new()
        .get(format!("{}{ADMIN}/config", t.url))
        .header(token.0, token.1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(masked["s3_secret_access_key"], "****");
    assert_eq!(masked["admin_token"], "****");
}

#[tokio::test]
async fn the_dashboard_and_health_endpoints_are_served() {
    let t = start().await;
    let page = t.get(&format!("{ADMIN}/ui/")).await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .body
        .as_str()
        .unwrap()
        .contains("<title>codepipeline-local</title>"));
    let script = t.get(&format!("{ADMIN}/ui/app.js")).await;
    assert_eq!(script.status, 200);
    assert!(script
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.body.as_str().unwrap().contains("X-Amz-Target"));
    let style = t.get(&format!("{ADMIN}/ui/style.css")).await;
    assert!(style
        .header("content-type")
        .unwrap()
        .starts_with("text/css"));

    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}{ADMIN}/ui", t.url))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status().as_u16(), 308);
    assert_eq!(redirect.headers()["location"], "/_codepipeline-local/ui/");

    for path in ["/health", "/_localstack/health"] {
        let health = t.get(path).await;
        assert_eq!(health.status, 200);
        assert_eq!(health.body["services"]["codepipeline"], "running");
    }
    assert_eq!(t.get(&format!("{ADMIN}/nope")).await.status, 404);
}

#[tokio::test]
async fn the_healthcheck_probe_passes_on_a_running_server_and_fails_elsewhere() {
    use codepipeline_local::admin::health;
    let t = start().await;
    let timeout = Duration::from_secs(3);
    health::check(&format!("{}/health", t.url), timeout)
        .await
        .expect("healthy");
    health::check(
        &health::default_health_url(&t.server.addr.to_string()),
        timeout,
    )
    .await
    .expect("healthy at the default URL");
    let missing = health::check(&format!("{}/missing", t.url), timeout).await;
    assert!(missing.unwrap_err().contains("404"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    assert!(
        health::check(&format!("http://127.0.0.1:{port}/health"), timeout)
            .await
            .is_err()
    );
    assert!(health::check("https://example.invalid/", timeout)
        .await
        .is_err());
}

// ---- configuration files ----

const TOML_CONFIG: &str = r#"
listen = "0.0.0.0:5000"
region = "eu-central-1"
account_id = "123456789012"
no_auto_start = true
max_pipelines = 5
approval_timeout_seconds = 120
log_format = "json"

[[actions]]
provider = "CodeBuild"
pipeline = "release"
stage = "Test"
action = "UnitTests"
behavior = "fail"
message = "Unit tests failed"
duration_ms = 1500

[[actions]]
provider = "CodeDeploy"
behavior = "worker"

[[actions]]
category = "Build"
behavior = "succeed"
duration_ms = 200
[actions.output_variables]
BuildID = "build-1"
"#;

const JSON_CONFIG: &str = r#"{
  "region": "ap-southeast-2",
  "max_stages": 9,
  "job_timeout_seconds": 30,
  "external_url": "http://codepipeline.test:4566",
  "actions": [{"provider": "Lambda", "behavior": "fail", "message": "boom"}]
}"#;

fn write_config(name: &str, text: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("codepipeline-local-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_toml_config_file_sets_settings_and_action_rules() {
    let file = config::parse_file(TOML_CONFIG).expect("valid TOML");
    assert_eq!(file.actions.len(), 3);
    assert_eq!(file.actions[0].behavior, Behavior::Fail);
    assert_eq!(
        file.actions[0].message.as_deref(),
        Some("Unit tests failed")
    );
    assert_eq!(file.actions[1].behavior, Behavior::Worker);
    assert_eq!(file.actions[2].output_variables["BuildID"], "build-1");

    let path = write_config("config.toml", TOML_CONFIG);
    let loaded = Config::from_args([std::ffi::OsString::from("--config"), path.clone().into()]);
    std::fs::remove_file(&path).unwrap();
    let config = loaded.expect("loads");
    let d = Config::default();
    // From the file.
    assert_eq!(config.listen, "0.0.0.0:5000");
    assert_eq!(config.region, "eu-central-1");
    assert_eq!(config.account_id, "123456789012");
    assert!(!config.auto_start);
    assert_eq!(config.max_pipelines, 5);
    assert_eq!(config.approval_timeout, Duration::from_secs(120));
    assert_eq!(config.log_format, "json");
    assert_eq!(config.actions.len(), 3);
    assert_eq!(config.actions[0].pipeline.as_deref(), Some("release"));
    assert_eq!(config.actions[0].duration_ms, Some(1500));
    // Defaults.
    assert_eq!(config.max_stages, d.max_stages);
    assert_eq!(config.job_timeout, d.job_timeout);
    assert_eq!(config.max_body_bytes, d.max_body_bytes);
    assert_eq!(config.external_url, None);
}

#[test]
fn flags_win_over_the_file_and_the_file_over_defaults() {
    let path = write_config("config.json", JSON_CONFIG);
    let loaded = Config::from_args([
        std::ffi::OsString::from("--config"),
        path.clone().into(),
        "--region=us-west-2".into(),
        "--max-pipelines=3".into(),
        "--no-auto-start=false".into(),
    ]);
    std::fs::remove_file(&path).unwrap();
    let config = loaded.expect("loads");
    let d = Config::default();
    assert_eq!(config.region, "us-west-2", "flag over file");
    assert_eq!(config.max_pipelines, 3, "flag over default");
    assert!(config.auto_start, "flag over default");
    assert_eq!(config.max_stages, 9, "file over default");
    assert_eq!(
        config.job_timeout,
        Duration::from_secs(30),
        "file over default"
    );
    assert_eq!(
        config.external_url.as_deref(),
        Some("http://codepipeline.test:4566")
    );
    assert_eq!(config.actions[0].provider.as_deref(), Some("Lambda"));
    assert_eq!(config.listen, d.listen, "default");
    assert_eq!(config.account_id, d.account_id, "default");
    assert_eq!(config.approval_timeout, d.approval_timeout, "default");
}

#[test]
fn bad_config_files_are_rejected_with_the_reason() {
    assert!(config::parse_file("unknown_setting = 1").is_err());
    assert!(config::parse_file(r#"{"max_pipelines": "many"}"#).is_err());
    let path = write_config("bad.toml", "account_id = \"12\"");
    let loaded = Config::from_args([std::ffi::OsString::from("--config"), path.clone().into()]);
    std::fs::remove_file(&path).unwrap();
    assert!(loaded.unwrap_err().contains("account id must be 12 digits"));
    let missing = Config::from_args(["--config", "/nonexistent/codepipeline-local.toml"]);
    assert!(missing.unwrap_err().contains("cannot read config file"));
}

#[test]
fn the_readme_documents_every_setting_with_its_environment_variable() {
    use clap::CommandFactory;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let command = codepipeline_local::cli::Cli::command();
    let mut documented = 0;
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if ["help", "version"].contains(&long) {
            continue;
        }
        let flag = format!("| `--{long}");
        let row = readme
            .lines()
            .find(|line| line.starts_with(&flag))
            .unwrap_or_else(|| panic!("README's Configuration table has no row for --{long}"));
        if let Some(env) = arg.get_env() {
            let env = env.to_string_lossy();
            assert!(
                row.contains(&*env),
                "the row of --{long} names {env}: {row}"
            );
        }
        documented += 1;
    }
    assert!(documented > 40, "{documented} settings");
}
