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

#[cfg(test)]
mod tests {
    use crate::protocol::Scope;
    use crate::store::Store;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn scope() -> Scope {
        Scope {
            account: "111111111111".into(),
            region: "us-east-1".into(),
        }
    }

    /// The admitted request lets the next one in when it drops its guard of the region, not
    /// when its handler returns; a guard of another region lets no one in.
    #[tokio::test]
    async fn the_turn_ends_when_the_guard_is_dropped() {
        let store = Store::open(None).expect("opens");
        let region = store.region(&scope());
        let other = store.region(&Scope {
            account: "222222222222".into(),
            region: "us-east-1".into(),
        });
        let free = || region.admission.0.available_permits();
        region
            .admitted(|| {
                drop(other.lock());
                assert_eq!(free(), 0, "another region's guard ended the turn");
                let guard = region.lock();
                assert_eq!(free(), 0);
                drop(guard);
                assert_eq!(free(), 1, "the turn outlived the guard");
            })
            .await;
        // A handler that takes no guard ends its turn when it returns.
        region.admitted(|| assert_eq!(free(), 0)).await;
        assert_eq!(free(), 1);
    }

    /// A second request of the region waits, as a task, while the first holds its turn.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_second_request_waits_for_the_turn() {
        let store = Store::open(None).expect("opens");
        let region = store.region(&scope());
        let (admitted_tx, admitted_rx) = std::sync::mpsc::channel::<()>();
        let second_ran = Arc::new(AtomicBool::new(false));
        let first = {
            let region = region.clone();
            let second_ran = second_ran.clone();
            tokio::spawn(async move {
                region
                    .admitted(|| {
                        let guard = region.lock();
                        admitted_tx.send(()).expect("sends");
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        let ran = second_ran.load(Ordering::SeqCst);
                        drop(guard);
                        ran
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || admitted_rx.recv())
            .await
            .expect("joins")
            .expect("the first request is admitted");
        let second = {
            let region = region.clone();
            let second_ran = second_ran.clone();
            tokio::spawn(async move {
                region
                    .admitted(|| second_ran.store(true, Ordering::SeqCst))
                    .await
            })
        };
        assert!(
            !first.await.expect("joins"),
            "the second request ran during the first one's turn"
        );
        second.await.expect("joins");
        assert!(second_ran.load(Ordering::SeqCst));
    }
}
