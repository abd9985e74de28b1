//! Starting pipelines from outside: webhook deliveries and git events.
//!
//! | endpoint | what |
//! |---|---|
//! | `POST /_codepipeline-local/webhooks/{region}/{account}/{id}` | the URL PutWebhook returns (`url` of the webhook) |
//! | `POST /_codepipeline-local/git-events[?account=A&region=R]` | a git push or pull request, evaluated against V2 pipeline triggers |
//!
//! **Webhook delivery.** The body is the JSON payload a source host sends (a GitHub push event,
//! say). The delivery is authenticated (`auth`), every filter of the webhook is evaluated
//! (`filters`), and on a match one execution of the target pipeline starts with trigger type
//! `Webhook` (trigger detail: the webhook's ARN); a commit named by the payload (`head_commit.id`
//! or `after` of a push, `pull_request.head.sha`) is pinned as the target action's revision,
//! with the commit message as its summary. Answers (JSON bodies):
//!
//! | status | when | body |
//! |---|---|---|
//! | 200 | filters match, execution started | `{"matched": true, "pipelineName", "pipelineExecutionId"}` |
//! | 200 | a filter does not match (nothing starts) | `{"matched": false, "message"}` |
//! | 400 | body is not JSON | `{"message"}` |
//! | 403 | bad or missing signature, caller address not in range | `{"message"}` |
//! | 404 | no webhook has this URL | `{"message"}` |
//! | 409 | matched, but the pipeline or action is gone or the start failed; recorded as the webhook's `errorCode`/`errorMessage` | `{"matched": true, "errorCode", "message"}` |
//! | 413 | body larger than `max_webhook_payload_bytes` | `{"message"}` |
//!
//! **Git event.** Body (JSON, camelCase; see `git::GitEvent`):
//! `{"connectionArn"?, "repository": "owner/repo", "branch"? | "tag"?, "commit", "message"?,
//! "files"?: [..], "pullRequest"?: {"event": "OPEN"|"UPDATED"|"CLOSED", "sourceBranch"?,
//! "destinationBranch", "id"?}}`. The account and region are the `account` and `region` query
//! parameters, else the `x-codepipeline-local-account` / `x-codepipeline-local-region` headers,
//! else a SigV4 credential scope, else the configured defaults. Every pipeline of that account
//! and region whose triggers fire (`git`) gets one execution with trigger type `WebhookV2`
//! (trigger detail: the source action's `ConnectionArn`), the event's commit pinned as the
//! revision of each firing source action. Answer: 200 with
//! `{"event", "started": [{"pipelineName", "pipelineExecutionId", "sourceActions"}],
//! "failed": [{"pipelineName", "errorCode", "message"}]}`; 400 for a malformed event, 413 past
//! the payload limit. With `"ref": "refs/heads/B" | "refs/tags/T"` and a `repository` mapped
//! with `[[repositories]]`, the branch or tag, the message and the changed files are read from
//! the repository (`git_ref::complete`) instead of the body.

pub mod auth;
pub use crate::store::deliveries as dedup;
pub mod filters;
pub mod git;
pub mod git_ref;

use crate::app::App;
use crate::config::Config;
use crate::engine::{self, ActionRevisionRecord, StartRequest};
use crate::model::{Timestamp, TriggerType};
use crate::protocol::{caller_scope, ApiError, Scope};
use crate::store::{Region, RegionState};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

/// Where webhook URLs live: `{base}{WEBHOOK_PATH}/{region}/{account}/{id}`.
pub const WEBHOOK_PATH: &str = "/_codepipeline-local/webhooks";
/// The id GitHub gives each delivery (kept on redeliveries): a replayed id starts nothing.
pub const DELIVERY_HEADER: &str = "x-github-delivery";
/// Where git events are delivered.
pub const GIT_EVENTS_PATH: &str = "/_codepipeline-local/git-events";

/// The routes of this module (merged into the server's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route(
            &format!("{WEBHOOK_PATH}/{{region}}/{{account}}/{{id}}"),
            post(deliver),
        )
        .route(GIT_EVENTS_PATH, post(git_event))
}

/// The URL of a webhook: `config.external_url` if set, else `http://HOST` from the request that
/// created it, else `http://LISTEN`.
pub fn webhook_url(config: &Config, host: Option<&str>, scope: &Scope, id: &str) -> String {
    let base = match (&config.external_url, host) {
        (Some(external), _) => external.trim_end_matches('/').to_string(),
        (None, Some(host)) => format!("http://{host}"),
        (None, None) => format!("http://{}", config.listen),
    };
    format!(
        "{base}{WEBHOOK_PATH}/{}/{}/{id}",
        scope.region, scope.account
    )
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn message(status: StatusCode, text: impl Into<String>) -> Response {
    reply(status, json!({ "message": text.into() }))
}

/// Reads a payload up to the configured limit (413 past it).
async fn read_payload(app: &App, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let limit = app.config.max_webhook_payload_bytes;
    let too_large = || {
        message(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The payload exceeds the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(message(
            StatusCode::BAD_REQUEST,
            format!("Could not read the payload: {e}"),
        )),
    }
}

/// The region's state if it exists (a stray URL does not create one).
fn existing_region(app: &App, scope: &Scope) -> Option<Arc<Region>> {
    app.store.regions().into_iter().find(|r| &r.scope == scope)
}

fn webhook_name_by_id(state: &RegionState, id: &str) -> Option<String> {
    state
        .webhooks
        .iter()
        .find(|(_, w)| w.id == id)
        .map(|(name, _)| name.clone())
}

fn no_such_webhook() -> Response {
    message(StatusCode::NOT_FOUND, "No webhook has this URL")
}

/// `POST /_codepipeline-local/webhooks/{region}/{account}/{id}`.
async fn deliver(
    State(app): State<App>,
    Path((region, account, id)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let scope = Scope { account, region };
    let Some(region) = existing_region(&app, &scope) else {
        return no_such_webhook();
    };
    let definition = {
        let state = region.lock();
        match webhook_name_by_id(&state, &id) {
            Some(name) => state.webhooks[&name].definition.clone(),
            None => return no_such_webhook(),
        }
    };
    let bytes = match read_payload(&app, &parts.headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    if let Err(reason) = auth::authenticate(&definition, &parts.headers, &bytes, peer) {
        tracing::info!(webhook = %definition.name, %reason, "webhook delivery refused");
        return message(StatusCode::FORBIDDEN, reason);
    }
    let payload: Value = match serde_json::from_slice(&bytes) {
        Ok(payload) => payload,
        Err(e) => {
            return message(
                StatusCode::BAD_REQUEST,
                format!("The payload is not JSON: {e}"),
            )
        }
    };
    let delivery = parts
        .headers
        .get(DELIVERY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|delivery| (delivery.to_string(), format!("{id}/{delivery}")));
    let Some((delivery, key)) = delivery else {
        return trigger(&app, &region, &id, &payload).0;
    };
    match app.webhook_deliveries.claim(&key) {
        dedup::Seen::New => {}
        dedup::Seen::InFlight => return replayed(&delivery, None),
        dedup::Seen::Started(execution_id) => return replayed(&delivery, Some(execution_id)),
    }
    let (response, started) = trigger(&app, &region, &id, &payload);
    match started {
        Some(execution_id) => app.webhook_deliveries.complete(&key, &execution_id),
        None => app.webhook_deliveries.release(&key),
    }
    response
}

/// The answer to a delivery id seen before: nothing starts.
fn replayed(delivery: &str, execution_id: Option<String>) -> Response {
    tracing::info!(delivery, "webhook delivery replayed: ignored");
    reply(
        StatusCode::OK,
        json!({
            "matched": true,
            "duplicate": true,
            "pipelineExecutionId": execution_id,
            "message": format!("Delivery {delivery} was already handled: it starts no other execution"),
        }),
    )
}

/// Evaluates the webhook's filters on `payload` and starts its pipeline: the answer and the
/// execution it started, if any.
fn trigger(
    app: &App,
    region: &Arc<Region>,
    id: &str,
    payload: &Value,
) -> (Response, Option<String>) {
    let mut state = region.lock();
    let Some(name) = webhook_name_by_id(&state, id) else {
        return (no_such_webhook(), None);
    };
    let record = &state.webhooks[&name];
    let definition = record.definition.clone();
    let arn = record.arn.clone();
    let target = state
        .pipelines
        .get(&definition.target_pipeline)
        .map(|p| p.current().clone());
    let Some(pipeline) = target else {
        return (
            failed(
                &mut state,
                &name,
                "PipelineNotFoundException",
                format!(
                    "The target pipeline '{}' does not exist",
                    definition.target_pipeline
                ),
            ),
            None,
        );
    };
    let action = pipeline.stages.first().and_then(|s| {
        s.actions
            .iter()
            .find(|a| a.name == definition.target_action)
    });
    let Some(action) = action else {
        return (
            failed(
                &mut state,
                &name,
                "ActionNotFoundException",
                format!(
                    "The target action '{}' is not a source action of pipeline '{}'",
                    definition.target_action, definition.target_pipeline
                ),
            ),
            None,
        );
    };
    let configuration = action.configuration.clone().unwrap_or_default();
    if let Err(reason) = filters::evaluate(&definition.filters, payload, &configuration) {
        tracing::debug!(webhook = %name, %reason, "webhook payload did not match");
        return (
            reply(
                StatusCode::OK,
                json!({ "matched": false, "message": format!("The payload did not match the webhook's filters: {reason}") }),
            ),
            None,
        );
    }
    let pinned_revisions = filters::commit_of(payload)
        .map(|(commit, summary)| {
            BTreeMap::from([(
                definition.target_action.clone(),
                ActionRevisionRecord {
                    revision_id: commit.clone(),
                    revision_change_id: commit,
                    created: Timestamp::now(),
                    summary,
                    branch: payload
                        .get("ref")
                        .and_then(Value::as_str)
                        .and_then(|r| r.strip_prefix("refs/heads/"))
                        .map(str::to_string),
                },
            )])
        })
        .unwrap_or_default();
    let request = StartRequest {
        trigger_type: Some(TriggerType::Webhook),
        trigger_detail: Some(arn),
        pinned_revisions,
        ..StartRequest::default()
    };
    match crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
        engine::start_execution(cx, state, &definition.target_pipeline, request)
    }) {
        Ok(execution_id) => {
            if let Some(record) = state.webhooks.get_mut(&name) {
                record.last_triggered = Some(Timestamp::now());
                record.error_code = None;
                record.error_message = None;
            }
            state.dirty.webhooks.insert(name.clone());
            tracing::info!(webhook = %name, pipeline = %definition.target_pipeline, %execution_id, "webhook started an execution");
            let response = reply(
                StatusCode::OK,
                json!({
                    "matched": true,
                    "pipelineName": definition.target_pipeline,
                    "pipelineExecutionId": execution_id,
                }),
            );
            (response, Some(execution_id))
        }
        Err(e) => {
            let e = ApiError::from(e);
            (failed(&mut state, &name, e.code.as_str(), e.message), None)
        }
    }
}

/// A matching delivery that could not start its pipeline: recorded on the webhook.
fn failed(state: &mut RegionState, name: &str, code: &str, text: String) -> Response {
    if let Some(record) = state.webhooks.get_mut(name) {
        record.error_code = Some(code.to_string());
        record.error_message = Some(text.clone());
    }
    state.dirty.webhooks.insert(name.to_string());
    tracing::info!(webhook = %name, code, message = %text, "webhook could not start its pipeline");
    reply(
        StatusCode::CONFLICT,
        json!({ "matched": true, "errorCode": code, "message": text }),
    )
}

/// The account and region a git event is for.
fn event_scope(
    app: &App,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Scope, String> {
    let fallback = caller_scope(headers, &app.config.account_id, &app.config.region);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let account = query
        .get("account")
        .cloned()
        .or_else(|| header("x-codepipeline-local-account"))
        .unwrap_or(fallback.account);
    let region = query
        .get("region")
        .cloned()
        .or_else(|| header("x-codepipeline-local-region"))
        .unwrap_or(fallback.region);
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("account must be 12 digits, got '{account}'"));
    }
    let region_ok = (4..=30).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(format!("'{region}' is not a region name"));
    }
    Ok(Scope { account, region })
}

/// `POST /_codepipeline-local/git-events`.
async fn git_event(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let scope = match event_scope(&app, &query, &headers) {
        Ok(scope) => scope,
        Err(reason) => return message(StatusCode::BAD_REQUEST, reason),
    };
    let bytes = match read_payload(&app, &headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let mut event: git::GitEvent = match serde_json::from_slice(&bytes) {
        Ok(event) => event,
        Err(e) => {
            return message(
                StatusCode::BAD_REQUEST,
                format!("The body is not a git event: {e}"),
            )
        }
    };
    if event.git_ref.is_some() {
        event = match git_ref::complete(&app.config, event).await {
            Ok(event) => event,
            Err(reason) => return message(StatusCode::BAD_REQUEST, reason),
        };
    }
    if let Err(reason) = event.check() {
        return message(StatusCode::BAD_REQUEST, reason);
    }
    let description = event.describe();

    let region = app.store.region(&scope);
    let mut state = region.lock();
    let firing: Vec<(String, Vec<String>, Option<String>)> = state
        .pipelines
        .iter()
        .filter_map(|(name, record)| {
            let declaration = record.current();
            let actions = git::matching_source_actions(declaration, &event);
            let connection = actions
                .first()
                .and_then(|action| git::connection_of(declaration, action));
            (!actions.is_empty()).then(|| (name.clone(), actions, connection))
        })
        .collect();
    let mut started = Vec::new();
    let mut failures = Vec::new();
    for (pipeline, actions, connection) in firing {
        let detail = connection.unwrap_or_else(|| description.clone());
        let started_execution = start_for_git_event(
            &app,
            &region.scope,
            &mut state,
            &pipeline,
            &actions,
            (TriggerType::WebhookV2, detail),
            &event,
        );
        match started_execution {
            Ok(execution_id) => {
                tracing::info!(%pipeline, %execution_id, event = %description, "git event started an execution");
                started.push(json!({
                    "pipelineName": pipeline,
                    "pipelineExecutionId": execution_id,
                    "sourceActions": actions,
                }));
            }
            Err(e) => {
                let e = ApiError::from(e);
                failures.push(json!({
                    "pipelineName": pipeline,
                    "errorCode": e.code.as_str(),
                    "message": e.message,
                }))
            }
        }
    }
    reply(
        StatusCode::OK,
        json!({ "event": description, "started": started, "failed": failures }),
    )
}

/// Starts one execution of `pipeline` for a git event, the event's commit pinned as the
/// revision of each of `actions` (its source actions that fire); the git-events endpoint and
/// the repository watcher (`sources::push`) both start executions this way.
pub fn start_for_git_event(
    app: &App,
    scope: &Scope,
    state: &mut RegionState,
    pipeline: &str,
    actions: &[String],
    (trigger_type, trigger_detail): (TriggerType, String),
    event: &git::GitEvent,
) -> Result<String, engine::EngineError> {
    let created = Timestamp::now();
    let pinned_revisions = actions
        .iter()
        .map(|action| {
            (
                action.clone(),
                ActionRevisionRecord {
                    revision_id: event.commit.clone(),
                    revision_change_id: event.commit.clone(),
                    created,
                    summary: event.message.clone(),
                    branch: event.source_branch(),
                },
            )
        })
        .collect();
    let request = StartRequest {
        trigger_type: Some(trigger_type),
        trigger_detail: Some(trigger_detail),
        pinned_revisions,
        ..StartRequest::default()
    };
    crate::runtime::with_engine_locked(app, scope, state, |cx, state| {
        engine::start_execution(cx, state, pipeline, request)
    })
}
