//! Commits that start pipelines: the commit, its variables and tree, and trigger filters on
//! the files it changed.

use super::*;

#[tokio::test]
async fn a_commit_starts_the_pipeline_with_the_commit_its_variables_and_its_tree() {
    let repo = repository();
    let data = tempfile::tempdir().unwrap();
    let t = server(repo.path(), data.path(), false).await;
    let c = &t.client;
    create_connection_pipeline(c, "app", PipelineType::V1, vec![]).await;
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
