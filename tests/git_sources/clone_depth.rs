//! CodeBuild's `GitCloneDepth` on a clone reference (`CODEBUILD_CLONE_REF`): the local executor
//! checks the repository out with that many commits of history. Projects from moto's CodeBuild
//! (`--codebuild-endpoint`, `Source.GitCloneDepth`) and from `[[codebuild_projects]]`
//! (`git_clone_depth`); the build counts its commits and exports the count.

use super::*;
use codepipeline_local::config::CodeBuildProject;
use common::codebuild::codebuild_client;
use common::real::{output_variables, Moto};

const COUNTING: &str = "version: 0.2
env:
  exported-variables: [DEPTH, HEAD]
phases:
  build:
    commands:
      - DEPTH=$(git rev-list --count HEAD)
      - HEAD=$(git rev-parse HEAD)
";

fn build(name: &str, project: &str) -> ActionDeclaration {
    action(
        name,
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &["Src"],
        &[],
    )
    .configuration("ProjectName", project)
    .build()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_ref_is_checked_out_with_the_projects_git_clone_depth() {
    use aws_sdk_codebuild::types::*;
    let repo = repository();
    commit(repo.path(), &[("src/b.py", "b\n")], "Second");
    let head = commit(repo.path(), &[("src/c.py", "c\n")], "Third");
    let moto = Moto::start().await;
    codebuild_client(&moto)
        .create_project()
        .name("shallow")
        .source(
            ProjectSource::builder()
                .r#type(SourceType::Codepipeline)
                .location("codepipeline")
                .buildspec(COUNTING)
                .git_clone_depth(2)
                .build()
                .unwrap(),
        )
        .artifacts(
            ProjectArtifacts::builder()
                .r#type(ArtifactsType::Codepipeline)
                .location("codepipeline")
                .build()
                .unwrap(),
        )
        .environment(
            ProjectEnvironment::builder()
                .r#type(EnvironmentType::LinuxContainer)
                .compute_type(ComputeType::BuildGeneral1Small)
                .image("aws/codebuild/standard:7.0")
                .build()
                .unwrap(),
        )
        .service_role("arn:aws:iam::123456789012:role/codebuild")
        .send()
        .await
        .unwrap();
    let configured = |name: &str, depth: Option<u32>| CodeBuildProject {
        name: name.to_string(),
        buildspec: Some(COUNTING.to_string()),
        git_clone_depth: depth,
        ..CodeBuildProject::default()
    };
    let data = tempfile::tempdir().unwrap();
    let t = start_with(Config {
        data_dir: Some(data.path().to_path_buf()),
        repositories: vec![Repository {
            id: "octo/app".into(),
            path: repo.path().to_path_buf(),
            connection_arn: None,
            provider_type: None,
        }],
        local_executor: true,
        codebuild_endpoint: Some(moto.url.clone()),
        codebuild_projects: vec![configured("single", Some(1)), configured("full", Some(0))],
        ..manual_config()
    })
    .await;
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
            pipeline("depth")
                .pipeline_type(PipelineType::V2)
                .stages(stage("Source", vec![source]))
                .stages(stage(
                    "Build",
                    vec![
                        build("Shallow", "shallow"),
                        build("Single", "single"),
                        build("Full", "full"),
                    ],
                ))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "depth").await;
    let finished = wait_finished(c, "depth", &id).await;
    for (action, depth) in [("Shallow", "2"), ("Single", "1"), ("Full", "3")] {
        let detail = action_detail(c, "depth", &id, action).await;
        assert_eq!(
            detail.status(),
            Some(&ActionExecutionStatus::Succeeded),
            "{action}: {}",
            error_message(&detail)
        );
        let variables = output_variables(&detail);
        assert_eq!(variables["DEPTH"], depth, "{action}");
        assert_eq!(variables["HEAD"], head, "{action}");
    }
    assert_eq!(finished.status(), Some(&PipelineExecutionStatus::Succeeded));
}
