//! The dashboard in a real browser: headless Chromium (Debian's `chromium`) driven by
//! playwright-core (`tests/ui/`, `npm ci` there) approves a pending manual approval, and the
//! SDK then sees the execution succeed. Needs node, chromium and `tests/ui/node_modules`; this
//! test fails, not skips, without them (`scripts/test-prereqs.sh` installs them).

mod common;

use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use common::engine::*;
use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    let mut command = tokio::process::Command::new("node");
    command
        .arg(ui_dir().join("approve.mjs"))
        .args([&url, "gate", "Approve", "Approval"])
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the browser test finishes within a minute")
        .expect("node runs");
    assert!(
        output.status.success(),
        "the browser test failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

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
