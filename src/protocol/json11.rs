//! Request decoding and response encoding for AWS JSON 1.1.

use super::{ApiError, Scope};
use crate::model::spec::TARGET_PREFIX;
use crate::model::validate::validate_input;
use crate::model::{ErrorCode, Operation};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::Value;
use tracing::Instrument;

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// What a handler knows about the request besides its input.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub scope: Scope,
    pub request_id: String,
    pub operation: Operation,
    /// `Host` header, used to build URLs this server serves (webhooks).
    pub host: Option<String>,
}

impl RequestContext {
    /// The caller's identity as AWS records it in `lastUpdatedBy`, `lastChangedBy` and
    /// trigger details (signatures are not verified, so the account root stands for it).
    pub fn caller_arn(&self) -> String {
        format!("arn:aws:iam::{}:root", self.scope.account)
    }
}

/// Decodes `X-Amz-Target: CodePipeline_20150709.<Operation>`.
pub fn operation_from_target(headers: &HeaderMap) -> Result<Operation, ApiError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    target
        .strip_prefix(TARGET_PREFIX)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(Operation::from_name)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownOperationException,
                if target.is_empty() {
                    "Missing X-Amz-Target header".to_string()
                } else {
                    format!("Unknown operation {target}")
                },
            )
        })
}

/// Reads the whole body, up to `limit` bytes. A longer body is drained (so the client gets the
/// answer instead of a reset connection) and answered with `RequestEntityTooLargeException`.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut body = body;
    let mut collected: Vec<u8> = Vec::new();
    let mut too_large = false;
    let mut drained: usize = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ApiError::serialization(format!("Could not read request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if too_large || collected.len() + data.len() > limit {
                too_large = true;
                drained += data.len();
                // Stop draining an endless body at 16x the limit; the connection is then closed.
                if drained > limit.saturating_mul(16) {
                    break;
                }
                continue;
            }
            collected.extend_from_slice(&data);
        }
    }
    if too_large {
        return Err(ApiError::new(
            ErrorCode::RequestEntityTooLargeException,
            format!("Request body exceeds the limit of {limit} bytes"),
        ));
    }
    Ok(Bytes::from(collected))
}

/// Parses and validates an operation's input. An empty body is `{}`.
pub fn decode_input(operation: Operation, body: &[u8]) -> Result<Value, ApiError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::serialization(format!("Could not parse request body as JSON: {e}"))
        })?
    };
    validate_input(operation.input_shape(), &value)?;
    Ok(value)
}

/// A successful JSON 1.1 answer.
pub fn json_response(request_id: &str, body: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// An AWS error: `{"__type": CODE, "message": MESSAGE}` plus `x-amzn-ErrorType: CODE`.
pub fn error_response(request_id: &str, error: &ApiError) -> Response {
    let body = serde_json::json!({
        "__type": error.code.as_str(),
        "message": error.message,
    });
    let mut response = (error.status(), body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(
        "x-amzn-errortype",
        HeaderValue::from_static(error.code.as_str()),
    );
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// Handles one JSON 1.1 call: decode, validate, dispatch (with the body it was decoded from,
/// should the call run again), encode.
pub async fn handle_json11<F, Fut>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    scope: Scope,
    dispatch: F,
) -> Response
where
    F: FnOnce(RequestContext, Value, Bytes) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>, ApiError>>,
{
    let request_id = uuid::Uuid::new_v4().to_string();
    let operation = match operation_from_target(headers) {
        Ok(op) => op,
        Err(e) => {
            tracing::info!(request_id, error = %e, "rejected request");
            return error_response(&request_id, &e);
        }
    };
    let span = tracing::info_span!(
        "request",
        op = operation.name(),
        request_id = %request_id,
        pipeline = tracing::field::Empty,
        execution_id = tracing::field::Empty,
    );
    let record_span = span.clone();
    let result = async {
        let bytes = read_body(body, limit).await?;
        let input = decode_input(operation, &bytes)?;
        // Name the pipeline and execution a request is about in its log lines.
        let pipeline = ["pipelineName", "name"]
            .iter()
            .find_map(|k| input.get(*k).and_then(Value::as_str))
            .or_else(|| input.pointer("/pipeline/name").and_then(Value::as_str));
        if let Some(pipeline) = pipeline {
            record_span.record("pipeline", pipeline);
        }
        if let Some(id) = input.get("pipelineExecutionId").and_then(Value::as_str) {
            record_span.record("execution_id", id);
        }
        let ctx = RequestContext {
            scope,
            request_id: request_id.clone(),
            operation,
            host: headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        let result = dispatch(ctx, input, bytes).await;
        match &result {
            Ok(_) => tracing::debug!("ok"),
            Err(e) => tracing::info!(error = %e, "error"),
        }
        result
    }
    .instrument(span)
    .await;
    match result {
        Ok(body) => json_response(&request_id, body),
        Err(e) => error_response(&request_id, &e),
    }
}
