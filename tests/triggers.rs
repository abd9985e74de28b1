//! V2 git triggers: git events delivered to `POST /_codepipeline-local/git-events` (reqwest)
//! start the pipelines whose trigger filters match, seen through the AWS SDK for Rust.

mod common;

use aws_sdk_codepipeline::types::*;
use common::engine::*;
use common::*;
use serde_json::{json, Value};

const CONNECTION: &str = "arn:aws:codeconnections:us-east-1:000000000000:connection/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

fn list(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

fn connection_source(name: &str, repository: &str, output: &str) -> ActionDeclaration {
    action(
        name,
        type_id(
            ActionCategory::Source,
            ActionOwner::Aws,
            "CodeStarSourceConnection",
        ),
        &[],
        &[output],
    )
    .configuration("ConnectionArn", CONNECTION)
    .configuration("FullRepositoryId", repository)
    .configuration("BranchName", "main")
    .build()
    .unwrap()
}

fn trigger(
    source_action: &str,
    push: Vec<GitPushFilter>,
    pull_request: Vec<GitPullRequestFilter>,
) -> PipelineTriggerDeclaration {
    PipelineTriggerDeclaration::builder()
        .provider_type(PipelineTriggerProviderType::CodeStarSourceConnection)
        .git_configuration(
            GitConfiguration::builder()
                .source_action_name(source_action)
                .set_push((!push.is_empty()).then_some(push))
                .set_pull_request((!pull_request.is_empty()).then_some(pull_request))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// Pushes to main or release/** (not release/old) touching src/** (not Markdown), and pull
/// requests opened against main.
fn filtered_trigger() -> PipelineTriggerDeclaration {
    trigger(
        "Source",
        vec![GitPushFilter::builder()
            .branches(
                GitBranchFilterCriteria::builder()
                    .set_includes(list(&["main", "release/**"]))
                    .set_excludes(list(&["release/old"]))
                    .build(),
            )
            .file_paths(
                GitFilePathFilterCriteria::builder()
                    .set_includes(list(&["src/**"]))
                    .set_excludes(list(&["**/*.md"]))
                    .build(),
            )
            .build()],
        vec![GitPullRequestFilter::builder()
            .events(GitPullRequestEventType::Open)
            .branches(
                GitBranchFilterCriteria::builder()
                    .set_includes(list(&["main"]))
                    .build(),
            )
            .build()],
    )
}

fn v2_pipeline(
    name: &str,
    repository: &str,
    triggers: Vec<PipelineTriggerDeclaration>,
) -> PipelineDeclaration {
    pipeline(name)
        .pipeline_type(PipelineType::V2)
        .set_triggers(Some(triggers))
        .stages(stage(
            "Source",
            vec![connection_source("Source", repository, "SourceOutput")],
        ))
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &[])],
        ))
        .build()
        .unwrap()
}

/// Delivers a git event: (status, JSON answer).
async fn send_event(t: &TestServer, query: &str, event: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/_codepipeline-local/git-events{query}", t.url))
        .json(&event)
        .send()
        .await
        .expect("git event");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn started_ids(answer: &Value) -> Vec<(String, String)> {
    answer["started"]
        .as_array()
        .expect("started list")
        .iter()
        .map(|s| {
            (
                s["pipelineName"].as_str().unwrap().to_string(),
                s["pipelineExecutionId"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn execution_count(t: &TestServer, pipeline: &str) -> usize {
    t.client
        .list_pipeline_executions()
        .pipeline_name(pipeline)
        .send()
        .await
        .unwrap()
        .pipeline_execution_summaries()
        .len()
}

fn push(branch: &str, files: &[&str]) -> Value {
    json!({
        "repository": "octo/app",
        "branch": branch,
        "commit": "4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b",
        "message": "Add the feature",
        "files": files,
    })
}

#[tokio::test]
async fn a_push_matching_branch_and_file_filters_starts_the_pipeline_at_the_commit() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(v2_pipeline("app", "octo/app", vec![filtered_trigger()]))
        .send()
        .await
        .unwrap();

    let (status, answer) = send_event(&t, "", push("main", &["src/lib.rs", "README.md"])).await;
    assert_eq!(status, 200, "{answer}");
    let started = started_ids(&answer);
    assert_eq!(started.len(), 1, "{answer}");
    assert_eq!(started[0].0, "app");
    assert_eq!(answer["started"][0]["sourceActions"], json!(["Source"]));
    assert_eq!(answer["failed"], json!([]));

    let execution = wait_finished(c, "app", &started[0].1).await;
    assert_eq!(
        execution.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
    let trigger = execution.trigger().unwrap();
    assert_eq!(trigger.trigger_type(), Some(&TriggerType::WebhookV2));
    assert_eq!(trigger.trigger_detail(), Some(CONNECTION));
    let summary = &c
        .list_pipeline_executions()
        .pipeline_name("app")
        .send()
        .await
        .unwrap()
        .pipeline_execution_summaries()[0]
        .clone();
    let source = &summary.source_revisions()[0];
    assert_eq!(source.action_name(), "Source");
    assert_eq!(
        source.revision_id(),
        Some("4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b")
    );
    assert_eq!(source.revision_summary(), Some("Add the feature"));

    // A release branch with a ref prefix matches too, and the source action reports the
    // pushed branch in its BranchName output variable.
    let (_, answer) = send_event(&t, "", push("refs/heads/release/2.0", &["src/a/b/c.rs"])).await;
    let started = started_ids(&answer);
    assert_eq!(started.len(), 1, "{answer}");
    assert_eq!(execution_count(&t, "app").await, 2);
    wait_finished(c, "app", &started[0].1).await;
    let actions = common::engine::action_executions(c, "app", &started[0].1).await;
    let source = actions
        .iter()
        .find(|a| a.action_name() == Some("Source"))
        .unwrap();
    let variables = source.output().unwrap().output_variables().unwrap();
    assert_eq!(variables["BranchName"], "release/2.0");
    assert_eq!(
        variables["CommitId"],
        "4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b"
    );
}

#[tokio::test]
async fn events_the_filters_do_not_cover_start_nothing() {
    let t = start_with(manual_config()).await;
    t.client
        .create_pipeline()
        .pipeline(v2_pipeline("app", "octo/app", vec![filtered_trigger()]))
        .send()
        .await
        .unwrap();
    let pr = |event: &str, destination: &str| {
        json!({
            "repository": "octo/app",
            "commit": "1111111111111111111111111111111111111111",
            "pullRequest": {"event": event, "sourceBranch": "feature/x", "destinationBranch": destination},
        })
    };
    let mut other_repository = push("main", &["src/lib.rs"]);
    other_repository["repository"] = json!("octo/other");
    let mut other_connection = push("main", &["src/lib.rs"]);
    other_connection["connectionArn"] =
        json!("arn:aws:codeconnections:us-east-1:000000000000:connection/other");
    let cases = [
        ("a branch not included", push("dev", &["src/lib.rs"])),
        ("an excluded branch", push("release/old", &["src/lib.rs"])),
        (
            "only excluded files",
            push("main", &["src/README.md", "docs/notes.md"]),
        ),
        ("files not included", push("main", &["docs/guide.txt"])),
        ("no files", push("main", &[])),
        (
            "a tag push",
            json!({"repository": "octo/app", "tag": "v1.0", "commit": "abc", "files": ["src/a.rs"]}),
        ),
        ("a pull request event not listed", pr("CLOSED", "main")),
        ("a pull request into another branch", pr("OPEN", "dev")),
        ("another repository", other_repository),
        ("another connection", other_connection),
    ];
    for (what, event) in cases {
        let (status, answer) = send_event(&t, "", event).await;
        assert_eq!(status, 200, "{what}: {answer}");
        assert!(started_ids(&answer).is_empty(), "{what} started {answer}");
    }
    assert_eq!(execution_count(&t, "app").await, 0);

    // The pull request filter itself works: OPEN into main starts the pipeline.
    let (_, answer) = send_event(&t, "", pr("OPEN", "refs/heads/main")).await;
    let started = started_ids(&answer);
    assert_eq!(started.len(), 1, "{answer}");
    let execution = wait_finished(&t.client, "app", &started[0].1).await;
    assert_eq!(
        execution.trigger().unwrap().trigger_type(),
        Some(&TriggerType::WebhookV2)
    );
    assert_eq!(
        execution.artifact_revisions()[0].revision_id(),
        Some("1111111111111111111111111111111111111111")
    );
}

#[tokio::test]
async fn tag_triggers_and_several_pipelines() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let tags = trigger(
        "Source",
        vec![GitPushFilter::builder()
            .tags(
                GitTagFilterCriteria::builder()
                    .set_includes(list(&["v*"]))
                    .set_excludes(list(&["v0.*"]))
                    .build(),
            )
            .build()],
        vec![],
    );
    c.create_pipeline()
        .pipeline(v2_pipeline("release", "octo/app", vec![tags]))
        .send()
        .await
        .unwrap();
    let any_push = trigger("Source", vec![GitPushFilter::builder().build()], vec![]);
    c.create_pipeline()
        .pipeline(v2_pipeline("everything", "Octo/App", vec![any_push]))
        .send()
        .await
        .unwrap();
    c.create_pipeline()
        .pipeline(v2_pipeline("untriggered", "octo/app", vec![]))
        .send()
        .await
        .unwrap();

    let tag = |name: &str| json!({"repository": "octo/app", "tag": name, "commit": "7777777777777777777777777777777777777777"});
    let (_, answer) = send_event(&t, "", tag("v1.2")).await;
    let mut names: Vec<_> = started_ids(&answer).into_iter().map(|(p, _)| p).collect();
    names.sort();
    assert_eq!(names, ["everything", "release"], "{answer}");
    let (_, answer) = send_event(&t, "", tag("refs/tags/v0.9")).await;
    let names: Vec<_> = started_ids(&answer).into_iter().map(|(p, _)| p).collect();
    assert_eq!(names, ["everything"], "{answer}");
    let (_, answer) = send_event(&t, "", push("main", &[])).await;
    let names: Vec<_> = started_ids(&answer).into_iter().map(|(p, _)| p).collect();
    assert_eq!(names, ["everything"], "{answer}");
    assert_eq!(execution_count(&t, "release").await, 1);
    assert_eq!(execution_count(&t, "everything").await, 3);
    assert_eq!(execution_count(&t, "untriggered").await, 0);
}

#[tokio::test]
async fn one_execution_per_pipeline_pins_every_firing_source_action() {
    let t = start_with(manual_config()).await;
    let declaration = pipeline("two-sources")
        .pipeline_type(PipelineType::V2)
        .triggers(trigger(
            "App",
            vec![GitPushFilter::builder().build()],
            vec![],
        ))
        .triggers(trigger(
            "Lib",
            vec![GitPushFilter::builder().build()],
            vec![],
        ))
        .stages(stage(
            "Source",
            vec![
                connection_source("App", "octo/app", "AppOutput"),
                connection_source("Lib", "octo/app", "LibOutput"),
            ],
        ))
        .stages(stage("Build", vec![codebuild("Build", "AppOutput", &[])]))
        .build()
        .unwrap();
    t.client
        .create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let (_, answer) = send_event(&t, "", push("main", &["x"])).await;
    let started = started_ids(&answer);
    assert_eq!(started.len(), 1, "{answer}");
    assert_eq!(answer["started"][0]["sourceActions"], json!(["App", "Lib"]));
    let execution = wait_finished(&t.client, "two-sources", &started[0].1).await;
    let revisions: Vec<_> = execution
        .artifact_revisions()
        .iter()
        .map(|r| r.revision_id().unwrap())
        .collect();
    assert_eq!(revisions, ["4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b"; 2]);
}

#[tokio::test]
async fn events_go_to_the_account_and_region_asked_for() {
    let t = start_with(manual_config()).await;
    let europe = t.client_for("111122223333", "eu-west-1");
    europe
        .create_pipeline()
        .pipeline(v2_pipeline("app", "octo/app", vec![filtered_trigger()]))
        .send()
        .await
        .unwrap();
    let event = push("main", &["src/lib.rs"]);
    let (_, answer) = send_event(&t, "", event.clone()).await;
    assert!(
        started_ids(&answer).is_empty(),
        "default scope has no pipeline: {answer}"
    );
    let (_, answer) = send_event(&t, "?account=111122223333&region=eu-west-1", event.clone()).await;
    assert_eq!(started_ids(&answer).len(), 1, "{answer}");

    let response = reqwest::Client::new()
        .post(format!("{}/_codepipeline-local/git-events", t.url))
        .header("x-codepipeline-local-account", "111122223333")
        .header("x-codepipeline-local-region", "eu-west-1")
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(started_ids(&answer).len(), 1, "{answer}");
    let summaries = europe
        .list_pipeline_executions()
        .pipeline_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(summaries.pipeline_execution_summaries().len(), 2);
}

#[tokio::test]
async fn malformed_events_are_refused() {
    let mut config = manual_config();
    config.max_webhook_payload_bytes = 1024;
    let t = start_with(config).await;
    let cases = [
        ("", json!({"branch": "main", "commit": "abc"})),
        ("", json!({"repository": "octo/app", "commit": "abc"})),
        (
            "",
            json!({"repository": "octo/app", "branch": "main", "tag": "v1", "commit": "abc"}),
        ),
        (
            "",
            json!({"repository": "octo/app", "branch": "main", "commit": ""}),
        ),
        (
            "",
            json!({"repository": "octo/app", "branches": "main", "commit": "abc"}),
        ),
        (
            "",
            json!({"repository": "octo/app", "commit": "abc", "pullRequest": {"event": "MERGED", "destinationBranch": "main"}}),
        ),
        (
            "?account=12",
            json!({"repository": "octo/app", "branch": "main", "commit": "abc"}),
        ),
    ];
    for (query, event) in cases {
        let (status, answer) = send_event(&t, query, event.clone()).await;
        assert_eq!(status, 400, "{event}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    let big = json!({"repository": "octo/app", "branch": "main", "commit": "abc", "files": vec!["src/file.rs"; 200]});
    let (status, _) = send_event(&t, "", big).await;
    assert_eq!(status, 413);
}
