//! State export and import (`GET`/`PUT /_codepipeline-local/state`).
//!
//! An import is checked whole before anything changes (`store::invariants`: scope patterns,
//! pipelines with their versions, executions and their indexes, keys matching records): a bad
//! document is a 400 naming the problem. A document whose secrets are masked (`****`, an export
//! without `?secrets=true`) is refused too: importing it would replace real secrets with `****`.

use super::secrets;
use super::{bad_request, internal_failure, scope_json, ScopeQuery, ScopedState};
use crate::app::App;
use crate::protocol::Scope;
use crate::store::invariants;
use crate::store::RegionState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// `?account=&region=` (see `ScopeQuery`) and `?secrets=true`.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    account: Option<String>,
    region: Option<String>,
    #[serde(default)]
    secrets: bool,
}

pub async fn export_state(State(app): State<App>, Query(query): Query<ExportQuery>) -> Response {
    let only = ScopeQuery {
        account: query.account,
        region: query.region,
    }
    .scope(&app);
    let mut regions = match &only {
        Some(scope) => vec![app.store.read(scope)],
        None => app.store.regions(),
    };
    regions.sort_by(|a, b| a.scope.cmp(&b.scope));
    // Serialize each region under its lock, one at a time; empty regions are left out, unless
    // asked for by name.
    let empty = serde_json::to_value(RegionState::default()).unwrap_or_default();
    let mut out = Vec::with_capacity(regions.len());
    for region in &regions {
        let state = region.lock();
        let value = serde_json::to_value(&*state);
        drop(state);
        let mut value = match value {
            Ok(value) => value,
            Err(e) => return internal_failure(e.to_string()),
        };
        if only.is_none() && value == empty {
            continue;
        }
        if !query.secrets {
            let keys = secrets::secret_keys(&value);
            secrets::mask(&mut value, &keys);
        }
        out.push(json!({
            "account": region.scope.account,
            "region": region.scope.region,
            "state": value,
        }));
    }
    Json(Value::Array(out)).into_response()
}

pub async fn import_state(State(app): State<App>, body: Bytes) -> Response {
    let scoped = match parse(&body) {
        Ok(scoped) => scoped,
        Err(message) => return bad_request(message),
    };
    let mut imported = Vec::with_capacity(scoped.len());
    for (scope, state) in scoped {
        let pipelines = state.pipelines.len();
        // Cancelled first: a timer armed after the import belongs to the new state.
        crate::runtime::cancel_scope(&app, &scope);
        crate::runtime::stop_real_work_of_scope(&app, &scope);
        let region = app.store.replace(&scope, state);
        crate::runtime::resume(&app, &region);
        tracing::info!(account = %scope.account, region = %scope.region, pipelines, "admin: state imported");
        imported.push(scope_json(&scope));
    }
    Json(json!({ "imported": imported })).into_response()
}

/// Reads and checks a whole import document; the error names the first problem.
fn parse(body: &[u8]) -> Result<Vec<(Scope, RegionState)>, String> {
    let expected = "expected a JSON list of {account, region, state}";
    let items: Vec<Value> = serde_json::from_slice(body).map_err(|e| format!("{expected}: {e}"))?;
    let mut seen = BTreeSet::new();
    let mut scoped = Vec::with_capacity(items.len());
    for (i, mut item) in items.into_iter().enumerate() {
        if let Some(state) = item.get_mut("state") {
            let keys = secrets::secret_keys(state);
            if let Some(path) = secrets::masked_paths(state, &keys).first() {
                return Err(format!(
                    "entry {i}: the secret at {path} is masked ('****'): import an export made with ?secrets=true"
                ));
            }
        }
        let item: ScopedState =
            serde_json::from_value(item).map_err(|e| format!("entry {i}: {expected}: {e}"))?;
        let scope = Scope {
            account: item.account,
            region: item.region,
        };
        let mut state = item.state;
        invariants::check_and_index(&scope, &mut state).map_err(|e| format!("entry {i}: {e}"))?;
        if !seen.insert(scope.clone()) {
            return Err(format!(
                "entry {i}: account {} region {} is listed twice",
                scope.account, scope.region
            ));
        }
        scoped.push((scope, state));
    }
    Ok(scoped)
}
