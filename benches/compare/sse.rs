//! Event stream fan-out (`BENCH_SECTION=sse-fan-out` runs only this): `subscribers` clients
//! follow the unfiltered `/_codepipeline-local/events` while `count` executions run on
//! `pipelines` PARALLEL pipelines, started over `connections` connections.
//!
//! The subscribers are read on a thread of their own (its own runtime), apart from the thread
//! that starts the executions, as clients elsewhere would be. Two figures: first start -> last
//! execution end (what the subscribers cost the engine and the API) and first start -> every
//! subscriber has received every event (delivery), with the CPU seconds of the server and of
//! both bench threads.

use super::{connect, cpu_seconds, run_executions, spawn_ours, stat_cpu_seconds};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// State changes of one execution of the bench pipeline (3 stages of 1 action): the pipeline's,
/// each stage's and each action's start and end.
const EVENTS_PER_EXECUTION: usize = 2 + 3 * 2 + 3 * 2;
/// How long delivery may take after the executions ended before the bench gives up on it.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(60);

/// What one subscriber saw.
#[derive(Debug, Default, Clone)]
struct Seen {
    events: usize,
    /// When it had received `expected` events (seconds since the epoch).
    complete_at: Option<f64>,
    /// The stream ended with a lag notice.
    lagged: bool,
    ended: bool,
}

pub struct FanOut {
    subscribers: usize,
    connections: usize,
    count: usize,
    executions: f64,
    statuses: BTreeMap<String, usize>,
    /// First start -> every subscriber complete; `None` when some never were.
    delivered: Option<f64>,
    complete: usize,
    lagged: usize,
    min: usize,
    max: usize,
    server_cpu_executions: f64,
    server_cpu_delivered: f64,
    starter_cpu: f64,
    reader_cpu: f64,
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

pub async fn section(
    subscribers: usize,
    count: usize,
    pipelines: usize,
    connections: usize,
) -> FanOut {
    let limit = (subscribers + connections + 16).to_string();
    let (server, _) = spawn_ours(&["--no-auto-start", "--max-connections", &limit]).await;
    let expected = count * EVENTS_PER_EXECUTION;
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::new(Mutex::new(vec![Seen::default(); subscribers]));
    let (opened_tx, opened) = std::sync::mpsc::channel();
    let reader = {
        let (seen, addr) = (seen.clone(), server.addr);
        std::thread::Builder::new()
            .name("subscribers".into())
            .spawn(move || read_streams(addr, subscribers, expected, seen, opened_tx))
            .unwrap()
    };
    opened
        .recv()
        .expect("the subscribers' thread opened its streams");
    let starter_cpu_before = stat_cpu_seconds("/proc/thread-self/stat");
    let (first_start, last_end, statuses) =
        run_executions(server.addr, count, pipelines, connections).await;
    let starter_cpu = stat_cpu_seconds("/proc/thread-self/stat") - starter_cpu_before;
    let server_cpu_executions = cpu_seconds(server.child.id());
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    loop {
        let done = seen
            .lock()
            .unwrap()
            .iter()
            .all(|s| s.complete_at.is_some() || s.ended);
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let server_cpu_delivered = cpu_seconds(server.child.id());
    // Stop the server: the streams end and the subscribers' thread returns.
    drop(server);
    let reader_cpu = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    let complete = seen.iter().filter(|s| s.complete_at.is_some()).count();
    let delivered = (complete == subscribers).then(|| {
        seen.iter()
            .filter_map(|s| s.complete_at)
            .fold(0f64, f64::max)
            - first_start
    });
    FanOut {
        subscribers,
        connections,
        count,
        executions: last_end - first_start,
        statuses,
        delivered,
        complete,
        lagged: seen.iter().filter(|s| s.lagged).count(),
        min: seen.iter().map(|s| s.events).min().unwrap_or(0),
        max: seen.iter().map(|s| s.events).max().unwrap_or(0),
        server_cpu_executions,
        server_cpu_delivered,
        starter_cpu,
        reader_cpu,
    }
}

/// The subscribers' thread: opens every stream, says so, and reads them all until they end.
/// Returns the thread's CPU seconds.
fn read_streams(
    addr: SocketAddr,
    subscribers: usize,
    expected: usize,
    seen: Arc<Mutex<Vec<Seen>>>,
    opened: std::sync::mpsc::Sender<()>,
) -> f64 {
    // BENCH_SSE_READER_NICE=N: this thread at nice N, as if the subscribers read elsewhere.
    #[cfg(target_os = "linux")]
    if let Ok(nice) = std::env::var("BENCH_SSE_READER_NICE") {
        let nice = nice.parse().expect("BENCH_SSE_READER_NICE is a number");
        rustix::process::setpriority_process(None, nice).expect("setpriority");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let mut readers = Vec::new();
        for i in 0..subscribers {
            let mut sender = connect(addr).await.expect("connect");
            let request = Request::get("/_codepipeline-local/events")
                .header("host", addr.to_string())
                .body(Full::new(Bytes::new()))
                .unwrap();
            let response = sender.send_request(request).await.expect("event stream");
            assert_eq!(response.status(), 200);
            let seen = seen.clone();
            readers.push(tokio::task::spawn_local(async move {
                let _sender = sender;
                let mut body = response.into_body();
                let data_line = memchr::memmem::Finder::new(b"data: ");
                // The last bytes so far: the 5 a `data: ` may straddle, the 256 where a
                // closing lag notice would be.
                let mut tail: Vec<u8> = Vec::new();
                while let Some(Ok(frame)) = body.frame().await {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    let head = &data[..data.len().min(5)];
                    let mut seam = tail[tail.len().saturating_sub(5)..].to_vec();
                    seam.extend_from_slice(head);
                    let events =
                        data_line.find_iter(&seam).count() + data_line.find_iter(&data).count();
                    tail.extend_from_slice(&data[data.len().saturating_sub(256)..]);
                    tail.drain(..tail.len().saturating_sub(256));
                    let mut seen = seen.lock().unwrap();
                    let s = &mut seen[i];
                    s.events += events;
                    if s.events >= expected && s.complete_at.is_none() {
                        s.complete_at = Some(now_epoch());
                    }
                }
                let mut seen = seen.lock().unwrap();
                seen[i].ended = true;
                seen[i].lagged = tail.windows(9).any(|w| w == b": lagged:");
            }));
        }
        let _ = opened.send(());
        for reader in readers {
            let _ = reader.await;
        }
    });
    stat_cpu_seconds("/proc/thread-self/stat")
}

pub fn print(f: &FanOut) {
    println!("\n### Event stream fan-out\n");
    println!(
        "{} executions on 10 PARALLEL pipelines, started over {} connections, while {} clients follow the unfiltered `/_codepipeline-local/events` (read on a bench thread of their own).\n",
        f.count, f.connections, f.subscribers
    );
    println!("| Measure | Value |");
    println!("|---|---|");
    println!(
        "| First start -> last execution end | {:.2} s; final statuses {:?} |",
        f.executions, f.statuses
    );
    let delivered = match f.delivered {
        Some(s) => format!("{s:.2} s"),
        None => format!(
            "not reached: {} of {} subscribers complete",
            f.complete, f.subscribers
        ),
    };
    println!(
        "| First start -> every subscriber received all {} events | {delivered}; received per subscriber: min {}, max {}; closed as lagging: {} |",
        f.count * EVENTS_PER_EXECUTION,
        f.min,
        f.max,
        f.lagged
    );
    println!(
        "| Server CPU seconds: until the last execution end / until delivered | {:.2} / {:.2} |",
        f.server_cpu_executions, f.server_cpu_delivered
    );
    println!(
        "| Bench CPU seconds: starting thread (executions) / subscribers' thread | {:.2} / {:.2} |",
        f.starter_cpu, f.reader_cpu
    );
}
