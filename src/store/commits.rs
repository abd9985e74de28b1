//! Which commits a request waits for before it is answered.
//!
//! A change made under a region's lock is written later, by the committer (`committer`), with
//! every other change made meanwhile, in one transaction (group commit). The guard that made it
//! takes a `Ticket` that the commit resolves, and the request that made it records the ticket
//! (`record_own`); a request that only read a region whose changes are not committed yet records
//! that region's ticket (`record_seen`): what it answers is on disk when it is answered.
//!
//! A request runs inside `track`, which awaits the recorded tickets once the request is done.
//! A change that could not be written (its commit failed, the region was rolled back) makes the
//! request fail (`InternalFailure`); a request that only read something rolled back may run again
//! (`retry_reads`). Work outside a request (timers, real actions) has no tracker: its failed
//! change is rolled back and logged.

use std::cell::RefCell;
use std::future::Future;
use std::sync::{Arc, OnceLock};

tokio::task_local! {
    static TRACKER: RefCell<Tracker>;
}

/// What a request waits for.
#[derive(Default)]
struct Tracker {
    /// A change of the request that failed at once (no ticket).
    failure: Option<String>,
    /// Tickets of changes the request made.
    own: Vec<Arc<Ticket>>,
    /// Tickets of changes the request read before they were committed.
    seen: Vec<Arc<Ticket>>,
}

/// The outcome of one commit, awaited by the requests whose changes (or reads) it carries.
#[derive(Default)]
pub struct Ticket {
    result: OnceLock<Result<(), Arc<str>>>,
    notify: tokio::sync::Notify,
}

impl Ticket {
    /// Sets the outcome (once) and wakes the waiters.
    pub(super) fn resolve(&self, result: Result<(), Arc<str>>) {
        let _ = self.result.set(result);
        self.notify.notify_waiters();
    }

    pub(super) fn is_resolved(&self) -> bool {
        self.result.get().is_some()
    }

    /// Waits for the outcome.
    pub async fn wait(&self) -> Result<(), Arc<str>> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(result) = self.result.get() {
                return result.clone();
            }
            notified.await;
        }
    }
}

/// How a request's commits ended.
#[derive(Debug, PartialEq)]
pub enum Settled {
    /// Everything it changed or read is on disk.
    Committed,
    /// A change it made could not be written (it was rolled back).
    Failed(String),
    /// It changed nothing, but something it read was rolled back.
    ReadRolledBack(String),
}

/// Runs `future`, then waits for the commits of what it changed or read: returns its output
/// and, when something of it could not be written, why.
pub async fn track<F: Future>(future: F) -> (F::Output, Option<String>) {
    let (output, settled) = settle(future).await;
    match settled {
        Settled::Committed => (output, None),
        Settled::Failed(e) => (output, Some(e)),
        Settled::ReadRolledBack(e) => (
            output,
            Some(format!("what the request read was rolled back: {e}")),
        ),
    }
}

/// Runs `make()`'s future as `track` does, again (up to `attempts` times in all) while it
/// changed nothing and only read something that was rolled back meanwhile. A failure of its own
/// is recorded for the enclosing `track`.
pub async fn retry_reads<F, Fut>(attempts: usize, mut make: F) -> Fut::Output
where
    F: FnMut() -> Fut,
    Fut: Future,
{
    let mut attempt = 1;
    loop {
        let (output, settled) = settle(make()).await;
        match settled {
            Settled::Committed => return output,
            Settled::Failed(e) => {
                record_failure(&e);
                return output;
            }
            Settled::ReadRolledBack(e) if attempt >= attempts => {
                record_failure(&format!("what the request read was rolled back: {e}"));
                return output;
            }
            Settled::ReadRolledBack(_) => attempt += 1,
        }
    }
}

async fn settle<F: Future>(future: F) -> (F::Output, Settled) {
    let (output, tracker) = TRACKER
        .scope(RefCell::new(Tracker::default()), async move {
            let output = future.await;
            (output, TRACKER.with(|t| t.take()))
        })
        .await;
    if let Some(failure) = tracker.failure {
        return (output, Settled::Failed(failure));
    }
    let mut failed = None;
    for ticket in &tracker.own {
        if let Err(e) = ticket.wait().await {
            failed.get_or_insert(e);
        }
    }
    if let Some(e) = failed {
        return (output, Settled::Failed(e.to_string()));
    }
    for ticket in &tracker.seen {
        if let Err(e) = ticket.wait().await {
            let e = e.to_string();
            // Something that changed nothing may run again; a change built on what was rolled
            // back was rolled back with it (and its own ticket says so).
            return if tracker.own.is_empty() {
                (output, Settled::ReadRolledBack(e))
            } else {
                (output, Settled::Failed(e))
            };
        }
    }
    (output, Settled::Committed)
}

/// Records that a change of the current request could not be committed.
pub(super) fn record_failure(message: &str) {
    let _ = TRACKER.try_with(|t| {
        let mut tracker = t.borrow_mut();
        if tracker.failure.is_none() {
            tracker.failure = Some(message.to_string());
        }
    });
}

/// Records a commit that carries a change of the current request.
pub(super) fn record_own(ticket: &Arc<Ticket>) {
    let _ = TRACKER.try_with(|t| push_once(&mut t.borrow_mut().own, ticket));
}

/// Records a commit that carries a change the current request read.
pub(super) fn record_seen(ticket: &Arc<Ticket>) {
    let _ = TRACKER.try_with(|t| push_once(&mut t.borrow_mut().seen, ticket));
}

fn push_once(tickets: &mut Vec<Arc<Ticket>>, ticket: &Arc<Ticket>) {
    if !tickets.iter().any(|t| Arc::ptr_eq(t, ticket)) {
        tickets.push(ticket.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_is_reported_to_its_own_request_only() {
        let (_, failure) = track(async { record_failure("disk full") }).await;
        assert_eq!(failure.as_deref(), Some("disk full"));
        let (_, failure) = track(async {}).await;
        assert_eq!(failure, None);
        // Outside a request: nothing to report to, and no panic.
        record_failure("ignored");
    }

    #[tokio::test]
    async fn a_request_is_answered_after_its_commit_with_its_outcome() {
        let ticket = Arc::new(Ticket::default());
        let resolver = {
            let ticket = ticket.clone();
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                ticket.resolve(Err("disk full".into()));
            })
        };
        let (_, failure) = track(async { record_own(&ticket) }).await;
        assert!(ticket.is_resolved());
        assert_eq!(failure.as_deref(), Some("disk full"));
        resolver.await.unwrap();
        let committed = Arc::new(Ticket::default());
        committed.resolve(Ok(()));
        let (_, failure) = track(async { record_own(&committed) }).await;
        assert_eq!(failure, None);
    }

    #[tokio::test]
    async fn a_read_of_what_was_rolled_back_runs_again_a_change_does_not() {
        let rolled_back = Arc::new(Ticket::default());
        rolled_back.resolve(Err("disk full".into()));
        let mut runs = 0;
        let (_, failure) = track(retry_reads(3, || {
            runs += 1;
            let ticket = (runs == 1).then(|| rolled_back.clone());
            async move {
                if let Some(ticket) = ticket {
                    record_seen(&ticket);
                }
            }
        }))
        .await;
        assert_eq!((runs, failure), (2, None));

        let mut runs = 0;
        let (_, failure) = track(retry_reads(3, || {
            runs += 1;
            let ticket = rolled_back.clone();
            async move {
                record_seen(&ticket);
                record_own(&ticket);
            }
        }))
        .await;
        assert_eq!(runs, 1);
        assert_eq!(failure.as_deref(), Some("disk full"));
    }
}
