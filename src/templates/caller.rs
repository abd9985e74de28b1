//! Calls an operation from inside the process as a client in an account and region would:
//! the service model's input validation, then the operation's handler (`api::dispatch`).

use crate::app::App;
use crate::model::validate::validate_input;
use crate::model::Operation;
use crate::protocol::{ApiError, RequestContext, Scope};
use serde_json::Value;

pub struct Caller<'a> {
    app: &'a App,
    scope: &'a Scope,
    /// The `Host` clients would send (webhook URLs are built from it).
    host: Option<&'a str>,
}

impl<'a> Caller<'a> {
    pub fn new(app: &'a App, scope: &'a Scope, host: Option<&'a str>) -> Self {
        Caller { app, scope, host }
    }

    /// The operation's JSON answer, or its AWS error.
    pub async fn call(&self, operation: Operation, input: Value) -> Result<Value, ApiError> {
        validate_input(operation.input_shape(), &input)?;
        let ctx = RequestContext {
            scope: self.scope.clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
            operation,
            host: self.host.map(str::to_string),
        };
        let body = crate::api::dispatch(self.app.clone(), ctx, input).await?;
        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}
