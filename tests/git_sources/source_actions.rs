//! What source actions do with a repository: a missing branch, a clone ref checked out by the
//! local executor, and a path that is not a git repository.

use super::*;

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
