//! The real actions running in the background, and their supervision.
//!
//! Each runs in a task of its own, watched by a supervisor task: a panic, an error or a run
//! past the action's timeout becomes the action's failure with a message (never an action left
//! InProgress). The registry maps action execution ids to cancellation tokens so that
//! stop-and-abandon (`cancel`, asked by the engine whenever a real action execution finishes) and
//! server shutdown (`shutdown`) reach the running work: the work's future is dropped, and what it
//! owns cleans up on drop (the local executor's process group is killed).

use crate::store::runtime::Outcome;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for cancelled work to be dropped (it is dropped at once unless a
/// bug blocks a runtime thread).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

/// The registry of running real actions (one per server).
#[derive(Clone, Default)]
pub struct Running(Arc<Inner>);

#[derive(Default)]
struct Inner {
    tokens: Mutex<HashMap<String, CancellationToken>>,
    /// Parent of every action's token: cancelled at shutdown.
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Running {
    /// Runs `work` for action execution `id` in the background, for at most `timeout`. Its
    /// outcome goes to `report`; past the timeout `timed_out()` does, after the work was
    /// dropped; a panic becomes a failure. Nothing is reported when the action is cancelled
    /// (it was abandoned, or the server is stopping: the restart fails it as interrupted).
    pub fn spawn<W, T, R>(&self, id: &str, timeout: Duration, work: W, timed_out: T, report: R)
    where
        W: Future<Output = Outcome> + Send + 'static,
        T: FnOnce() -> Outcome + Send + 'static,
        R: FnOnce(Outcome) + Send + 'static,
    {
        let token = self.0.shutdown.child_token();
        self.0.tokens.lock().insert(id.to_string(), token.clone());
        let registry = self.clone();
        let id = id.to_string();
        self.0.tracker.spawn(async move {
            let mut task = tokio::spawn(work);
            let ended = tokio::select! {
                joined = &mut task => Some(match joined {
                    Ok(outcome) => outcome,
                    Err(e) => crashed(e),
                }),
                _ = tokio::time::sleep(timeout) => None,
                _ = token.cancelled() => None,
            };
            if ended.is_none() {
                // Wait until the work is dropped: its processes are gone when this returns.
                task.abort();
                let _ = task.await;
            }
            registry.0.tokens.lock().remove(&id);
            match ended {
                Some(outcome) => report(outcome),
                None if !token.is_cancelled() => report(timed_out()),
                None => {}
            }
        });
    }

    /// Stops the work of action execution `id`, if it is running. Cheap: callable under the
    /// region lock.
    pub fn cancel(&self, id: &str) {
        if let Some(token) = self.0.tokens.lock().remove(id) {
            token.cancel();
        }
    }

    /// Stops every running action (and any started from now on) and waits until their work
    /// is dropped.
    pub async fn shutdown(&self) {
        self.0.shutdown.cancel();
        self.0.tracker.close();
        if tokio::time::timeout(SHUTDOWN_WAIT, self.0.tracker.wait())
            .await
            .is_err()
        {
            tracing::error!("real actions still running after the shutdown wait");
        }
    }

    /// How many real actions are running.
    pub fn len(&self) -> usize {
        self.0.tokens.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The failure of a task that panicked (or was cancelled by the runtime).
fn crashed(e: tokio::task::JoinError) -> Outcome {
    Outcome::failed("JobFailed", crash_message(e))
}

/// What an action that crashed says.
pub fn crash_message(e: tokio::task::JoinError) -> String {
    let what = match e.try_into_panic() {
        Ok(panic) => panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string()),
        Err(e) => e.to_string(),
    };
    tracing::error!("a real action crashed: {what}");
    format!("The action failed because of an internal error of codepipeline-local: {what}")
}

/// The failure of an action past its timeout.
pub fn timed_out(timeout: Duration) -> Outcome {
    Outcome::failed(
        "JobFailed",
        format!(
            "The action did not finish within {} seconds and was stopped",
            timeout.as_secs()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    fn message(outcome: &Outcome) -> String {
        match outcome {
            Outcome::Failed { message, .. } => message.clone(),
            other => format!("{other:?}"),
        }
    }

    /// Spawns `work` as action "a1"; the receiver gets what it reports.
    async fn reported(
        running: &Running,
        timeout: Duration,
        work: impl Future<Output = Outcome> + Send + 'static,
    ) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        running.spawn(
            "a1",
            timeout,
            work,
            move || timed_out(timeout),
            move |o| {
                let _ = tx.send(o);
            },
        );
        rx
    }

    #[tokio::test]
    async fn a_panic_becomes_the_actions_failure() {
        let running = Running::default();
        let rx = reported(&running, Duration::from_secs(60), async {
            panic!("broken invariant")
        })
        .await;
        let outcome = tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            message(&outcome),
            "The action failed because of an internal error of codepipeline-local: broken invariant"
        );
        running.shutdown().await;
        assert!(running.is_empty());
    }

    #[tokio::test]
    async fn a_run_past_its_timeout_fails_and_is_dropped() {
        let running = Running::default();
        let (dropped_tx, dropped_rx) = oneshot::channel::<()>();
        let rx = reported(&running, Duration::from_millis(50), async move {
            let _guard = dropped_tx; // dropped with the work
            std::future::pending::<Outcome>().await
        })
        .await;
        let outcome = tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            message(&outcome),
            "The action did not finish within 0 seconds and was stopped"
        );
        assert!(dropped_rx.await.is_err(), "the work was dropped");
        assert!(running.is_empty());
    }

    #[tokio::test]
    async fn cancelled_or_shut_down_work_is_dropped_and_reports_nothing() {
        let running = Running::default();
        let (dropped_tx, dropped_rx) = oneshot::channel::<()>();
        let rx = reported(&running, Duration::from_secs(60), async move {
            let _guard = dropped_tx;
            std::future::pending::<Outcome>().await
        })
        .await;
        assert_eq!(running.len(), 1);
        running.cancel("a1");
        assert!(
            tokio::time::timeout(Duration::from_secs(5), dropped_rx)
                .await
                .unwrap()
                .is_err(),
            "the work was dropped"
        );
        assert!(rx.await.is_err(), "nothing reported");

        let (dropped_tx, mut dropped_rx) = oneshot::channel::<()>();
        let rx = reported(&running, Duration::from_secs(60), async move {
            let _guard = dropped_tx;
            std::future::pending::<Outcome>().await
        })
        .await;
        running.shutdown().await;
        // shutdown returns once the work is dropped.
        assert_eq!(
            dropped_rx.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        );
        assert!(rx.await.is_err(), "nothing reported");
        assert!(running.is_empty());
    }
}
