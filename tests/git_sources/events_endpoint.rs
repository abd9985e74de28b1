//! The git events endpoint: changed files read from the repository.

use super::*;

#[tokio::test]
async fn the_git_events_endpoint_reads_the_changed_files_from_the_repository() {
    let repo = repository();
    let data = tempfile::tempdir().unwrap();
    let t = server(repo.path(), data.path(), false).await;
    let c = &t.client;
    create_connection_pipeline(c, "filtered", PipelineType::V2, vec![src_trigger()]).await;
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
