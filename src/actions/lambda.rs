//! Lambda invoke actions for real (`--lambda-endpoint`): the action's job is not queued for
//! PollForJobs but handed to the function, with the event AWS sends:
//!
//! ```json
//! {"CodePipeline.job": {"id": "JOB_ID", "accountId": "ACCOUNT", "data": {
//!     "actionConfiguration": {"configuration": {"FunctionName": "...", "UserParameters": "..."}},
//!     "inputArtifacts": [...], "outputArtifacts": [...], "artifactCredentials": {...},
//!     "continuationToken": "...", "encryptionKey": {...}}}}
//! ```
//!
//! The function reports back with PutJobSuccessResult or PutJobFailureResult, as in AWS; a
//! success with a continuation token invokes it again with that token. The invocation is
//! synchronous (RequestResponse): when the call fails or the function itself errors, the action
//! fails at once with that error instead of waiting for the job timeout.

use crate::config::Config;
use aws_sdk_lambda::config::{BehaviorVersion, Region};
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::Client;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The Lambda client of the configured endpoint (signed with the S3 credentials and region).
pub fn client(config: &Config) -> Option<Client> {
    let endpoint = config.lambda_endpoint.clone()?;
    type Cache = Mutex<HashMap<(String, String, String, String), Client>>;
    static CLIENTS: OnceLock<Cache> = OnceLock::new();
    let key = (
        endpoint.clone(),
        config.s3_region().to_string(),
        config.s3_access_key_id.clone(),
        config.s3_secret_access_key.clone(),
    );
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let client = clients.entry(key).or_insert_with(|| {
        let conf = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(Region::new(config.s3_region().to_string()))
            .credentials_provider(super::artifacts::credentials(config))
            .build();
        Client::from_conf(conf)
    });
    Some(client.clone())
}

/// The event a Lambda function gets for a job.
pub fn event(job: &crate::jobs::JobRecord) -> Value {
    let mut data = serde_json::to_value(&job.data).unwrap_or_else(|_| json!({}));
    if let Some(map) = data.as_object_mut() {
        // AWS's event carries neither: the function knows what it is.
        map.remove("actionTypeId");
        map.remove("pipelineContext");
    }
    json!({
        "CodePipeline.job": {
            "id": job.id,
            "accountId": job.account,
            "data": data,
        }
    })
}

/// The function a job is for and the event it gets.
pub fn request(job: &crate::jobs::JobRecord) -> (String, String) {
    let function = job
        .data
        .action_configuration
        .as_ref()
        .and_then(|c| c.configuration.as_ref())
        .and_then(|c| c.get("FunctionName"))
        .cloned()
        .unwrap_or_default();
    (function, event(job).to_string())
}

/// Invokes `function` with `payload` (synchronously, RequestResponse). `Err` carries the
/// message the job fails with: the call failed or the function itself errored.
pub async fn call(config: &Config, function: &str, payload: String) -> Result<(), String> {
    let Some(client) = client(config) else {
        return Ok(());
    };
    let result = client
        .invoke()
        .function_name(function)
        .payload(Blob::new(payload))
        .send()
        .await;
    let failure = match result {
        Ok(out) => out.function_error().map(|kind| {
            let answer: Value = out
                .payload()
                .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
                .unwrap_or(Value::Null);
            let message = answer
                .get("errorMessage")
                .and_then(Value::as_str)
                .unwrap_or(kind);
            format!("The Lambda function '{function}' failed: {message}")
        }),
        Err(e) => Some(match e.as_service_error() {
            Some(service) => format!(
                "Could not invoke the Lambda function '{function}'. Error: AWS Lambda:{}:{}",
                service.code().unwrap_or("Error"),
                service.message().unwrap_or_default()
            ),
            None => format!(
                "Could not invoke the Lambda function '{function}' at {}: {}",
                config.lambda_endpoint.as_deref().unwrap_or_default(),
                aws_sdk_lambda::error::DisplayErrorContext(&e)
            ),
        }),
    };
    match failure {
        Some(message) => Err(message),
        None => Ok(()),
    }
}
