//! The admin API under `/_codepipeline-local/`, for tests and tools rather than AWS clients:
//!
//! | Route | What it does |
//! |---|---|
//! | `POST /_codepipeline-local/reset[?account=A&region=R]` | empties all state, or one account and region |
//! | `GET /_codepipeline-local/state[?account=A&region=R]` | exports state: `[{account, region, state}]` |
//! | `PUT /_codepipeline-local/state` | imports such a list, replacing those scopes, and resumes their executions |
//! | `GET /_codepipeline-local/config` | the effective configuration |
//! | `GET /_codepipeline-local/events[?pipeline=P&execution-id=E]` | state-change events as Server-Sent Events (`events`) |
//! | `GET /_codepipeline-local/ui/` | the dashboard (`ui`) |
//! | `GET /_codepipeline-local/logs/{actionExecutionId}[?offset=N]` | a locally executed action's log (`logs`) |

mod events;
pub mod health;
mod logs;
mod ui;

use crate::app::App;
use crate::protocol::Scope;
use crate::store::RegionState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use events::{spawn_event_log, EventFilter, Shutdown};

/// Where the admin routes live.
pub const ADMIN_PATH: &str = "/_codepipeline-local";

/// The admin routes (merged into the server's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route(&format!("{ADMIN_PATH}/reset"), post(reset))
        .route(
            &format!("{ADMIN_PATH}/state"),
            get(export_state)
                .put(import_state)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(&format!("{ADMIN_PATH}/config"), get(config))
        .route(&format!("{ADMIN_PATH}/events"), get(events::stream))
        .merge(ui::routes())
        .merge(logs::routes())
}

/// `?account=&region=`: one scope when either is given (the other defaults to the configured
/// default), every scope when neither is.
#[derive(Debug, Default, Deserialize)]
pub struct ScopeQuery {
    pub account: Option<String>,
    pub region: Option<String>,
}

impl ScopeQuery {
    fn scope(&self, app: &App) -> Option<Scope> {
        if self.account.is_none() && self.region.is_none() {
            return None;
        }
        Some(Scope {
            account: self
                .account
                .clone()
                .unwrap_or_else(|| app.config.account_id.clone()),
            region: self
                .region
                .clone()
                .unwrap_or_else(|| app.config.region.clone()),
        })
    }
}

/// One account and region's state, as exported and imported.
#[derive(Serialize, Deserialize)]
pub struct ScopedState {
    pub account: String,
    pub region: String,
    pub state: RegionState,
}

fn scope_json(scope: &Scope) -> serde_json::Value {
    json!({ "account": scope.account, "region": scope.region })
}

fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "BadRequest", "message": message })),
    )
        .into_response()
}

async fn reset(State(app): State<App>, Query(query): Query<ScopeQuery>) -> Response {
    match query.scope(&app) {
        Some(scope) => {
            app.store.reset(&scope);
            tracing::info!(account = %scope.account, region = %scope.region, "admin: state reset");
            Json(json!({ "reset": [scope_json(&scope)] })).into_response()
        }
        None => {
            let mut scopes: Vec<Scope> = app
                .store
                .regions()
                .iter()
                .map(|r| r.scope.clone())
                .collect();
            scopes.sort();
            app.store.reset_all();
            tracing::info!(scopes = scopes.len(), "admin: all state reset");
            Json(json!({ "reset": scopes.iter().map(scope_json).collect::<Vec<_>>() }))
                .into_response()
        }
    }
}

async fn export_state(State(app): State<App>, Query(query): Query<ScopeQuery>) -> Response {
    let only = query.scope(&app);
    let mut regions = match &only {
        Some(scope) => vec![app.store.region(scope)],
        None => app.store.regions(),
    };
    regions.sort_by(|a, b| a.scope.cmp(&b.scope));
    // Serialize each region under its lock, one at a time; regions that only exist because
    // something read them are left out, unless asked for by name.
    let empty = serde_json::to_value(RegionState::default()).unwrap_or_default();
    let mut out = Vec::with_capacity(regions.len());
    for region in &regions {
        let state = region.lock();
        let value = match serde_json::to_value(&*state) {
            Ok(value) => value,
            Err(e) => {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "error": "InternalFailure", "message": e.to_string() })),
                )
                    .into_response()
            }
        };
        drop(state);
        if only.is_none() && value == empty {
            continue;
        }
        out.push(json!({
            "account": region.scope.account,
            "region": region.scope.region,
            "state": value,
        }));
    }
    Json(serde_json::Value::Array(out)).into_response()
}

async fn import_state(State(app): State<App>, body: Bytes) -> Response {
    let scoped: Vec<ScopedState> = match serde_json::from_slice(&body) {
        Ok(scoped) => scoped,
        Err(e) => {
            return bad_request(format!(
                "expected a JSON list of {{account, region, state}}: {e}"
            ))
        }
    };
    let mut imported = Vec::with_capacity(scoped.len());
    for item in scoped {
        let scope = Scope {
            account: item.account,
            region: item.region,
        };
        let pipelines = item.state.pipelines.len();
        let region = app.store.replace(&scope, item.state);
        crate::engine::resume(&app, &region);
        tracing::info!(account = %scope.account, region = %scope.region, pipelines, "admin: state imported");
        imported.push(scope_json(&scope));
    }
    Json(json!({ "imported": imported })).into_response()
}

async fn config(State(app): State<App>) -> Response {
    Json(&app.config).into_response()
}
