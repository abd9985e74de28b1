//! Which request a failed commit belongs to. A request runs inside `track`; a region guard
//! whose changes cannot be written records the failure there (`record_failure`), and the
//! server answers an error instead of the success the handler computed. Work outside a request
//! (timers, real actions) has no tracker: its failed change is rolled back and logged.

use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    static FAILURE: RefCell<Option<String>>;
}

/// Runs `future`, returning its output and the first commit failure it caused, if any.
pub async fn track<F: Future>(future: F) -> (F::Output, Option<String>) {
    FAILURE
        .scope(RefCell::new(None), async move {
            let output = future.await;
            let failure = FAILURE.with(|f| f.borrow_mut().take());
            (output, failure)
        })
        .await
}

/// Records that a change of the current request could not be committed.
pub(super) fn record_failure(message: &str) {
    let _ = FAILURE.try_with(|f| {
        let mut failure = f.borrow_mut();
        if failure.is_none() {
            *failure = Some(message.to_string());
        }
    });
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
}
