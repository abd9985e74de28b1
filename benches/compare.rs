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

#[path = "compare/executions.rs"]
mod executions;
#[path = "compare/git_sources.rs"]
mod git_sources;
#[path = "compare/harness.rs"]
mod harness;
#[path = "compare/records.rs"]
mod records;
#[path = "compare/requests.rs"]
mod requests;
#[path = "compare/scale.rs"]
mod scale;
#[path = "compare/sse.rs"]
mod sse;
use executions::{execution_latency, execution_throughput, run_executions};
use harness::*;
use requests::{compare, print_rows};
use scale::{growth, history_rss, poll_cost, startup};

const BINARY: &str = env!("CARGO_BIN_EXE_codepipeline-local");
static UNIQUE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/codepipeline-service";

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

/// A request body serialized once with marks (`{0}`, `{1}`... as strings) where the values
/// go: the load generator shares the two cores with the server, so what it spends per request
/// is not the server's to use.
fn fill(template: &str, values: &[&str]) -> Bytes {
    let mut body = template.to_string();
    for (i, value) in values.iter().enumerate() {
        body = body.replace(&format!("{{{i}}}"), value);
    }
    Bytes::from(body)
}

/// `create_body(name)`, serialized.
fn create_bytes(name: &str) -> Bytes {
    thread_local! {
        static TEMPLATE: String = create_body("{0}").to_string();
    }
    TEMPLATE.with(|template| fill(template, &[name]))
}

/// An UpdatePipeline body: `pipeline(name)` with the build's project set, serialized.
fn update_bytes(name: &str, project: &str) -> Bytes {
    thread_local! {
        static TEMPLATE: String = {
            let mut p = pipeline("{0}", false);
            p["stages"][1]["actions"][0]["configuration"]["ProjectName"] = json!("{1}");
            json!({"pipeline": p}).to_string()
        };
    }
    TEMPLATE.with(|template| fill(template, &[name, project]))
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

fn epoch_seconds(value: &Value) -> f64 {
    value.as_f64().unwrap_or(0.0)
}

fn percentile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
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
