//! CodeBuild actions run by the local executor against moto's server (S3 for artifacts, SSM
//! for parameter-store variables, CodeBuild for `--codebuild-endpoint` projects), started per
//! test: the buildspec of the source or of the project runs as CodeBuild runs it.

mod common;

use aws_sdk_codepipeline::types::*;
use codepipeline_local::actions::artifacts::zip_bytes;
use common::codebuild::*;
use common::engine::*;
use common::real::*;
use common::*;

const BUILDSPEC: &str = r#"version: 0.2
env:
  variables:
    STAGE: beta
  parameter-store:
    GREETING: /app/greeting
  exported-variables:
    - VERSION
phases:
  install:
    runtime-versions:
      nodejs: 20
    commands:
      - mkdir -p dist/docs
  build:
    commands:
      - echo "$GREETING from $STAGE" > dist/index.html
      - echo scratch > dist/scratch.tmp
      - echo manual > dist/docs/manual.txt
      - VERSION=$(cat version.txt)
      - env | grep '^CODEBUILD_' | sort > dist/codebuild.env
  post_build:
    commands:
      - echo post build done
artifacts:
  files:
    - '**/*'
  base-directory: dist
  exclude-paths: ['**/*.tmp', 'docs/**/*']
  secondary-artifacts:
    Docs:
      base-directory: dist/docs
      files: '*.txt'
      discard-paths: yes
reports:
  tests:
    files: ['report.xml']
cache:
  paths: ['/root/.cache/**/*']
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sources_buildspec_builds_exports_a_variable_and_packs_artifacts() {
    let moto = Moto::start().await;
    let version = source_with(
        &moto,
        &[
            ("buildspec.yml", BUILDSPEC.as_bytes()),
            ("version.txt", b"1.2.3"),
        ],
    )
    .await;
    ssm(&moto)
        .put_parameter()
        .name("/app/greeting")
        .value("hello")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    // No project is known: the primary source's buildspec.yml runs.
    let t = start_with(build_config(&moto)).await;
    let c = &t.client;
    let mut reader = commands(
        &["mkdir -p out", "echo \"$BUILT_VERSION\" > out/version.txt"],
        "Site",
        Some(("Out", &["out/*"])),
    );
    reader.environment_variables = Some(vec![EnvironmentVariable::builder()
        .name("BUILT_VERSION")
        .value("#{BuildVariables.VERSION}")
        .build()
        .unwrap()]);
    let id = run(
        c,
        "repo-build",
        vec![
            stage(
                "Build",
                vec![build_action("unknown-project", &["Site", "Docs"])],
            ),
            stage("Read", vec![reader]),
        ],
    )
    .await;
    let build = action_detail(c, "repo-build", &id, "Build").await;
    let done = execution(c, "repo-build", &id).await;
    assert_eq!(
        done.status(),
        Some(&PipelineExecutionStatus::Succeeded),
        "{build:?}\n{}",
        log_of(&build)
    );
    assert_eq!(output_variables(&build)["VERSION"], "1.2.3");

    // The primary artifact: base-directory, exclude-paths applied.
    let s3 = moto.s3();
    let location = |detail: &ActionExecutionDetail, i: usize| {
        let l = detail.output().unwrap().output_artifacts()[i]
            .s3_location()
            .unwrap()
            .clone();
        (
            l.bucket().unwrap().to_string(),
            l.key().unwrap().to_string(),
        )
    };
    let (bucket, key) = location(&build, 0);
    let site = get(&s3, &bucket, &key).await;
    assert_eq!(zip_names(&site), ["codebuild.env", "index.html"]);
    assert_eq!(file_in_zip(&site, "index.html"), "hello from beta\n");
    let env = file_in_zip(&site, "codebuild.env");
    for expected in [
        "CODEBUILD_INITIATOR=codepipeline/repo-build\n",
        &format!("CODEBUILD_RESOLVED_SOURCE_VERSION={version}\n"),
        "CODEBUILD_BUILD_NUMBER=1\n",
        "CODEBUILD_BUILD_ID=unknown-project:",
        "CODEBUILD_BUILD_ARN=arn:aws:codebuild:us-east-1:000000000000:build/unknown-project:",
        "CODEBUILD_SRC_DIR=",
        "CODEBUILD_SRC_DIR_Src=",
        "CODEBUILD_BUILD_SUCCEEDING=1\n",
    ] {
        assert!(env.contains(expected), "{expected} in {env}");
    }
    // The secondary artifact, by output artifact name.
    let (bucket, key) = location(&build, 1);
    let docs = get(&s3, &bucket, &key).await;
    assert_eq!(zip_names(&docs), ["manual.txt"]);

    // The exported variable reached the later action.
    let reader = action_detail(c, "repo-build", &id, "Commands").await;
    let (bucket, key) = location(&reader, 0);
    assert_eq!(
        file_in_zip(&get(&s3, &bucket, &key).await, "out/version.txt"),
        "1.2.3\n"
    );

    // The log: phases, notes on what was skipped; its tail is the summary.
    let log = log_of(&build);
    for expected in [
        "Entering phase INSTALL",
        "runtime-versions noted and skipped",
        "nodejs: 20",
        "reports accepted",
        "cache accepted",
        "Phase complete: POST_BUILD State: SUCCEEDED",
        "buildspec.yml of the primary source",
    ] {
        assert!(log.contains(expected), "{expected} in {log}");
    }
    let summary = build
        .output()
        .unwrap()
        .execution_result()
        .unwrap()
        .external_execution_summary()
        .unwrap();
    assert!(summary.contains("post build done"), "{summary}");
    // The admin API serves the same log (the dashboard follows it there).
    let served = t
        .get(&format!(
            "/_codepipeline-local/logs/{}",
            build.action_execution_id().unwrap()
        ))
        .await;
    assert_eq!(served.status, 200);
    assert_eq!(served.body["text"].as_str().unwrap(), log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_follow_on_failure_and_finally_and_name_the_phase_and_command() {
    let moto = Moto::start().await;
    let buildspec = r#"version: 0.2
phases:
  install:
    on-failure: CONTINUE
    commands:
      - test -f no-such-file
  build:
    commands:
      - echo building
      - sh -c 'exit 3'
      - echo never
    finally:
      - echo finally ran
  post_build:
    commands:
      - echo post build sees $CODEBUILD_BUILD_SUCCEEDING
"#;
    source_with(&moto, &[("buildspec.yml", buildspec.as_bytes())]).await;
    let t = start_with(build_config(&moto)).await;
    let c = &t.client;
    let id = run(
        c,
        "failing-build",
        vec![stage("Build", vec![build_action("p", &[])])],
    )
    .await;
    let build = action_detail(c, "failing-build", &id, "Build").await;
    assert_eq!(build.status(), Some(&ActionExecutionStatus::Failed));
    assert_eq!(
        error_message(&build),
        "Build terminated with state: FAILED. Phase: INSTALL, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: test -f no-such-file. Reason: exit status 1"
    );
    let log = log_of(&build);
    for expected in [
        "building\n",
        "Command did not exit successfully sh -c 'exit 3' exit status 3",
        "finally ran\n",
        "post build sees 0\n",
        "Phase complete: BUILD State: FAILED",
    ] {
        assert!(log.contains(expected), "{expected} in {log}");
    }
    assert!(!log.contains("never\n"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparsable_buildspec_or_an_unreadable_parameter_fails_the_action_saying_why() {
    let moto = Moto::start().await;
    let broken = "version: 0.2\nphases:\n  build:\n    commands: make\n";
    source_with(&moto, &[("buildspec.yml", broken.as_bytes())]).await;
    let t = start_with(build_config(&moto)).await;
    let c = &t.client;
    let id = run(
        c,
        "broken",
        vec![stage("Build", vec![build_action("p", &[])])],
    )
    .await;
    let build = action_detail(c, "broken", &id, "Build").await;
    assert_eq!(build.status(), Some(&ActionExecutionStatus::Failed));
    let message = error_message(&build);
    assert!(
        message.starts_with("YAML_FILE_ERROR: buildspec.yml is not a valid buildspec at line 4:"),
        "{message}"
    );
    assert!(message.contains("phases.build.commands"), "{message}");

    // A project whose buildspec reads a parameter that does not exist.
    let mut config = build_config(&moto);
    config.codebuild_projects = codepipeline_local::config::parse_file(
        r#"
        [[codebuild_projects]]
        name = "needs-secret"
        buildspec = """
version: 0.2
env:
  parameter-store:
    DB_PASSWORD: /missing/parameter
phases:
  build:
    commands: [echo never]
"""
        "#,
    )
    .unwrap()
    .codebuild_projects;
    let t = start_with(config).await;
    let c = &t.client;
    let id = run(
        c,
        "missing-parameter",
        vec![stage("Build", vec![build_action("needs-secret", &[])])],
    )
    .await;
    let build = action_detail(c, "missing-parameter", &id, "Build").await;
    assert_eq!(
        error_message(&build),
        "Decrypted Variables Error: parameter does not exist: /missing/parameter (variable DB_PASSWORD)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_from_the_codebuild_endpoint_runs_with_its_and_the_actions_variables() {
    use aws_sdk_codebuild::types::*;
    let moto = Moto::start().await;
    source_with(&moto, &[("ci/build.yml", b"version: 0.2\nenv:\n  exported-variables: [FROM_PROJECT, FROM_ACTION, FROM_SSM, DB_USER, TOKEN]\nphases:\n  build:\n    commands:\n      - TOKEN=$(cat token.txt)\n"), ("token.txt", b"t0k3n")]).await;
    ssm(&moto)
        .put_parameter()
        .name("/ci/value")
        .value("from ssm")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let variable = |name: &str, value: &str, kind: EnvironmentVariableType| {
        EnvironmentVariable::builder()
            .name(name)
            .value(value)
            .r#type(kind)
            .build()
            .unwrap()
    };
    codebuild_client(&moto)
        .create_project()
        .name("remote-project")
        .source(
            ProjectSource::builder()
                .r#type(SourceType::Codepipeline)
                .location("codepipeline")
                .buildspec("ci/build.yml")
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
                .environment_variables(variable(
                    "FROM_PROJECT",
                    "project value",
                    EnvironmentVariableType::Plaintext,
                ))
                .environment_variables(variable(
                    "FROM_ACTION",
                    "overridden by the action",
                    EnvironmentVariableType::Plaintext,
                ))
                .environment_variables(variable(
                    "FROM_SSM",
                    "/ci/value",
                    EnvironmentVariableType::ParameterStore,
                ))
                .build()
                .unwrap(),
        )
        .service_role("arn:aws:iam::123456789012:role/codebuild")
        .send()
        .await
        .unwrap();
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .endpoint_url(&moto.url)
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
        .create_secret()
        .name("ci/db")
        .secret_string(r#"{"user":"builder","password":"pw"}"#)
        .send()
        .await
        .unwrap();
    let mut config = build_config(&moto);
    config.codebuild_endpoint = Some(moto.url.clone());
    config.secretsmanager_endpoint = Some(moto.url.clone());
    let t = start_with(config).await;
    let c = &t.client;
    let build = action(
        "Build",
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &["Src"],
        &[],
    )
    .configuration("ProjectName", "remote-project")
    .configuration(
        "EnvironmentVariables",
        r#"[{"name":"FROM_ACTION","value":"action value","type":"PLAINTEXT"},{"name":"DB_USER","value":"ci/db:user","type":"SECRETS_MANAGER"}]"#,
    )
    .build()
    .unwrap();
    let missing = action(
        "Missing",
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &["Src"],
        &[],
    )
    .configuration("ProjectName", "no-such-project")
    .build()
    .unwrap();
    let id = run(c, "remote", vec![stage("Build", vec![build, missing])]).await;
    let build = action_detail(c, "remote", &id, "Build").await;
    assert_eq!(
        build.status(),
        Some(&ActionExecutionStatus::Succeeded),
        "{build:?}\n{}",
        log_of(&build)
    );
    let variables = output_variables(&build);
    assert_eq!(variables["FROM_PROJECT"], "project value");
    assert_eq!(variables["FROM_ACTION"], "action value");
    assert_eq!(variables["FROM_SSM"], "from ssm");
    assert_eq!(variables["DB_USER"], "builder", "the secret's JSON key");
    assert_eq!(variables["TOKEN"], "t0k3n");
    let log = log_of(&build);
    assert!(
        log.contains("project remote-project from the CodeBuild endpoint, buildspec ci/build.yml of the primary source"),
        "{log}"
    );
    // With an endpoint, a project it does not know fails as in AWS.
    let missing = action_detail(c, "remote", &id, "Missing").await;
    assert_eq!(
        error_message(&missing),
        "Error calling startBuild: Project cannot be found: arn:aws:codebuild:us-east-1:000000000000:project/no-such-project"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loaded_templates_project_runs_its_inline_buildspec_with_its_typed_variables() {
    let moto = Moto::start().await;
    source_with(&moto, &[("readme.txt", b"no buildspec here")]).await;
    ssm(&moto)
        .put_parameter()
        .name("/ci/token")
        .value("s3cr3t")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("build.yaml");
    std::fs::write(
        &template,
        r#"Resources:
  BuildProject:
    Type: AWS::CodeBuild::Project
    Properties:
      Name: templated
      ServiceRole: arn:aws:iam::000000000000:role/build
      Artifacts:
        Type: CODEPIPELINE
      Source:
        Type: CODEPIPELINE
        BuildSpec: |
          version: 0.2
          env:
            exported-variables: [FROM_TEMPLATE, TOKEN_LENGTH]
          phases:
            build:
              commands:
                - FROM_TEMPLATE="$TEAM $(cat readme.txt)"
                - TOKEN_LENGTH=${#TOKEN}
      Environment:
        Type: LINUX_CONTAINER
        ComputeType: BUILD_GENERAL1_SMALL
        Image: aws/codebuild/standard:7.0
        EnvironmentVariables:
          - Name: TEAM
            Value: payments
          - Name: TOKEN
            Type: PARAMETER_STORE
            Value: /ci/token
"#,
    )
    .unwrap();
    let mut config = build_config(&moto);
    config.load = vec![template];
    let t = start_with(config).await;
    let c = &t.client;
    let id = run(
        c,
        "templated",
        vec![stage("Build", vec![build_action("templated", &[])])],
    )
    .await;
    let build = action_detail(c, "templated", &id, "Build").await;
    assert_eq!(
        build.status(),
        Some(&ActionExecutionStatus::Succeeded),
        "{build:?}\n{}",
        log_of(&build)
    );
    let variables = output_variables(&build);
    assert_eq!(variables["FROM_TEMPLATE"], "payments no buildspec here");
    assert_eq!(variables["TOKEN_LENGTH"], "6", "the parameter's value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_project_and_no_buildspec_the_build_stays_simulated() {
    let moto = Moto::start().await;
    source_with(&moto, &[("readme.txt", b"nothing to build")]).await;
    let t = start_with(build_config(&moto)).await;
    let c = &t.client;
    let id = run(
        c,
        "nothing",
        vec![stage("Build", vec![build_action("unknown", &["Built"])])],
    )
    .await;
    let build = action_detail(c, "nothing", &id, "Build").await;
    assert_eq!(build.status(), Some(&ActionExecutionStatus::Succeeded));
    assert_eq!(
        build
            .output()
            .unwrap()
            .execution_result()
            .unwrap()
            .external_execution_summary(),
        Some("Simulated: no CodeBuild project unknown is known and the primary source has no buildspec.yml")
    );
    // Nothing was packed: the simulation writes no artifact.
    assert!(keys(&moto.s3(), "artifact-bucket", "nothing/Built/")
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_source_picks_the_directory_the_build_runs_in() {
    let moto = Moto::start().await;
    source_with(&moto, &[("readme.txt", b"from the app")]).await;
    let s3 = moto.s3();
    put(
        &s3,
        "source-bucket",
        "tools.zip",
        zip_bytes(&[(
            "buildspec.yml",
            b"version: 0.2\nenv:\n  exported-variables: [HERE, OTHER]\nphases:\n  build:\n    commands:\n      - HERE=$(basename $(pwd))\n      - OTHER=$(cat $CODEBUILD_SRC_DIR_Src/readme.txt)\n",
        )]),
    )
    .await;
    let t = start_with(build_config(&moto)).await;
    let c = &t.client;
    let tools = action(
        "Tools",
        type_id(ActionCategory::Source, ActionOwner::Aws, "S3"),
        &[],
        &["Tools"],
    )
    .configuration("S3Bucket", "source-bucket")
    .configuration("S3ObjectKey", "tools.zip")
    .build()
    .unwrap();
    let build = action(
        "Build",
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &["Src", "Tools"],
        &[],
    )
    .configuration("ProjectName", "two-sources")
    .configuration("PrimarySource", "Tools")
    .build()
    .unwrap();
    let id = run_with_sources(
        c,
        "two-sources",
        vec![tools],
        vec![stage("Build", vec![build])],
    )
    .await;
    let build = action_detail(c, "two-sources", &id, "Build").await;
    assert_eq!(
        build.status(),
        Some(&ActionExecutionStatus::Succeeded),
        "{build:?}\n{}",
        log_of(&build)
    );
    let variables = output_variables(&build);
    assert_eq!(
        variables["HERE"], "src",
        "the primary source is $CODEBUILD_SRC_DIR"
    );
    assert_eq!(variables["OTHER"], "from the app");
}
