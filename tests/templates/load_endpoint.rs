//! The load endpoint: a stack is created, then updated in place.

use super::*;

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
