//! Webhooks through real clients: the API with the AWS SDK for Rust, deliveries to the webhook
//! URL with reqwest (signed as GitHub signs them).

mod common;

use aws_sdk_codepipeline::types::*;
use common::engine::*;
use common::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "webhook-s3cret";
const COMMIT: &str = "9f2c4b7e1d3a5c6b8e0f1a2b3c4d5e6f7a8b9c0d";

/// GitHub (version 1) source -> CodeBuild, watching branch `main` of `octo/app`.
fn github_pipeline(name: &str) -> PipelineDeclaration {
    let source = action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::ThirdParty, "GitHub"),
        &[],
        &["SourceOutput"],
    )
    .configuration("Owner", "octo")
    .configuration("Repo", "app")
    .configuration("Branch", "main")
    .configuration("OAuthToken", "gh-token")
    .build()
    .unwrap();
    pipeline(name)
        .stages(stage("Source", vec![source]))
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &[])],
        ))
        .build()
        .unwrap()
}

fn filter(path: &str, equals: Option<&str>) -> WebhookFilterRule {
    WebhookFilterRule::builder()
        .json_path(path)
        .set_match_equals(equals.map(str::to_string))
        .build()
        .unwrap()
}

fn auth_config(secret: Option<&str>, range: Option<&str>) -> WebhookAuthConfiguration {
    WebhookAuthConfiguration::builder()
        .set_secret_token(secret.map(str::to_string))
        .set_allowed_ip_range(range.map(str::to_string))
        .build()
}

/// A GITHUB_HMAC webhook on `app`/`Source` firing for pushes to the action's branch.
fn github_webhook(name: &str) -> WebhookDefinition {
    WebhookDefinition::builder()
        .name(name)
        .target_pipeline("app")
        .target_action("Source")
        .filters(filter("$.ref", Some("refs/heads/{Branch}")))
        .authentication(WebhookAuthenticationType::GithubHmac)
        .authentication_configuration(auth_config(Some(SECRET), None))
        .build()
        .unwrap()
}

fn ip_webhook(name: &str, range: &str) -> WebhookDefinition {
    WebhookDefinition::builder()
        .name(name)
        .target_pipeline("app")
        .target_action("Source")
        .set_filters(Some(vec![]))
        .authentication(WebhookAuthenticationType::Ip)
        .authentication_configuration(auth_config(None, Some(range)))
        .build()
        .unwrap()
}

fn push_payload(branch: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "ref": format!("refs/heads/{branch}"),
        "before": "0000000000000000000000000000000000000000",
        "after": COMMIT,
        "repository": {"full_name": "octo/app", "name": "app"},
        "head_commit": {"id": COMMIT, "message": "Fix the build"},
        "commits": [{"id": COMMIT, "message": "Fix the build"}],
    }))
    .unwrap()
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs a payload to a webhook URL with extra headers: (status, JSON body).
async fn deliver(url: &str, body: Vec<u8>, headers: &[(&str, String)]) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("delivery");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn put(t: &TestServer, definition: WebhookDefinition) -> ListWebhookItem {
    t.client
        .put_webhook()
        .webhook(definition)
        .send()
        .await
        .expect("put webhook")
        .webhook
        .expect("webhook")
}

async fn executions(t: &TestServer, pipeline: &str) -> Vec<PipelineExecutionSummary> {
    t.client
        .list_pipeline_executions()
        .pipeline_name(pipeline)
        .send()
        .await
        .unwrap()
        .pipeline_execution_summaries
        .unwrap_or_default()
}

async fn listed(t: &TestServer, name: &str) -> ListWebhookItem {
    t.client
        .list_webhooks()
        .send()
        .await
        .unwrap()
        .webhooks
        .unwrap_or_default()
        .into_iter()
        .find(|w| w.definition().map(|d| d.name()) == Some(name))
        .expect("webhook listed")
}

async fn started() -> TestServer {
    let t = start_with(manual_config()).await;
    t.client
        .create_pipeline()
        .pipeline(github_pipeline("app"))
        .send()
        .await
        .unwrap();
    t
}

#[tokio::test]
async fn put_list_and_delete_webhooks() {
    let t = started().await;
    let created = t
        .client
        .put_webhook()
        .webhook(github_webhook("hook-b"))
        .tags(Tag::builder().key("team").value("ci").build().unwrap())
        .send()
        .await
        .unwrap()
        .webhook
        .unwrap();
    let arn = "arn:aws:codepipeline:us-east-1:000000000000:webhook:hook-b";
    assert_eq!(created.arn(), Some(arn));
    let prefix = format!(
        "{}/_codepipeline-local/webhooks/us-east-1/000000000000/",
        t.url
    );
    assert!(created.url().starts_with(&prefix), "{}", created.url());
    let definition = created.definition().unwrap();
    assert_eq!(definition.target_pipeline(), "app");
    assert_eq!(
        definition.filters()[0].match_equals(),
        Some("refs/heads/{Branch}")
    );
    // The secret never comes back.
    assert_eq!(
        definition
            .authentication_configuration()
            .unwrap()
            .secret_token(),
        Some("****")
    );
    assert_eq!(created.tags().len(), 1);
    assert!(created.last_triggered().is_none());

    put(&t, github_webhook("hook-a")).await;
    put(&t, ip_webhook("hook-c", "10.0.0.0/8")).await;

    // Pagination with the capitalized MaxResults/NextToken members, in name order.
    let first = t
        .client
        .list_webhooks()
        .max_results(2)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = first
        .webhooks()
        .iter()
        .map(|w| w.definition().unwrap().name().to_string())
        .collect();
    assert_eq!(names, ["hook-a", "hook-b"]);
    let token = first.next_token().expect("a second page").to_string();
    let second = t
        .client
        .list_webhooks()
        .max_results(2)
        .next_token(token)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = second
        .webhooks()
        .iter()
        .map(|w| w.definition().unwrap().name().to_string())
        .collect();
    assert_eq!(names, ["hook-c"]);
    assert!(second.next_token().is_none());
    let listed_b = &first.webhooks()[1];
    assert_eq!(listed_b.arn(), Some(arn));
    assert_eq!(listed_b.url(), created.url());
    assert_eq!(
        listed_b
            .definition()
            .unwrap()
            .authentication_configuration()
            .unwrap()
            .secret_token(),
        Some("****")
    );
    assert_eq!(listed_b.tags()[0].key(), "team");
    let bad_token = t
        .client
        .list_webhooks()
        .next_token("not-a-token")
        .send()
        .await;
    assert_eq!(error_code(bad_token), "InvalidNextTokenException");

    // Putting the same name replaces the definition and keeps the URL and tags.
    let replaced = put(
        &t,
        WebhookDefinition::builder()
            .name("hook-b")
            .target_pipeline("app")
            .target_action("Source")
            .filters(filter("$.ref", Some("refs/heads/release")))
            .filters(filter("$.repository.name", None))
            .authentication(WebhookAuthenticationType::Unauthenticated)
            .authentication_configuration(auth_config(None, None))
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(replaced.url(), created.url());
    assert_eq!(replaced.definition().unwrap().filters().len(), 2);
    assert_eq!(replaced.tags().len(), 1);
    let all = t.client.list_webhooks().send().await.unwrap();
    assert_eq!(all.webhooks().len(), 3);

    // Webhook tags work through the tagging API.
    t.client
        .tag_resource()
        .resource_arn(arn)
        .tags(Tag::builder().key("env").value("dev").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = t
        .client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = tags.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["team", "env"]);
    assert_eq!(listed(&t, "hook-b").await.tags().len(), 2);

    // Delete; deleting an unknown webhook succeeds, as in AWS.
    t.client
        .delete_webhook()
        .name("hook-b")
        .send()
        .await
        .unwrap();
    t.client
        .delete_webhook()
        .name("never-existed")
        .send()
        .await
        .unwrap();
    let all = t.client.list_webhooks().send().await.unwrap();
    let names: Vec<_> = all
        .webhooks()
        .iter()
        .map(|w| w.definition().unwrap().name())
        .collect();
    assert_eq!(names, ["hook-a", "hook-c"]);
    let gone = t
        .client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await;
    assert_eq!(error_code(gone), "ResourceNotFoundException");
    // Its URL no longer answers.
    let (status, _) = deliver(created.url(), push_payload("main"), &[]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn register_and_deregister_with_third_party() {
    let t = started().await;
    put(&t, github_webhook("hook")).await;
    t.client
        .register_webhook_with_third_party()
        .webhook_name("hook")
        .send()
        .await
        .unwrap();
    t.client
        .deregister_webhook_with_third_party()
        .webhook_name("hook")
        .send()
        .await
        .unwrap();
    let registered = t
        .server
        .app
        .store
        .region(&codepipeline_local::protocol::Scope {
            account: "000000000000".into(),
            region: "us-east-1".into(),
        })
        .lock()
        .webhooks["hook"]
        .registered_with_third_party;
    assert!(!registered);
    t.client
        .register_webhook_with_third_party()
        .webhook_name("hook")
        .send()
        .await
        .unwrap();
    let unknown = t
        .client
        .register_webhook_with_third_party()
        .webhook_name("nope")
        .send()
        .await;
    assert_eq!(error_code(unknown), "WebhookNotFoundException");
    let unknown = t
        .client
        .deregister_webhook_with_third_party()
        .webhook_name("nope")
        .send()
        .await;
    assert_eq!(error_code(unknown), "WebhookNotFoundException");
}

#[tokio::test]
async fn put_webhook_rejects_what_aws_rejects() {
    let mut config = manual_config();
    config.max_webhooks = 2;
    let t = start_with(config).await;
    t.client
        .create_pipeline()
        .pipeline(github_pipeline("app"))
        .send()
        .await
        .unwrap();
    let c = &t.client;

    let mut unknown_pipeline = github_webhook("w");
    unknown_pipeline.target_pipeline = "missing".into();
    let (code, message) = service_error(c.put_webhook().webhook(unknown_pipeline).send().await);
    assert_eq!(code, "PipelineNotFoundException");
    assert!(message.contains("missing"));

    let mut not_source = github_webhook("w");
    not_source.target_action = "Build".into();
    let (code, message) = service_error(c.put_webhook().webhook(not_source).send().await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("Build"), "{message}");

    let mut bad_path = github_webhook("w");
    bad_path.filters = vec![filter("$.ref[", Some("x"))];
    let result = c.put_webhook().webhook(bad_path).send().await;
    assert_eq!(error_code(result), "InvalidWebhookFilterPatternException");

    let mut too_many_filters = github_webhook("w");
    too_many_filters.filters = (0..6).map(|i| filter(&format!("$.f{i}"), None)).collect();
    let result = c.put_webhook().webhook(too_many_filters).send().await;
    assert_eq!(error_code(result), "ValidationException");

    let mut no_secret = github_webhook("w");
    no_secret.authentication_configuration = Some(auth_config(None, None));
    let result = c.put_webhook().webhook(no_secret).send().await;
    assert_eq!(
        error_code(result),
        "InvalidWebhookAuthenticationParametersException"
    );

    let result = c
        .put_webhook()
        .webhook(ip_webhook("w", "not-a-cidr"))
        .send()
        .await;
    assert_eq!(
        error_code(result),
        "InvalidWebhookAuthenticationParametersException"
    );
    let result = c
        .put_webhook()
        .webhook(ip_webhook("w", "10.0.0.0/40"))
        .send()
        .await;
    assert_eq!(
        error_code(result),
        "InvalidWebhookAuthenticationParametersException"
    );
    let mut ip_without_range = ip_webhook("w", "10.0.0.0/8");
    ip_without_range.authentication_configuration = Some(auth_config(Some("x"), None));
    let result = c.put_webhook().webhook(ip_without_range).send().await;
    assert_eq!(
        error_code(result),
        "InvalidWebhookAuthenticationParametersException"
    );

    let reserved = Tag::builder().key("aws:owner").value("x").build().unwrap();
    let result = c
        .put_webhook()
        .webhook(github_webhook("w"))
        .tags(reserved)
        .send()
        .await;
    assert_eq!(error_code(result), "InvalidTagsException");

    let mut bad_name = github_webhook("w");
    bad_name.name = "has space".into();
    let result = c.put_webhook().webhook(bad_name).send().await;
    assert_eq!(error_code(result), "ValidationException");

    // Nothing above was stored; the quota counts new webhooks only.
    assert!(c
        .list_webhooks()
        .send()
        .await
        .unwrap()
        .webhooks()
        .is_empty());
    put(&t, github_webhook("one")).await;
    put(&t, github_webhook("two")).await;
    put(&t, github_webhook("two")).await;
    let (code, message) = service_error(
        c.put_webhook()
            .webhook(github_webhook("three"))
            .send()
            .await,
    );
    assert_eq!(code, "LimitExceededException");
    assert!(message.contains('2'), "{message}");
}

#[tokio::test]
async fn a_signed_push_starts_an_execution_of_the_pushed_commit() {
    let t = started().await;
    let hook = put(&t, github_webhook("hook")).await;
    let body = push_payload("main");
    let signature = sign(SECRET, &body);
    let (status, answer) = deliver(hook.url(), body, &[("x-hub-signature-256", signature)]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["matched"], true);
    let id = answer["pipelineExecutionId"]
        .as_str()
        .expect("execution id")
        .to_string();

    let execution = wait_finished(&t.client, "app", &id).await;
    assert_eq!(
        execution.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
    let summaries = executions(&t, "app").await;
    assert_eq!(summaries.len(), 1);
    let summary = &summaries[0];
    assert_eq!(summary.pipeline_execution_id(), Some(id.as_str()));
    let trigger = summary.trigger().unwrap();
    assert_eq!(trigger.trigger_type(), Some(&TriggerType::Webhook));
    assert_eq!(trigger.trigger_detail(), hook.arn());
    let source = &summary.source_revisions()[0];
    assert_eq!(source.action_name(), "Source");
    assert_eq!(source.revision_id(), Some(COMMIT));
    assert_eq!(source.revision_summary(), Some("Fix the build"));
    assert_eq!(
        execution.artifact_revisions()[0].revision_id(),
        Some(COMMIT)
    );

    let item = listed(&t, "hook").await;
    assert!(item.last_triggered().is_some());
    assert!(item.error_code().is_none());

    // GitHub's older SHA-1 signature header is accepted too.
    let body = push_payload("main");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&body);
    let signature = format!("sha1={}", hex::encode(mac.finalize().into_bytes()));
    let (status, answer) = deliver(hook.url(), body, &[("x-hub-signature", signature)]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["matched"], true);
}

#[tokio::test]
async fn wrong_signatures_and_other_branches_start_nothing() {
    let t = started().await;
    let hook = put(&t, github_webhook("hook")).await;

    let body = push_payload("main");
    let forged = sign("not-the-secret", &body);
    let (status, _) = deliver(hook.url(), body.clone(), &[("x-hub-signature-256", forged)]).await;
    assert_eq!(status, 403);
    let (status, _) = deliver(hook.url(), body.clone(), &[]).await;
    assert_eq!(status, 403);
    // A signature of another body does not sign this one.
    let other = sign(SECRET, b"{}");
    let (status, _) = deliver(hook.url(), body, &[("x-hub-signature-256", other)]).await;
    assert_eq!(status, 403);

    let body = push_payload("feature/x");
    let signature = sign(SECRET, &body);
    let (status, answer) = deliver(hook.url(), body, &[("x-hub-signature-256", signature)]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["matched"], false);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("refs/heads/main"),
        "{answer}"
    );

    assert!(executions(&t, "app").await.is_empty());
    assert!(listed(&t, "hook").await.last_triggered().is_none());
}

#[tokio::test]
async fn ip_authentication_allows_only_the_range() {
    let t = started().await;
    let allowed = put(&t, ip_webhook("local", "127.0.0.1/32")).await;
    let denied = put(&t, ip_webhook("private", "10.0.0.0/8")).await;

    let (status, answer) = deliver(denied.url(), push_payload("main"), &[]).await;
    assert_eq!(status, 403, "{answer}");
    assert!(executions(&t, "app").await.is_empty());

    let (status, answer) = deliver(allowed.url(), push_payload("main"), &[]).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["pipelineExecutionId"].as_str().unwrap();
    wait_finished(&t.client, "app", id).await;
    let summaries = executions(&t, "app").await;
    assert_eq!(summaries.len(), 1);
    assert_eq!(
        summaries[0].trigger().unwrap().trigger_detail(),
        allowed.arn()
    );
    assert!(listed(&t, "local").await.last_triggered().is_some());
    assert!(listed(&t, "private").await.last_triggered().is_none());
}

#[tokio::test]
async fn unauthenticated_webhooks_accept_any_caller_and_any_payload_matching_the_filters() {
    let t = started().await;
    let hook = put(
        &t,
        WebhookDefinition::builder()
            .name("open")
            .target_pipeline("app")
            .target_action("Source")
            .filters(filter("$.action", Some("published")))
            .filters(filter("$.release.tag_name", None))
            .authentication(WebhookAuthenticationType::Unauthenticated)
            .authentication_configuration(auth_config(None, None))
            .build()
            .unwrap(),
    )
    .await;
    let missing_tag = serde_json::to_vec(&json!({"action": "published", "release": {}})).unwrap();
    let (status, answer) = deliver(hook.url(), missing_tag, &[]).await;
    assert_eq!((status, &answer["matched"]), (200, &json!(false)));
    let release =
        serde_json::to_vec(&json!({"action": "published", "release": {"tag_name": "v1"}})).unwrap();
    let (status, answer) = deliver(hook.url(), release, &[]).await;
    assert_eq!(
        (status, &answer["matched"]),
        (200, &json!(true)),
        "{answer}"
    );
    // No commit in the payload: the source action picks a revision by itself.
    let id = answer["pipelineExecutionId"].as_str().unwrap();
    let execution = wait_finished(&t.client, "app", id).await;
    assert_eq!(
        execution.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
    assert_eq!(
        execution.trigger().unwrap().trigger_type(),
        Some(&TriggerType::Webhook)
    );
}

#[tokio::test]
async fn bad_deliveries_are_refused_with_http_errors() {
    let mut config = manual_config();
    config.max_webhook_payload_bytes = 2048;
    let t = start_with(config).await;
    t.client
        .create_pipeline()
        .pipeline(github_pipeline("app"))
        .send()
        .await
        .unwrap();
    let hook = put(&t, ip_webhook("hook", "127.0.0.0/8")).await;

    let (status, _) = deliver(hook.url(), b"{not json".to_vec(), &[]).await;
    assert_eq!(status, 400);
    let big = serde_json::to_vec(&json!({"ref": "x".repeat(4096)})).unwrap();
    let (status, _) = deliver(hook.url(), big, &[]).await;
    assert_eq!(status, 413);
    let unknown = format!(
        "{}/_codepipeline-local/webhooks/us-east-1/000000000000/0123456789abcdef",
        t.url
    );
    let (status, _) = deliver(&unknown, push_payload("main"), &[]).await;
    assert_eq!(status, 404);
    let other_region = hook.url().replace("/us-east-1/", "/eu-west-1/");
    let (status, _) = deliver(&other_region, push_payload("main"), &[]).await;
    assert_eq!(status, 404);
    assert!(executions(&t, "app").await.is_empty());
}

#[tokio::test]
async fn a_webhook_whose_pipeline_is_gone_records_the_error() {
    let t = started().await;
    let hook = put(&t, ip_webhook("hook", "127.0.0.1/32")).await;
    t.client.delete_pipeline().name("app").send().await.unwrap();
    let (status, answer) = deliver(hook.url(), push_payload("main"), &[]).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["errorCode"], "PipelineNotFoundException");
    let item = listed(&t, "hook").await;
    assert_eq!(item.error_code(), Some("PipelineNotFoundException"));
    assert!(item.error_message().unwrap().contains("app"));
    assert!(item.last_triggered().is_none());

    // Once the pipeline is back, the next delivery starts it and clears the error.
    t.client
        .create_pipeline()
        .pipeline(github_pipeline("app"))
        .send()
        .await
        .unwrap();
    let (status, answer) = deliver(hook.url(), push_payload("main"), &[]).await;
    assert_eq!(status, 200, "{answer}");
    let item = listed(&t, "hook").await;
    assert!(item.error_code().is_none() && item.error_message().is_none());
    assert!(item.last_triggered().is_some());
}

#[tokio::test]
async fn webhook_urls_use_the_external_url_when_configured() {
    let mut config = manual_config();
    config.external_url = Some("https://pipelines.example.test/".into());
    let t = start_with(config).await;
    t.client
        .create_pipeline()
        .pipeline(github_pipeline("app"))
        .send()
        .await
        .unwrap();
    let hook = put(&t, github_webhook("hook")).await;
    assert!(
        hook.url().starts_with(
            "https://pipelines.example.test/_codepipeline-local/webhooks/us-east-1/000000000000/"
        ),
        "{}",
        hook.url()
    );
}

#[tokio::test]
async fn webhooks_belong_to_their_account_and_region() {
    let t = started().await;
    put(&t, github_webhook("hook")).await;
    let other = t.client_for("test", "eu-west-1");
    assert!(other
        .list_webhooks()
        .send()
        .await
        .unwrap()
        .webhooks()
        .is_empty());
    let result = other
        .register_webhook_with_third_party()
        .webhook_name("hook")
        .send()
        .await;
    assert_eq!(error_code(result), "WebhookNotFoundException");
}

#[tokio::test]
async fn a_replayed_delivery_starts_one_execution() {
    let t = started().await;
    let hook = put(&t, github_webhook("hook")).await;
    let body = push_payload("main");
    let signed = |delivery: &str| {
        vec![
            ("x-hub-signature-256", sign(SECRET, &body)),
            ("x-github-delivery", delivery.to_string()),
        ]
    };
    let (status, first) = deliver(hook.url(), body.clone(), &signed("d-1")).await;
    assert_eq!(status, 200, "{first}");
    let id = first["pipelineExecutionId"].as_str().unwrap().to_string();
    for _ in 0..4 {
        let (status, again) = deliver(hook.url(), body.clone(), &signed("d-1")).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["duplicate"], true, "{again}");
        assert_eq!(again["pipelineExecutionId"], id.as_str(), "{again}");
    }
    assert_eq!(executions(&t, "app").await.len(), 1);
    // Another delivery id is another delivery.
    let (_, other) = deliver(hook.url(), body.clone(), &signed("d-2")).await;
    assert_ne!(other["pipelineExecutionId"], id.as_str(), "{other}");
    assert!(other["pipelineExecutionId"].is_string(), "{other}");
    assert_eq!(executions(&t, "app").await.len(), 2);
}

#[tokio::test]
async fn a_redelivery_of_a_delivery_that_started_nothing_runs() {
    let t = started().await;
    let hook = put(&t, ip_webhook("hook", "127.0.0.1/32")).await;
    t.client.delete_pipeline().name("app").send().await.unwrap();
    let delivery = [("x-github-delivery", "d-9".to_string())];
    let (status, answer) = deliver(hook.url(), push_payload("main"), &delivery).await;
    assert_eq!(status, 409, "{answer}");
    t.client
        .create_pipeline()
        .pipeline(github_pipeline("app"))
        .send()
        .await
        .unwrap();
    let (status, answer) = deliver(hook.url(), push_payload("main"), &delivery).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["pipelineExecutionId"].is_string(), "{answer}");
    assert_eq!(executions(&t, "app").await.len(), 1);
}
