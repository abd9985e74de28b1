//! One timer wheel per application: timers with keys and cancellation, in one task.
//!
//! A `tokio_util::time::DelayQueue` is owned by one task and fed through a channel (`arm`,
//! `cancel`, `cancel_where`), instead of a task per timer that nothing can cancel. Sending never
//! blocks, so callers arm and cancel while holding a region lock. The task handles messages in
//! the order they were sent, and all waiting messages before any due timer: a `cancel` that
//! reaches the wheel before its timer falls due wins, and `pending` counts every message sent
//! before it. Arming a key that is already armed replaces its timer. A due timer's handler runs
//! in a task of its own.
//!
//! The wheel knows nothing of what its timers mean (it imports nothing from the crate): its
//! owner, the `App`, passes the function that handles a due timer (`runtime::fire`, which hands
//! it to the engine). The engine never sees the wheel: it asks for timers as effects
//! (`engine::Effect::ArmTimer`, `CancelTimer`), which the driver performs here.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio_util::time::{delay_queue, DelayQueue};

/// The longest delay the wheel holds: the queue refuses deadlines more than about two years
/// ahead, and no CodePipeline timeout is longer than a few weeks.
pub const MAX_DELAY: Duration = Duration::from_secs(365 * 24 * 3600);

type Handler<T> = Arc<dyn Fn(T) + Send + Sync>;
type Predicate<K> = Box<dyn Fn(&K) -> bool + Send>;

enum Command<K, T> {
    Arm { key: K, delay: Duration, payload: T },
    Cancel(K),
    CancelWhere(Predicate<K>),
    Pending(oneshot::Sender<usize>),
}

/// The handle to a running wheel; dropping the last handle ends its task.
pub struct TimerWheel<K, T> {
    commands: mpsc::UnboundedSender<Command<K, T>>,
}

impl<K, T> TimerWheel<K, T>
where
    K: Eq + Hash + Clone + Send + 'static,
    T: Send + 'static,
{
    /// Starts the wheel's task on `runtime`. `handler` gets the payload of each
    /// timer that falls due, in a task of its own (it may wait for a lock).
    pub fn start(runtime: &Handle, handler: impl Fn(T) + Send + Sync + 'static) -> Self {
        let (commands, receiver) = mpsc::unbounded_channel();
        runtime.spawn(run(receiver, Arc::new(handler)));
        TimerWheel { commands }
    }

    /// Fires `payload` after `delay` (at most `MAX_DELAY`), replacing the timer armed under
    /// `key`, if any. A zero delay fires after the caller's current task step: a caller
    /// holding a lock has released it before the handler can take it.
    pub fn arm(&self, key: K, delay: Duration, payload: T) {
        self.send(Command::Arm {
            key,
            delay: delay.min(MAX_DELAY),
            payload,
        });
    }

    /// Cancels the timer armed under `key` (nothing happens if there is none).
    pub fn cancel(&self, key: K) {
        self.send(Command::Cancel(key));
    }

    /// Cancels every timer whose key matches.
    pub fn cancel_where(&self, predicate: impl Fn(&K) -> bool + Send + 'static) {
        self.send(Command::CancelWhere(Box::new(predicate)));
    }

    /// How many timers are armed, once every earlier message has been handled.
    pub async fn pending(&self) -> usize {
        let (answer, reply) = oneshot::channel();
        self.send(Command::Pending(answer));
        reply.await.unwrap_or(0)
    }

    fn send(&self, command: Command<K, T>) {
        // Fails only when the runtime is shutting down: the timer has no one left to fire for.
        let _ = self.commands.send(command);
    }
}

/// The wheel's task: applies commands and hands due timers to the handler, until every handle
/// is dropped.
async fn run<K, T>(mut commands: mpsc::UnboundedReceiver<Command<K, T>>, handler: Handler<T>)
where
    K: Eq + Hash + Clone + Send + 'static,
    T: Send + 'static,
{
    let mut wheel = Wheel {
        queue: DelayQueue::new(),
        keys: HashMap::new(),
    };
    loop {
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(command) => {
                    if let Some(payload) = wheel.apply(command) {
                        fire(&handler, payload);
                    }
                }
                None => return,
            },
            Some(expired) = std::future::poll_fn(|cx| wheel.queue.poll_expired(cx)),
                if !wheel.queue.is_empty() =>
            {
                let (key, payload) = expired.into_inner();
                wheel.keys.remove(&key);
                fire(&handler, payload);
            }
        }
    }
}

/// Runs the handler in a task of its own, so that the wheel never waits for it.
fn fire<T: Send + 'static>(handler: &Handler<T>, payload: T) {
    let handler = handler.clone();
    tokio::spawn(async move { handler(payload) });
}

struct Wheel<K, T> {
    queue: DelayQueue<(K, T)>,
    /// Where each armed key sits in the queue.
    keys: HashMap<K, delay_queue::Key>,
}

impl<K: Eq + Hash + Clone, T> Wheel<K, T> {
    /// Applies a command; returns the payload of a timer due at once.
    fn apply(&mut self, command: Command<K, T>) -> Option<T> {
        match command {
            Command::Arm {
                key,
                delay,
                payload,
            } => {
                self.remove(&key);
                // The queue rounds deadlines up to its next millisecond tick: a zero delay
                // (a simulated action's end, most often) fires now instead.
                if delay.is_zero() {
                    return Some(payload);
                }
                let slot = self.queue.insert((key.clone(), payload), delay);
                self.keys.insert(key, slot);
            }
            Command::Cancel(key) => self.remove(&key),
            Command::CancelWhere(predicate) => {
                let matching: Vec<K> = self.keys.keys().filter(|k| predicate(k)).cloned().collect();
                for key in matching {
                    self.remove(&key);
                }
            }
            Command::Pending(answer) => {
                let _ = answer.send(self.keys.len());
            }
        }
        None
    }

    fn remove(&mut self, key: &K) {
        if let Some(slot) = self.keys.remove(key) {
            self.queue.try_remove(&slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn recording() -> (TimerWheel<&'static str, u32>, mpsc::UnboundedReceiver<u32>) {
        let (sink, fired) = mpsc::unbounded_channel();
        let wheel = TimerWheel::start(&Handle::current(), move |n| {
            let _ = sink.send(n);
        });
        (wheel, fired)
    }

    async fn next(fired: &mut mpsc::UnboundedReceiver<u32>) -> u32 {
        tokio::time::timeout(Duration::from_secs(10), fired.recv())
            .await
            .expect("a timer fires")
            .expect("the wheel runs")
    }

    #[tokio::test]
    async fn cancelled_timers_leave_the_wheel() {
        let (wheel, _fired) = recording();
        wheel.arm("a", HOUR, 1);
        wheel.arm("b", HOUR, 2);
        assert_eq!(wheel.pending().await, 2);
        wheel.cancel("b");
        wheel.cancel("unknown");
        assert_eq!(wheel.pending().await, 1);
    }

    #[tokio::test]
    async fn a_zero_delay_fires_and_leaves_the_wheel() {
        let (wheel, mut fired) = recording();
        wheel.arm("a", HOUR, 1);
        wheel.arm("b", Duration::ZERO, 2);
        assert_eq!(next(&mut fired).await, 2);
        assert_eq!(wheel.pending().await, 1);
    }

    #[tokio::test]
    async fn arming_a_key_again_replaces_its_timer() {
        let (wheel, mut fired) = recording();
        wheel.arm("a", HOUR, 1);
        wheel.arm("a", Duration::ZERO, 2);
        assert_eq!(next(&mut fired).await, 2);
        assert_eq!(wheel.pending().await, 0);
    }

    #[tokio::test]
    async fn cancel_where_cancels_matching_keys_only() {
        let (wheel, _fired) = recording();
        for key in ["p1/a", "p1/b", "p2/a"] {
            wheel.arm(key, HOUR, 0);
        }
        wheel.cancel_where(|k| k.starts_with("p1/"));
        assert_eq!(wheel.pending().await, 1);
    }

    #[tokio::test]
    async fn delays_past_the_maximum_are_held_not_refused() {
        let (wheel, _fired) = recording();
        wheel.arm("far", Duration::from_secs(u64::MAX / 4), 7);
        assert_eq!(wheel.pending().await, 1);
    }
}
