//! The admin API under `/_codepipeline-local/`, for tests and tools rather than AWS clients:
//!
//! | Route | What it does |
//! |---|---|
//! | `POST /_codepipeline-local/reset[?account=A&region=R]` | empties all state, or one account and region |
//! | `GET /_codepipeline-local/state[?account=A&region=R][&secrets=true]` | exports state: `[{account, region, state}]` (secrets `****` unless `secrets=true`) |
//! | `PUT /_codepipeline-local/state` | checks, then imports such a list, replacing those scopes, and resumes their executions |
//! | `GET /_codepipeline-local/config[?secrets=true]` | the effective configuration |
//! | `GET /_codepipeline-local/health` | liveness and internal counts (`health`) |
//! | `POST /_codepipeline-local/load[?account=A&region=R&stack-name=S&parameter=K=V]` | loads a template or pipeline JSON (`load`) |
//! | `GET /_codepipeline-local/events[?pipeline=P&execution-id=E]` | state-change events as Server-Sent Events (`events`) |
//! | `GET /_codepipeline-local/ui/` | the dashboard (`ui`) |
//! | `GET /_codepipeline-local/logs/{actionExecutionId}[?offset=N]` | a locally executed action's log (`logs`) |

mod events;
pub mod health;
mod load;
mod logs;
mod secrets;
mod state;
mod ui;

use crate::app::App;
use crate::protocol::Scope;
use crate::store::RegionState;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use events::{spawn_event_log, EventFilter, Shutdown};

/// Where the admin routes live (the HTTP layer's guards check the same prefix).
pub use crate::http::ADMIN_PATH;

/// The admin routes (merged into the server's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route(&format!("{ADMIN_PATH}/reset"), post(reset))
        .route(
            &format!("{ADMIN_PATH}/state"),
            get(state::export_state)
                .put(state::import_state)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(&format!("{ADMIN_PATH}/config"), get(config))
        .route(&format!("{ADMIN_PATH}/health"), get(health::status))
        .route(&format!("{ADMIN_PATH}/load"), post(load::load))
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
            // Cancelled first: a timer armed after the reset belongs to the new state.
            crate::runtime::cancel_scope(&app, &scope);
            crate::runtime::stop_real_work_of_scope(&app, &scope);
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
            crate::runtime::cancel_all(&app);
            for scope in &scopes {
                crate::runtime::stop_real_work_of_scope(&app, scope);
            }
            app.store.reset_all();
            tracing::info!(scopes = scopes.len(), "admin: all state reset");
            Json(json!({ "reset": scopes.iter().map(scope_json).collect::<Vec<_>>() }))
                .into_response()
        }
    }
}

/// `?secrets=true`: show secrets in the answer (hidden by default, see `secrets`).
#[derive(Debug, Default, Deserialize)]
pub struct SecretsQuery {
    #[serde(default)]
    pub secrets: bool,
}

async fn config(State(app): State<App>, Query(query): Query<SecretsQuery>) -> Response {
    let mut config = match serde_json::to_value(&app.config) {
        Ok(config) => config,
        Err(e) => return internal_failure(e.to_string()),
    };
    if !query.secrets {
        secrets::mask_config(&mut config);
    }
    Json(config).into_response()
}

fn internal_failure(message: String) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": "InternalFailure", "message": message })),
    )
        .into_response()
}
