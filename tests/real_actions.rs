//! Actions that do real work, against a real S3-compatible server on loopback (moto's server,
//! started per test as a child process: `python3 -m moto.server`; scripts/test-prereqs.sh installs
//! it): the S3 source copies the object into the artifact store, a job worker written with the AWS
//! SDK for Rust downloads and uploads artifacts through the job's S3 locations and credentials, S3
//! deploy extracts them, the local executor runs Commands and CodeBuild actions (Lambda invoke:
//! `tests/lambda_actions.rs`; hostile artifacts and killed processes:
//! `tests/hostile_artifacts.rs`).

mod common;

use aws_sdk_codepipeline::types::*;
use codepipeline_local::actions::artifacts::{zip_bytes, zip_entries};
use codepipeline_local::config::Config;
use codepipeline_local::engine::behavior::Behavior;
use common::engine::*;
use common::real::*;
use common::*;
use std::time::Duration;

/// The contents of one file of a zip.
fn file_in_zip(bytes: &[u8], name: &str) -> String {
    let entries = zip_entries(bytes).unwrap();
    let (_, contents) = entries
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} not in the zip: {:?}", names(&entries)));
    String::from_utf8(contents.clone()).unwrap()
}

fn names(entries: &[(String, Vec<u8>)]) -> Vec<&str> {
    entries.iter().map(|(n, _)| n.as_str()).collect()
}

// ---- tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_source_a_job_worker_and_s3_deploy_move_real_artifacts() {
    let moto = Moto::start().await;
    let s3 = moto.s3();
    create_bucket(&s3, "source-bucket", true).await;
    create_bucket(&s3, "artifact-bucket", false).await;
    create_bucket(&s3, "site-bucket", false).await;
    let source_zip = zip_bytes(&[("hello.txt", b"hello from the source")]);
    let (version, etag) = put(&s3, "source-bucket", "app.zip", source_zip.clone()).await;
    assert!(!version.is_empty(), "moto versions the source bucket");

    let mut config = real_config(&moto);
    config.actions = vec![rule("CodeBuild", Behavior::Worker)];
    let t = start_with(config).await;
    let c = &t.client;
    let declaration = pipeline("real-flow")
        .stages(stage(
            "Source",
            vec![source("source-bucket", "app.zip", "Src")],
        ))
        .stages(stage("Build", vec![codebuild("Build", "Src", &["Built"])]))
        .stages(stage(
            "Deploy",
            vec![s3_deploy("Built", "site-bucket", "site")],
        ))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "real-flow").await;

    // A job worker with the AWS SDK for Rust: poll, download the input artifact through the
    // job's S3 location and credentials, upload the output artifact, report success.
    let codebuild_id = type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild");
    let job = wait_for("the build job", || async {
        c.poll_for_jobs()
            .action_type_id(codebuild_id.clone())
            .send()
            .await
            .unwrap()
            .jobs
            .and_then(|mut jobs| jobs.pop())
    })
    .await;
    let data = job.data().unwrap();
    let credentials = data.artifact_credentials().unwrap();
    assert_eq!(credentials.access_key_id(), "test");
    let worker_s3 = s3_client(
        &moto.url,
        credentials.access_key_id(),
        credentials.secret_access_key(),
        credentials.session_token(),
    );
    let input = data.input_artifacts()[0]
        .location()
        .unwrap()
        .s3_location()
        .unwrap();
    assert_eq!(input.bucket_name(), "artifact-bucket");
    assert!(
        input.object_key().starts_with("real-flow/Src/"),
        "AWS's layout PIPELINE/ARTIFACT/KEY: {}",
        input.object_key()
    );
    // The source object was copied into the artifact store as it is.
    let downloaded = get(&worker_s3, input.bucket_name(), input.object_key()).await;
    assert_eq!(downloaded, source_zip);
    assert_eq!(
        data.input_artifacts()[0].revision(),
        Some(version.as_str()),
        "the input artifact's revision is the source object's version"
    );
    let text = file_in_zip(&downloaded, "hello.txt");
    let output = data.output_artifacts()[0]
        .location()
        .unwrap()
        .s3_location()
        .unwrap();
    assert!(output.object_key().starts_with("real-flow/Built/"));
    let built = zip_bytes(&[("index.html", text.to_uppercase().as_bytes())]);
    put(&worker_s3, output.bucket_name(), output.object_key(), built).await;
    c.put_job_success_result()
        .job_id(job.id().unwrap())
        .send()
        .await
        .unwrap();

    let done = wait_finished(c, "real-flow", &id).await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Succeeded));
    // S3 deploy extracted the worker's output artifact.
    assert_eq!(
        get(&s3, "site-bucket", "site/index.html").await,
        b"HELLO FROM THE SOURCE"
    );
    let head = s3
        .head_object()
        .bucket("site-bucket")
        .key("site/index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/html"));

    // The source's revision and output variables are the object's.
    let revision = &done.artifact_revisions()[0];
    assert_eq!(revision.revision_id(), Some(version.as_str()));
    assert_eq!(revision.revision_change_identifier(), Some(etag.as_str()));
    let source_detail = action_detail(c, "real-flow", &id, "Source").await;
    let variables = output_variables(&source_detail);
    assert_eq!(variables["BucketName"], "source-bucket");
    assert_eq!(variables["ObjectKey"], "app.zip");
    assert_eq!(variables["ETag"], etag);
    assert_eq!(variables["VersionId"], version);
    let state = stage_state(c, "real-flow", "Source").await;
    assert_eq!(
        state.action_states()[0]
            .current_revision()
            .map(|r| r.revision_id()),
        Some(version.as_str())
    );
    // One artifact object per produced artifact, under AWS's layout.
    assert_eq!(
        keys(&s3, "artifact-bucket", "real-flow/Src/").await.len(),
        1
    );
    assert_eq!(
        keys(&s3, "artifact-bucket", "real-flow/Built/").await.len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_executor_builds_output_artifacts_with_commands_and_codebuild() {
    let moto = Moto::start().await;
    let s3 = moto.s3();
    create_bucket(&s3, "source-bucket", true).await;
    create_bucket(&s3, "artifact-bucket", false).await;
    create_bucket(&s3, "site-bucket", false).await;
    put(
        &s3,
        "source-bucket",
        "app.zip",
        zip_bytes(&[
            ("hello.txt", b"hello from the source"),
            ("version.txt", b"1.2.3"),
        ]),
    )
    .await;

    let mut config = real_config(&moto);
    config.local_executor = true;
    config.codebuild_projects = codepipeline_local::config::parse_file(
        r#"
        [[codebuild_projects]]
        name = "local-build"
        [codebuild_projects.env]
        variables = { GREETING = "built by codebuild" }
        exported_variables = ["VERSION"]
        [codebuild_projects.phases]
        pre_build = ["mkdir -p dist"]
        build = ["echo \"$GREETING: $(cat hello.txt)\" > dist/index.html", "VERSION=$(cat version.txt)"]
        [codebuild_projects.artifacts]
        files = ["**/*"]
        base_directory = "dist"
        "#,
    )
    .unwrap()
    .codebuild_projects;
    let t = start_with(config).await;
    let c = &t.client;

    let mut commands_action = commands(
        &[
            "mkdir -p out",
            "tr a-z A-Z < hello.txt > out/upper.txt",
            "echo \"$STAGE_NAME\" > out/stage.txt",
            "echo \"$FROM_ENV #{SourceVariables.BucketName}\" > out/env.txt",
            "SHOUT=$(cat out/upper.txt)",
            "echo done building",
        ],
        "Src",
        Some(("CommandsOut", &["out/**/*"])),
    );
    commands_action.output_variables = Some(vec!["SHOUT".into()]);
    commands_action.namespace = Some("Cmd".into());
    commands_action.environment_variables = Some(vec![EnvironmentVariable::builder()
        .name("FROM_ENV")
        .value("#{SourceVariables.ObjectKey}")
        .build()
        .unwrap()]);
    let codebuild_action = action(
        "LocalBuild",
        type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
        &["Src"],
        &["Site"],
    )
    .configuration("ProjectName", "local-build")
    .namespace("BuildVariables")
    .build()
    .unwrap();
    let declaration = pipeline("local-exec")
        .pipeline_type(PipelineType::V2)
        .variables(
            PipelineVariableDeclaration::builder()
                .name("STAGE_NAME")
                .default_value("beta")
                .build()
                .unwrap(),
        )
        .stages(stage(
            "Source",
            vec![source("source-bucket", "app.zip", "Src")],
        ))
        .stages(stage("Build", vec![commands_action, codebuild_action]))
        .stages(stage(
            "Deploy",
            vec![s3_deploy("Site", "site-bucket", "www")],
        ))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "local-exec").await;
    let done = wait_finished(c, "local-exec", &id).await;
    let commands_detail = action_detail(c, "local-exec", &id, "Commands").await;
    let build_detail = action_detail(c, "local-exec", &id, "LocalBuild").await;
    assert_eq!(
        done.status(),
        Some(&PipelineExecutionStatus::Succeeded),
        "commands: {commands_detail:?}\ncodebuild: {build_detail:?}"
    );

    // The Commands action's output artifact holds the files it built from the input artifact.
    let artifact = commands_detail.output().unwrap().output_artifacts()[0]
        .s3_location()
        .unwrap();
    let bytes = get(&s3, artifact.bucket().unwrap(), artifact.key().unwrap()).await;
    assert_eq!(
        file_in_zip(&bytes, "out/upper.txt"),
        "HELLO FROM THE SOURCE"
    );
    assert_eq!(
        file_in_zip(&bytes, "out/stage.txt"),
        "beta\n",
        "pipeline variables are in the environment"
    );
    assert_eq!(
        file_in_zip(&bytes, "out/env.txt"),
        "app.zip source-bucket\n",
        "variable references in environmentVariables and commands are resolved"
    );
    assert_eq!(
        names(&zip_entries(&bytes).unwrap()),
        ["out/env.txt", "out/stage.txt", "out/upper.txt"],
        "only the declared files"
    );
    assert_eq!(
        output_variables(&commands_detail)["SHOUT"],
        "HELLO FROM THE SOURCE"
    );
    // Logs: the summary ends with the output, the external URL is the log file.
    let result = commands_detail
        .output()
        .unwrap()
        .execution_result()
        .unwrap();
    assert!(
        result
            .external_execution_summary()
            .unwrap()
            .ends_with("done building"),
        "{result:?}"
    );
    let log_url = result.external_execution_url().unwrap();
    let log = std::fs::read_to_string(log_url.strip_prefix("file://").unwrap()).unwrap();
    assert!(
        log.contains("[Container] Running command tr a-z A-Z < hello.txt > out/upper.txt"),
        "{log}"
    );

    // The CodeBuild project's buildspec ran too; its artifact went through S3 deploy.
    assert_eq!(
        get(&s3, "site-bucket", "www/index.html").await,
        b"built by codebuild: hello from the source\n"
    );
    assert_eq!(output_variables(&build_detail)["VERSION"], "1.2.3");
    assert!(build_detail
        .output()
        .unwrap()
        .execution_result()
        .unwrap()
        .external_execution_id()
        .unwrap()
        .starts_with("local-build:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_fails_the_action_with_the_command_and_its_log() {
    let moto = Moto::start().await;
    let s3 = moto.s3();
    create_bucket(&s3, "source-bucket", true).await;
    create_bucket(&s3, "artifact-bucket", false).await;
    put(
        &s3,
        "source-bucket",
        "app.zip",
        zip_bytes(&[("a.txt", b"a")]),
    )
    .await;
    let mut config = real_config(&moto);
    config.local_executor = true;
    let t = start_with(config).await;
    let c = &t.client;
    let declaration = pipeline("failing-commands")
        .pipeline_type(PipelineType::V2)
        .stages(stage(
            "Source",
            vec![source("source-bucket", "app.zip", "Src")],
        ))
        .stages(stage(
            "Build",
            vec![commands(
                &["echo about to fail", "ls no-such-file", "echo never"],
                "Src",
                None,
            )],
        ))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "failing-commands").await;
    let done = wait_finished(c, "failing-commands", &id).await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Failed));
    let detail = action_detail(c, "failing-commands", &id, "Commands").await;
    let message = error_message(&detail);
    assert!(
        message.starts_with("Error while executing command: ls no-such-file. Reason: exit status"),
        "{message}"
    );
    let summary = detail
        .output()
        .unwrap()
        .execution_result()
        .unwrap()
        .external_execution_summary()
        .unwrap()
        .to_string();
    assert!(summary.contains("about to fail"), "{summary}");
    assert!(!summary.contains("never"), "{summary}");
}

#[tokio::test]
async fn with_the_executor_off_a_commands_action_is_simulated_and_nothing_runs() {
    let marker = std::env::temp_dir().join(format!("cpl-marker-{}", uuid::Uuid::new_v4()));
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let declaration = pipeline("no-executor")
        .pipeline_type(PipelineType::V2)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage(
            "Build",
            vec![commands(
                &[&format!("touch {}", marker.display())],
                "Src",
                None,
            )],
        ))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "no-executor").await;
    let done = wait_finished(c, "no-executor", &id).await;
    // Simulated like every AWS action: it succeeds without running anything.
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Succeeded));
    let detail = action_detail(c, "no-executor", &id, "Commands").await;
    assert_eq!(detail.status(), Some(&ActionExecutionStatus::Succeeded));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!marker.exists(), "the command must not have run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_source_object_or_bucket_fails_the_source_action() {
    let moto = Moto::start().await;
    let s3 = moto.s3();
    create_bucket(&s3, "source-bucket", true).await;
    create_bucket(&s3, "artifact-bucket", false).await;
    let t = start_with(real_config(&moto)).await;
    let c = &t.client;
    for (name, bucket, expected) in [
        (
            "missing-key",
            "source-bucket",
            "The object with key 'app.zip' does not exist in the Amazon S3 bucket named 'source-bucket'. Error: Amazon S3:NoSuchKey:The specified key does not exist",
        ),
        (
            "missing-bucket",
            "no-such-bucket",
            "The Amazon S3 bucket named 'no-such-bucket' does not exist. Error: Amazon S3:NoSuchBucket:The specified bucket does not exist",
        ),
    ] {
        let declaration = pipeline(name)
            .stages(stage("Source", vec![source(bucket, "app.zip", "Src")]))
            .stages(stage("Build", vec![codebuild("Build", "Src", &[])]))
            .build()
            .unwrap();
        c.create_pipeline().pipeline(declaration).send().await.unwrap();
        let id = start_execution(c, name).await;
        let done = wait_finished(c, name, &id).await;
        assert_eq!(done.status(), Some(&PipelineExecutionStatus::Failed));
        let detail = action_detail(c, name, &id, "Source").await;
        assert_eq!(error_message(&detail), expected);
    }
}

#[test]
fn the_settings_load_from_flags() {
    use clap::CommandFactory;
    let config = Config::from_args([
        "--s3-endpoint=http://127.0.0.1:9000",
        "--s3-secret-access-key=hunter2",
        "--enable-local-executor",
        "--local-executor-timeout-seconds=5",
        "--real-action-timeout-seconds=7",
        "--artifact-max-entries=10",
        "--artifact-max-uncompressed-bytes=2048",
    ])
    .unwrap();
    assert_eq!(config.real_action_timeout, Duration::from_secs(7));
    assert_eq!(config.artifact_max_entries, 10);
    assert_eq!(config.artifact_max_uncompressed_bytes, 2048);
    assert_eq!(config.artifact_max_compression_ratio, 100, "the default");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "artifact_max_compression_ratio = 20\n").unwrap();
    let from_file = Config::from_args([std::ffi::OsString::from("--config"), file.into()]).unwrap();
    assert_eq!(from_file.artifact_max_compression_ratio, 20);
    assert!(config.local_executor);
    assert_eq!(config.local_executor_timeout, Duration::from_secs(5));
    assert_eq!(config.s3_region(), "us-east-1");
    assert_eq!(config.s3_access_key_id, "test");
    // Shown with the file's key names; `/config` masks the secret (tests/admin.rs).
    let shown = serde_json::to_value(&config).unwrap();
    assert_eq!(shown["s3_endpoint"], "http://127.0.0.1:9000");
    assert_eq!(shown["enable_local_executor"], true);
    assert_eq!(shown["local_executor_timeout_seconds"], 5);
    assert!(!Config::default().local_executor, "off by default");
    let err = Config::from_args(["--lambda-endpoint", "localhost:4566"]).unwrap_err();
    assert!(err.contains("http://"), "{err}");
    let help = codepipeline_local::cli::Cli::command()
        .render_long_help()
        .to_string();
    assert!(
        help.contains("WARNING: runs shell commands on this host"),
        "{help}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_action_running_when_the_emulator_stops_fails_after_the_restart() {
    let moto = Moto::start().await;
    let s3 = moto.s3();
    create_bucket(&s3, "source-bucket", true).await;
    create_bucket(&s3, "artifact-bucket", false).await;
    put(
        &s3,
        "source-bucket",
        "app.zip",
        zip_bytes(&[("a.txt", b"a")]),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = real_config(&moto);
    config.local_executor = true;
    config.data_dir = Some(dir.path().to_path_buf());
    let t = start_with(config.clone()).await;
    let declaration = pipeline("interrupted")
        .pipeline_type(PipelineType::V2)
        .stages(stage(
            "Source",
            vec![source("source-bucket", "app.zip", "Src")],
        ))
        .stages(stage("Build", vec![commands(&["sleep 5"], "Src", None)]))
        .build()
        .unwrap();
    t.client
        .create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(&t.client, "interrupted").await;
    wait_for("the commands to run", || async {
        let state = stage_state(&t.client, "interrupted", "Build").await;
        state
            .action_states()
            .first()
            .and_then(|a| a.latest_execution())
            .filter(|e| e.status() == Some(&ActionExecutionStatus::InProgress))
            .map(|_| ())
    })
    .await;
    t.server.shutdown().await.unwrap();

    let t = start_with(config).await;
    let done = wait_finished(&t.client, "interrupted", &id).await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Failed));
    let detail = action_detail(&t.client, "interrupted", &id, "Commands").await;
    assert_eq!(
        error_message(&detail),
        "The action was interrupted: codepipeline-local stopped while it ran"
    );
}
