//! AWS JSON 1.1, the wire protocol of CodePipeline: `POST /` with
//! `X-Amz-Target: CodePipeline_20150709.<Operation>`, a JSON body in and out, errors as
//! `{"__type", "message"}`. This module knows HTTP and AWS errors, not pipelines.

mod credentials;
mod json11;

pub use crate::model::ApiError;
pub use credentials::{caller_scope, Scope};
pub use json11::{decode_input, error_response, handle_json11, json_response, RequestContext};
