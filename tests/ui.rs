//! The dashboard in a real browser: headless Chromium (Debian's `chromium`) driven by
//! playwright-core (`tests/ui/`, `npm ci` there). It approves a pending manual approval (the SDK
//! then sees the execution succeed); deep links open a pipeline and an execution, whose view shows
//! stages, actions, durations, resolved configuration, artifacts, output variables, errors,
//! variables and condition rule results; a local executor action's log grows while it runs; and
//! a screenshot of the execution view is a PNG of the viewport. Needs node, chromium and
//! `tests/ui/node_modules` (and moto's server for the log test); these tests fail, not skip,
//! without them (`scripts/test-prereqs.sh` installs them).

mod common;

use aws_sdk_codepipeline::types::Result as ConditionResult;
use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use codepipeline_local::actions::artifacts::zip_bytes;
use codepipeline_local::config::Config;
use codepipeline_local::engine::behavior::{Behavior, ConditionRuleBehavior, RuleOutcome};
use common::engine::*;
use common::real::{create_bucket, put, Moto};
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The browser's viewport (`tests/ui/browser.mjs`), so the size of a screenshot.
const VIEWPORT: (u32, u32) = (1280, 900);

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui")
}

/// Panics with what to install when the browser test cannot run here.
fn require_browser_tools() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} not found: run scripts/test-prereqs.sh (installs Chromium, Node.js and playwright-core)"
    );
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node not found: run scripts/test-prereqs.sh (installs Chromium, Node.js and playwright-core)"
    );
    assert!(
        ui_dir().join("node_modules/playwright-core").exists(),
        "playwright-core not installed: run scripts/test-prereqs.sh (or `npm ci` in tests/ui)"
    );
}

#[tokio::test]
async fn the_dashboard_approves_a_pending_manual_approval() {
    require_browser_tools();
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let declaration = pipeline("gate")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Approve", vec![manual_approval("Approval")]))
        .stages(stage("Build", vec![codebuild("Build", "Src", &[])]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "gate").await;
    wait_approval_token(c, "gate", "Approve", "Approval").await;

    let url = format!("{}/_codepipeline-local/ui/", t.url);
    run_browser_script("approve.mjs", &[&url, "gate", "Approve", "Approval"]).await;

    let execution = wait_finished(c, "gate", &id).await;
    assert_eq!(
        execution.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
    let approval = action_executions(c, "gate", &id)
        .await
        .into_iter()
        .find(|a| a.action_name() == Some("Approval"))
        .expect("approval action execution");
    assert_eq!(
        approval
            .output()
            .and_then(|o| o.execution_result())
            .and_then(|r| r.external_execution_summary()),
        Some("Approved in the browser test")
    );
}

/// Runs a browser script of `tests/ui/` with node (bounded in time); fails the test if it fails.
async fn run_browser_script(script: &str, args: &[&str]) {
    require_browser_tools();
    let mut command = tokio::process::Command::new("node");
    command
        .arg(ui_dir().join(script))
        .args(args)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .expect("the browser test finishes within 90 seconds")
        .expect("node runs");
    assert!(
        output.status.success(),
        "the browser test failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `tests/ui/steps.mjs` on `url`: each step waits (bounded) for what it expects.
async fn browser_steps(url: &str, steps: Value) {
    run_browser_script("steps.mjs", &[url, &steps.to_string()]).await;
}

fn see(selector: &str, text: &str) -> Value {
    json!({ "see": selector, "text": text })
}

fn execution_url(t: &TestServer, pipeline: &str, id: &str) -> String {
    format!(
        "{}/_codepipeline-local/ui/#/pipelines/{pipeline}/executions/{id}",
        t.url
    )
}

fn variable_check(name: &str, variable: &str, value: &str) -> RuleDeclaration {
    RuleDeclaration::builder()
        .name(name)
        .rule_type_id(rule_type("VariableCheck"))
        .configuration("Variable", variable)
        .configuration("Operator", "EQ")
        .configuration("Value", value)
        .build()
        .unwrap()
}

fn rule_type(provider: &str) -> RuleTypeId {
    RuleTypeId::builder()
        .category(RuleCategory::Rule)
        .owner(RuleOwner::Aws)
        .provider(provider)
        .version("1")
        .build()
        .unwrap()
}

/// The simulated actions of `release`: the build exports BuildID, the deploy fails.
fn release_config() -> Config {
    let mut config = manual_config();
    let mut build = rule("CodeBuild", Behavior::Succeed);
    build
        .output_variables
        .insert("BuildID".into(), "build-42".into());
    let mut deploy = rule("CodeDeploy", Behavior::Fail);
    deploy.message = Some("Deployment group app-prod is gone".into());
    config.actions = vec![build, deploy];
    config
}

/// V2 `release`: a DeployEnv variable; Source (S3) -> Build (CodeBuild, whose environment
/// resolves the variable; exports BuildID) -> Deploy (entry condition on BuildID; CodeDeploy).
/// Returns the id of a finished (Failed) execution started with DeployEnv=production.
async fn release_execution(c: &Client) -> String {
    let build = action(
        "Build",
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &["Src"],
        &["BuildOut"],
    )
    .configuration("ProjectName", "app-build")
    .configuration(
        "EnvironmentVariables",
        r##"[{"name":"TARGET","value":"#{variables.DeployEnv}","type":"PLAINTEXT"}]"##,
    )
    .namespace("BuildVariables")
    .build()
    .unwrap();
    let deploy = StageDeclaration::builder()
        .name("Deploy")
        .actions(codedeploy("Deploy", "BuildOut"))
        .before_entry(
            BeforeEntryConditions::builder()
                .conditions(
                    Condition::builder()
                        .result(ConditionResult::Fail)
                        .rules(variable_check(
                            "BuildIsTagged",
                            "#{BuildVariables.BuildID}",
                            "build-42",
                        ))
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let declaration = pipeline("release")
        .pipeline_type(PipelineType::V2)
        .variables(
            PipelineVariableDeclaration::builder()
                .name("DeployEnv")
                .default_value("staging")
                .description("Where the build goes")
                .build()
                .unwrap(),
        )
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Build", vec![build]))
        .stages(deploy)
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = c
        .start_pipeline_execution()
        .name("release")
        .variables(
            PipelineVariable::builder()
                .name("DeployEnv")
                .value("production")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .pipeline_execution_id
        .unwrap();
    let done = wait_finished(c, "release", &id).await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Failed));
    id
}

#[tokio::test]
async fn a_deep_link_to_an_execution_shows_its_stages_actions_artifacts_variables_and_error() {
    let t = start_with(release_config()).await;
    let id = release_execution(&t.client).await;
    let build = r#".tl-stage[data-stage="Build"] .tl-action[data-action="Build"]"#;
    let deploy = r#".tl-stage[data-stage="Deploy"]"#;
    browser_steps(
        &execution_url(&t, "release", &id),
        json!([
            see("#execution-id", &id),
            see("#execution-status .execution-status", "Failed"),
            see(r#".tl-stage[data-stage="Source"] .stage-status"#, "Succeeded"),
            see(&format!("{build} .action-status"), "Succeeded"),
            // Start and end times, and how long it took.
            see(&format!("{build} .times"), "Ended"),
            { "see": format!("{build} .duration"), "pattern": r"^\d+(\.\d)? (ms|s)$" },
            // The resolved configuration: the variable's value of this execution.
            see(&format!("{build} .configuration"), "production"),
            see(&format!("{build} .configuration"), "app-build"),
            see(&format!("{build} [data-artifact=\"Src\"]"), "Src"),
            see(&format!("{build} [data-artifact=\"BuildOut\"]"), "BuildOut"),
            see(&format!("{build} .output-variables"), "build-42"),
            see(&format!("{deploy} .stage-status"), "Failed"),
            see(
                &format!("{deploy} .tl-action[data-action=\"Deploy\"] .action-error"),
                "Deployment group app-prod is gone"
            ),
            see(
                "#execution-variables [data-variable=\"DeployEnv\"] .resolved",
                "production"
            ),
            see(
                &format!("{deploy} .condition[data-condition=\"beforeEntry\"] .rule[data-rule=\"BuildIsTagged\"] .rule-status"),
                "Succeeded"
            ),
            see("#execution-revisions [data-artifact=\"Src\"]", "Src"),
        ]),
    )
    .await;
}

#[tokio::test]
async fn a_pipeline_deep_link_shows_variables_and_condition_results_and_links_to_executions() {
    let mut config = manual_config();
    config.rules.push(ConditionRuleBehavior {
        provider: Some("CloudWatchAlarm".into()),
        result: RuleOutcome::Fail,
        message: Some("Alarm HighErrorRate is in ALARM".into()),
        ..ConditionRuleBehavior::default()
    });
    let t = start_with(config).await;
    let c = &t.client;
    let alarm = RuleDeclaration::builder()
        .name("NoAlarm")
        .rule_type_id(rule_type("CloudWatchAlarm"))
        .configuration("AlarmName", "HighErrorRate")
        .build()
        .unwrap();
    let build = StageDeclaration::builder()
        .name("Build")
        .actions(codebuild("Build", "Src", &[]))
        .on_success(
            SuccessConditions::builder()
                .conditions(
                    Condition::builder()
                        .result(ConditionResult::Fail)
                        .rules(alarm)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let declaration = pipeline("watched")
        .pipeline_type(PipelineType::V2)
        .variables(
            PipelineVariableDeclaration::builder()
                .name("Region")
                .default_value("eu-west-1")
                .build()
                .unwrap(),
        )
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(build)
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "watched").await;
    let done = wait_finished(c, "watched", &id).await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Failed));

    let rule = r#".condition[data-condition="onSuccess"] .rule[data-rule="NoAlarm"]"#;
    browser_steps(
        &format!("{}/_codepipeline-local/ui/", t.url),
        json!([
            see("#welcome", "Pick a pipeline"),
            // Changing the hash alone loads the pipeline.
            { "hash": "#/pipelines/watched" },
            see("#pipeline-name", "watched"),
            see("#variables [data-variable=\"Region\"]", "eu-west-1"),
            see(&format!(".stage[data-stage=\"Build\"] {rule} .rule-status"), "Failed"),
            see(&format!(".stage[data-stage=\"Build\"] {rule}"), "Alarm HighErrorRate is in ALARM"),
            // The history links to the execution view.
            { "click": format!("#history a[href*=\"{id}\"]") },
            see("#execution-id", &id),
            see(&format!(".tl-stage[data-stage=\"Build\"] {rule} .rule-status"), "Failed"),
            see(&format!(".tl-stage[data-stage=\"Build\"] {rule}"), "Alarm HighErrorRate is in ALARM"),
            see(".tl-stage[data-stage=\"Build\"] .stage-status", "Failed"),
            see("#execution-variables [data-variable=\"Region\"] .resolved", "eu-west-1"),
        ]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_executor_actions_log_shows_and_grows_while_it_runs() {
    require_browser_tools();
    let moto = Moto::start().await;
    let s3 = moto.s3();
    create_bucket(&s3, "source-bucket", true).await;
    create_bucket(&s3, "artifact-bucket", false).await;
    put(
        &s3,
        "source-bucket",
        "app.zip",
        zip_bytes(&[("hello.txt", b"hello")]),
    )
    .await;
    let config = Config {
        s3_endpoint: Some(moto.url.clone()),
        local_executor: true,
        ..manual_config()
    };
    let t = start_with(config).await;
    let c = &t.client;
    // The second line is only written once the browser has shown the first (it creates the
    // marker): the log is read while the action runs. The loop gives up after 30 seconds.
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("go-on");
    let wait = format!(
        "i=0; while [ ! -f '{}' ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done",
        marker.display()
    );
    let commands = action(
        "Commands",
        type_id(ActionCategory::Compute, ActionOwner::Aws, "Commands"),
        &["Src"],
        &[],
    )
    .set_commands(Some(vec![
        "echo first line from $(cat hello.txt)".into(),
        wait,
        "echo second line".into(),
    ]))
    .build()
    .unwrap();
    let declaration = pipeline("local-log")
        .pipeline_type(PipelineType::V2)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Build", vec![commands]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "local-log").await;
    let running = wait_for("the Commands action to run", || async {
        action_executions(c, "local-log", &id)
            .await
            .into_iter()
            .find(|a| a.action_name() == Some("Commands"))
    })
    .await;
    let action_execution_id = running.action_execution_id().unwrap().to_string();

    let log = format!("pre.log[data-log=\"{action_execution_id}\"]");
    let commands = r#".tl-action[data-action="Commands"]"#;
    browser_steps(
        &execution_url(&t, "local-log", &id),
        json!([
            see(&log, "first line from hello"),
            see(&format!("{commands} .action-status"), "InProgress"),
            { "lacks": log, "text": "second line" },
            { "touch": marker },
            see(&log, "second line"),
            see(&format!("{commands} .action-status"), "Succeeded"),
        ]),
    )
    .await;

    // The endpoint itself: incremental reads from an offset; only local executor logs.
    let logs = format!("{}/_codepipeline-local/logs", t.url);
    let whole: Value = reqwest::get(format!("{logs}/{action_execution_id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = whole["text"].as_str().unwrap();
    assert!(
        text.contains("first line from hello") && text.contains("second line"),
        "{whole}"
    );
    assert_eq!(whole["status"], "Succeeded");
    let end = whole["offset"].as_u64().unwrap();
    assert_eq!(end, text.len() as u64);
    let rest: Value = reqwest::get(format!("{logs}/{action_execution_id}?offset={}", end - 12))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["text"], "second line\n");
    assert_eq!(rest["offset"], end);
    let source_run = action_executions(c, "local-log", &id)
        .await
        .into_iter()
        .find(|a| a.action_name() == Some("Source"))
        .unwrap();
    for (path, status) in [
        (
            format!("{logs}/{}", source_run.action_execution_id().unwrap()),
            404,
        ),
        (format!("{logs}/..%2F..%2Fetc%2Fpasswd"), 404),
        (format!("{logs}/{action_execution_id}?offset=-1"), 400),
    ] {
        let response = reqwest::get(&path).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
    }
}

#[tokio::test]
async fn the_execution_view_screenshot_is_a_png_of_the_viewport() {
    let t = start_with(release_config()).await;
    let id = release_execution(&t.client).await;
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("execution.png");
    browser_steps(
        &execution_url(&t, "release", &id),
        json!([
            see(".tl-stage[data-stage=\"Deploy\"] .action-error", "Deployment group app-prod is gone"),
            { "screenshot": shot },
        ]),
    )
    .await;
    let png = std::fs::read(&shot).expect("the screenshot was written");
    assert!(
        png.len() > 10_000,
        "a real picture, not an empty one: {} bytes",
        png.len()
    );
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), VIEWPORT);
    if let Ok(keep) = std::env::var("UI_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
