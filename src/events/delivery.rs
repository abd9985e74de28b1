//! Where event streams are written: a runtime of their own whose threads run at a lower
//! scheduling priority (nice 10 on Linux), so that delivering events to subscribers never takes
//! CPU from the engine and the API. A connection whose request opens an event stream is handed
//! over to it with its socket (`http::HandOver`); the engine publishes on its own runtime as before and
//! never waits for a subscriber.

use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle, Runtime};

/// The nice value of the streams' threads: 0 is everyone's default, 19 the lowest priority.
const NICE: i32 = 10;

static STREAMS: OnceLock<Option<Runtime>> = OnceLock::new();

/// The streams' runtime, started on first use (one per process, as many threads as CPUs, never
/// stopped); `None` if it could not start (the streams then stay where they are).
pub fn runtime() -> Option<Handle> {
    let runtime = STREAMS.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        match Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("event-streams")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()
        {
            Ok(runtime) => Some(runtime),
            Err(e) => {
                tracing::warn!(
                    "event streams share the server's threads: no runtime of their own: {e}"
                );
                None
            }
        }
    });
    runtime.as_ref().map(|r| r.handle().clone())
}

/// Lowers the calling thread's priority. On Linux the nice value belongs to the thread:
/// `setpriority(PRIO_PROCESS, 0)` changes the calling thread's only (setpriority(2), "BUGS").
#[cfg(target_os = "linux")]
fn lower_priority() {
    if let Err(e) = rustix::process::setpriority_process(None, NICE) {
        tracing::debug!("event streams keep the default priority: {e}");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}
