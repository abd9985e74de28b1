//! AWS JSON 1.1 on the wire, checked with raw HTTP: targets, bodies, errors, limits, health.

mod common;

use codepipeline_local::Config;
use common::*;
use serde_json::{json, Value};

const PREFIX: &str = "CodePipeline_20150709";

fn target(operation: &str) -> String {
    format!("{PREFIX}.{operation}")
}

/// The answer is a client error with this code in both the body and the header.
fn assert_error(response: &RawResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "{:?}", response.body);
    assert_eq!(response.error_type(), Some(code), "{:?}", response.body);
    assert_eq!(response.header("x-amzn-errortype"), Some(code));
    assert!(response.body["message"].is_string(), "{:?}", response.body);
    assert_eq!(
        response.header("content-type"),
        Some("application/x-amz-json-1.1")
    );
}

fn pipeline_json(name: &str) -> Value {
    json!({
        "name": name,
        "roleArn": ROLE_ARN,
        "artifactStore": {"type": "S3", "location": "artifact-bucket"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "b", "S3ObjectKey": "k.zip"},
                "outputArtifacts": [{"name": "SourceOutput"}]
            }]},
            {"name": "Build", "actions": [{
                "name": "Build",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "p"},
                "inputArtifacts": [{"name": "SourceOutput"}]
            }]}
        ]
    })
}

#[tokio::test]
async fn unknown_operation() {
    let t = start().await;
    let response = t.post(Some(&target("FlyToTheMoon")), "{}").await;
    assert_error(&response, 400, "UnknownOperationException");
    let response = t
        .post(Some("SomeOtherService_20200101.ListPipelines"), "{}")
        .await;
    assert_error(&response, 400, "UnknownOperationException");
}

#[tokio::test]
async fn missing_target() {
    let t = start().await;
    let response = t.post(None, "{}").await;
    assert_error(&response, 400, "UnknownOperationException");
}

/// Every operation of the service model, with an empty body: a client error or success, never
/// 5xx; an operation not implemented yet says so by name.
#[tokio::test]
async fn every_operation_answers_without_a_server_error() {
    let t = start().await;
    let model: Value =
        serde_json::from_str(include_str!("../model/codepipeline-2015-07-09.json")).expect("model");
    let operations = model["operations"].as_object().expect("operations");
    assert_eq!(operations.len(), 44);
    for operation in operations.keys() {
        let response = t.post(Some(&target(operation)), "{}").await;
        assert!(
            response.status == 200 || response.status == 400,
            "{operation}: {} {:?}",
            response.status,
            response.body
        );
        assert!(response.header("x-amzn-requestid").is_some(), "{operation}");
        if response.status == 400 {
            let code = response.error_type().expect("__type");
            assert_eq!(
                response.header("x-amzn-errortype"),
                Some(code),
                "{operation}"
            );
        }
        if response.error_type() == Some("UnknownOperationException") {
            let message = response.body["message"].as_str().unwrap();
            assert!(message.contains(operation.as_str()), "{message}");
            assert!(message.contains("not implemented"), "{message}");
        }
    }
}

#[tokio::test]
async fn invalid_json_is_a_serialization_error() {
    let t = start().await;
    for body in [
        "{",
        "{\"name\": }",
        "not json",
        "{\"name\": \"p\"} trailing",
    ] {
        let response = t.post(Some(&target("GetPipeline")), body).await;
        assert_error(&response, 400, "SerializationException");
    }
}

#[tokio::test]
async fn wrong_json_types_are_serialization_errors() {
    let t = start().await;
    let cases = [
        ("ListPipelines", r#"{"maxResults": "3"}"#),
        ("ListPipelines", r#"{"maxResults": 1.5}"#),
        ("GetPipeline", r#"{"name": 5}"#),
        ("GetPipeline", r#"{"name": ["p"]}"#),
        ("GetPipeline", r#"{"name": "p", "version": true}"#),
        ("ListPipelines", "[]"),
        ("ListPipelines", "\"text\""),
        ("ListPipelines", "42"),
        (
            "CreatePipeline",
            r#"{"pipeline": {"name": "p", "roleArn": "r", "stages": {}}}"#,
        ),
    ];
    for (operation, body) in cases {
        let response = t.post(Some(&target(operation)), body).await;
        assert_eq!(
            response.error_type(),
            Some("SerializationException"),
            "{operation} {body}: {:?}",
            response.body
        );
        assert_error(&response, 400, "SerializationException");
    }
}

#[tokio::test]
async fn an_empty_body_is_an_empty_object() {
    let t = start().await;
    let response = t.post(Some(&target("ListPipelines")), "").await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.body, json!({"pipelines": []}));
    assert_eq!(
        response.header("content-type"),
        Some("application/x-amz-json-1.1")
    );
    // An operation with required members then reports them as missing.
    let response = t.post(Some(&target("GetPipeline")), "").await;
    assert_error(&response, 400, "ValidationException");
    assert_eq!(
        response.body["message"],
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
    );
}

#[tokio::test]
async fn every_answer_has_a_request_id() {
    let t = start().await;
    let ok = t.post(Some(&target("ListPipelines")), "{}").await;
    assert_eq!(ok.status, 200);
    let error = t
        .post(Some(&target("GetPipeline")), r#"{"name": "missing"}"#)
        .await;
    assert_error(&error, 400, "PipelineNotFoundException");
    let unknown = t.post(Some(&target("Nope")), "{}").await;
    let mut ids = Vec::new();
    for response in [&ok, &error, &unknown] {
        let id = response
            .header("x-amzn-requestid")
            .expect("x-amzn-RequestId");
        assert!(!id.is_empty());
        ids.push(id.to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "request ids are unique");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_the_server_keeps_serving() {
    let t = start_with(Config {
        max_body_bytes: 1024,
        ..test_config()
    })
    .await;
    let name = "x".repeat(2000);
    let body = json!({"name": name}).to_string();
    let response = t.post(Some(&target("GetPipeline")), body).await;
    assert_error(&response, 413, "RequestEntityTooLargeException");

    // Well past the limit too (the server stops reading and answers).
    let huge = format!("{{\"name\": \"{}\"}}", "y".repeat(200_000));
    let huge_response = reqwest::Client::new()
        .post(&t.url)
        .header("x-amz-target", target("GetPipeline"))
        .header("content-type", "application/x-amz-json-1.1")
        .body(huge)
        .send()
        .await;
    if let Ok(response) = huge_response {
        // The client may see the connection closed before the answer; if it got one, it is 413.
        assert_eq!(response.status().as_u16(), 413);
    }

    // Just under the limit is fine, and the server still answers.
    let response = t.post(Some(&target("ListPipelines")), "{}").await;
    assert_eq!(response.status, 200);
    let response = t
        .post(
            Some(&target("CreatePipeline")),
            json!({"pipeline": pipeline_json("small")}).to_string(),
        )
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
}

#[tokio::test]
async fn validation_messages_are_formatted_as_aws_does() {
    let t = start().await;
    let response = t
        .post(Some(&target("GetPipeline")), r#"{"name": "a b"}"#)
        .await;
    assert_error(&response, 400, "ValidationException");
    assert_eq!(
        response.body["message"],
        "1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+"
    );

    let response = t
        .post(
            Some(&target("ListPipelines")),
            r#"{"maxResults": 0, "nextToken": ""}"#,
        )
        .await;
    assert_error(&response, 400, "ValidationException");
    let message = response.body["message"].as_str().unwrap();
    assert!(
        message.starts_with("2 validation errors detected: "),
        "{message}"
    );
    assert!(
        message.contains(
            "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "Value '' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 1"
        ),
        "{message}"
    );
    assert_eq!(message.matches("; ").count(), 1, "{message}");

    let response = t
        .post(Some(&target("ListPipelines")), r#"{"maxResults": 1001}"#)
        .await;
    assert_eq!(
        response.body["message"],
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: \
         Member must have value less than or equal to 1000"
    );

    // Nested members are addressed with 1-based list paths.
    let mut bad = pipeline_json("ok");
    bad["stages"][1]["actions"][0]["name"] = json!("bad name!");
    bad["stages"][0]["actions"][0]["runOrder"] = json!(0);
    let response = t
        .post(
            Some(&target("CreatePipeline")),
            json!({"pipeline": bad}).to_string(),
        )
        .await;
    assert_error(&response, 400, "ValidationException");
    let message = response.body["message"].as_str().unwrap();
    assert!(
        message.starts_with("2 validation errors detected: "),
        "{message}"
    );
    assert!(
        message.contains("Value 'bad name!' at 'pipeline.stages.2.member.actions.1.member.name'"),
        "{message}"
    );
    assert!(
        message.contains("Value '0' at 'pipeline.stages.1.member.actions.1.member.runOrder'"),
        "{message}"
    );
}

#[tokio::test]
async fn deep_nesting_is_a_client_error() {
    let t = start().await;
    let depth = 10_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let bodies = [
        arrays.clone(),
        objects.clone(),
        format!("{{\"pipeline\": {arrays}}}"),
        format!("{{\"pipeline\": {objects}}}"),
        format!("{{\"name\": \"p\", \"extra\": {arrays}}}"),
    ];
    for body in bodies {
        for operation in ["CreatePipeline", "GetPipeline"] {
            let response = t.post(Some(&target(operation)), body.clone()).await;
            assert!(
                (400..500).contains(&response.status),
                "{operation}: {} {:?}",
                response.status,
                response.body
            );
            assert!(response.error_type().is_some(), "{:?}", response.body);
        }
    }
    // Still serving.
    assert_eq!(
        t.post(Some(&target("ListPipelines")), "{}").await.status,
        200
    );
}

#[tokio::test]
async fn invalid_utf8_is_a_client_error() {
    let t = start().await;
    let bodies: [&[u8]; 3] = [
        b"{\"name\": \"\xff\xfe\"}",
        b"\xc3\x28",
        b"{\"name\": \"ok\xed\xa0\x80\"}",
    ];
    for body in bodies {
        let response = t.post(Some(&target("GetPipeline")), body.to_vec()).await;
        assert_error(&response, 400, "SerializationException");
    }
    // A target header that is not UTF-8.
    let response = reqwest::Client::new()
        .post(&t.url)
        .header(
            "x-amz-target",
            reqwest::header::HeaderValue::from_bytes(b"CodePipeline_20150709.\xffList").unwrap(),
        )
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn health_endpoints() {
    let t = start().await;
    for path in ["/health", "/_localstack/health"] {
        let response = t.get(path).await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(
            response.body["services"],
            json!({"codepipeline": "running"}),
            "{path}"
        );
    }
}

#[tokio::test]
async fn timestamps_are_json_numbers() {
    let t = start().await;
    let created = t
        .post(
            Some(&target("CreatePipeline")),
            json!({"pipeline": pipeline_json("times")}).to_string(),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(created.body["pipeline"]["version"], 1);

    let got = t
        .post(Some(&target("GetPipeline")), r#"{"name": "times"}"#)
        .await;
    assert_eq!(got.status, 200);
    let metadata = &got.body["metadata"];
    assert_eq!(
        metadata["pipelineArn"],
        "arn:aws:codepipeline:us-east-1:000000000000:times"
    );
    for field in ["created", "updated"] {
        let value = &metadata[field];
        assert!(value.is_number(), "metadata.{field} = {value}");
        let seconds = value.as_f64().unwrap();
        assert!(
            seconds > 1.6e9 && seconds < 1.0e10,
            "epoch seconds, not millis: {seconds}"
        );
    }

    let listed = t.post(Some(&target("ListPipelines")), "{}").await;
    for field in ["created", "updated"] {
        let value = &listed.body["pipelines"][0][field];
        assert!(value.is_number(), "pipelines[0].{field} = {value}");
    }
}

#[tokio::test]
async fn no_output_operations_answer_an_empty_object() {
    let t = start().await;
    let response = t
        .post(Some(&target("DeletePipeline")), r#"{"name": "whatever"}"#)
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, json!({}));
}

#[tokio::test]
async fn unknown_members_are_ignored() {
    let t = start().await;
    let response = t
        .post(
            Some(&target("ListPipelines")),
            r#"{"somethingNew": {"nested": [1, 2]}}"#,
        )
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
}
