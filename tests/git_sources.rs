//! Local git repositories as sources (`--repository ID=PATH`): repositories made with the `git`
//! binary in temporary directories, commits that start pipelines by themselves, and what the
//! source actions report and write, seen through the AWS SDK for Rust (and the local artifact
//! store's files: these servers run without an S3 endpoint).

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

fn codecommit_source(branch: &str) -> ActionDeclaration {
    action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::Aws, "CodeCommit"),
        &[],
        &["SourceOutput"],
    )
    .configuration("RepositoryName", "app-repo")
    .configuration("BranchName", branch)
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

#[tokio::test]
async fn a_commit_starts_the_pipeline_with_the_commit_its_variables_and_its_tree() {
    let repo = repository();
    let data = tempfile::tempdir().unwrap();
    let t = server(repo.path(), data.path(), false).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(source_pipeline(
            "app",
            PipelineType::V1,
            connection_source("main"),
            vec![],
        ))
        .send()
        .await
        .unwrap();
    assert!(executions(c, "app").await.is_empty());

    let sha = commit(
        repo.path(),
        &[("src/app.py", "print('v2')\n")],
        "Ship v2\n\nWith a body.",
    );
    let id = execution_for(c, "app", &sha).await;
    let execution = wait_finished(c, "app", &id).await;
    assert_eq!(
        execution.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
    let trigger = execution.trigger().unwrap();
    assert_eq!(trigger.trigger_type(), Some(&TriggerType::Webhook));
    assert_eq!(trigger.trigger_detail(), Some(CONNECTION));
    let revision = &execution.artifact_revisions()[0];
    assert_eq!(revision.revision_id(), Some(sha.as_str()));
    let summary: Value = serde_json::from_str(revision.revision_summary().unwrap()).unwrap();
    assert_eq!(
        summary,
        json!({"ProviderType": "GitHub", "CommitMessage": "Ship v2\n\nWith a body."})
    );
    assert!(
        revision
            .revision_url()
            .unwrap()
            .contains(&format!("Commit={sha}")),
        "{:?}",
        revision.revision_url()
    );

    let source = action_detail(c, "app", &id, "Source").await;
    let variables = source.output().unwrap().output_variables().unwrap();
    let expected = [
        ("CommitId", sha.as_str()),
        ("CommitMessage", "Ship v2\n\nWith a body."),
        ("BranchName", "main"),
        ("AuthorDate", "2024-03-01T10:00:00Z"),
        ("ConnectionArn", CONNECTION),
        ("FullRepositoryName", "octo/app"),
    ];
    for (name, value) in expected {
        assert_eq!(
            variables.get(name).map(String::as_str),
            Some(value),
            "{name}"
        );
    }
    let mut files = artifact_files(data.path(), &source);
    files.sort();
    assert_eq!(
        files,
        vec![
            ("README.md".to_string(), b"# app\n".to_vec()),
            ("src/app.py".to_string(), b"print('v2')\n".to_vec()),
        ]
    );

    // A started execution runs the branch's head: the commit before it is not built again.
    let manual = start_execution(c, "app").await;
    let again = wait_finished(c, "app", &manual).await;
    assert_eq!(
        again.artifact_revisions()[0].revision_id(),
        Some(sha.as_str())
    );
    assert_eq!(executions(c, "app").await.len(), 2);
}

#[tokio::test]
async fn trigger_filters_are_evaluated_against_the_files_a_commit_changed() {
    let repo = repository();
    let data = tempfile::tempdir().unwrap();
    let t = server(repo.path(), data.path(), false).await;
    let c = &t.client;
    for (name, source, triggers) in [
        ("filtered", connection_source("main"), vec![src_trigger()]),
        // A V1 pipeline detecting every change of main: the witness that a commit was seen
        // (one watcher evaluates a push against every pipeline at once).
        ("witness", connection_source("main"), vec![]),
        (
            "releases",
            connection_source("main"),
            vec![push_trigger(
                GitPushFilter::builder()
                    .tags(
                        GitTagFilterCriteria::builder()
                            .set_includes(list(&["v*"]))
                            .set_excludes(list(&["v0*"]))
                            .build(),
                    )
                    .build(),
            )],
        ),
    ] {
        let kind = if name == "witness" {
            PipelineType::V1
        } else {
            PipelineType::V2
        };
        c.create_pipeline()
            .pipeline(source_pipeline(name, kind, source, triggers))
            .send()
            .await
            .unwrap();
    }

    // Documentation only: the file-path filter excludes it.
    let docs = commit(repo.path(), &[("docs/guide.md", "read me")], "Docs");
    let witnessed = execution_for(c, "witness", &docs).await;
    let witness = execution(c, "witness", &witnessed).await;
    assert_eq!(
        witness.trigger().unwrap().trigger_type(),
        Some(&TriggerType::Webhook)
    );
    assert!(executions(c, "filtered").await.is_empty());
    assert!(executions(c, "releases").await.is_empty());

    let code = commit(repo.path(), &[("src/lib.py", "x = 1\n")], "Code");
    let id = execution_for(c, "filtered", &code).await;
    let started = execution(c, "filtered", &id).await;
    assert_eq!(
        started.trigger().unwrap().trigger_type(),
        Some(&TriggerType::WebhookV2)
    );
    assert_eq!(
        started.trigger().unwrap().trigger_detail(),
        Some(CONNECTION)
    );
    assert_eq!(executions(c, "filtered").await.len(), 1);

    // Tags: v0.9 is excluded, v1.0 fires, at the tagged commit.
    git(repo.path(), &["tag", "v0.9", &docs]);
    git(repo.path(), &["tag", "v1.0"]);
    let tagged = execution_for(c, "releases", &code).await;
    let finished = wait_finished(c, "releases", &tagged).await;
    assert_eq!(finished.status(), Some(&PipelineExecutionStatus::Succeeded));
    assert_eq!(executions(c, "releases").await.len(), 1);
    assert!(!executions(c, "releases")
        .await
        .iter()
        .any(|e| e.source_revisions()[0].revision_id() == Some(docs.as_str())));
}

#[tokio::test]
async fn a_missing_branch_fails_the_source_with_the_providers_message() {
    let repo = repository();
    let data = tempfile::tempdir().unwrap();
    let t = server(repo.path(), data.path(), false).await;
    let c = &t.client;
    let cases = [
        (
            "connection",
            connection_source("nope"),
            "[GitHub] No Branch [nope] found for FullRepositoryName [octo/app]",
        ),
        (
            "codecommit",
            codecommit_source("nope"),
            "The action failed because no branch named nope was found in the selected AWS CodeCommit repository app-repo. Make sure you are using the correct branch name, and then try again.",
        ),
    ];
    for (name, source, message) in cases {
        c.create_pipeline()
            .pipeline(source_pipeline(name, PipelineType::V1, source, vec![]))
            .send()
            .await
            .unwrap();
        let id = start_execution(c, name).await;
        let finished = wait_finished(c, name, &id).await;
        assert_eq!(finished.status(), Some(&PipelineExecutionStatus::Failed));
        let source = action_detail(c, name, &id, "Source").await;
        assert_eq!(error_message(&source), message);
    }
}

#[tokio::test]
async fn a_clone_ref_is_checked_out_by_the_local_executor_without_s3() {
    let repo = repository();
    let sha = git(repo.path(), &["rev-parse", "HEAD"]);
    let data = tempfile::tempdir().unwrap();
    let t = server(repo.path(), data.path(), true).await;
    let c = &t.client;
    let source = action(
        "Source",
        type_id(
            ActionCategory::Source,
            ActionOwner::Aws,
            "CodeStarSourceConnection",
        ),
        &[],
        &["Src"],
    )
    .configuration("ConnectionArn", CONNECTION)
    .configuration("FullRepositoryId", "octo/app")
    .configuration("BranchName", "main")
    .configuration("OutputArtifactFormat", "CODEBUILD_CLONE_REF")
    .build()
    .unwrap();
    c.create_pipeline()
        .pipeline(
            pipeline("clone")
                .pipeline_type(PipelineType::V2)
                .stages(stage("Source", vec![source]))
                .stages(stage(
                    "Build",
                    vec![commands(
                        &[
                            "git rev-parse HEAD > head.txt",
                            "git branch --show-current >> head.txt",
                        ],
                        "Src",
                        Some(("Out", &["head.txt"])),
                    )],
                ))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "clone").await;
    let finished = wait_finished(c, "clone", &id).await;
    let build = action_detail(c, "clone", &id, "Commands").await;
    assert_eq!(
        finished.status(),
        Some(&PipelineExecutionStatus::Succeeded),
        "{}",
        error_message(&build)
    );
    let files = artifact_files(data.path(), &build);
    assert_eq!(
        files,
        vec![(
            "head.txt".to_string(),
            format!("{sha}\nmain\n").into_bytes()
        )]
    );
}

#[tokio::test]
async fn the_git_events_endpoint_reads_the_changed_files_from_the_repository() {
    let repo = repository();
    let data = tempfile::tempdir().unwrap();
    let t = server(repo.path(), data.path(), false).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(source_pipeline(
            "filtered",
            PipelineType::V2,
            connection_source("main"),
            vec![src_trigger()],
        ))
        .send()
        .await
        .unwrap();
    let docs = commit(repo.path(), &[("NOTES.md", "notes")], "Notes");
    let send = |commit: String| {
        let url = format!("{}/_codepipeline-local/git-events", t.url);
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .json(
                    &json!({"repository": "octo/app", "ref": "refs/heads/main", "commit": commit}),
                )
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, answer) = send(docs.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["started"], json!([]), "{answer}");

    let first = git(repo.path(), &["rev-list", "--max-parents=0", "HEAD"]);
    let (status, answer) = send(first.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["started"][0]["pipelineName"], "filtered", "{answer}");
    let id = answer["started"][0]["pipelineExecutionId"]
        .as_str()
        .unwrap();
    let finished = wait_finished(c, "filtered", id).await;
    assert_eq!(
        finished.artifact_revisions()[0].revision_id(),
        Some(first.as_str())
    );

    let (status, answer) = send("0123456789abcdef0123456789abcdef01234567".into()).await;
    assert_eq!(status, 400, "{answer}");

    // Pull requests: the files come from the source branch's commits since main.
    c.create_pipeline()
        .pipeline(source_pipeline(
            "reviews",
            PipelineType::V2,
            connection_source("main"),
            vec![PipelineTriggerDeclaration::builder()
                .provider_type(PipelineTriggerProviderType::CodeStarSourceConnection)
                .git_configuration(
                    GitConfiguration::builder()
                        .source_action_name("Source")
                        .pull_request(
                            GitPullRequestFilter::builder()
                                .file_paths(
                                    GitFilePathFilterCriteria::builder()
                                        .set_includes(list(&["src/**"]))
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()],
        ))
        .send()
        .await
        .unwrap();
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    // The pull request's first commit changes src/; its head only the changelog.
    commit(repo.path(), &[("src/feature.py", "f = 1\n")], "Feature");
    let later = commit(repo.path(), &[("CHANGELOG.md", "feature")], "Changelog");
    git(repo.path(), &["checkout", "-q", "main"]);
    let review = |commit: &str| {
        json!({
            "repository": "octo/app",
            "ref": "refs/heads/feature",
            "commit": commit,
            "pullRequest": {"event": "OPEN", "destinationBranch": "main"}
        })
    };
    for (commit, starts) in [(later.as_str(), true), (docs.as_str(), false)] {
        let response = reqwest::Client::new()
            .post(format!("{}/_codepipeline-local/git-events", t.url))
            .json(&review(commit))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value = response.json().await.unwrap();
        let started: Vec<&str> = answer["started"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["pipelineName"].as_str())
            .collect();
        assert_eq!(started.contains(&"reviews"), starts, "{commit}: {answer}");
    }
}

#[tokio::test]
async fn a_path_that_is_not_a_git_repository_stops_the_start() {
    let plain = tempfile::tempdir().unwrap();
    let config = Config {
        repositories: vec![Repository {
            id: "octo/app".into(),
            path: plain.path().to_path_buf(),
            connection_arn: None,
            provider_type: None,
        }],
        ..manual_config()
    };
    let error = match codepipeline_local::start(config).await {
        Ok(_) => panic!("a server started on a path that is not a repository"),
        Err(e) => e.to_string(),
    };
    assert!(
        error.contains("repository 'octo/app'") && error.contains("is not a git repository"),
        "{error}"
    );

    // The command line says the same before anything starts.
    let mapping = format!("octo/app={}", plain.path().display());
    let error = Config::from_args(["--repository", &mapping]).unwrap_err();
    assert!(error.contains("is not a git repository"), "{error}");
}
