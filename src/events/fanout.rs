//! Fan-out of events to many stream subscribers: one hub task gathers the published events into
//! batches, each with its Server-Sent Events bytes concatenated once, and subscribers share the
//! batches: one wakeup and one write per batch per subscriber, not per event.
//!
//! The hub sends a batch as soon as an event arrives, unless it sent one less than a pause ago:
//! then it waits out the pause, gathering what arrives meanwhile, and sends all of it (in as
//! many batches as the size bound needs). The pause grows with the number of subscribers (each
//! batch costs every one of them a wakeup and a write), so a lone subscriber sees an event at
//! once (within a millisecond in a burst) and a thousand share a batch every 20 ms. The hub
//! runs while anyone subscribes to batches.
//!
//! Memory is bounded: the batches are kept in one ring shared by every subscriber, at most
//! `BATCHES` batches of at most `BATCH_BYTES` (one larger event is a batch of its own), and
//! only until every subscriber has taken them. A subscriber that falls further behind than the
//! ring loses its place (`RecvError::Lagged`): its stream ends with a notice
//! (`admin::events`), so that the client reconnects rather than miss events unknowingly.

use super::Published;
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::Instant;

/// Batches the ring keeps for the subscribers behind.
pub const BATCHES: usize = 512;
/// The most events, and about the most bytes, in one batch.
const BATCH_EVENTS: usize = 1024;
pub const BATCH_BYTES: usize = 32 * 1024;
/// Pause between batches per subscriber, and the shortest and longest pause. The shortest is
/// well under an execution's length: a client following a few executions one after the other
/// gets each one's events as they happen (with 1 ms, each waited out the previous one's pause).
const PAUSE_PER_SUBSCRIBER: Duration = Duration::from_micros(20);
const MIN_PAUSE: Duration = Duration::from_micros(100);
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

    /// The health endpoint's `eventStreams`: the stream subscribers, and the batches the
    /// slowest of them has yet to take (`batchesQueued`; at `batchesKept` the ring is full and
    /// whoever is that far behind loses its place).
    pub fn health(&self) -> serde_json::Value {
        let sender = self.sender.lock();
        serde_json::json!({
            "subscribers": sender.as_ref().map_or(0, |s| s.receiver_count()),
            "batchesQueued": sender.as_ref().map_or(0, |s| s.len()),
            "batchesKept": BATCHES,
        })
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
    (PAUSE_PER_SUBSCRIBER * subscribers as u32).clamp(MIN_PAUSE, MAX_PAUSE)
}

async fn run(
    events: broadcast::Receiver<Arc<Published>>,
    batches: broadcast::Sender<Arc<Batch>>,
    hub: Arc<Hub>,
) {
    let mut waiting = Waiting {
        events,
        held: None,
        skipped: 0,
    };
    let mut last_sent: Option<Instant> = None;
    loop {
        let first = loop {
            match waiting.events.recv().await {
                Ok(event) => break event,
                Err(RecvError::Lagged(n)) => waiting.skipped += n,
                Err(RecvError::Closed) => {
                    hub.sender.lock().take();
                    return;
                }
            }
        };
        waiting.held = Some(first);
        if let Some(last) = last_sent {
            let pause = pause(batches.receiver_count());
            if last.elapsed() < pause {
                tokio::time::sleep_until(last + pause).await;
            }
        }
        // Everything waiting goes out now, in batches of a bounded size.
        while let Some(batch) = waiting.next_batch() {
            if batches.send(Arc::new(batch)).is_err() && hub.stop_if_unused() {
                return;
            }
            tokio::task::yield_now().await;
        }
        last_sent = Some(Instant::now());
    }
}

/// The events published and not yet in a batch.
struct Waiting {
    events: broadcast::Receiver<Arc<Published>>,
    /// An event taken from the bus that did not fit in the last batch.
    held: Option<Arc<Published>>,
    /// Events the hub missed since the last batch.
    skipped: u64,
}

impl Waiting {
    /// The next batch of what is waiting, within the size bound; `None` when nothing waits.
    fn next_batch(&mut self) -> Option<Batch> {
        let mut list: Vec<Arc<Published>> = Vec::new();
        let mut bytes = 0;
        loop {
            let event = match self.held.take() {
                Some(event) => event,
                None => match self.events.try_recv() {
                    Ok(event) => event,
                    Err(TryRecvError::Lagged(n)) => {
                        self.skipped += n;
                        continue;
                    }
                    Err(_) => break,
                },
            };
            let full = list.len() == BATCH_EVENTS || bytes + event.sse.len() > BATCH_BYTES;
            if full && !list.is_empty() {
                self.held = Some(event);
                break;
            }
            bytes += event.sse.len();
            list.push(event);
        }
        if list.is_empty() {
            return None;
        }
        let mut sse = BytesMut::with_capacity(bytes);
        for event in &list {
            sse.extend_from_slice(&event.sse);
        }
        Some(Batch {
            events: list,
            sse: sse.freeze(),
            skipped: std::mem::take(&mut self.skipped),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: usize, padding: usize) -> Arc<Published> {
        let event = serde_json::json!({ "id": id.to_string(), "padding": "x".repeat(padding) });
        Arc::new(Published::new(event))
    }

    #[test]
    fn the_pause_grows_with_the_subscribers_within_bounds() {
        assert_eq!(pause(1), MIN_PAUSE);
        assert_eq!(pause(1000), Duration::from_millis(20));
        assert_eq!(pause(1_000_000), MAX_PAUSE);
    }

    #[test]
    fn batches_stay_within_the_size_bound_and_keep_every_event_in_order() {
        let (bus, events) = broadcast::channel(4096);
        let mut waiting = Waiting {
            events,
            held: None,
            skipped: 0,
        };
        for i in 0..3000 {
            bus.send(event(i, 100)).unwrap();
        }
        let mut ids = Vec::new();
        let mut count = 0;
        while let Some(batch) = waiting.next_batch() {
            assert!(batch.sse.len() <= BATCH_BYTES && batch.events.len() <= BATCH_EVENTS);
            let expected: Vec<u8> = batch.events.iter().flat_map(|e| e.sse.to_vec()).collect();
            assert_eq!(batch.sse, expected);
            ids.extend(batch.events.iter().map(|e| e.event["id"].clone()));
            count += 1;
        }
        let all: Vec<_> = (0..3000)
            .map(|i| serde_json::json!(i.to_string()))
            .collect();
        assert_eq!(ids, all);
        assert!(count > 1);
        // One event larger than the bound is a batch of its own.
        bus.send(event(0, 10)).unwrap();
        bus.send(event(1, 2 * BATCH_BYTES)).unwrap();
        assert_eq!(waiting.next_batch().unwrap().events.len(), 1);
        let big = waiting.next_batch().unwrap();
        assert!(big.events.len() == 1 && big.sse.len() > BATCH_BYTES);
        assert!(waiting.next_batch().is_none());
    }

    #[tokio::test]
    async fn subscribers_share_batches_of_every_event_in_order_and_the_hub_ends_unused() {
        let (bus, _) = broadcast::channel(64);
        let hub = Arc::new(Hub::default());
        let mut a = hub.subscribe(|| bus.subscribe());
        let mut b = hub.subscribe(|| bus.subscribe());
        for i in 0..10 {
            bus.send(event(i, 0)).unwrap();
        }
        let mut seen = Vec::new();
        while seen.len() < 10 {
            let batch = a.recv().await.unwrap();
            let shared = b.recv().await.unwrap();
            assert!(Arc::ptr_eq(&batch, &shared));
            seen.extend(batch.events.iter().map(|e| e.event["id"].clone()));
        }
        let ids: Vec<_> = (0..10).map(|i| serde_json::json!(i.to_string())).collect();
        assert_eq!(seen, ids);
        drop((a, b));
        // The next event finds nobody: the hub lets go of the bus.
        bus.send(event(10, 0)).unwrap();
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
