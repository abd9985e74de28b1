//! The webhook API: put, list, delete, register with the third party, what PutWebhook
//! rejects, webhook URLs, and the account and region a webhook belongs to.

use super::*;

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
