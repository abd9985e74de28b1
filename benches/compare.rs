//! `cargo bench --bench compare`: codepipeline-local (the release binary, spawned) against
//! moto's server (`python3 -m moto.server`, spawned) on this machine.
//!
//! Load: N keep-alive HTTP/1.1 connections (hyper), each sending realistic AWS JSON 1.1
//! requests (`X-Amz-Target`, `X-Amz-Date`, a SigV4-shaped `Authorization`; neither server
//! verifies signatures) back to back for a fixed time after a warm-up; latencies go into an
//! HDR histogram. Then execution latency and throughput, startup time, memory, and how cost
//! grows with the number of pipelines. Prints one report (markdown tables).
//!
//! Settings (environment): BENCH_SECONDS (per measured operation, default 3), BENCH_CONNECTIONS
//! (default 16), BENCH_SKIP_MOTO=1 (ours only), BENCH_QUICK=1 (smaller history and pipeline
//! counts, for a smoke run), BENCH_ONLY=Op1,Op2 (only these request measurements),
//! BENCH_SECTION=sse-fan-out (only the SSE fan-out measure), BENCH_SECTION=git-sources (only
//! the local git sources' measures, `compare/git_sources.rs`), BENCH_SECTION=durable (only
//! the durable-writes measure), BENCH_SECTION=poll (only the PollForJobs measure),
//! BENCH_SECTION=history (only RSS with BENCH_HISTORY_PIPELINES x 1,000 kept executions);
//! BENCH_BINARY=path runs that server binary instead of this build's; BENCH_SSE_READER_NICE=N
//! reads the SSE fan-out's subscribers at nice N (Linux).

#[path = "compare_sections/durable.rs"]
mod durable;

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;

#[path = "compare/git_sources.rs"]
mod git_sources;
#[path = "compare/records.rs"]
mod records;
#[path = "compare/sse.rs"]
mod sse;

const BINARY: &str = env!("CARGO_BIN_EXE_codepipeline-local");
static UNIQUE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/codepipeline-service";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A spawned server, killed when dropped.
struct Server {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// User + system CPU time of a process so far (Linux `/proc`; 0 elsewhere).
fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu_seconds(&format!("/proc/{pid}/stat"))
}

/// User + system CPU time in a `/proc` stat file (a process's or `/proc/thread-self/stat`).
fn stat_cpu_seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The fields after the command name (which ends with the last ')').
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Spawns our release binary and waits until `/health` answers; returns it and the time from
/// spawn to the first answered request.
async fn spawn_ours(extra: &[&str]) -> (Server, Duration) {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    // BENCH_BINARY: another build of the server (e.g. an older commit's, for a before/after).
    let binary = std::env::var("BENCH_BINARY").unwrap_or_else(|_| BINARY.to_string());
    let child = Command::new(binary)
        .args(["--listen", &addr.to_string(), "--log-level", "warn"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn codepipeline-local (built by cargo bench)");
    let server = Server {
        name: "codepipeline-local",
        child,
        addr,
    };
    loop {
        if health(addr).await {
            return (server, started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(20) {
            panic!("codepipeline-local did not start");
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

async fn health(addr: SocketAddr) -> bool {
    let Ok(mut sender) = connect(addr).await else {
        return false;
    };
    let request = Request::get("/health")
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap();
    match sender.send_request(request).await {
        Ok(response) => response.status() == 200,
        Err(_) => false,
    }
}

async fn spawn_moto() -> Option<Server> {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server {
        name: "moto",
        child,
        addr,
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(mut conn) = Conn::open(addr).await {
            if let Ok((200, _)) = conn.call("ListPipelines", Bytes::from_static(b"{}")).await {
                return Some(server);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

// ---------------------------------------------------------------------------------------------
// HTTP

async fn connect(addr: SocketAddr) -> std::io::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn amz_date() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

/// SigV4-shaped: the credential scope names the region and service as SDKs send it.
fn authorization(date: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/{service}/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
         Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        &date[..8]
    )
}

/// One keep-alive connection; reconnects when the server closed it.
struct Conn {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
    reconnects: u64,
}

impl Conn {
    async fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        Ok(Conn {
            addr,
            sender: connect(addr).await?,
            reconnects: 0,
        })
    }

    async fn call(&mut self, operation: &str, body: Bytes) -> Result<(u16, Bytes), String> {
        for _ in 0..3 {
            if self.sender.ready().await.is_err() {
                self.reconnect().await?;
            }
            let date = amz_date();
            let request = Request::post("/")
                .header("host", self.addr.to_string())
                .header("content-type", "application/x-amz-json-1.1")
                .header("content-length", body.len())
                .header("x-amz-target", format!("CodePipeline_20150709.{operation}"))
                .header("x-amz-date", &date)
                .header("authorization", authorization(&date, "codepipeline"))
                .header("user-agent", "aws-sdk-rust/1.0 bench")
                .body(Full::new(body.clone()))
                .unwrap();
            match self.sender.send_request(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| e.to_string())?
                        .to_bytes();
                    return Ok((status, body));
                }
                Err(e) if e.is_closed() || e.is_canceled() => self.reconnect().await?,
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("connection keeps closing".into())
    }

    async fn reconnect(&mut self) -> Result<(), String> {
        self.reconnects += 1;
        self.sender = connect(self.addr).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn ok(&mut self, operation: &str, body: Value) -> Value {
        let (status, answer) = self
            .call(operation, Bytes::from(body.to_string()))
            .await
            .unwrap();
        assert_eq!(
            status,
            200,
            "{operation}: {}",
            String::from_utf8_lossy(&answer)
        );
        serde_json::from_slice(&answer).unwrap_or(Value::Null)
    }
}

// ---------------------------------------------------------------------------------------------
// Load

#[derive(Clone)]
struct Stats {
    requests: u64,
    errors: u64,
    reconnects: u64,
    seconds: f64,
    latency_us: Histogram<u64>,
    first_error: Option<String>,
}

impl Stats {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
    fn p50_ms(&self) -> f64 {
        self.latency_us.value_at_quantile(0.50) as f64 / 1000.0
    }
    fn p99_ms(&self) -> f64 {
        self.latency_us.value_at_quantile(0.99) as f64 / 1000.0
    }
}

/// `connections` connections send `operation` with `body(connection, sequence)` for `seconds`.
async fn load<F>(
    addr: SocketAddr,
    operation: &'static str,
    connections: usize,
    duration: Duration,
    body: F,
) -> Stats
where
    F: Fn(usize, u64) -> Bytes + 'static,
{
    let body = Rc::new(body);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let body = body.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let mut conn = Conn::open(addr).await.expect("connect");
            let (mut requests, mut errors) = (0u64, 0u64);
            let mut first_error = None;
            let mut sequence = 0u64;
            while Instant::now() < deadline {
                let payload = body(c, sequence);
                sequence += 1;
                let sent = Instant::now();
                let result = conn.call(operation, payload).await;
                let micros = sent.elapsed().as_micros() as u64;
                histogram.saturating_record(micros.max(1));
                requests += 1;
                match result {
                    Ok((200, _)) => {}
                    Ok((status, answer)) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| {
                            format!("{status} {}", String::from_utf8_lossy(&answer))
                        });
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (histogram, requests, errors, conn.reconnects, first_error)
        }));
    }
    let mut stats = Stats {
        requests: 0,
        errors: 0,
        reconnects: 0,
        seconds: 0.0,
        latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).unwrap(),
        first_error: None,
    };
    for task in tasks {
        let (histogram, requests, errors, reconnects, first_error) = task.await.unwrap();
        stats.latency_us.add(&histogram).unwrap();
        stats.requests += requests;
        stats.errors += errors;
        stats.reconnects += reconnects;
        if stats.first_error.is_none() {
            stats.first_error = first_error;
        }
    }
    stats.seconds = started.elapsed().as_secs_f64();
    stats
}

/// A short unmeasured run, then the measured one.
async fn measure<F>(
    addr: SocketAddr,
    operation: &'static str,
    connections: usize,
    duration: Duration,
    body: F,
) -> Stats
where
    F: Fn(usize, u64) -> Bytes + Clone + 'static,
{
    load(
        addr,
        operation,
        connections,
        Duration::from_millis(300),
        body.clone(),
    )
    .await;
    load(addr, operation, connections, duration, body).await
}

/// Runs `make(i)` for i in 0..count over `connections` connections; returns the answers' JSON.
async fn fan_out<F>(
    addr: SocketAddr,
    operation: &'static str,
    connections: usize,
    count: usize,
    make: F,
) -> Vec<Value>
where
    F: Fn(usize) -> Value + 'static,
{
    let make = Rc::new(make);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let make = make.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut conn = Conn::open(addr).await.expect("connect");
            let mut out = Vec::new();
            let mut i = c;
            while i < count {
                out.push(conn.ok(operation, make(i)).await);
                i += connections;
            }
            out
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

// ---------------------------------------------------------------------------------------------
// Requests

/// Source (S3) -> Build (CodeBuild) -> Deploy (CodeDeploy): 3 stages, 1 simulated action each.
fn pipeline(name: &str, parallel: bool) -> Value {
    let mut p = json!({
        "name": name,
        "roleArn": ROLE_ARN,
        "artifactStore": {"type": "S3", "location": "artifact-bucket"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": "source-bucket", "S3ObjectKey": "app.zip"},
                "outputArtifacts": [{"name": "SourceOutput"}],
                "runOrder": 1
            }]},
            {"name": "Build", "actions": [{
                "name": "Build",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "my-project"},
                "inputArtifacts": [{"name": "SourceOutput"}],
                "outputArtifacts": [{"name": "BuildOutput"}],
                "runOrder": 1
            }]},
            {"name": "Deploy", "actions": [{
                "name": "Deploy",
                "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"},
                "configuration": {"ApplicationName": "app", "DeploymentGroupName": "group"},
                "inputArtifacts": [{"name": "BuildOutput"}],
                "runOrder": 1
            }]}
        ],
        "version": 1
    });
    if parallel {
        p["pipelineType"] = json!("V2");
        p["executionMode"] = json!("PARALLEL");
    }
    p
}

fn create_body(name: &str) -> Value {
    json!({"pipeline": pipeline(name, false), "tags": [{"key": "team", "value": "bench"}]})
}

fn bytes(value: Value) -> Bytes {
    Bytes::from(value.to_string())
}

/// moto's CreatePipeline needs an IAM role that trusts CodePipeline.
async fn moto_role(addr: SocketAddr) {
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    .to_string();
    let encoded: String = policy
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let body = format!(
        "Action=CreateRole&Version=2010-05-08&RoleName=codepipeline-service&AssumeRolePolicyDocument={encoded}"
    );
    let mut sender = connect(addr).await.unwrap();
    let date = amz_date();
    let request = Request::post("/")
        .header("host", addr.to_string())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-amz-date", &date)
        .header("authorization", authorization(&date, "iam"))
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200, "moto CreateRole");
}

type BodyFn = fn(usize, u64) -> Bytes;

/// Puts the server's account id into ARNs (`ACCOUNT`): ours answers for 000000000000 by
/// default, moto for 123456789012.
fn in_account(body: BodyFn, account: &'static str) -> impl Fn(usize, u64) -> Bytes + Clone {
    move |c, s| {
        let payload = body(c, s);
        if payload.windows(7).any(|w| w == b"ACCOUNT") {
            Bytes::from(
                String::from_utf8(payload.to_vec())
                    .unwrap()
                    .replace("ACCOUNT", account),
            )
        } else {
            payload
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Report

struct Row {
    operation: &'static str,
    note: &'static str,
    ours: Stats,
    moto: Option<Stats>,
}

fn fmt_stats(s: &Stats) -> (String, String, String) {
    (
        format!("{:.0}", s.rps()),
        format!("{:.2}", s.p50_ms()),
        format!("{:.2}", s.p99_ms()),
    )
}

fn print_rows(rows: &[Row], connections: usize, seconds: u64) {
    let moto_ran = rows.iter().any(|r| r.moto.is_some());
    println!(
        "\n### Request throughput and latency ({connections} keep-alive connections, {seconds} s per operation)\n"
    );
    println!("| Operation | ours req/s | moto req/s | ratio | ours p50 ms | moto p50 ms | ours p99 ms | moto p99 ms | notes |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let (ours_rps, ours_p50, ours_p99) = fmt_stats(&row.ours);
        let (moto_rps, moto_p50, moto_p99, ratio) = match &row.moto {
            Some(m) => {
                let (r, p50, p99) = fmt_stats(m);
                (r, p50, p99, format!("{:.1}x", row.ours.rps() / m.rps()))
            }
            None => (
                "n/a".into(),
                "n/a".into(),
                "n/a".into(),
                if moto_ran {
                    "(moto: not implemented)".into()
                } else {
                    "(moto not run)".into()
                },
            ),
        };
        let mut notes = row.note.to_string();
        for (who, s) in [("ours", Some(&row.ours)), ("moto", row.moto.as_ref())] {
            if let Some(s) = s {
                if s.errors > 0 {
                    notes.push_str(&format!(
                        " {who}: {} errors ({});",
                        s.errors,
                        s.first_error
                            .as_deref()
                            .unwrap_or("")
                            .chars()
                            .take(80)
                            .collect::<String>()
                    ));
                }
                if s.reconnects > 0 {
                    notes.push_str(&format!(" {who}: {} reconnects;", s.reconnects));
                }
            }
        }
        println!(
            "| {} | {ours_rps} | {moto_rps} | {ratio} | {ours_p50} | {moto_p50} | {ours_p99} | {moto_p99} | {notes} |",
            row.operation
        );
    }
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let moto = Command::new("python3")
        .args(["-c", "import moto; print(moto.__version__)"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "{cores} cores ({model}), load average before the run: {}, moto {moto}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

// ---------------------------------------------------------------------------------------------
// Sections

async fn compare(connections: usize, seconds: u64, with_moto: bool) -> Vec<Row> {
    let duration = Duration::from_secs(seconds);
    let (ours, _) = spawn_ours(&["--max-pipelines", "1000000"]).await;
    let moto = if with_moto {
        let moto = spawn_moto().await;
        if moto.is_none() {
            eprintln!("moto did not start (pip install 'moto[server]'); comparing nothing");
        }
        moto
    } else {
        None
    };
    if let Some(moto) = &moto {
        moto_role(moto.addr).await;
    }
    // 2,000 pipelines on each server.
    let servers: Vec<&Server> = std::iter::once(&ours).chain(moto.as_ref()).collect();
    for server in &servers {
        let started = Instant::now();
        fan_out(server.addr, "CreatePipeline", connections, 2000, |i| {
            create_body(&format!("bench-{i:05}"))
        })
        .await;
        eprintln!(
            "{}: 2,000 pipelines created in {:.1} s",
            server.name,
            started.elapsed().as_secs_f64()
        );
    }
    // What moto implements, by calling.
    let supported = |operation: &'static str, body: Value| {
        let addr = moto.as_ref().map(|m| m.addr);
        async move {
            let addr = addr?;
            let mut conn = Conn::open(addr).await.ok()?;
            let (status, _) = conn.call(operation, bytes(body)).await.ok()?;
            (status == 200).then_some(addr)
        }
    };
    let get: BodyFn =
        |c, s| bytes(json!({"name": format!("bench-{:05}", (c * 131 + s as usize * 7) % 2000)}));
    let list: BodyFn = |_, _| Bytes::from_static(b"{}");
    let tags: BodyFn = |c, s| {
        bytes(json!({"resourceArn": format!(
            "arn:aws:codepipeline:us-east-1:ACCOUNT:bench-{:05}",
            (c * 131 + s as usize * 7) % 2000
        )}))
    };
    let tag: BodyFn = |c, s| {
        bytes(json!({
            "resourceArn": format!(
                "arn:aws:codepipeline:us-east-1:ACCOUNT:bench-{:05}",
                (c * 131 + s as usize * 7) % 2000
            ),
            "tags": [{"key": format!("k{}", s % 10), "value": format!("v{s}")}]
        }))
    };
    let untag: BodyFn = |c, s| {
        bytes(json!({
            "resourceArn": format!(
                "arn:aws:codepipeline:us-east-1:ACCOUNT:bench-{:05}",
                (c * 131 + s as usize * 7) % 2000
            ),
            "tagKeys": [format!("k{}", s % 10)]
        }))
    };
    let state: BodyFn = get;
    let start: BodyFn =
        |c, s| bytes(json!({"name": format!("bench-{:05}", (c * 131 + s as usize * 7) % 2000)}));
    // Names unique across the warm-up and the measured run.
    let create: BodyFn = |c, s| {
        let n = UNIQUE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        bytes(create_body(&format!("load-{c}-{s}-{n}")))
    };
    let update: BodyFn = |c, s| {
        let mut p = pipeline(
            &format!("bench-{:05}", (c * 131 + s as usize * 7) % 2000),
            false,
        );
        p["stages"][1]["actions"][0]["configuration"]["ProjectName"] = json!(format!("p-{c}-{s}"));
        bytes(json!({"pipeline": p}))
    };
    let plan: Vec<(&'static str, &'static str, BodyFn, Value)> = vec![
        ("GetPipeline", "", get, json!({"name": "bench-00000"})),
        (
            "ListPipelines",
            "2,000 pipelines; ours answers the first page (100), moto lists all 2,000",
            list,
            json!({}),
        ),
        (
            "GetPipelineState",
            "",
            state,
            json!({"name": "bench-00000"}),
        ),
        (
            "ListTagsForResource",
            "",
            tags,
            json!({"resourceArn": "arn:aws:codepipeline:us-east-1:123456789012:bench-00000"}),
        ),
        (
            "TagResource",
            "",
            tag,
            json!({"resourceArn": "arn:aws:codepipeline:us-east-1:123456789012:bench-00000", "tags": [{"key": "k", "value": "v"}]}),
        ),
        (
            "UntagResource",
            "",
            untag,
            json!({"resourceArn": "arn:aws:codepipeline:us-east-1:123456789012:bench-00000", "tagKeys": ["nope"]}),
        ),
        (
            "StartPipelineExecution",
            "each start runs a 3-stage execution in the background",
            start,
            json!({"name": "bench-00000"}),
        ),
        (
            "UpdatePipeline",
            "ours stores every version and starts an execution on update",
            update,
            json!({"pipeline": pipeline("bench-00000", false)}),
        ),
        (
            "CreatePipeline",
            "ours starts an execution on create, as AWS does",
            create,
            create_body("probe-create"),
        ),
    ];
    let only = std::env::var("BENCH_ONLY").ok();
    let mut rows = Vec::new();
    for (operation, note, body, probe) in plan {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|x| x == operation))
        {
            continue;
        }
        let ours_stats = measure(
            ours.addr,
            operation,
            connections,
            duration,
            in_account(body, "000000000000"),
        )
        .await;
        let moto_stats = match supported(operation, probe).await {
            Some(addr) => Some(
                measure(
                    addr,
                    operation,
                    connections,
                    duration,
                    in_account(body, "123456789012"),
                )
                .await,
            ),
            None => None,
        };
        eprintln!("{operation}: done");
        rows.push(Row {
            operation,
            note,
            ours: ours_stats,
            moto: moto_stats,
        });
    }
    // Moto never runs executions: the same writes on a server started with --no-auto-start
    // compare like for like, and show what starting an execution costs.
    drop(ours);
    let (quiet, _) = spawn_ours(&["--no-auto-start", "--max-pipelines", "1000000"]).await;
    fan_out(quiet.addr, "CreatePipeline", connections, 2000, |i| {
        create_body(&format!("bench-{i:05}"))
    })
    .await;
    let mut quiet_rows = Vec::new();
    for row in &rows {
        let (operation, body): (&'static str, BodyFn) = match row.operation {
            "UpdatePipeline" => ("UpdatePipeline, --no-auto-start", update),
            "CreatePipeline" => ("CreatePipeline, --no-auto-start", create),
            _ => continue,
        };
        let stats = measure(quiet.addr, row.operation, connections, duration, body).await;
        quiet_rows.push(Row {
            operation,
            note: "no execution starts; moto's figures repeated",
            ours: stats,
            moto: row.moto.clone(),
        });
    }
    rows.extend(quiet_rows);
    if let Some(moto) = &moto {
        eprintln!("moto RSS after its run: {}", mib(moto.rss_kib()));
    }
    rows
}

/// Single-execution latency (start -> Succeeded, seen on the event stream, or by polling when
/// the server has no event stream), `runs` times in a row.
async fn execution_latency(runs: usize) -> (Histogram<u64>, &'static str) {
    let (server, _) = spawn_ours(&["--no-auto-start"]).await;
    let mut conn = Conn::open(server.addr).await.unwrap();
    conn.ok(
        "CreatePipeline",
        json!({"pipeline": pipeline("latency", true)}),
    )
    .await;
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut events = EventStream::open(server.addr, "latency").await;
    let how = if events.is_some() {
        "event stream"
    } else {
        "polling GetPipelineExecution"
    };
    for _ in 0..runs {
        let started = Instant::now();
        let answer = conn
            .ok("StartPipelineExecution", json!({"name": "latency"}))
            .await;
        let id = answer["pipelineExecutionId"].as_str().unwrap().to_string();
        match events.as_mut() {
            Some(stream) => stream.wait_succeeded(&id).await,
            None => loop {
                let got = conn
                    .ok(
                        "GetPipelineExecution",
                        json!({"pipelineName": "latency", "pipelineExecutionId": id}),
                    )
                    .await;
                match got["pipelineExecution"]["status"].as_str() {
                    Some("Succeeded") => break,
                    Some("InProgress") => {}
                    other => panic!("execution ended {other:?}"),
                }
            },
        }
        histogram.saturating_record(started.elapsed().as_micros() as u64);
    }
    (histogram, how)
}

/// The `/_codepipeline-local/events` SSE stream, filtered to one pipeline's execution events.
struct EventStream {
    body: hyper::body::Incoming,
    buffer: String,
}

impl EventStream {
    async fn open(addr: SocketAddr, pipeline: &str) -> Option<EventStream> {
        let mut sender = connect(addr).await.ok()?;
        let request = Request::get(format!(
            "/_codepipeline-local/events?pipeline={pipeline}&detail-type=CodePipeline%20Pipeline%20Execution%20State%20Change"
        ))
        .header("host", addr.to_string())
        .header("accept", "text/event-stream")
        .body(Full::new(Bytes::new()))
        .unwrap();
        let response = sender.send_request(request).await.ok()?;
        if response.status() != 200 {
            return None;
        }
        // Keep the connection's sender alive with the stream.
        std::mem::forget(sender);
        Some(EventStream {
            body: response.into_body(),
            buffer: String::new(),
        })
    }

    async fn wait_succeeded(&mut self, id: &str) {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let message: String = self.buffer.drain(..end + 2).collect();
                for line in message.lines() {
                    if let Some(data) = line.strip_prefix("data:") {
                        let event: Value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                        let detail = &event["detail"];
                        if detail["execution-id"] == id {
                            match detail["state"].as_str() {
                                Some("SUCCEEDED") => return,
                                Some("FAILED" | "STOPPED" | "SUPERSEDED" | "CANCELED") => {
                                    panic!("execution {id}: {detail}")
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
            let frame = tokio::time::timeout(Duration::from_secs(20), self.body.frame())
                .await
                .expect("an event within 20 s")
                .expect("the stream goes on")
                .expect("a frame");
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}

fn epoch_seconds(value: &Value) -> f64 {
    value.as_f64().unwrap_or(0.0)
}

/// `count` executions started back to back over `connections` connections on `pipelines`
/// PARALLEL pipelines (at most 50 running per pipeline, AWS's limit), then waited for.
/// Returns (seconds from the first start to the last execution's end, statuses).
async fn execution_throughput(
    count: usize,
    pipelines: usize,
    connections: usize,
) -> (f64, std::collections::BTreeMap<String, usize>) {
    let (server, _) = spawn_ours(&["--no-auto-start"]).await;
    let (first_start, last_end, statuses) =
        run_executions(server.addr, count, pipelines, connections).await;
    (last_end - first_start, statuses)
}

/// Creates `pipelines` PARALLEL pipelines, starts `count` executions over `connections`
/// connections and waits for them: (the first start and the last end, in seconds since the
/// epoch, and the statuses).
async fn run_executions(
    addr: SocketAddr,
    count: usize,
    pipelines: usize,
    connections: usize,
) -> (f64, f64, std::collections::BTreeMap<String, usize>) {
    fan_out(
        addr,
        "CreatePipeline",
        connections,
        pipelines,
        |i| json!({"pipeline": pipeline(&format!("flow-{i:03}"), true)}),
    )
    .await;
    let first_start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    fan_out(
        addr,
        "StartPipelineExecution",
        connections,
        count,
        move |i| json!({"name": format!("flow-{:03}", i % pipelines)}),
    )
    .await;
    let mut conn = Conn::open(addr).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut statuses = std::collections::BTreeMap::<String, usize>::new();
        let mut last_end = 0f64;
        for p in 0..pipelines {
            let list = conn
                .ok(
                    "ListPipelineExecutions",
                    json!({"pipelineName": format!("flow-{p:03}"), "maxResults": 100}),
                )
                .await;
            for e in list["pipelineExecutionSummaries"].as_array().unwrap() {
                *statuses
                    .entry(e["status"].as_str().unwrap().to_string())
                    .or_default() += 1;
                last_end = last_end.max(epoch_seconds(&e["lastUpdateTime"]));
            }
        }
        let running = statuses.get("InProgress").copied().unwrap_or(0);
        if running == 0 && statuses.values().sum::<usize>() == count {
            return (first_start, last_end, statuses);
        }
        assert!(
            Instant::now() < deadline,
            "executions did not finish: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn startup(runs: usize) -> (Vec<Duration>, u64) {
    let mut times = Vec::new();
    let mut idle_rss = 0;
    for _ in 0..runs {
        let (server, took) = spawn_ours(&[]).await;
        times.push(took);
        tokio::time::sleep(Duration::from_millis(200)).await;
        idle_rss = server.rss_kib();
    }
    times.sort();
    (times, idle_rss)
}

/// Time per request of ListPipelines (first page) and GetPipelineState at growing pipeline
/// counts, and RSS at the largest.
async fn growth(steps: &[usize], connections: usize) -> (Vec<(usize, Stats, Stats, u64)>, u64) {
    let max = *steps.last().unwrap();
    let (server, _) =
        spawn_ours(&["--no-auto-start", "--max-pipelines", &(max * 2).to_string()]).await;
    let mut created = 0;
    let mut out = Vec::new();
    for &step in steps {
        let from = created;
        fan_out(
            server.addr,
            "CreatePipeline",
            connections,
            step - from,
            move |i| create_body(&format!("grow-{:06}", from + i)),
        )
        .await;
        created = step;
        let list = measure(
            server.addr,
            "ListPipelines",
            connections,
            Duration::from_secs(1),
            |_, _| Bytes::from_static(b"{}"),
        )
        .await;
        let state = measure(
            server.addr,
            "GetPipelineState",
            connections,
            Duration::from_secs(1),
            move |c, s| {
                bytes(json!({"name": format!("grow-{:06}", (c * 7919 + s as usize * 31) % step)}))
            },
        )
        .await;
        out.push((step, list, state, server.rss_kib()));
    }
    let rss = server.rss_kib();
    (out, rss)
}

/// RSS with `pipelines` x `per_pipeline` finished executions in history (SUPERSEDED pipelines,
/// cap = per_pipeline).
async fn history_rss(
    pipelines: usize,
    per_pipeline: usize,
    connections: usize,
) -> (u64, std::collections::BTreeMap<String, usize>, f64) {
    let (server, _) = spawn_ours(&[
        "--no-auto-start",
        "--max-pipelines",
        "1000000",
        "--max-executions-per-pipeline",
        &per_pipeline.to_string(),
    ])
    .await;
    fan_out(
        server.addr,
        "CreatePipeline",
        connections,
        pipelines,
        |i| json!({"pipeline": pipeline(&format!("hist-{i:03}"), false)}),
    )
    .await;
    let started = Instant::now();
    fan_out(
        server.addr,
        "StartPipelineExecution",
        connections,
        pipelines * per_pipeline,
        move |i| json!({"name": format!("hist-{:03}", i % pipelines)}),
    )
    .await;
    let took = started.elapsed().as_secs_f64();
    // Wait until every pipeline's newest execution is final, then count what is kept.
    let mut conn = Conn::open(server.addr).await.unwrap();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for p in 0..pipelines {
        let name = format!("hist-{p:03}");
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"pipelineName": name, "maxResults": 100});
            if let Some(t) = &token {
                body["nextToken"] = json!(t);
            }
            let page = conn.ok("ListPipelineExecutions", body).await;
            let summaries = page["pipelineExecutionSummaries"].as_array().unwrap();
            if token.is_none()
                && summaries
                    .first()
                    .is_some_and(|e| e["status"] == "InProgress")
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            for e in summaries {
                *statuses
                    .entry(e["status"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
            token = page["nextToken"].as_str().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    (server.rss_kib(), statuses, took)
}

fn percentile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// PollForJobs for a type with nothing queued: with no other job, then with `foreign` jobs of
/// another type queued (CodeBuild in worker mode: each auto-started execution waits on a job).
/// The queue is indexed by action type, so the second figure should match the first.
async fn poll_cost(foreign: usize, connections: usize) -> (Stats, Stats) {
    let config = std::env::temp_dir().join(format!("cpl-bench-poll-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        "[[actions]]\nprovider = \"CodeBuild\"\nbehavior = \"worker\"\n",
    )
    .unwrap();
    let limit = (foreign * 2).to_string();
    let (server, _) = spawn_ours(&[
        "--config",
        config.to_str().unwrap(),
        "--max-pipelines",
        &limit,
    ])
    .await;
    let poll = bytes(json!({"actionTypeId": {
        "category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"
    }}));
    let body = move |_: usize, _: u64| poll.clone();
    let second = Duration::from_secs(1);
    let alone = measure(
        server.addr,
        "PollForJobs",
        connections,
        second,
        body.clone(),
    )
    .await;
    fan_out(server.addr, "CreatePipeline", connections, foreign, |i| {
        create_body(&format!("poll-{i:05}"))
    })
    .await;
    // The executions reach their Build job just after their creation is answered.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let crowded = measure(server.addr, "PollForJobs", connections, second, body).await;
    let _ = std::fs::remove_file(&config);
    (alone, crowded)
}

async fn run() {
    let seconds = env_number("BENCH_SECONDS", 3);
    let connections = env_number("BENCH_CONNECTIONS", 16) as usize;
    let quick = std::env::var("BENCH_QUICK").is_ok();
    let with_moto = std::env::var("BENCH_SKIP_MOTO").is_err();
    let machine = machine();
    let bench_started = Instant::now();

    let fan_out_subscribers = if quick { 200 } else { 1000 };
    let poll_foreign = if quick { 500 } else { 2_500 };
    match std::env::var("BENCH_SECTION").as_deref() {
        Ok("sse-fan-out") => {
            let fan_out = sse::section(fan_out_subscribers, 300, 10, connections).await;
            sse::print(&fan_out);
            return;
        }
        Ok("durable") => {
            let rows = durable::durable_writes(connections, seconds).await;
            durable::print_durable(&rows, connections, seconds);
            return;
        }
        Ok("poll") => {
            let (alone, crowded) = poll_cost(poll_foreign, connections).await;
            print_poll(connections, poll_foreign, &alone, &crowded);
            return;
        }
        _ => {}
    }
    if std::env::var("BENCH_SECTION").as_deref() == Ok("history") {
        // RSS with many kept executions: BENCH_HISTORY_PIPELINES x 1,000 finished executions.
        let pipelines = env_number("BENCH_HISTORY_PIPELINES", 100) as usize;
        let (rss, statuses, took) = history_rss(pipelines, 1000, connections).await;
        println!(
            "| RSS with {} finished executions in history ({pipelines} pipelines x 1000; started in {took:.1} s) | {}; kept {statuses:?} |",
            pipelines * 1000,
            mib(rss)
        );
        return;
    }
    if std::env::var("BENCH_SECTION").as_deref() == Ok("git-sources") {
        git_sources::section(quick).await;
        return;
    }
    let record_pipelines = if quick { 500 } else { 2000 };
    if std::env::var("BENCH_SECTION").as_deref() == Ok("records") {
        let memory = records::section(record_pipelines, connections, with_moto).await;
        records::print(&memory);
        return;
    }
    let (startup_times, idle_rss) = startup(5).await;
    eprintln!("startup: done");
    let rows = compare(connections, seconds, with_moto).await;
    if std::env::var("BENCH_ONLY").is_ok() {
        print_rows(&rows, connections, seconds);
        return;
    }
    let (latency, how) = execution_latency(if quick { 20 } else { 200 }).await;
    eprintln!("execution latency: done");
    let (throughput_count, throughput_pipelines) = if quick { (200, 4) } else { (1000, 20) };
    let (flow_seconds, flow_statuses) =
        execution_throughput(throughput_count, throughput_pipelines, connections).await;
    eprintln!("execution throughput: done");
    let fan_out = sse::section(fan_out_subscribers, 300, 10, connections).await;
    eprintln!("SSE fan-out: done");
    let steps: &[usize] = if quick {
        &[100, 1000]
    } else {
        &[100, 1000, 10_000]
    };
    let (growth_rows, rss_many) = growth(steps, connections).await;
    eprintln!("growth: done");
    let (hist_pipelines, hist_each) = if quick { (10, 100) } else { (100, 1000) };
    let (rss_history, history_statuses, history_start_seconds) =
        history_rss(hist_pipelines, hist_each, connections).await;
    eprintln!("history: done");
    let memory = records::section(record_pipelines, connections, with_moto).await;
    eprintln!("records: done");
    let (poll_alone, poll_crowded) = poll_cost(poll_foreign, connections).await;
    eprintln!("poll cost: done");
    let durable_rows = durable::durable_writes(connections, seconds).await;
    eprintln!("durable writes: done");

    println!("\n## codepipeline-local vs moto — `cargo bench --bench compare`\n");
    println!(
        "Machine: {machine}. Load generator: this process, one thread, hyper HTTP/1.1 keep-alive."
    );
    println!("Server: the release binary (`--log-level warn`), spawned per section; moto: `python3 -m moto.server` (threaded werkzeug).");
    print_rows(&rows, connections, seconds);

    println!("\n### Executions\n");
    println!("| Measure | Value |");
    println!("|---|---|");
    println!(
        "| Execution latency, StartPipelineExecution -> Succeeded, 3 stages x 1 simulated action ({} runs, seen via {how}) | p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms |",
        latency.len(),
        percentile_ms(&latency, 0.5),
        percentile_ms(&latency, 0.99),
        latency.max() as f64 / 1000.0
    );
    println!(
        "| {throughput_count} executions started back to back ({connections} connections) on {throughput_pipelines} PARALLEL pipelines, first start -> last end | {flow_seconds:.2} s = {:.0} executions/s; final statuses {flow_statuses:?} |",
        throughput_count as f64 / flow_seconds
    );

    sse::print(&fan_out);

    println!("\n### Startup and memory\n");
    println!("| Measure | Value |");
    println!("|---|---|");
    println!(
        "| Startup, spawn -> first answered `GET /health` (5 runs) | min {:.1} ms, median {:.1} ms, max {:.1} ms |",
        startup_times[0].as_secs_f64() * 1000.0,
        startup_times[startup_times.len() / 2].as_secs_f64() * 1000.0,
        startup_times[startup_times.len() - 1].as_secs_f64() * 1000.0
    );
    println!("| RSS idle (after startup) | {} |", mib(idle_rss));
    println!(
        "| RSS with {} pipelines (3 stages each, no executions) | {} |",
        steps.last().unwrap(),
        mib(rss_many)
    );
    println!(
        "| RSS with {} finished executions in history ({hist_pipelines} pipelines x {hist_each}, `--max-executions-per-pipeline {hist_each}`; started in {history_start_seconds:.1} s) | {}; kept {history_statuses:?} |",
        history_statuses.values().sum::<usize>(),
        mib(rss_history)
    );

    println!("\n### Cost as pipelines grow (1 s per point, {connections} connections)\n");
    println!("| Pipelines | ListPipelines (first page) req/s | p50 ms | p99 ms | GetPipelineState req/s | p50 ms | p99 ms | RSS |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (n, list, state, rss) in &growth_rows {
        println!(
            "| {n} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {} |",
            list.rps(),
            list.p50_ms(),
            list.p99_ms(),
            state.rps(),
            state.p50_ms(),
            state.p99_ms(),
            mib(*rss)
        );
    }

    records::print(&memory);
    print_poll(connections, poll_foreign, &poll_alone, &poll_crowded);
    durable::print_durable(&durable_rows, connections, seconds);
    git_sources::section(quick).await;
    println!(
        "\nWhole run: {:.0} s.",
        bench_started.elapsed().as_secs_f64()
    );
}

fn print_poll(connections: usize, foreign: usize, alone: &Stats, crowded: &Stats) {
    println!("\n### PollForJobs with other jobs queued (1 s each, {connections} connections)\n");
    println!("| Jobs of other types queued | req/s | p50 ms | p99 ms | errors |");
    println!("|---:|---:|---:|---:|---:|");
    for (n, stats) in [(0, alone), (foreign, crowded)] {
        println!(
            "| {n} | {:.0} | {:.2} | {:.2} | {} |",
            stats.rps(),
            stats.p50_ms(),
            stats.p99_ms(),
            stats.errors
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; this target has no filters of its own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, run());
}
