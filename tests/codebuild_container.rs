//! CodeBuild builds in containers (`--executor container`): needs a container engine, so it
//! runs only with CODEPIPELINE_LOCAL_CONTAINER_TESTS=1 (the GitHub workflow's
//! `container-builds` job, with `alpine:3` pulled); moto's server is started by the test.

mod common;

use aws_sdk_codepipeline::types::*;
use common::codebuild::*;
use common::engine::*;
use common::real::*;
use common::*;

/// `--executor container` needs a container engine: run with CODEPIPELINE_LOCAL_CONTAINER_TESTS=1
/// where one runs (the GitHub workflow's `container-builds` job, with `alpine:3` pulled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_container_the_build_runs_in_the_mapped_image_and_a_timed_out_one_is_removed() {
    if std::env::var("CODEPIPELINE_LOCAL_CONTAINER_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set CODEPIPELINE_LOCAL_CONTAINER_TESTS=1 where docker runs");
        return;
    }
    let moto = Moto::start().await;
    let buildspec = r#"version: 0.2
env:
  exported-variables: [OS]
phases:
  build:
    commands:
      - OS=$(. /etc/os-release && echo $ID)
      - mkdir -p out && echo "built in $OS" > out/where.txt
      - if [ "$SLEEP" = yes ]; then sleep 600; fi
artifacts:
  base-directory: out
  files: ['*']
"#;
    source_with(&moto, &[("buildspec.yml", buildspec.as_bytes())]).await;
    let mut config = build_config(&moto);
    config.executor = "container".into();
    config
        .codebuild_images
        .push(("aws/codebuild/standard:7.0".into(), "alpine:3".into()));
    config.codebuild_projects = codepipeline_local::config::parse_file(
        "[[codebuild_projects]]\nname = \"in-container\"\nimage = \"aws/codebuild/standard:7.0\"\n[[codebuild_projects]]\nname = \"slow\"\nimage = \"aws/codebuild/standard:7.0\"\n[codebuild_projects.env]\nvariables = { SLEEP = \"yes\" }\n",
    )
    .unwrap()
    .codebuild_projects;
    config.local_executor_timeout = std::time::Duration::from_secs(5);
    let t = start_with(config).await;
    let c = &t.client;
    let id = run(
        c,
        "container",
        vec![stage("Build", vec![build_action("in-container", &["Out"])])],
    )
    .await;
    let build = action_detail(c, "container", &id, "Build").await;
    assert_eq!(
        build.status(),
        Some(&ActionExecutionStatus::Succeeded),
        "{build:?}\n{}",
        log_of(&build)
    );
    assert_eq!(output_variables(&build)["OS"], "alpine");
    let l = build.output().unwrap().output_artifacts()[0]
        .s3_location()
        .unwrap()
        .clone();
    let bytes = get(&moto.s3(), l.bucket().unwrap(), l.key().unwrap()).await;
    assert_eq!(file_in_zip(&bytes, "where.txt"), "built in alpine\n");

    let id = run(
        c,
        "container-timeout",
        vec![stage("Build", vec![build_action("slow", &[])])],
    )
    .await;
    let slow = action_detail(c, "container-timeout", &id, "Build").await;
    assert_eq!(slow.status(), Some(&ActionExecutionStatus::Failed));
    let name = format!("codepipeline-local-{}", slow.action_execution_id().unwrap());
    wait_for("the timed-out build's container to be removed", || async {
        let out = std::process::Command::new("docker")
            .args(["ps", "-a", "-q", "--filter", &format!("name={name}")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .is_empty()
            .then_some(())
    })
    .await;
}
