//! Fan-out of events to many stream subscribers: one hub task gathers the published events into
//! batches, each with its Server-Sent Events bytes concatenated once, and subscribers share the
//! batches: one wakeup and one write per batch per subscriber, not per event.
//!
//! The hub sends a batch as soon as an event arrives, unless it sent one less than a pause ago:
//! then it waits out the pause, gathering what arrives meanwhile. The pause grows with the
//! number of subscribers (each batch costs every one of them a wakeup and a write), so a lone
//! subscriber sees every event at once and a thousand share a batch every few milliseconds.
//! The hub runs while anyone subscribes to batches.

use super::Published;
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::Instant;

/// Batches a subscriber may fall behind by before it skips some.
const BATCHES: usize = 4096;
/// The most events in one batch.
const BATCH_EVENTS: usize = 1024;
/// Pause between batches per subscriber, and the longest pause.
const PAUSE_PER_SUBSCRIBER: Duration = Duration::from_micros(20);
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// Events published together, in order, and their SSE messages concatenated.
#[derive(Debug)]
pub struct Batch {
    pub events: Vec<Arc<Published>>,
    pub sse: Bytes,
    /// Events the hub itself missed before this batch (it fell behind the bus).
    pub skipped: u64,
}

/// The hub's state: its batch channel while it runs.
#[derive(Default)]
pub struct Hub {
    sender: Mutex<Option<broadcast::Sender<Arc<Batch>>>>,
}

impl Hub {
    /// A receiver of batches of the events published from now on (`events` subscribes to
    /// the bus), starting the hub if it does not run.
    pub fn subscribe(
        self: &Arc<Self>,
        events: impl FnOnce() -> broadcast::Receiver<Arc<Published>>,
    ) -> broadcast::Receiver<Arc<Batch>> {
        let mut sender = self.sender.lock();
        if let Some(sender) = sender.as_ref() {
            return sender.subscribe();
        }
        let (batches, receiver) = broadcast::channel(BATCHES);
        tokio::spawn(run(events(), batches.clone(), self.clone()));
        *sender = Some(batches);
        receiver
    }

    /// Ends the hub if nobody subscribes any more (under the lock `subscribe` takes).
    fn stop_if_unused(&self) -> bool {
        let mut sender = self.sender.lock();
        if sender.as_ref().is_some_and(|s| s.receiver_count() > 0) {
            return false;
        }
        *sender = None;
        true
    }
}

fn pause(subscribers: usize) -> Duration {
    (PAUSE_PER_SUBSCRIBER * subscribers as u32).min(MAX_PAUSE)
}

async fn run(
    mut events: broadcast::Receiver<Arc<Published>>,
    batches: broadcast::Sender<Arc<Batch>>,
    hub: Arc<Hub>,
) {
    let mut last_sent: Option<Instant> = None;
    loop {
        let mut skipped = 0;
        let first = loop {
            match events.recv().await {
                Ok(event) => break event,
                Err(RecvError::Lagged(n)) => skipped += n,
                Err(RecvError::Closed) => {
                    hub.sender.lock().take();
                    return;
                }
            }
        };
        let pause = pause(batches.receiver_count());
        if let Some(last) = last_sent {
            // Timers tick in milliseconds: a shorter pause is no pause.
            if pause >= Duration::from_millis(1) && last.elapsed() < pause {
                tokio::time::sleep_until(last + pause).await;
            }
        }
        let mut list = vec![first];
        while list.len() < BATCH_EVENTS {
            match events.try_recv() {
                Ok(event) => list.push(event),
                Err(TryRecvError::Lagged(n)) => skipped += n,
                Err(_) => break,
            }
        }
        let mut sse = BytesMut::with_capacity(list.iter().map(|e| e.sse.len()).sum());
        for event in &list {
            sse.extend_from_slice(&event.sse);
        }
        let batch = Arc::new(Batch {
            events: list,
            sse: sse.freeze(),
            skipped,
        });
        last_sent = Some(Instant::now());
        if batches.send(batch).is_err() && hub.stop_if_unused() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_grows_with_the_subscribers_up_to_a_bound() {
        assert!(pause(1) < Duration::from_millis(1));
        assert_eq!(pause(1000), Duration::from_millis(20));
        assert_eq!(pause(1_000_000), MAX_PAUSE);
    }

    #[tokio::test]
    async fn subscribers_share_batches_of_every_event_in_order_and_the_hub_ends_unused() {
        let (bus, _) = broadcast::channel(64);
        let hub = Arc::new(Hub::default());
        let mut a = hub.subscribe(|| bus.subscribe());
        let mut b = hub.subscribe(|| bus.subscribe());
        for i in 0..10 {
            let event = Published::new(serde_json::json!({ "id": i.to_string() }));
            bus.send(Arc::new(event)).unwrap();
        }
        let mut seen = Vec::new();
        while seen.len() < 10 {
            let batch = a.recv().await.unwrap();
            let shared = b.recv().await.unwrap();
            assert!(Arc::ptr_eq(&batch, &shared));
            let expected: Vec<u8> = batch.events.iter().flat_map(|e| e.sse.to_vec()).collect();
            assert_eq!(batch.sse, expected);
            seen.extend(batch.events.iter().map(|e| e.event["id"].clone()));
        }
        let ids: Vec<_> = (0..10).map(|i| serde_json::json!(i.to_string())).collect();
        assert_eq!(seen, ids);
        drop((a, b));
        // The next event finds nobody: the hub lets go of the bus.
        bus.send(Arc::new(Published::new(serde_json::json!({}))))
            .unwrap();
        for _ in 0..100 {
            if bus.receiver_count() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(bus.receiver_count(), 0);
        assert!(hub.sender.lock().is_none());
    }
}
