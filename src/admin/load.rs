//! `POST /_codepipeline-local/load?account=&region=&stack-name=&parameter=NAME=VALUE` with a
//! CloudFormation template (JSON or YAML) or a pipeline JSON as the body: loads it as
//! `--load` does at startup and answers what it created or updated, or a 400 listing every
//! problem (`{"error": "LoadFailed", "message", "problems": [...]}`).

use crate::app::App;
use crate::templates::{self, ApplyMode, LoadOptions};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// What the body is called in problem lines.
const BODY_FILE: &str = "request body";

pub async fn load(
    State(app): State<App>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let mut options = LoadOptions {
        account: app.config.account_id.clone(),
        region: app.config.region.clone(),
        stack_name: None,
        parameters: app.config.parameters.iter().cloned().collect(),
        keep_going: false,
    };
    for (key, value) in query {
        match key.as_str() {
            "account" => options.account = value,
            "region" => options.region = value,
            "stack-name" => options.stack_name = Some(value),
            "parameter" => match crate::config::parse_key_value(&value) {
                Ok((name, value)) => {
                    options.parameters.insert(name, value);
                }
                Err(e) => return failed(e, Vec::new()),
            },
            other => return failed(format!("unknown query parameter '{other}'"), Vec::new()),
        }
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return failed("the body is not UTF-8 text".to_string(), Vec::new());
    };
    let mut exports = app.stacks.exports();
    let stacks = match templates::read_text(text, BODY_FILE, "loaded", &options, &mut exports) {
        Ok(stacks) => stacks,
        Err(problems) => return failed(templates::describe(&problems), problems),
    };
    if let Some(problem) = templates::unknown_parameters(&stacks, &options) {
        return failed(problem.to_string(), vec![problem]);
    }
    let host = headers.get("host").and_then(|h| h.to_str().ok());
    let (reports, problems) = templates::apply(&app, &stacks, ApplyMode::StopAtFirst, host).await;
    if !problems.is_empty() {
        return failed(templates::describe(&problems), problems);
    }
    Json(json!({ "loaded": reports })).into_response()
}

fn failed(message: String, problems: Vec<templates::Problem>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "LoadFailed", "message": message, "problems": problems })),
    )
        .into_response()
}
