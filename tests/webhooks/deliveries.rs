//! Deliveries to the webhook URL: signatures, IP ranges, unauthenticated webhooks, bad
//! deliveries, a missing pipeline, and replayed deliveries.

use super::*;

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
