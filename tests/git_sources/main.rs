//! Local git repositories as sources (`--repository ID=PATH`): repositories made with the `git`
//! binary in temporary directories, commits that start pipelines by themselves, and what the
//! source actions report and write, seen through the AWS SDK for Rust (and the local artifact
//! store's files: these servers run without an S3 endpoint).

#[path = "../common/mod.rs"]
mod common;

use aws_sdk_codepipeline::types::*;
use codepipeline_local::actions::artifacts::zip_entries;
use codepipeline_local::config::{Config, Repository};
use common::engine::*;
use common::real::{action_detail, commands};
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

mod clone_depth;
mod commits;
mod events_endpoint;
mod https_urls;
mod remote_urls;
mod source_actions;

const CONNECTION: &str =
    "arn:aws:codeconnections:us-east-1:000000000000:connection/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

/// Runs git in `dir` with a fixed identity; returns its output.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Dev", "-c", "user.email=dev@example.com"])
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2024-03-01T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-03-02T11:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Writes the files and commits them; returns the commit id.
fn commit(dir: &Path, files: &[(&str, &str)], message: &str) -> String {
    for (name, contents) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        git(dir, &["add", name]);
    }
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A repository on branch main with one commit (README.md, src/app.py).
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    commit(
        dir.path(),
        &[("README.md", "# app\n"), ("src/app.py", "print('v1')\n")],
        "Initial commit",
    );
    dir
}

/// A server mapping `octo/app` (and CodeCommit `app-repo`) to the repository, state and local
/// artifacts in `data`.
async fn server(repo: &Path, data: &Path, local_executor: bool) -> TestServer {
    let map = |id: &str| Repository {
        id: id.to_string(),
        path: repo.to_path_buf(),
        connection_arn: None,
        provider_type: None,
    };
    start_with(Config {
        data_dir: Some(data.to_path_buf()),
        repositories: vec![map("octo/app"), map("app-repo")],
        repository_poll_interval_ms: 200,
        local_executor,
        ..manual_config()
    })
    .await
}

fn connection_source(branch: &str) -> ActionDeclaration {
    action(
        "Source",
        type_id(
            ActionCategory::Source,
            ActionOwner::Aws,
            "CodeStarSourceConnection",
        ),
        &[],
        &["SourceOutput"],
    )
    .configuration("ConnectionArn", CONNECTION)
    .configuration("FullRepositoryId", "octo/app")
    .configuration("BranchName", branch)
    .namespace("SourceVariables")
    .build()
    .unwrap()
}

fn source_pipeline(
    name: &str,
    kind: PipelineType,
    source: ActionDeclaration,
    triggers: Vec<PipelineTriggerDeclaration>,
) -> PipelineDeclaration {
    pipeline(name)
        .pipeline_type(kind)
        .set_triggers((!triggers.is_empty()).then_some(triggers))
        .stages(stage("Source", vec![source]))
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &[])],
        ))
        .build()
        .unwrap()
}

/// Creates pipeline `name`: a connection source on main (`connection_source`), then a build.
async fn create_connection_pipeline(
    c: &aws_sdk_codepipeline::Client,
    name: &str,
    kind: PipelineType,
    triggers: Vec<PipelineTriggerDeclaration>,
) {
    c.create_pipeline()
        .pipeline(source_pipeline(
            name,
            kind,
            connection_source("main"),
            triggers,
        ))
        .send()
        .await
        .unwrap();
}

fn list(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

fn push_trigger(filter: GitPushFilter) -> PipelineTriggerDeclaration {
    PipelineTriggerDeclaration::builder()
        .provider_type(PipelineTriggerProviderType::CodeStarSourceConnection)
        .git_configuration(
            GitConfiguration::builder()
                .source_action_name("Source")
                .push(filter)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// Pushes to main touching src/** but no Markdown.
fn src_trigger() -> PipelineTriggerDeclaration {
    push_trigger(
        GitPushFilter::builder()
            .branches(
                GitBranchFilterCriteria::builder()
                    .set_includes(list(&["main"]))
                    .build(),
            )
            .file_paths(
                GitFilePathFilterCriteria::builder()
                    .set_includes(list(&["src/**"]))
                    .set_excludes(list(&["**/*.md"]))
                    .build(),
            )
            .build(),
    )
}

async fn executions(c: &aws_sdk_codepipeline::Client, name: &str) -> Vec<PipelineExecutionSummary> {
    c.list_pipeline_executions()
        .pipeline_name(name)
        .send()
        .await
        .unwrap()
        .pipeline_execution_summaries()
        .to_vec()
}

/// Waits for an execution of `name` started for `commit`; returns its id.
async fn execution_for(c: &aws_sdk_codepipeline::Client, name: &str, commit: &str) -> String {
    wait_for(&format!("an execution of {name} for {commit}"), || async {
        executions(c, name).await.into_iter().find_map(|e| {
            e.source_revisions()
                .iter()
                .any(|r| r.revision_id() == Some(commit))
                .then(|| e.pipeline_execution_id().unwrap_or_default().to_string())
        })
    })
    .await
}

/// The files of the local artifact store's object for the output artifact of an action.
fn artifact_files(data: &Path, detail: &ActionExecutionDetail) -> Vec<(String, Vec<u8>)> {
    let location = detail.output().unwrap().output_artifacts()[0]
        .s3_location()
        .unwrap();
    let path: PathBuf = data
        .join("artifacts")
        .join(location.bucket().unwrap())
        .join(location.key().unwrap());
    zip_entries(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}
