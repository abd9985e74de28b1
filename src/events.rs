//! State-change events in the EventBridge shape CodePipeline publishes ("CodePipeline Pipeline
//! Execution State Change", "... Stage Execution ...", "... Action Execution ..."), fanned out to
//! subscribers (the `/_codepipeline-local/events` stream) through a broadcast channel.

use crate::protocol::Scope;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::broadcast;

pub const PIPELINE_DETAIL_TYPE: &str = "CodePipeline Pipeline Execution State Change";
pub const STAGE_DETAIL_TYPE: &str = "CodePipeline Stage Execution State Change";
pub const ACTION_DETAIL_TYPE: &str = "CodePipeline Action Execution State Change";

/// Publishes events to whoever listens; publishing never blocks and never fails.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Value>>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(4096);
        EventBus { sender }
    }
}

impl EventBus {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Value>> {
        self.sender.subscribe()
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
        let _ = self.sender.send(Arc::new(event));
    }
}
