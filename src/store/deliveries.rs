//! Replayed webhook deliveries: a delivery (GitHub's `X-GitHub-Delivery` id) that started an
//! execution starts nothing when it comes again within `WINDOW`, as AWS runs a delivery once.
//! Only deliveries that started an execution are remembered, so a redelivery of one that failed
//! (pipeline missing, say) still gets its chance. Memory is bounded: at most `CAPACITY` ids, the
//! oldest forgotten first. In memory only (a restart forgets).

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How long a delivery id is remembered.
pub const WINDOW: Duration = Duration::from_secs(3600);
/// The most delivery ids remembered.
pub const CAPACITY: usize = 10_000;

/// What is known of a delivery id.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// Not seen: it is now claimed, and must be `complete`d or `release`d.
    New,
    /// Being handled by another request right now.
    InFlight,
    /// Already started this execution.
    Started(String),
}

#[derive(Default)]
pub struct Deliveries {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// key -> execution id (`None` while in flight).
    seen: HashMap<String, Option<String>>,
    /// Keys by age, oldest first.
    order: VecDeque<(Instant, String)>,
}

impl Deliveries {
    /// Looks `key` up, claiming it when new.
    pub fn claim(&self, key: &str) -> Seen {
        self.claim_at(key, Instant::now())
    }

    fn claim_at(&self, key: &str, now: Instant) -> Seen {
        let mut inner = self.inner.lock();
        inner.expire(now);
        match inner.seen.get(key) {
            Some(Some(execution)) => return Seen::Started(execution.clone()),
            Some(None) => return Seen::InFlight,
            None => {}
        }
        while inner.seen.len() >= CAPACITY {
            let Some((_, oldest)) = inner.order.pop_front() else {
                break;
            };
            inner.seen.remove(&oldest);
        }
        inner.seen.insert(key.to_string(), None);
        inner.order.push_back((now, key.to_string()));
        Seen::New
    }

    /// The claimed delivery started `execution`.
    pub fn complete(&self, key: &str, execution: &str) {
        if let Some(slot) = self.inner.lock().seen.get_mut(key) {
            *slot = Some(execution.to_string());
        }
    }

    /// The claimed delivery started nothing: forget it.
    pub fn release(&self, key: &str) {
        let mut inner = self.inner.lock();
        if inner.seen.remove(key).is_some() {
            inner.order.retain(|(_, k)| k != key);
        }
    }
}

impl Inner {
    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) < WINDOW {
                break;
            }
            if let Some((_, key)) = self.order.pop_front() {
                self.seen.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_delivery_is_remembered_for_the_window() {
        let d = Deliveries::default();
        let t0 = Instant::now();
        assert_eq!(d.claim_at("a", t0), Seen::New);
        assert_eq!(d.claim_at("a", t0), Seen::InFlight);
        d.complete("a", "exec-1");
        assert_eq!(
            d.claim_at("a", t0 + WINDOW / 2),
            Seen::Started("exec-1".into())
        );
        assert_eq!(d.claim_at("a", t0 + WINDOW), Seen::New);
    }

    #[test]
    fn a_released_delivery_can_run_again() {
        let d = Deliveries::default();
        assert_eq!(d.claim("b"), Seen::New);
        d.release("b");
        assert_eq!(d.claim("b"), Seen::New);
    }

    #[test]
    fn memory_is_bounded() {
        let d = Deliveries::default();
        let now = Instant::now();
        for i in 0..CAPACITY + 10 {
            assert_eq!(d.claim_at(&format!("k{i}"), now), Seen::New);
        }
        assert_eq!(d.inner.lock().seen.len(), CAPACITY);
        assert_eq!(d.claim_at("k0", now), Seen::New, "the oldest was forgotten");
    }
}
