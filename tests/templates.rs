//! Loading CloudFormation templates, CDK cloud assemblies and pipeline JSON: `--load` on the
//! real binary, the load endpoint, and what loaded stacks leave for the simulation. The loaded
//! pipelines are read back through the AWS SDK.

mod common;

use aws_sdk_codepipeline::types::{ActionOwner, PipelineType};
use codepipeline_local::protocol::Scope;
use common::engine::wait_for;
use common::fixtures::{fixture, good_fixtures};
use common::{client, start_with, test_config};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary, serving with `--load` for every path; killed when dropped.
async fn spawn_with_loads(paths: &[PathBuf]) -> (Child, String) {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_codepipeline-local"));
    command.args(["--listen", &format!("127.0.0.1:{port}"), "--no-auto-start"]);
    for path in paths {
        command.arg("--load").arg(path);
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the binary");
    let url = format!("http://127.0.0.1:{port}");
    let health = format!("{url}/health");
    wait_for("the binary to answer", || async {
        reqwest::get(&health)
            .await
            .ok()
            .filter(|r| r.status().is_success())
            .map(|_| ())
    })
    .await;
    (child, url)
}

#[tokio::test]
async fn every_fixture_loads_at_startup_on_the_real_binary() {
    let (_child, url) = spawn_with_loads(&good_fixtures()).await;
    let c = client(&url, "test", "us-east-1");
    let names: Vec<String> = c
        .list_pipelines()
        .send()
        .await
        .unwrap()
        .pipelines()
        .iter()
        .filter_map(|p| p.name().map(str::to_string))
        .collect();
    for expected in ["payments-service-release", "frozen", "cli-pipeline"] {
        assert!(
            names.contains(&expected.to_string()),
            "{expected} in {names:?}"
        );
    }
    // Unnamed pipelines get CloudFormation's <stack>-<logicalId>-<SUFFIX>.
    let generated = names
        .iter()
        .find(|n| n.starts_with("cross-region-Pipeline-"))
        .expect("the cross-region pipeline, named by the stack");
    assert_eq!(generated.len(), "cross-region-Pipeline-".len() + 12);
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("ClassicPipeline-Pipeline")),
        "{names:?}"
    );

    // The hand-written YAML: V2, triggers, variables, conditions, resolved intrinsics.
    let release = c
        .get_pipeline()
        .name("payments-service-release")
        .send()
        .await
        .unwrap();
    let p = release.pipeline().unwrap();
    assert_eq!(p.pipeline_type(), Some(&PipelineType::V2));
    assert!(
        p.role_arn()
            .starts_with("arn:aws:iam::000000000000:role/shared-PipelineRole-"),
        "{}",
        p.role_arn()
    );
    assert!(p
        .artifact_store()
        .unwrap()
        .location()
        .starts_with("shared-artifactbucket-"));
    assert_eq!(p.variables()[0].default_value(), Some("production"));
    let push = &p.triggers()[0].git_configuration().unwrap().push()[0];
    assert_eq!(push.branches().unwrap().includes(), ["main", "release/*"]);
    let source = &p.stages()[0].actions()[0];
    let config = source.configuration().unwrap();
    assert_eq!(config["DetectChanges"], "false");
    assert!(config["ConnectionArn"]
        .starts_with("arn:aws:codestar-connections:us-east-1:000000000000:connection/"));
    let test = &p.stages()[1];
    assert_eq!(
        test.on_failure().unwrap().result().unwrap().as_str(),
        "ROLLBACK"
    );
    assert_eq!(test.actions()[0].timeout_in_minutes(), Some(30));
    assert_eq!(
        test.actions()[0].configuration().unwrap()["ProjectName"],
        "payments-unit-tests"
    );
    let deploy = &p.stages()[2];
    assert!(deploy.before_entry().is_some());
    let overrides = &deploy.actions()[1].configuration().unwrap()["ParameterOverrides"];
    assert!(
        overrides.contains("\"AvailabilityZone\": \"us-east-1a\""),
        "{overrides}"
    );
    assert!(
        overrides.contains("local-placeholder:resolve:secretsmanager:payments-db"),
        "{overrides}"
    );
    assert_eq!(
        deploy.actions()[1].configuration().unwrap()["StackName"],
        "payments-prod"
    );
    let arn = release.metadata().unwrap().pipeline_arn().unwrap();
    let tags = c
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert!(tags
        .tags()
        .iter()
        .any(|t| t.key() == "environment" && t.value() == "prod"));

    // The cross-region JSON: artifactStores by region, an action in the other region.
    let cross = c.get_pipeline().name(generated).send().await.unwrap();
    let stores = cross.pipeline().unwrap().artifact_stores().unwrap();
    assert!(stores.contains_key("us-east-1") && stores.contains_key("eu-west-1"));
    assert_eq!(
        stores["eu-west-1"].location(),
        "artifacts-000000000000-eu-west-1"
    );
    assert_eq!(
        cross.pipeline().unwrap().stages()[1].actions()[1].region(),
        Some("eu-west-1")
    );
    let types = c
        .list_action_types()
        .action_owner_filter(ActionOwner::Custom)
        .send()
        .await
        .unwrap();
    assert!(types
        .action_types()
        .iter()
        .any(|t| t.id().unwrap().provider() == "SecurityScan"));
    let hooks = c.list_webhooks().send().await.unwrap();
    let hook = hooks
        .webhooks()
        .iter()
        .find(|w| w.definition().unwrap().target_pipeline() == generated)
        .expect("the webhook");
    assert!(hook
        .definition()
        .unwrap()
        .name()
        .starts_with("cross-region-Webhook-"));
    assert!(hook.url().starts_with(&url), "{}", hook.url());
    let state = c.get_pipeline_state().name("frozen").send().await.unwrap();
    let scan = &state.stage_states()[1];
    assert!(!scan.inbound_transition_state().unwrap().enabled());
    assert_eq!(
        scan.inbound_transition_state().unwrap().disabled_reason(),
        Some("Change freeze")
    );

    // The aws CLI's pipeline JSON, with its tags.
    let cli = c.get_pipeline().name("cli-pipeline").send().await.unwrap();
    assert_eq!(cli.pipeline().unwrap().stages().len(), 2);

    // CDK Pipelines: in the account and region of the manifest's environment.
    let cdk = client(&url, "111111111111", "us-east-1");
    let delivery = cdk.get_pipeline().name("delivery").send().await.unwrap();
    let stages: Vec<&str> = delivery
        .pipeline()
        .unwrap()
        .stages()
        .iter()
        .map(|s| s.name())
        .collect();
    assert_eq!(
        stages,
        [
            "Source",
            "Build",
            "UpdatePipeline",
            "Assets",
            "Beta",
            "Prod"
        ]
    );
    let prod = delivery.pipeline().unwrap().stages().last().unwrap();
    assert!(prod
        .actions()
        .iter()
        .any(|a| a.region() == Some("eu-west-1")));
    assert!(prod.actions().iter().any(|a| a
        .configuration()
        .is_some_and(|c| c.get("ActionMode").map(String::as_str) == Some("CHANGE_SET_REPLACE"))));
}

#[tokio::test]
async fn a_load_error_stops_the_binary_with_the_file_resource_and_path() {
    for (file, expected) in [
        (
            "templates/broken/unsupported-intrinsic.yaml",
            "unsupported-intrinsic.yaml: Pipeline (Resources.Pipeline.Properties.Stages[0].Actions[0].Configuration.S3ObjectKey.Fn::Select.Fn::Cidr): ValidationError: the intrinsic function Fn::Cidr is not supported",
        ),
        (
            "templates/broken/structure.yaml",
            "structure.yaml: Misplaced (Properties): InvalidStructureException: Stage 'Build' must contain at least one source action",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_codepipeline-local"))
            .args(["--listen", "127.0.0.1:0", "--load"])
            .arg(fixture(file))
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(60), output)
            .await
            .expect("the binary stops")
            .unwrap();
        assert!(!output.status.success());
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(text.contains(expected), "{text}");
    }
}

async fn post_load(url: &str, query: &str, body: String) -> (u16, serde_json::Value) {
    // As the admin API requires: a JSON or YAML type (a page cannot send either cross-site).
    let content_type = if body.trim_start().starts_with('{') {
        "application/json"
    } else {
        "application/yaml"
    };
    let response = reqwest::Client::new()
        .post(format!("{url}/_codepipeline-local/load?{query}"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Loads the release template as stack "release": its pipeline's result and version.
async fn load_release(url: &str, parameters: &str) -> (serde_json::Value, serde_json::Value) {
    let text = std::fs::read_to_string(fixture("templates/release.yaml")).unwrap();
    let (status, body) = post_load(url, &format!("stack-name=release{parameters}"), text).await;
    assert_eq!(status, 200, "{body}");
    let pipeline = &body["loaded"][0]["pipelines"][0];
    assert_eq!(pipeline["name"], "payments-service-release");
    (pipeline["result"].clone(), pipeline["version"].clone())
}

#[tokio::test]
async fn the_load_endpoint_creates_then_updates_in_place() {
    let server = start_with(common::engine::manual_config()).await;
    let read = |f: &str| std::fs::read_to_string(fixture(f)).unwrap();
    let (status, body) = post_load(
        &server.url,
        "stack-name=shared",
        read("templates/shared.yaml"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["loaded"][0]["codebuildProjects"][0],
        "payments-unit-tests"
    );
    // The release stack imports what the shared stack exports; loaded again, it is updated
    // (a new version) when it changed, left as is when not.
    assert_eq!(
        load_release(&server.url, "&parameter=Environment=dev").await,
        ("created".into(), 1.into())
    );
    assert_eq!(
        load_release(&server.url, "").await,
        ("updated".into(), 2.into())
    );
    assert_eq!(
        load_release(&server.url, "").await,
        ("unchanged".into(), 2.into())
    );
    let p = server
        .client
        .get_pipeline()
        .name("payments-service-release")
        .send()
        .await
        .unwrap();
    assert_eq!(p.pipeline().unwrap().version(), Some(2));
    assert_eq!(
        p.pipeline().unwrap().variables()[0].default_value(),
        Some("production")
    );
    let old = server
        .client
        .get_pipeline()
        .name("payments-service-release")
        .version(1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.pipeline().unwrap().variables()[0].default_value(),
        Some("development")
    );

    // A JSON template: two pipelines, a webhook and a custom action type.
    let (status, body) = post_load(
        &server.url,
        "stack-name=cross-region",
        read("templates/cross-region.json"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let loaded = &body["loaded"][0];
    assert_eq!(loaded["pipelines"].as_array().unwrap().len(), 2);
    assert_eq!(loaded["webhooks"][0]["result"], "created");
    assert_eq!(
        loaded["actionTypes"][0]["name"],
        "Custom/Test/SecurityScan/1"
    );
    assert!(loaded["webhooks"][0]["name"]
        .as_str()
        .unwrap()
        .starts_with("cross-region-Webhook-"));

    // Another account and region; a pipeline JSON body.
    let (status, body) = post_load(
        &server.url,
        "account=222222222222&region=eu-west-1",
        read("templates/pipeline.json"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let other = server.client_for("222222222222", "eu-west-1");
    other
        .get_pipeline()
        .name("cli-pipeline")
        .send()
        .await
        .unwrap();

    // Problems: 400 with every problem line.
    let (status, body) = post_load(
        &server.url,
        "",
        read("templates/broken/unknown-property.yaml"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["problems"][0]["resource"], "Typo");
    assert_eq!(
        body["problems"][0]["path"],
        "Resources.Typo.Properties.Stages[0].Actions[0].RunOrdr"
    );
    let (status, body) = post_load(&server.url, "", read("templates/broken/structure.yaml")).await;
    assert_eq!(status, 400);
    assert_eq!(body["problems"][0]["code"], "InvalidStructureException");
    let (status, body) = post_load(
        &server.url,
        "parameter=Nope=1",
        read("templates/pipeline.json"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Parameters: [Nope] do not exist in the template"),
        "{body}"
    );
    let (status, body) = post_load(&server.url, "", "Resources: [".to_string()).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("YAML not well-formed"),
        "{body}"
    );
    let (status, body) = post_load(
        &server.url,
        "stack-name=release",
        read("templates/release.yaml").replace("Default: prod", ""),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Parameters: [Environment] must have values"),
        "{body}"
    );
}

#[tokio::test]
async fn loaded_outputs_and_codebuild_projects_are_kept_for_the_simulation() {
    let config = codepipeline_local::Config {
        auto_start: false,
        load: vec![fixture("templates/shared.yaml"), fixture("cdk/classic.out")],
        ..test_config()
    };
    let server = start_with(config).await;
    let app = &server.server.app;
    let scope = Scope {
        account: "000000000000".into(),
        region: "us-east-1".into(),
    };
    let outputs = app
        .stacks
        .outputs(&scope, "shared")
        .expect("the shared stack's outputs");
    assert!(outputs["ArtifactBucketName"].starts_with("shared-artifactbucket-"));
    assert_eq!(outputs["UnitTestsProject"], "payments-unit-tests");
    let project = app
        .stacks
        .codebuild_project(&scope, "payments-unit-tests")
        .expect("the project");
    assert_eq!(project.env.exported_variables, ["TEST_REPORT", "COVERAGE"]);
    assert_eq!(project.env.variables["TEAM"], "payments");
    assert_eq!(project.env.variables["CI"], "true");
    assert_eq!(
        project.phases.build,
        ["export TEST_REPORT=report.xml", "export COVERAGE=87"]
    );
    // Loaded at startup: also a [[codebuild_projects]] entry for the local executor.
    assert!(app
        .config
        .codebuild_projects
        .iter()
        .any(|p| p.name == "payments-unit-tests"));
    // The CDK classic stack: its generated project name is an output.
    let classic = app
        .stacks
        .outputs(&scope, "ClassicPipeline")
        .expect("the CDK stack's outputs");
    let cdk_project = app
        .stacks
        .codebuild_project(&scope, &classic["ProjectName"])
        .expect("the CDK project");
    assert_eq!(cdk_project.env.exported_variables, ["IMAGE_TAG", "COMMIT"]);
    assert_eq!(
        app.stacks.exports()[&("000000000000".to_string(), "us-east-1".to_string())]
            ["ClassicPipelineName"],
        classic["PipelineName"]
    );
}

#[tokio::test]
async fn load_and_parameters_come_from_the_config_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    let shared = fixture("templates/shared.yaml");
    let release = fixture("templates/release.yaml");
    std::fs::write(
        &file,
        format!(
            "load = [{:?}, {:?}]\n[parameters]\nEnvironment = \"dev\"\n",
            shared.display().to_string(),
            release.display().to_string()
        ),
    )
    .unwrap();
    let config = codepipeline_local::Config::from_args([
        std::ffi::OsString::from("--config"),
        file.into(),
        "--listen=127.0.0.1:0".into(),
        "--no-auto-start".into(),
    ])
    .unwrap();
    assert_eq!(config.load, [shared.clone(), release.clone()]);
    let server = start_with(config).await;
    let p = server
        .client
        .get_pipeline()
        .name("payments-service-release")
        .send()
        .await
        .unwrap();
    assert_eq!(
        p.pipeline().unwrap().variables()[0].default_value(),
        Some("development")
    );

    // CODEPIPELINE_LOCAL_LOAD: comma-separated.
    let port = free_port();
    let _child = Command::new(env!("CARGO_BIN_EXE_codepipeline-local"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--no-auto-start"])
        .env(
            "CODEPIPELINE_LOCAL_LOAD",
            format!("{},{}", shared.display(), release.display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    wait_for("the binary to answer", || async {
        reqwest::get(format!("{url}/health"))
            .await
            .ok()
            .filter(|r| r.status().is_success())
            .map(|_| ())
    })
    .await;
    let c = client(&url, "test", "us-east-1");
    let p = c
        .get_pipeline()
        .name("payments-service-release")
        .send()
        .await
        .unwrap();
    assert_eq!(
        p.pipeline().unwrap().variables()[0].default_value(),
        Some("production")
    );
}

/// A pipeline of a loaded stack deploys that stack and builds with its project: the simulated
/// CloudFormation action exports the stack's `Outputs` (their template values) and the simulated
/// CodeBuild action exactly the project's `exported-variables`, which a later action reads.
const SELF_DEPLOYING: &str = r##"
Resources:
  Build:
    Type: AWS::CodeBuild::Project
    Properties:
      Name: site-build
      ServiceRole: arn:aws:iam::000000000000:role/build
      Artifacts: {Type: CODEPIPELINE}
      Environment: {Type: LINUX_CONTAINER, ComputeType: BUILD_GENERAL1_SMALL, Image: aws/codebuild/standard:7.0}
      Source:
        Type: CODEPIPELINE
        BuildSpec: |
          version: 0.2
          env:
            exported-variables: [IMAGE_TAG]
          phases:
            build:
              commands: ["export IMAGE_TAG=1.2.3"]
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: site
      RoleArn: arn:aws:iam::000000000000:role/pipeline
      ArtifactStore: {Type: S3, Location: artifacts}
      Stages:
        - Name: Source
          Actions:
            - Name: Source
              ActionTypeId: {Category: Source, Owner: AWS, Provider: S3, Version: "1"}
              Configuration: {S3Bucket: src, S3ObjectKey: app.zip, PollForSourceChanges: false}
              OutputArtifacts: [{Name: Src}]
        - Name: Build
          Actions:
            - Name: Build
              Namespace: BuildVars
              ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: "1"}
              Configuration: {ProjectName: !Ref Build}
              InputArtifacts: [{Name: Src}]
        - Name: Deploy
          Actions:
            - Name: Stack
              Namespace: StackOut
              ActionTypeId: {Category: Deploy, Owner: AWS, Provider: CloudFormation, Version: "1"}
              Configuration:
                ActionMode: CREATE_UPDATE
                StackName: !Ref AWS::StackName
                TemplatePath: Src::template.yaml
                RoleArn: arn:aws:iam::000000000000:role/cfn
              InputArtifacts: [{Name: Src}]
              RunOrder: 1
            - Name: Smoke
              ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: "1"}
              Configuration:
                ProjectName: smoke
                EnvironmentVariables: '[{"name":"URL","value":"#{StackOut.SiteUrl}","type":"PLAINTEXT"},{"name":"TAG","value":"#{BuildVars.IMAGE_TAG}","type":"PLAINTEXT"}]'
              InputArtifacts: [{Name: Src}]
              RunOrder: 2
Outputs:
  SiteUrl:
    Value: !Sub "https://${AWS::StackName}.${AWS::Region}.example.com/"
"##;

#[tokio::test]
async fn a_loaded_stacks_outputs_and_projects_feed_the_simulated_actions() {
    let server = start_with(codepipeline_local::Config {
        auto_start: false,
        ..test_config()
    })
    .await;
    let (status, body) =
        post_load(&server.url, "stack-name=site-stack", SELF_DEPLOYING.into()).await;
    assert_eq!(status, 200, "{body}");
    let c = &server.client;
    let id = c
        .start_pipeline_execution()
        .name("site")
        .send()
        .await
        .unwrap()
        .pipeline_execution_id
        .unwrap();
    let status = wait_for("the site execution to finish", || async {
        let execution = c
            .get_pipeline_execution()
            .pipeline_name("site")
            .pipeline_execution_id(&id)
            .send()
            .await
            .unwrap()
            .pipeline_execution
            .unwrap();
        let status = execution.status.unwrap();
        (status.as_str() != "InProgress").then_some(status)
    })
    .await;
    assert_eq!(status.as_str(), "Succeeded");
    let actions = c
        .list_action_executions()
        .pipeline_name("site")
        .send()
        .await
        .unwrap()
        .action_execution_details
        .unwrap_or_default();
    let detail = |name: &str| {
        actions
            .iter()
            .find(|a| a.action_name() == Some(name))
            .unwrap_or_else(|| panic!("{name} ran"))
    };
    let variables = |name: &str| {
        detail(name)
            .output()
            .and_then(|o| o.output_variables())
            .cloned()
            .unwrap_or_default()
    };
    let stack = variables("Stack");
    assert_eq!(
        stack.get("SiteUrl").map(String::as_str),
        Some("https://site-stack.us-east-1.example.com/")
    );
    let build = variables("Build");
    assert_eq!(build.keys().collect::<Vec<_>>(), ["IMAGE_TAG"]);
    let smoke = detail("Smoke")
        .input()
        .and_then(|i| i.resolved_configuration())
        .and_then(|c| c.get("EnvironmentVariables"))
        .cloned()
        .unwrap_or_default();
    assert!(
        smoke.contains("https://site-stack.us-east-1.example.com/"),
        "{smoke}"
    );
    assert!(smoke.contains("simulated-IMAGE_TAG"), "{smoke}");
}
