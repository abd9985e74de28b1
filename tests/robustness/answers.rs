//! The wire under test and what a valid answer to a hostile request looks like: never 5xx,
//! an AWS error drawn from what the operation may answer.

use super::*;

pub(crate) const PREFIX: &str = "CodePipeline_20150709";

/// A request that takes longer than this is a hang.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The operation's modelled errors, the protocol-level errors any operation may answer, and the
/// unmodelled errors the README documents ("Decisions").
pub(crate) fn allowed_errors(op: Operation) -> Vec<&'static str> {
    let mut allowed: Vec<&'static str> = op.errors().iter().map(ErrorCode::as_str).collect();
    allowed.extend([
        "ValidationException",
        "SerializationException",
        "UnknownOperationException",
        "RequestEntityTooLargeException",
    ]);
    if op == Operation::UpdatePipeline {
        allowed.push("PipelineNotFoundException");
    }
    // README "Decisions": DeleteCustomActionType of an unknown type is
    // ActionTypeNotFoundException (the model lists only ValidationException and
    // ConcurrentModificationException).
    if op == Operation::DeleteCustomActionType {
        allowed.push("ActionTypeNotFoundException");
    }
    allowed
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    error_header: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

pub(crate) struct Wire {
    url: String,
    http: reqwest::Client,
}

impl Wire {
    pub(crate) async fn send(&self, operation: &str, body: Vec<u8>) -> Result<Answer, String> {
        let request = self
            .http
            .post(&self.url)
            .header("x-amz-target", format!("{PREFIX}.{operation}"))
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/codepipeline/aws4_request, \
                 SignedHeaders=host;x-amz-date;x-amz-target, Signature=00",
            )
            .body(body);
        let response = request
            .send()
            .await
            .map_err(|e| format!("{operation}: no answer: {e}"))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let error_header = header("x-amzn-errortype");
        let content_type = header("content-type");
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("{operation}: body not read: {e}"))?
            .to_vec();
        Ok(Answer {
            status,
            error_header,
            content_type,
            body,
        })
    }

    /// A call that must succeed; its JSON answer.
    pub(crate) async fn ok(&self, operation: &str, body: Value) -> Value {
        let answer = self
            .send(operation, serde_json::to_vec(&body).unwrap())
            .await
            .unwrap();
        assert_eq!(
            answer.status,
            200,
            "{operation} {body}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        serde_json::from_slice(&answer.body).unwrap()
    }
}

/// Checks one answer against the protocol; returns the error code when it is an error.
pub(crate) fn check_answer(op: Operation, answer: &Answer) -> Result<Option<String>, String> {
    let text = || String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)]).into_owned();
    if answer.status >= 500 {
        return Err(format!(
            "{}: server error {}: {}",
            op.name(),
            answer.status,
            text()
        ));
    }
    let json: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| format!("{}: answer is not JSON ({e}): {}", op.name(), text()))?;
    if answer.content_type.as_deref() != Some("application/x-amz-json-1.1") {
        return Err(format!(
            "{}: content type {:?}",
            op.name(),
            answer.content_type
        ));
    }
    match answer.status {
        200 => {
            if !json.is_object() {
                return Err(format!(
                    "{}: success body is not an object: {}",
                    op.name(),
                    text()
                ));
            }
            Ok(None)
        }
        400 | 413 => {
            let code = json["__type"]
                .as_str()
                .ok_or_else(|| format!("{}: error without __type: {}", op.name(), text()))?;
            if answer.error_header.as_deref() != Some(code) {
                return Err(format!(
                    "{}: x-amzn-ErrorType {:?} differs from __type {code}",
                    op.name(),
                    answer.error_header
                ));
            }
            if !json["message"].is_string() {
                return Err(format!("{}: error without message: {}", op.name(), text()));
            }
            if std::env::var("ROBUST_LIST_UNMODELLED").is_ok()
                && !allowed_errors(op).contains(&code)
            {
                eprintln!("UNMODELLED {} {code} {}", op.name(), text());
            } else if !allowed_errors(op).contains(&code) {
                return Err(format!(
                    "{}: error {code} is neither modelled for the operation nor a protocol error: {}",
                    op.name(),
                    text()
                ));
            }
            if (answer.status == 413) != (code == "RequestEntityTooLargeException") {
                return Err(format!(
                    "{}: status {} with {code}",
                    op.name(),
                    answer.status
                ));
            }
            Ok(Some(code.to_string()))
        }
        other => Err(format!(
            "{}: unexpected status {other}: {}",
            op.name(),
            text()
        )),
    }
}

pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(400)]).into_owned();
    if body.len() > 400 {
        format!("{text}... ({} bytes)", body.len())
    } else {
        text
    }
}

pub(crate) fn wire(url: &str) -> Wire {
    Wire {
        url: url.to_string(),
        http: reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap(),
    }
}
