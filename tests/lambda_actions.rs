//! Lambda invoke actions for real (`--lambda-endpoint`), against a fake Lambda endpoint served
//! by the test (moto's and LocalStack's Lambda need Docker): the function gets the job event
//! AWS sends and reports back with PutJobSuccessResult; a function error fails the action.

mod common;

use aws_sdk_codepipeline::types::*;
use codepipeline_local::config::Config;
use common::engine::*;
use common::real::*;
use common::*;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// A fake Lambda endpoint: the Invoke REST call records the event, then the "function" reports
/// back to CodePipeline as a real one would (function `fails` errors instead).
async fn fake_lambda(
    listener: tokio::net::TcpListener,
    codepipeline_url: String,
) -> Arc<Mutex<Vec<Value>>> {
    use axum::extract::{Path, State};
    use axum::routing::post;
    type Shared = (String, Arc<Mutex<Vec<Value>>>);
    async fn invoke(
        State((url, seen)): State<Shared>,
        Path(function): Path<String>,
        body: axum::body::Bytes,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        let event: Value = serde_json::from_slice(&body).unwrap();
        seen.lock().unwrap().push(event.clone());
        if function == "fails" {
            return (
                [("x-amz-function-error", "Unhandled")],
                r#"{"errorMessage":"boom","errorType":"Error"}"#,
            )
                .into_response();
        }
        let job = &event["CodePipeline.job"];
        let job_id = job["id"].as_str().unwrap().to_string();
        let parameters = job["data"]["actionConfiguration"]["configuration"]["UserParameters"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let c = client(&url, "test", "us-east-1");
        c.put_job_success_result()
            .job_id(job_id)
            .output_variables("Echo", parameters)
            .send()
            .await
            .unwrap();
        "null".into_response()
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/2015-03-31/functions/{function}/invocations", post(invoke))
        .with_state((codepipeline_url, seen.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    seen
}

fn lambda_action(function: &str) -> ActionDeclaration {
    action(
        "Invoke",
        type_id(ActionCategory::Invoke, ActionOwner::Aws, "Lambda"),
        &["Src"],
        &[],
    )
    .configuration("FunctionName", function)
    .configuration("UserParameters", "#{SourceVariables.ObjectKey}")
    .build()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lambda_invoke_action_hands_the_job_event_to_the_function() {
    // The fake function needs the emulator's URL and the emulator the function's: bind the
    // function's port first, serve it once the emulator runs.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let t = start_with(Config {
        lambda_endpoint: Some(format!("http://{}", listener.local_addr().unwrap())),
        ..manual_config()
    })
    .await;
    let seen = fake_lambda(listener, t.url.clone()).await;
    let c = &t.client;
    for (name, function) in [("lambda-ok", "my-function"), ("lambda-fails", "fails")] {
        let declaration = pipeline(name)
            .stages(stage(
                "Source",
                vec![action(
                    "Source",
                    type_id(ActionCategory::Source, ActionOwner::Aws, "S3"),
                    &[],
                    &["Src"],
                )
                .configuration("S3Bucket", "source-bucket")
                .configuration("S3ObjectKey", "app.zip")
                .namespace("SourceVariables")
                .build()
                .unwrap()],
            ))
            .stages(stage("Invoke", vec![lambda_action(function)]))
            .build()
            .unwrap();
        c.create_pipeline()
            .pipeline(declaration)
            .send()
            .await
            .unwrap();
    }

    let id = start_execution(c, "lambda-ok").await;
    let done = wait_finished(c, "lambda-ok", &id).await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Succeeded));
    let detail = action_detail(c, "lambda-ok", &id, "Invoke").await;
    assert_eq!(output_variables(&detail)["Echo"], "app.zip");
    let event = seen.lock().unwrap()[0].clone();
    let job = &event["CodePipeline.job"];
    assert_eq!(event.as_object().unwrap().len(), 1);
    assert!(job["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(job["accountId"], "000000000000");
    let data = &job["data"];
    assert_eq!(
        data["actionConfiguration"]["configuration"]["FunctionName"],
        "my-function"
    );
    assert_eq!(data["inputArtifacts"][0]["name"], "Src");
    assert_eq!(data["inputArtifacts"][0]["location"]["type"], "S3");
    assert_eq!(
        data["inputArtifacts"][0]["location"]["s3Location"]["bucketName"],
        "artifact-bucket"
    );
    assert!(data["artifactCredentials"]["accessKeyId"].is_string());
    assert!(data.get("actionTypeId").is_none() && data.get("pipelineContext").is_none());
    // The job never reached the pollers.
    let polled = c
        .poll_for_jobs()
        .action_type_id(type_id(ActionCategory::Invoke, ActionOwner::Aws, "Lambda"))
        .send()
        .await
        .unwrap();
    assert!(polled.jobs().is_empty());

    // A function that errors fails the action at once.
    let id = start_execution(c, "lambda-fails").await;
    let done = wait_finished(c, "lambda-fails", &id).await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Failed));
    let detail = action_detail(c, "lambda-fails", &id, "Invoke").await;
    assert_eq!(
        error_message(&detail),
        "The Lambda function 'fails' failed: boom"
    );
}
