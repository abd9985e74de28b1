//! The one error type of every operation: an AWS error code (from the service model's exception
//! shapes, plus the protocol errors) and a message. On the wire: HTTP 400 (413 for a body past the
//! limit), body `{"__type": CODE, "message": MESSAGE}`, header `x-amzn-ErrorType: CODE`.

use super::ErrorCode;
use axum::http::StatusCode;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationException, message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::SerializationException, message)
    }

    pub fn pipeline_not_found(name: &str, account: &str) -> Self {
        Self::new(
            ErrorCode::PipelineNotFoundException,
            format!("Account '{account}' does not have a pipeline with name '{name}'"),
        )
    }

    pub fn stage_not_found(stage: &str, pipeline: &str) -> Self {
        Self::new(
            ErrorCode::StageNotFoundException,
            format!("Stage '{stage}' does not exist in pipeline '{pipeline}'"),
        )
    }

    pub fn action_not_found(action: &str, stage: &str, pipeline: &str) -> Self {
        Self::new(
            ErrorCode::ActionNotFoundException,
            format!("Action '{action}' does not exist in stage '{stage}' of pipeline '{pipeline}'"),
        )
    }

    pub fn invalid_next_token() -> Self {
        Self::new(
            ErrorCode::InvalidNextTokenException,
            "The next token was specified in an invalid format. Make sure that the next token you provide is the token returned by a previous call.",
        )
    }

    pub fn invalid_structure(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidStructureException, message)
    }

    /// HTTP status for this error: 400 for everything a client did, as AWS JSON 1.1 does.
    pub fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::RequestEntityTooLargeException => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InternalFailure => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}
