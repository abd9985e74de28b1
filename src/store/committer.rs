//! Group commit: one thread writes the changes of every region to the database.
//!
//! A region's guard that changed something queues the region here (once until it is collected)
//! and hands the request a `Ticket`. The committer thread takes every queued region, collects
//! (serializes) each one's changes under its lock, releases it, and writes them all in one
//! transaction; the changes made meanwhile wait for the next one. A record changed several
//! times between two commits is written once.
//!
//! When the transaction fails, nothing of it is on disk: every region in it is put back to its
//! committed state (read back from the database), which also drops the changes made since its
//! collection (they were built on what failed), and every ticket of them is resolved with the
//! error. Then the engine resumes the region's executions (`RollbackHook`).

use super::commits::Ticket;
use super::persistence::{Changes, Persistence};
use super::{Region, RegionGuard};
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The commits of a region that are not resolved yet (kept in its state, under its lock).
#[derive(Default)]
pub struct Pending {
    /// Changes made since the last collection wait for this ticket (the region is queued).
    waiting: Option<Arc<Ticket>>,
    /// The changes collected last are being written under this ticket.
    in_flight: Option<Arc<Ticket>>,
}

impl Pending {
    /// The ticket that commits everything the state holds now, unless it is all committed.
    pub fn latest(&self) -> Option<&Arc<Ticket>> {
        self.waiting
            .as_ref()
            .or(self.in_flight.as_ref())
            .filter(|t| !t.is_resolved())
    }
}

/// The committer thread and its queue.
pub struct Committer {
    shared: Arc<Queue>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Queue {
    regions: Mutex<Queued>,
    wake: Condvar,
}

#[derive(Default)]
struct Queued {
    regions: Vec<Arc<Region>>,
    closed: bool,
}

const CLOSED: &str = "the database is closed (the server is shutting down)";

impl Committer {
    /// Starts the thread. `runtime` is entered by it (the rollback hook spawns tasks).
    pub fn start(
        persistence: Arc<Persistence>,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Result<Committer, String> {
        let shared = Arc::new(Queue {
            regions: Mutex::new(Queued::default()),
            wake: Condvar::new(),
        });
        let queue = shared.clone();
        let thread = std::thread::Builder::new()
            .name("committer".into())
            .spawn(move || {
                let _entered = runtime.as_ref().map(|r| r.enter());
                run(&queue, &persistence);
            })
            .map_err(|e| format!("cannot start the committer thread: {e}"))?;
        Ok(Committer {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The ticket that will carry the changes just made in `region` (whose lock `state` is).
    pub(super) fn request(&self, guard: &mut RegionGuard) -> Result<Arc<Ticket>, String> {
        if let Some(ticket) = &guard.guard.pending.waiting {
            // Queued already: these changes go with the ones waiting.
            return Ok(ticket.clone());
        }
        let region = guard
            .region
            .me
            .upgrade()
            .ok_or("internal error: a change to a region that is gone")?;
        {
            let mut queued = self.shared.regions.lock();
            if queued.closed {
                return Err(CLOSED.into());
            }
            queued.regions.push(region);
        }
        self.shared.wake.notify_one();
        let ticket = Arc::new(Ticket::default());
        guard.guard.pending.waiting = Some(ticket.clone());
        Ok(ticket)
    }

    /// Writes what is queued, then stops the thread; later changes are refused.
    pub fn close(&self) {
        self.stop();
        if let Some(thread) = self.thread.lock().take() {
            if thread.thread().id() != std::thread::current().id() && thread.join().is_err() {
                tracing::error!("the committer thread panicked");
            }
        }
    }

    /// Tells the thread to stop once the queue is written (without waiting for it).
    pub fn stop(&self) {
        self.shared.regions.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

/// The thread: commits until closed and drained.
fn run(queue: &Queue, persistence: &Persistence) {
    loop {
        let regions = {
            let mut queued = queue.regions.lock();
            while queued.regions.is_empty() && !queued.closed {
                queue.wake.wait(&mut queued);
            }
            if queued.regions.is_empty() {
                return;
            }
            std::mem::take(&mut queued.regions)
        };
        commit(persistence, regions);
    }
}

/// One group commit.
fn commit(persistence: &Persistence, regions: Vec<Arc<Region>>) {
    let mut batch: Vec<(Arc<Region>, Changes, Arc<Ticket>)> = Vec::with_capacity(regions.len());
    let mut unwritable = Vec::new();
    for region in regions {
        let mut state = region.state.lock();
        let Some(ticket) = state.pending.waiting.take() else {
            // Queued twice (a rollback emptied it meanwhile): nothing waits.
            continue;
        };
        match persistence.collect(&region.scope, &mut state) {
            Ok(changes) => {
                state.pending.in_flight = Some(ticket.clone());
                drop(state);
                batch.push((region, changes, ticket));
            }
            Err(e) => {
                drop(state);
                unwritable.push((region, ticket, e));
            }
        }
    }
    let changes: Vec<&Changes> = batch
        .iter()
        .map(|(_, c, _)| c)
        .filter(|c| !c.is_empty())
        .collect();
    let written = if changes.is_empty() {
        Ok(())
    } else {
        persistence.write(&changes)
    };
    match written {
        Ok(()) => {
            for (_, _, ticket) in &batch {
                ticket.resolve(Ok(()));
            }
        }
        Err(e) => {
            tracing::error!(
                regions = batch.len(),
                "could not persist state, changes rolled back: {e}"
            );
            for (region, _, ticket) in batch {
                roll_back(&region, &ticket, &e);
            }
        }
    }
    for (region, ticket, e) in unwritable {
        tracing::error!(account = %region.scope.account, region = %region.scope.region, "could not persist state, change rolled back: {e}");
        roll_back(&region, &ticket, &e);
    }
}

/// Puts `region` back to its committed state and fails `ticket` (its failed commit) and the
/// changes made since, then has the region's executions resumed.
fn roll_back(region: &Region, ticket: &Ticket, error: &str) {
    let error: Arc<str> = error.into();
    {
        let mut guard = RegionGuard::new(region);
        let since = guard.guard.pending.waiting.take();
        guard.reload();
        // Resolved once the state is back: a read that saw the change and runs again sees it gone.
        ticket.resolve(Err(error.clone()));
        if let Some(since) = since {
            since.resolve(Err(error));
        }
    }
    region.schedule_resume();
}
