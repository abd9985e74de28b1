//! `examples/local-run/`: a real local run, end to end. A git repository made from
//! `examples/local-run/app` is the source (`--repository me/app=PATH`), its `buildspec.yml`
//! builds the site with the local executor, and the S3 deploy extracts it into a bucket of
//! moto's S3 (`--s3-endpoint`). The pipeline is created with the aws CLI from
//! `examples/local-run/pipeline.json`; then a `git commit` starts the next execution by itself.

mod common;

use aws_sdk_codepipeline::types::*;
use codepipeline_local::config::{Config, Repository};
use common::aws_cli::aws_ok;
use common::engine::*;
use common::moto::Moto;
use common::real::{create_bucket, get};
use common::*;
use std::path::Path;
use std::process::Command;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/local-run");

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Dev", "-c", "user.email=dev@example.com"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository on main holding `examples/local-run/app`, committed.
fn repository() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let app = Path::new(EXAMPLE).join("app");
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    for file in ["buildspec.yml", "src/index.html"] {
        std::fs::copy(app.join(file), dir.path().join(file)).unwrap();
    }
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "First page"]);
    let commit = git(dir.path(), &["rev-parse", "HEAD"]);
    (dir, commit)
}

async fn executions(client: &aws_sdk_codepipeline::Client) -> Vec<PipelineExecutionSummary> {
    client
        .list_pipeline_executions()
        .pipeline_name("local-run")
        .send()
        .await
        .unwrap()
        .pipeline_execution_summaries
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_run_example_builds_and_deploys_each_commit() {
    let moto = Moto::start().await;
    let s3 = moto.s3();
    create_bucket(&s3, "local-run-artifacts", true).await;
    create_bucket(&s3, "local-run-site", false).await;
    let (repo, first) = repository();
    let server = start_with(Config {
        s3_endpoint: Some(moto.url.clone()),
        local_executor: true,
        repositories: vec![Repository {
            id: "me/app".into(),
            path: repo.path().to_path_buf(),
            connection_arn: None,
            provider_type: None,
        }],
        repository_poll_interval_ms: 200,
        ..test_config()
    })
    .await;
    let client = server.client.clone();

    // Created from the example file as is; creating it starts the first execution.
    let input = format!("file://{EXAMPLE}/pipeline.json");
    aws_ok(
        &server.url,
        &["create-pipeline", "--cli-input-json", &input],
    )
    .await;
    let first_id = wait_for("the first execution", || async {
        executions(&client)
            .await
            .last()
            .and_then(|e| e.pipeline_execution_id.clone())
    })
    .await;
    let done = wait_finished(&client, "local-run", &first_id).await;
    assert_eq!(
        done.status(),
        Some(&PipelineExecutionStatus::Succeeded),
        "{done:?}"
    );
    let revision = &done.artifact_revisions()[0];
    assert_eq!(revision.revision_id(), Some(first.as_str()));
    let page = String::from_utf8(get(&s3, "local-run-site", "index.html").await).unwrap();
    assert!(
        page.contains(&format!("Hello from version {} (First page)", &first[..7])),
        "{page}"
    );

    // A commit that changes the page starts the next execution, which deploys it.
    std::fs::write(
        repo.path().join("src/index.html"),
        "<p>Second page @VERSION@ (@MESSAGE@)</p>\n",
    )
    .unwrap();
    git(repo.path(), &["commit", "-q", "-am", "Second page"]);
    let second = git(repo.path(), &["rev-parse", "HEAD"]);
    let second_id = wait_for("the execution of the second commit", || async {
        executions(&client)
            .await
            .into_iter()
            .find(|e| e.pipeline_execution_id() != Some(first_id.as_str()))
            .and_then(|e| e.pipeline_execution_id)
    })
    .await;
    let done = wait_finished(&client, "local-run", &second_id).await;
    assert_eq!(
        done.status(),
        Some(&PipelineExecutionStatus::Succeeded),
        "{done:?}"
    );
    assert_eq!(
        done.artifact_revisions()[0].revision_id(),
        Some(second.as_str())
    );
    let page = String::from_utf8(get(&s3, "local-run-site", "index.html").await).unwrap();
    assert!(
        page.contains(&format!("Second page {} (Second page)", &second[..7])),
        "{page}"
    );
    let trigger = executions(&client)
        .await
        .into_iter()
        .find(|e| e.pipeline_execution_id() == Some(second_id.as_str()))
        .and_then(|e| e.trigger)
        .unwrap();
    assert_eq!(trigger.trigger_type(), Some(&TriggerType::WebhookV2));
}
