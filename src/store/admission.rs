//! Requests wait for a region's turn without blocking a worker thread.
//!
//! The handlers are synchronous and hold the region's lock for their step of the engine. A
//! request that found the lock held would block its worker thread, which spins, yields and
//! sleeps on the lock (a context switch or two per request on a busy server) instead of reading
//! and decoding the next request. So a request first waits for the region's admission, in the
//! async runtime: one request of a region at a time is admitted, from just before its handler
//! runs until the first guard of that region it takes is dropped (or the handler returns),
//! and the others wait as tasks, their threads serving other connections meanwhile.
//!
//! The lock stays the only guard of the state: a lock taken without admission (timers, the
//! committer, a handler's second lock) is as correct as before and at worst waits for it.

use super::Region;
use std::cell::RefCell;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

thread_local! {
    /// The admission of the handler running on this thread: its region's address and permit.
    static ADMITTED: RefCell<Option<(usize, OwnedSemaphorePermit)>> = const { RefCell::new(None) };
}

/// A region's turn: one permit.
pub(super) struct Admission(Arc<Semaphore>);

impl Default for Admission {
    fn default() -> Self {
        Admission(Arc::new(Semaphore::new(1)))
    }
}

fn address(region: &Region) -> usize {
    region as *const Region as usize
}

impl Region {
    /// Runs `handler` once the region admits it (see the module doc).
    pub async fn admitted<R>(&self, handler: impl FnOnce() -> R) -> R {
        // The semaphore is never closed; without a permit the handler runs anyway.
        let permit = self.admission.0.clone().acquire_owned().await.ok();
        if let Some(permit) = permit {
            ADMITTED.with(|slot| *slot.borrow_mut() = Some((address(self), permit)));
        }
        let output = handler();
        ADMITTED.with(|slot| slot.borrow_mut().take());
        output
    }
}

/// Lets the next request of `region` in, if the handler running here was admitted to it (its
/// guard of the region was just dropped).
pub(super) fn release(region: &Region) {
    ADMITTED.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.as_ref().is_some_and(|(at, _)| *at == address(region)) {
            slot.take();
        }
    });
}
