//! `--events-endpoint`: every pipeline, stage and action state change goes to the default
//! event bus of an EventBridge endpoint (LocalStack, moto), in its pipeline's region, with
//! `PutEvents`, in the shape
//! CodePipeline sends (`source` aws.codepipeline, `detail-type`, `resources` [pipeline ARN],
//! `time`, `detail`; EventBridge adds `id`, `account` and `region`).
//!
//! One task moves events from the event bus into a bounded queue (the engine never waits:
//! publishing is a broadcast); another sends the queue in batches of up to 10 entries (the
//! `PutEvents` limit), in order, retrying a failed call or the failed entries of a call with a
//! growing delay. What cannot be delivered — the bus or the queue overflowed, or every retry
//! failed — is counted (`Delivery`, shown by the health endpoint) and logged.

use crate::app::App;
use crate::events::{Delivery, Published};
use aws_sdk_eventbridge::config::{BehaviorVersion, Region};
use aws_sdk_eventbridge::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

/// Entries in one `PutEvents` call (EventBridge's limit).
pub const BATCH: usize = 10;
/// Events waiting to be sent; past it new events are dropped (and counted).
const QUEUE: usize = 10_000;
/// Calls for one batch before its events are given up.
const ATTEMPTS: u32 = 5;
const FIRST_DELAY: Duration = Duration::from_millis(200);

/// Starts forwarding when `--events-endpoint` is set. The tasks end with the application
/// (when its event bus closes).
pub fn spawn(app: &App) {
    let Some(endpoint) = app.config.events_endpoint.clone() else {
        return;
    };
    let config = app.config.clone();
    let mut clients: HashMap<String, Client> = HashMap::new();
    let mut client_for = move |region: &str| {
        clients
            .entry(region.to_string())
            .or_insert_with(|| client(&config, &endpoint, region))
            .clone()
    };
    let delivery = app.eventbridge.clone();
    let mut receiver = app.events.subscribe();
    let (queue, mut waiting) = mpsc::channel::<Arc<Published>>(QUEUE);
    {
        let delivery = delivery.clone();
        tokio::spawn(async move {
            loop {
                match receiver.recv().await {
                    Ok(published) => {
                        if queue.try_send(published).is_err() {
                            delivery.add_undelivered(1);
                            tracing::warn!(
                                "eventbridge: the send queue is full, a state-change event was dropped"
                            );
                        }
                    }
                    Err(RecvError::Lagged(skipped)) => {
                        delivery.add_undelivered(skipped);
                        tracing::warn!(skipped, "eventbridge: forwarding lagged, events dropped");
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        });
    }
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        while waiting.recv_many(&mut batch, BATCH).await > 0 {
            // Each event goes to the event bus of its pipeline's region: one call per run of
            // events of the same region, in order.
            let mut rest = batch.as_slice();
            while let Some(first) = rest.first() {
                let region = region_of(&first.event);
                let same = rest
                    .iter()
                    .take_while(|p| region_of(&p.event) == region)
                    .count();
                let entries = rest[..same].iter().map(|p| entry(&p.event)).collect();
                send(&client_for(region), entries, &delivery).await;
                rest = &rest[same..];
            }
            batch.clear();
        }
    });
    tracing::info!(
        endpoint = app.config.events_endpoint.as_deref().unwrap_or_default(),
        "eventbridge: forwarding state changes"
    );
}

/// The region of an event (its pipeline's).
fn region_of(event: &Value) -> &str {
    event
        .get("region")
        .and_then(Value::as_str)
        .unwrap_or("us-east-1")
}

/// The EventBridge client of `endpoint` for `region`.
fn client(config: &crate::config::Config, endpoint: &str, region: &str) -> Client {
    let conf = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(crate::actions::artifacts::credentials(config))
        // The retries are ours (`send`): the SDK's would multiply them.
        .retry_config(aws_sdk_eventbridge::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

/// The `PutEvents` entry of an event of the bus.
pub fn entry(event: &Value) -> PutEventsRequestEntry {
    let text = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_string);
    let time = text("time")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| DateTime::from_secs(t.timestamp()));
    let resources = event.get("resources").and_then(Value::as_array).map(|r| {
        r.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    });
    PutEventsRequestEntry::builder()
        .event_bus_name("default")
        .set_source(text("source"))
        .set_detail_type(text("detail-type"))
        .detail(event.get("detail").unwrap_or(&Value::Null).to_string())
        .set_resources(resources)
        .set_time(time)
        .build()
}

/// Sends one batch, retrying what failed; counts what was sent and what was given up.
async fn send(client: &Client, mut entries: Vec<PutEventsRequestEntry>, delivery: &Delivery) {
    let mut delay = FIRST_DELAY;
    let mut last_error = String::new();
    for attempt in 1..=ATTEMPTS {
        match client
            .put_events()
            .set_entries(Some(entries.clone()))
            .send()
            .await
        {
            Ok(out) => {
                // Entries answer in order; the failed ones carry an error code.
                let results = out.entries();
                let mut failed = Vec::new();
                for (i, entry) in entries.into_iter().enumerate() {
                    match results.get(i).and_then(|r| r.error_code()) {
                        Some(code) => {
                            last_error = format!(
                                "{code}: {}",
                                results
                                    .get(i)
                                    .and_then(|r| r.error_message())
                                    .unwrap_or_default()
                            );
                            failed.push(entry);
                        }
                        None => delivery.add_sent(1),
                    }
                }
                if failed.is_empty() {
                    return;
                }
                entries = failed;
            }
            Err(e) => {
                last_error = match e.as_service_error() {
                    Some(service) => format!(
                        "{}: {}",
                        service.code().unwrap_or("error"),
                        service.message().unwrap_or_default()
                    ),
                    None => format!("{}", DisplayErrorContext(&e)),
                };
            }
        }
        if attempt < ATTEMPTS {
            tracing::debug!(attempt, error = %last_error, "eventbridge: PutEvents failed, retrying");
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    delivery.add_undelivered(entries.len() as u64);
    tracing::warn!(
        events = entries.len(),
        error = %last_error,
        "eventbridge: state-change events could not be delivered"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_entry_carries_the_event_shape() {
        let event = json!({
            "version": "0",
            "id": "x",
            "detail-type": crate::events::PIPELINE_DETAIL_TYPE,
            "source": "aws.codepipeline",
            "account": "123456789012",
            "time": "2026-01-02T03:04:05Z",
            "region": "us-east-1",
            "resources": ["arn:aws:codepipeline:us-east-1:123456789012:p"],
            "detail": {"pipeline": "p", "state": "STARTED"},
        });
        let entry = entry(&event);
        assert_eq!(entry.source(), Some("aws.codepipeline"));
        assert_eq!(
            entry.detail_type(),
            Some(crate::events::PIPELINE_DETAIL_TYPE)
        );
        assert_eq!(entry.event_bus_name(), Some("default"));
        assert_eq!(
            entry.resources(),
            ["arn:aws:codepipeline:us-east-1:123456789012:p"]
        );
        assert_eq!(entry.time().map(|t| t.secs()), Some(1_767_323_045));
        let detail: Value = serde_json::from_str(entry.detail().unwrap()).unwrap();
        assert_eq!(detail, event["detail"]);
    }
}
