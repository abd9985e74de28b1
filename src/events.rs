//! State-change events in the EventBridge shape CodePipeline publishes ("CodePipeline Pipeline
//! Execution State Change", "... Stage Execution ...", "... Action Execution ..."), fanned out to
//! subscribers (the `/_codepipeline-local/events` stream) through a broadcast channel. Each event
//! is serialized once, when published; subscribers share the bytes. Stream subscribers get
//! them in batches (`fanout`), written on a runtime of their own (`delivery`).

pub mod delivery;
pub mod fanout;

use crate::protocol::Scope;
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

pub const PIPELINE_DETAIL_TYPE: &str = "CodePipeline Pipeline Execution State Change";
pub const STAGE_DETAIL_TYPE: &str = "CodePipeline Stage Execution State Change";
pub const ACTION_DETAIL_TYPE: &str = "CodePipeline Action Execution State Change";

/// One published event: as JSON (for filters) and as its Server-Sent Events message
/// (`id: ID`, `data: EVENT` on one line).
#[derive(Debug)]
pub struct Published {
    pub event: Value,
    pub sse: Bytes,
}

impl Published {
    pub fn new(event: Value) -> Self {
        let id = event.get("id").and_then(Value::as_str).unwrap_or_default();
        // Compact JSON has no raw newline (they are escaped in strings): one `data:` line.
        let sse = Bytes::from(format!("id: {id}\ndata: {event}\n\n"));
        Published { event, sse }
    }
}

/// Publishes events to whoever listens; publishing never blocks and never fails.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Published>>,
    fanout: Arc<fanout::Hub>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(4096);
        EventBus {
            sender,
            fanout: Arc::default(),
        }
    }
}

impl EventBus {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.sender.subscribe()
    }

    /// The events published from now on, in batches shared by every stream subscriber.
    pub fn subscribe_batches(&self) -> broadcast::Receiver<Arc<fanout::Batch>> {
        self.fanout.subscribe(|| self.sender.subscribe())
    }

    /// The health endpoint's `eventStreams` (`fanout::Hub::health`).
    pub fn stream_health(&self) -> Value {
        self.fanout.health()
    }

    /// Whether anyone listens: events are only built when someone does.
    pub fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// Publishes one event: `detail` goes under the EventBridge envelope.
    pub fn publish(&self, scope: &Scope, detail_type: &str, resource_arn: &str, detail: Value) {
        if self.sender.receiver_count() == 0 {
            return;
        }
        let event = json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": detail_type,
            "source": "aws.codepipeline",
            "account": scope.account,
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "region": scope.region,
            "resources": [resource_arn],
            "detail": detail,
        });
        let _ = self.sender.send(Arc::new(Published::new(event)));
    }
}

/// Counts of the forwarding of events to EventBridge (`forward::eventbridge`), shared with
/// the health endpoint.
#[derive(Debug, Default, Clone)]
pub struct Delivery(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    sent: AtomicU64,
    undelivered: AtomicU64,
}

impl Delivery {
    /// Events EventBridge accepted.
    pub fn sent(&self) -> u64 {
        self.0.sent.load(Ordering::Relaxed)
    }

    /// Events that could not be delivered.
    pub fn undelivered(&self) -> u64 {
        self.0.undelivered.load(Ordering::Relaxed)
    }

    pub(crate) fn add_sent(&self, n: u64) {
        self.0.sent.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_undelivered(&self, n: u64) {
        self.0.undelivered.fetch_add(n, Ordering::Relaxed);
    }

    /// What the health endpoint shows.
    pub fn health(&self, endpoint: Option<&str>) -> Value {
        json!({
            "endpoint": endpoint,
            "sent": self.sent(),
            "undelivered": self.undelivered(),
        })
    }
}
