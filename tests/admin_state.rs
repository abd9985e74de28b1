//! The admin state document: an import is checked whole, secrets are masked unless asked for,
//! and reads in unknown accounts and regions leave no state behind.

mod common;

use codepipeline_local::config;
use common::admin::*;
use common::engine::*;
use common::*;
use serde_json::{json, Value};

/// The export of one scope, secrets included.
async fn export_full(t: &TestServer, region: &str) -> Value {
    let (status, exported) = admin(
        t,
        reqwest::Method::GET,
        &format!("/state?region={region}&secrets=true"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{exported}");
    exported
}

#[tokio::test]
async fn import_checks_the_whole_document_and_a_bad_one_changes_nothing() {
    let t = start_with(manual_config()).await;
    create(&t.client, "kept").await;
    let good = export_full(&t, "us-east-1").await[0].clone();

    let mut no_versions = good.clone();
    no_versions["state"]["pipelines"]["kept"]["versions"] = json!([]);
    let mut bad_account = good.clone();
    bad_account["account"] = json!("../../x");
    let mut bad_region = good.clone();
    bad_region["region"] = json!("\u{0}");
    let mut renamed = good.clone();
    let record = renamed["state"]["pipelines"]["kept"].take();
    renamed["state"]["pipelines"] = json!({ "other": record });
    let mut dangling = good.clone();
    dangling["state"]["pipelines"]["kept"]["runtime"]["execution_ids"] = json!({"nope": 7});
    // A good entry for another scope, then a bad one: the whole document is refused.
    let mut elsewhere = good.clone();
    elsewhere["region"] = json!("eu-west-1");
    let cases = [
        (json!([no_versions]), "no versions"),
        (json!([bad_account]), "account"),
        (json!([bad_region]), "region"),
        (json!([renamed]), "named 'kept'"),
        (json!([dangling]), "execution_ids"),
        (json!([elsewhere, no_versions]), "entry 1"),
        (json!([good, good]), "twice"),
    ];
    for (document, problem) in cases {
        let (status, body) = import(&t, &document).await;
        assert_eq!(status, 400, "{problem}: {body}");
        assert_eq!(body["error"], "BadRequest");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(problem), "{problem}: {message}");
    }
    // Nothing changed, and every read and write still works.
    let (_, scopes) = admin(&t, reqwest::Method::GET, "/state", None).await;
    assert_eq!(scopes.as_array().unwrap().len(), 1, "{scopes}");
    let c = &t.client;
    assert_eq!(names(c).await, vec!["kept"]);
    c.get_pipeline().name("kept").send().await.unwrap();
    c.get_pipeline_state().name("kept").send().await.unwrap();
    c.start_pipeline_execution()
        .name("kept")
        .send()
        .await
        .unwrap();
    assert!(names(&t.client_for("test", "eu-west-1")).await.is_empty());
}

#[tokio::test]
async fn reads_in_unknown_accounts_and_regions_create_nothing() {
    let t = start_with(manual_config()).await;
    for i in 0..20 {
        let c = t.client_for("test", &format!("zz-read-{i}"));
        assert!(names(&c).await.is_empty());
        let missing = c.get_pipeline().name("p").send().await;
        assert_eq!(error_code(missing), "PipelineNotFoundException");
        let missing = c.get_pipeline_state().name("p").send().await;
        assert_eq!(error_code(missing), "PipelineNotFoundException");
        let missing = c.list_pipeline_executions().pipeline_name("p").send().await;
        assert_eq!(error_code(missing), "PipelineNotFoundException");
        c.list_webhooks().send().await.unwrap();
        c.list_action_types().send().await.unwrap();
        let polled = c
            .poll_for_jobs()
            .action_type_id(type_id(
                aws_sdk_codepipeline::types::ActionCategory::Build,
                aws_sdk_codepipeline::types::ActionOwner::Custom,
                "Nobody",
            ))
            .send()
            .await;
        assert_eq!(error_code(polled), "ActionTypeNotFoundException");
    }
    // A write creates its scope.
    create(&t.client_for("test", "zz-write"), "p").await;
    let (status, body) = admin(&t, reqwest::Method::POST, "/reset", None).await;
    assert_eq!(status, 200);
    let regions: Vec<&str> = body["reset"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions, ["zz-write"]);
}

#[tokio::test]
async fn secrets_are_masked_in_the_export_and_the_configuration_unless_asked_for() {
    let mut config = manual_config();
    config.codebuild_projects = config::parse_file(
        r#"
        [[codebuild_projects]]
        name = "local-build"
        [codebuild_projects.env]
        variables = { NPM_TOKEN = "npm-secret-value" }
        "#,
    )
    .unwrap()
    .codebuild_projects;
    let t = start_with(config).await;
    let github = action(
        "Source",
        type_id(
            aws_sdk_codepipeline::types::ActionCategory::Source,
            aws_sdk_codepipeline::types::ActionOwner::ThirdParty,
            "GitHub",
        ),
        &[],
        &["Src"],
    )
    .configuration("Owner", "octo")
    .configuration("Repo", "app")
    .configuration("Branch", "main")
    .configuration("OAuthToken", "gh-secret-value")
    .build()
    .unwrap();
    let declaration = pipeline("app")
        .stages(stage("Source", vec![github]))
        .stages(stage("Build", vec![codebuild("Build", "Src", &[])]))
        .build()
        .unwrap();
    let c = &t.client;
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    start_execution(c, "app").await;
    use aws_sdk_codepipeline::types::*;
    c.put_webhook()
        .webhook(
            WebhookDefinition::builder()
                .name("hook")
                .target_pipeline("app")
                .target_action("Source")
                .filters(
                    WebhookFilterRule::builder()
                        .json_path("$.ref")
                        .match_equals("refs/heads/main")
                        .build()
                        .unwrap(),
                )
                .authentication(WebhookAuthenticationType::GithubHmac)
                .authentication_configuration(
                    WebhookAuthConfiguration::builder()
                        .secret_token("hook-secret-value")
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let (status, masked) = admin(&t, reqwest::Method::GET, "/state", None).await;
    assert_eq!(status, 200);
    let text = masked.to_string();
    assert!(!text.contains("gh-secret-value"), "{text}");
    assert!(!text.contains("hook-secret-value"), "{text}");
    let state = &masked[0]["state"];
    let source = &state["pipelines"]["app"]["versions"][0]["stages"][0]["actions"][0];
    assert_eq!(source["configuration"]["OAuthToken"], "****");
    assert_eq!(source["configuration"]["Owner"], "octo");
    assert_eq!(
        state["webhooks"]["hook"]["definition"]["authenticationConfiguration"]["SecretToken"],
        "****"
    );

    let full = export_full(&t, "us-east-1").await;
    let text = full.to_string();
    assert!(text.contains("gh-secret-value"));
    assert!(text.contains("hook-secret-value"));

    // A masked export cannot be imported: it would overwrite the real secrets with ****.
    let (status, body) = import(&t, &masked).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("masked"),
        "{body}"
    );
    assert!(export_full(&t, "us-east-1")
        .await
        .to_string()
        .contains("gh-secret-value"));
    // The full backup imports.
    let (status, body) = import(&t, &full).await;
    assert_eq!(status, 200, "{body}");
    assert!(export_full(&t, "us-east-1")
        .await
        .to_string()
        .contains("gh-secret-value"));

    let (_, shown) = admin(&t, reqwest::Method::GET, "/config", None).await;
    assert_eq!(
        shown["codebuild_projects"][0]["env"]["variables"]["NPM_TOKEN"],
        "****"
    );
    assert!(!shown.to_string().contains("npm-secret-value"));
    let (_, shown) = admin(&t, reqwest::Method::GET, "/config?secrets=true", None).await;
    assert_eq!(
        shown["codebuild_projects"][0]["env"]["variables"]["NPM_TOKEN"],
        "npm-secret-value"
    );
}
