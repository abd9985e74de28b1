//! `GET /_codepipeline-local/events`: every state-change event of the engine (EventBridge shape)
//! as Server-Sent Events, optionally filtered by `pipeline=`, `execution-id=`, `account=`,
//! `region=` and `detail-type=`. Each SSE message is one event: `id:` the event id, `data:` the
//! event as one line of JSON; events come in batches shared by every subscriber
//! (`events::fanout`), one write per batch. Keep-alive comments every 15 seconds; a subscriber
//! that falls behind skips what it missed (announced by a `: lagged` comment) and stays
//! connected. The stream ends when the server shuts down.

use crate::app::App;
use crate::events::fanout::Batch;
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
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, watch};

/// A comment is sent after this long without a message, to keep the connection open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Batches already waiting are sent together, up to about this many bytes.
const BATCH_BYTES: usize = 256 * 1024;

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
    let messages = stream::unfold(
        (receiver, filter, shutdown),
        |(mut receiver, filter, mut shutdown)| async move {
            let message = next_message(&mut receiver, &filter, shutdown.as_mut()).await?;
            Some((Ok::<_, Infallible>(message), (receiver, filter, shutdown)))
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(messages),
    )
        .into_response()
}

/// What goes out in one write: the matching events of the batches waiting (the bytes
/// serialized once at publication; a whole batch's bytes when nothing is filtered out), comments
/// saying events were skipped, or a keep-alive comment; `None` at shutdown.
async fn next_message(
    receiver: &mut broadcast::Receiver<Arc<Batch>>,
    filter: &EventFilter,
    mut shutdown: Option<&mut watch::Receiver<bool>>,
) -> Option<Bytes> {
    loop {
        let next = tokio::time::timeout(KEEP_ALIVE, receiver.recv());
        let received = match shutdown.as_deref_mut() {
            Some(stop) => tokio::select! {
                received = next => received,
                _ = stop.wait_for(|stopped| *stopped) => return None,
            },
            None => next.await,
        };
        let mut out = Out::default();
        match received {
            Err(_elapsed) => return Some(Bytes::from_static(b":\n\n")),
            Ok(Ok(batch)) => out.add(&batch, filter),
            Ok(Err(RecvError::Lagged(skipped))) => out.push(lagged(skipped, "batches of events")),
            Ok(Err(RecvError::Closed)) => return None,
        }
        // Batches already waiting go in the same write.
        while out.len() < BATCH_BYTES {
            match receiver.try_recv() {
                Ok(batch) => out.add(&batch, filter),
                Err(TryRecvError::Lagged(skipped)) => {
                    out.push(lagged(skipped, "batches of events"))
                }
                Err(_) => break,
            }
        }
        if let Some(bytes) = out.finish() {
            return Some(bytes);
        }
    }
}

/// The bytes of one write, copied only when there is more than one piece.
#[derive(Default)]
struct Out {
    first: Option<Bytes>,
    more: Option<BytesMut>,
}

impl Out {
    fn len(&self) -> usize {
        self.more
            .as_ref()
            .map_or_else(|| self.first.as_ref().map_or(0, Bytes::len), BytesMut::len)
    }

    fn push(&mut self, bytes: Bytes) {
        match (&self.first, &mut self.more) {
            (None, _) => self.first = Some(bytes),
            (Some(_), Some(more)) => more.extend_from_slice(&bytes),
            (Some(first), None) => {
                let mut more = BytesMut::with_capacity(first.len() + bytes.len());
                more.extend_from_slice(first);
                more.extend_from_slice(&bytes);
                self.more = Some(more);
            }
        }
    }

    fn add(&mut self, batch: &Batch, filter: &EventFilter) {
        if batch.skipped > 0 {
            self.push(lagged(batch.skipped, "events"));
        }
        if filter.is_empty() {
            self.push(batch.sse.clone());
            return;
        }
        for event in batch.events.iter().filter(|e| filter.matches(&e.event)) {
            self.push(event.sse.clone());
        }
    }

    fn finish(self) -> Option<Bytes> {
        self.more.map(BytesMut::freeze).or(self.first)
    }
}

/// The comment telling a subscriber that fell behind what it missed.
fn lagged(skipped: u64, what: &str) -> Bytes {
    tracing::warn!(skipped, what, "admin: event stream subscriber lagged");
    Bytes::from(format!(": lagged: {skipped} {what} skipped\n\n"))
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
