//! `GET /_codepipeline-local/events`: every state-change event of the engine (EventBridge shape)
//! as Server-Sent Events, optionally filtered by `pipeline=`, `execution-id=`, `account=`,
//! `region=` and `detail-type=`. Each SSE message is one event: `id:` the event id, `data:` the
//! event as one line of JSON; events come in batches shared by every subscriber
//! (`events::fanout`), one body frame per batch. The connection is handed over to the event
//! streams' runtime (`events::delivery`), apart from the engine and the API. Keep-alive
//! comments every 15 seconds. A subscriber either receives every event in order or its stream
//! ends with a `: lagged: ...` comment: when it fell further behind than the shared ring of
//! batches keeps (`fanout::BATCHES`), or when the hub itself fell behind the bus; the client
//! reconnects to follow again (an `EventSource` does by itself). The stream also ends when the
//! server shuts down.

use crate::app::App;
use crate::events::delivery;
use crate::events::fanout::Batch;
use crate::http::HandOver;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures_util::stream;
use serde::Deserialize;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

/// A comment is sent after this long without a message, to keep the connection open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Fires when the server shuts down, so that open event streams end (graceful shutdown waits
/// for every connection). Installed as an extension by `server::start`.
#[derive(Clone)]
pub struct Shutdown(pub watch::Receiver<bool>);

/// The stream's filters; every given one must match.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct EventFilter {
    pub pipeline: Option<String>,
    #[serde(rename = "execution-id", alias = "execution_id", alias = "executionId")]
    pub execution_id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    #[serde(rename = "detail-type")]
    pub detail_type: Option<String>,
}

impl EventFilter {
    /// Whether every event passes.
    pub fn is_empty(&self) -> bool {
        self.pipeline.is_none()
            && self.execution_id.is_none()
            && self.account.is_none()
            && self.region.is_none()
            && self.detail_type.is_none()
    }

    pub fn matches(&self, event: &Value) -> bool {
        let is = |wanted: &Option<String>, value: Option<&Value>| {
            wanted
                .as_deref()
                .is_none_or(|w| value.and_then(Value::as_str) == Some(w))
        };
        let detail = event.get("detail");
        is(&self.pipeline, detail.and_then(|d| d.get("pipeline")))
            && is(
                &self.execution_id,
                detail.and_then(|d| d.get("execution-id")),
            )
            && is(&self.account, event.get("account"))
            && is(&self.region, event.get("region"))
            && is(&self.detail_type, event.get("detail-type"))
    }
}

pub async fn stream(
    State(app): State<App>,
    shutdown: Option<Extension<Shutdown>>,
    hand_over: Option<Extension<HandOver>>,
    Query(filter): Query<EventFilter>,
) -> Response {
    // Subscribe before answering: every event published after the response headers is seen.
    let receiver = app.events.subscribe_batches();
    let shutdown = shutdown.map(|Extension(s)| s.0);
    tracing::info!(
        pipeline = filter.pipeline.as_deref().unwrap_or("*"),
        execution_id = filter.execution_id.as_deref().unwrap_or("*"),
        "admin: event stream opened"
    );
    if let (Some(Extension(hand_over)), Some(runtime)) = (hand_over, delivery::runtime()) {
        hand_over.to(runtime);
    }
    let messages = stream::unfold(Some((receiver, filter, shutdown)), |state| async move {
        let (mut receiver, filter, mut shutdown) = state?;
        match next_message(&mut receiver, &filter, shutdown.as_mut()).await? {
            Message::Events(bytes) => Some((
                Ok::<_, Infallible>(bytes),
                Some((receiver, filter, shutdown)),
            )),
            // The stream ends after the notice.
            Message::Lagged(notice) => Some((Ok(notice), None)),
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(messages),
    )
        .into_response()
}

enum Message {
    /// Events (or a keep-alive comment).
    Events(Bytes),
    /// The notice that ends the stream of a subscriber that fell behind.
    Lagged(Bytes),
}

/// What goes out next: the matching events of the next batch (the bytes serialized once at
/// publication; the whole batch's bytes, shared, when nothing is filtered out), a keep-alive
/// comment, or the lag notice; `None` at shutdown.
async fn next_message(
    receiver: &mut broadcast::Receiver<Arc<Batch>>,
    filter: &EventFilter,
    mut shutdown: Option<&mut watch::Receiver<bool>>,
) -> Option<Message> {
    loop {
        let next = tokio::time::timeout(KEEP_ALIVE, receiver.recv());
        let received = match shutdown.as_deref_mut() {
            Some(stop) => tokio::select! {
                received = next => received,
                _ = stop.wait_for(|stopped| *stopped) => return None,
            },
            None => next.await,
        };
        match received {
            Err(_elapsed) => return Some(Message::Events(Bytes::from_static(b":\n\n"))),
            Ok(Ok(batch)) if batch.skipped > 0 => {
                return Some(Message::Lagged(lagged(batch.skipped, "events")))
            }
            Ok(Ok(batch)) => {
                if let Some(bytes) = matching(&batch, filter) {
                    return Some(Message::Events(bytes));
                }
            }
            Ok(Err(RecvError::Lagged(skipped))) => {
                return Some(Message::Lagged(lagged(skipped, "batches of events")))
            }
            Ok(Err(RecvError::Closed)) => return None,
        }
    }
}

/// The SSE bytes of the events of `batch` that pass `filter`, if any.
fn matching(batch: &Batch, filter: &EventFilter) -> Option<Bytes> {
    if filter.is_empty() {
        return Some(batch.sse.clone());
    }
    let mut out = BytesMut::new();
    for event in batch.events.iter().filter(|e| filter.matches(&e.event)) {
        out.extend_from_slice(&event.sse);
    }
    (!out.is_empty()).then(|| out.freeze())
}

/// The comment ending the stream of a subscriber that fell behind.
fn lagged(skipped: u64, what: &str) -> Bytes {
    tracing::warn!(
        skipped,
        what,
        "admin: event stream subscriber fell behind: its stream ends"
    );
    Bytes::from(format!(
        ": lagged: {skipped} {what} skipped; the stream ends here, reconnect to follow the events again\n\n"
    ))
}

/// Logs every state change (target `codepipeline_local::events`, level info) with its
/// pipeline, execution id, stage, action and state. Started by `main` when that level is on.
pub fn spawn_event_log(app: &App) {
    // Every stage and action change is a lot of lines (and costs throughput): this log is
    // for `--log-level codepipeline_local::events=debug`. Executions starting and ending are
    // logged by the engine at info.
    if !tracing::enabled!(target: "codepipeline_local::events", tracing::Level::DEBUG) {
        return;
    }
    let mut receiver = app.events.subscribe();
    tokio::spawn(async move {
        loop {
            match receiver.recv().await {
                Ok(published) => log_event(&published.event),
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(target: "codepipeline_local::events", skipped, "state-change log lagged")
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}

fn log_event(event: &Value) {
    let detail = &event["detail"];
    let field = |v: &Value| v.as_str().unwrap_or("").to_string();
    let kind = match event["detail-type"].as_str() {
        Some(crate::events::PIPELINE_DETAIL_TYPE) => "pipeline",
        Some(crate::events::STAGE_DETAIL_TYPE) => "stage",
        Some(crate::events::ACTION_DETAIL_TYPE) => "action",
        _ => "other",
    };
    tracing::debug!(
        target: "codepipeline_local::events",
        kind,
        pipeline = %field(&detail["pipeline"]),
        execution_id = %field(&detail["execution-id"]),
        stage = %field(&detail["stage"]),
        action = %field(&detail["action"]),
        state = %field(&detail["state"]),
        "state change"
    );
}
