//! `GET /_codepipeline-local/logs/{actionExecutionId}[?offset=N]`: the log the local executor
//! writes for a Commands or CodeBuild action execution, read from byte `offset` on, so a client
//! follows a running action by asking again from the `offset` it got back.
//!
//! The client never names a file: the action execution is looked up in the store, and only the
//! log file the executor recorded for it (its `file://` external execution URL, which must be the
//! executor's own log path for that id) is read.

use super::ADMIN_PATH;
use crate::actions::commands::log_path;
use crate::app::App;
use crate::engine::{ActionExecutionRecord, RealWork, Runner};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::io::{Read, Seek, SeekFrom};

/// The most one answer carries; the client asks again for the rest.
const CHUNK: u64 = 256 * 1024;

pub fn routes() -> Router<App> {
    Router::new().route(&format!("{ADMIN_PATH}/logs/{{id}}"), get(read_log))
}

#[derive(Debug, Default, Deserialize)]
struct LogQuery {
    #[serde(default)]
    offset: u64,
}

/// What is known of an action execution with a local log.
struct LoggedAction {
    status: String,
    path: std::path::PathBuf,
}

async fn read_log(
    State(app): State<App>,
    Path(id): Path<String>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "offset must be a non-negative integer".into(),
        );
    };
    let Some(action) = find(&app, &id) else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No locally executed action execution with id {id}"),
        );
    };
    let path = action.path.clone();
    let offset = query.offset;
    let read = tokio::task::spawn_blocking(move || read_from(&path, offset)).await;
    match read {
        Ok(Ok((text, next))) => Json(json!({
            "actionExecutionId": id,
            "status": action.status,
            "offset": next,
            "text": text,
        }))
        .into_response(),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            format!("Cannot read the log: {e}"),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            e.to_string(),
        ),
    }
}

/// The action execution of that id, in any account and region, if the local executor ran it.
fn find(app: &App, id: &str) -> Option<LoggedAction> {
    for region in app.store.regions() {
        let state = region.lock();
        for record in state.pipelines.values() {
            if let Some(action) = record.runtime.action_execution(id) {
                return logged(app, &action);
            }
        }
    }
    None
}

fn logged(app: &App, action: &ActionExecutionRecord) -> Option<LoggedAction> {
    let local = matches!(
        action.runner,
        Runner::Real {
            work: RealWork::Commands | RealWork::CodeBuild
        }
    );
    // Ids come from the store, which a state import can fill: only plain ids name a file.
    let plain = action
        .id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !local || !plain {
        return None;
    }
    let path = log_path(&app.config, &action.id);
    let recorded = format!("file://{}", path.display());
    if action.external_execution_url.as_deref() != Some(recorded.as_str()) {
        return None;
    }
    Some(LoggedAction {
        status: action.status.as_str().to_string(),
        path,
    })
}

/// The log's text from `offset` (at most `CHUNK` bytes, cut at a character boundary) and the
/// offset to ask from next. A log not written yet reads as empty.
fn read_from(path: &std::path::Path, offset: u64) -> std::io::Result<(String, u64)> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((String::new(), 0)),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let start = offset.min(len);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(CHUNK).read_to_end(&mut bytes)?;
    let keep = match std::str::from_utf8(&bytes) {
        Ok(_) => bytes.len(),
        // A character cut by the end of the chunk (or of what is written so far) waits for
        // the next read.
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => bytes.len(),
    };
    bytes.truncate(keep);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok((text, start + keep as u64))
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::read_from;

    #[test]
    fn reads_from_an_offset_and_keeps_a_cut_character_for_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::write(&path, "one\ntwo é".as_bytes()).unwrap();
        assert_eq!(read_from(&path, 0).unwrap(), ("one\ntwo é".into(), 10));
        assert_eq!(read_from(&path, 4).unwrap(), ("two é".into(), 10));
        assert_eq!(read_from(&path, 99).unwrap(), (String::new(), 10));
        // Half of "é" written so far: not sent yet.
        std::fs::write(&path, &"two é".as_bytes()[..5]).unwrap();
        assert_eq!(read_from(&path, 0).unwrap(), ("two ".into(), 4));
        let missing = dir.path().join("missing.log");
        assert_eq!(read_from(&missing, 0).unwrap(), (String::new(), 0));
    }
}
