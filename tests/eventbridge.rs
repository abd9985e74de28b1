//! `--events-endpoint`: the state changes of a run reach EventBridge in AWS's event shape.
//! moto's server (one per test binary) has an EventBridge rule on
//! `{"source":["aws.codepipeline"]}` whose target is an SQS queue; the test reads the queue with
//! the aws CLI. Events that cannot be delivered are counted by the health endpoint.

mod common;

use codepipeline_local::Config;
use common::engine::*;
use common::real::Moto;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

/// `aws --endpoint-url MOTO SERVICE ARGS...`, isolated from any local AWS configuration; the
/// JSON it prints (`null` when nothing).
async fn aws_moto(moto: &Moto, args: &[&str]) -> Value {
    let mut command = Command::new("aws");
    command
        .arg("--endpoint-url")
        .arg(&moto.url)
        .arg("--output")
        .arg("json")
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    let description = args.join(" ");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("the aws CLI runs (scripts/test-prereqs.sh)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "aws {description}: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout).unwrap()
    }
}

async fn health(t: &TestServer) -> Value {
    t.get("/_codepipeline-local/health").await.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_reach_an_eventbridge_rule_and_undeliverable_ones_are_counted() {
    let moto = Moto::start().await;
    let queue = aws_moto(
        &moto,
        &["sqs", "create-queue", "--queue-name", "pipeline-events"],
    )
    .await;
    let queue_url = queue["QueueUrl"].as_str().unwrap().to_string();
    let attributes = aws_moto(
        &moto,
        &[
            "sqs",
            "get-queue-attributes",
            "--queue-url",
            &queue_url,
            "--attribute-names",
            "QueueArn",
        ],
    )
    .await;
    let queue_arn = attributes["Attributes"]["QueueArn"].as_str().unwrap();
    aws_moto(
        &moto,
        &[
            "events",
            "put-rule",
            "--name",
            "codepipeline-changes",
            "--event-pattern",
            r#"{"source":["aws.codepipeline"]}"#,
        ],
    )
    .await;
    aws_moto(
        &moto,
        &[
            "events",
            "put-targets",
            "--rule",
            "codepipeline-changes",
            "--targets",
            &format!(r#"[{{"Id":"queue","Arn":"{queue_arn}"}}]"#),
        ],
    )
    .await;

    let t = start_with(Config {
        events_endpoint: Some(moto.url.clone()),
        account_id: "123456789012".into(),
        ..manual_config()
    })
    .await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("evented"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "evented").await;
    let execution = wait_finished(c, "evented", &id).await;
    assert_eq!(
        execution.status(),
        Some(&aws_sdk_codepipeline::types::PipelineExecutionStatus::Succeeded)
    );

    // Read the queue until the execution's SUCCEEDED event has arrived (bounded). A received
    // message stays invisible for the queue's 30 s visibility timeout: it is not read twice.
    let mut events: Vec<Value> = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !events.iter().any(|e| {
        e["detail-type"] == "CodePipeline Pipeline Execution State Change"
            && e["detail"]["state"] == "SUCCEEDED"
    }) {
        assert!(
            std::time::Instant::now() < deadline,
            "the SUCCEEDED pipeline event did not reach SQS; got {events:?}"
        );
        let received = aws_moto(
            &moto,
            &[
                "sqs",
                "receive-message",
                "--queue-url",
                &queue_url,
                "--max-number-of-messages",
                "10",
                "--wait-time-seconds",
                "1",
            ],
        )
        .await;
        for message in received["Messages"].as_array().into_iter().flatten() {
            let body = message["Body"].as_str().unwrap();
            events.push(serde_json::from_str(body).unwrap());
        }
    }

    let arn = "arn:aws:codepipeline:us-east-1:123456789012:evented";
    for event in &events {
        assert_eq!(event["source"], "aws.codepipeline", "{event}");
        assert_eq!(event["resources"], serde_json::json!([arn]), "{event}");
        assert_eq!(event["region"], "us-east-1", "{event}");
        assert_eq!(event["detail"]["pipeline"], "evented", "{event}");
        assert_eq!(event["detail"]["execution-id"], id.as_str(), "{event}");
        let time = event["time"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(time).is_ok(),
            "time {time}"
        );
    }
    let kinds: BTreeSet<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["detail-type"].as_str().unwrap().to_string(),
                e["detail"]["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("CodePipeline Pipeline Execution State Change", "STARTED"),
        ("CodePipeline Pipeline Execution State Change", "SUCCEEDED"),
        ("CodePipeline Stage Execution State Change", "STARTED"),
        ("CodePipeline Stage Execution State Change", "SUCCEEDED"),
        ("CodePipeline Action Execution State Change", "STARTED"),
        ("CodePipeline Action Execution State Change", "SUCCEEDED"),
    ] {
        assert!(
            kinds.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} not among {kinds:?}"
        );
    }
    let action = events
        .iter()
        .find(|e| {
            e["detail-type"] == "CodePipeline Action Execution State Change"
                && e["detail"]["action"] == "Build"
                && e["detail"]["state"] == "SUCCEEDED"
        })
        .expect("the Build action's SUCCEEDED event");
    assert_eq!(action["detail"]["stage"], "Build");
    assert_eq!(action["detail"]["type"]["provider"], "CodeBuild");
    let stages: BTreeSet<&str> = events
        .iter()
        .filter(|e| e["detail-type"] == "CodePipeline Stage Execution State Change")
        .filter_map(|e| e["detail"]["stage"].as_str())
        .collect();
    assert_eq!(stages, BTreeSet::from(["Source", "Build"]));
    let forwarded = health(&t).await;
    assert_eq!(forwarded["eventbridge"]["undelivered"], 0, "{forwarded}");
    assert!(
        forwarded["eventbridge"]["sent"].as_u64().unwrap() >= events.len() as u64,
        "{forwarded}"
    );

    // An endpoint that does not answer: the run is not held up, and after the retries the
    // events are counted as undelivered.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let t = start_with(Config {
        events_endpoint: Some(format!("http://127.0.0.1:{closed}")),
        ..manual_config()
    })
    .await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("unheard"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "unheard").await;
    let execution = wait_finished(c, "unheard", &id).await;
    assert_eq!(
        execution.status(),
        Some(&aws_sdk_codepipeline::types::PipelineExecutionStatus::Succeeded)
    );
    let counted = wait_for("undelivered events to be counted", || async {
        let h = health(&t).await;
        (h["eventbridge"]["undelivered"].as_u64().unwrap_or(0) > 0).then_some(h)
    })
    .await;
    assert_eq!(counted["eventbridge"]["sent"], 0, "{counted}");
}
