//! `--load` on the real binary: every fixture at startup, load errors, and loads and parameters
//! from the config file and the environment.

use super::*;

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
