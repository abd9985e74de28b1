//! Real actions against hostile input and faults, over real HTTP with moto's S3 server: zips
//! with unsafe paths, a deflate bomb, a zip64 entry declaring an absurd size, a damaged
//! artifact; and the local executor's processes (a background child too) killed on
//! stop-and-abandon, on timeout and on server shutdown.

mod common;

use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use common::engine::*;
use common::real::*;
use common::*;
use std::io::{Cursor, Write};
use std::path::Path;
use std::time::{Duration, Instant};
use zip::write::SimpleFileOptions;

/// A pipeline: S3 source (real, reading `source-bucket/app.zip`) then `second`.
async fn create(c: &Client, name: &str, second: ActionDeclaration) {
    let declaration = pipeline(name)
        .pipeline_type(PipelineType::V2)
        .stages(stage(
            "Source",
            vec![source("source-bucket", "app.zip", "Src")],
        ))
        .stages(stage("Second", vec![second]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
}

/// Buckets for a test, and the source object.
async fn buckets(moto: &Moto, source_zip: Vec<u8>) {
    let s3 = moto.s3();
    create_bucket(&s3, "source-bucket", true).await;
    create_bucket(&s3, "artifact-bucket", false).await;
    create_bucket(&s3, "site-bucket", false).await;
    put(&s3, "source-bucket", "app.zip", source_zip).await;
}

fn zip_with(build: impl FnOnce(&mut zip::ZipWriter<Cursor<Vec<u8>>>)) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    build(&mut writer);
    writer.finish().unwrap().into_inner()
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
}

/// Runs the pipeline once and returns the failed action's error message.
async fn failure_of(c: &Client, name: &str, action: &str) -> String {
    let id = start_execution(c, name).await;
    let done = wait_finished(c, name, &id).await;
    assert_eq!(
        done.status(),
        Some(&PipelineExecutionStatus::Failed),
        "{name}"
    );
    error_message(&action_detail(c, name, &id, action).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_paths_fail_the_s3_deploy_and_the_local_executor_and_nothing_is_written() {
    let moto = Moto::start().await;
    let s3 = moto.s3();
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        (
            "..\\..\\win.txt",
            zip_with(|w| {
                w.start_file("..\\..\\win.txt", deflated()).unwrap();
                w.write_all(b"x").unwrap();
            }),
        ),
        (
            "../x",
            zip_with(|w| {
                w.start_file("ok.txt", deflated()).unwrap();
                w.write_all(b"fine").unwrap();
                w.start_file("../x", deflated()).unwrap();
                w.write_all(b"x").unwrap();
            }),
        ),
        (
            "/abs",
            zip_with(|w| {
                w.start_file("/abs", deflated()).unwrap();
                w.write_all(b"x").unwrap();
            }),
        ),
        (
            "link (a symbolic link)",
            zip_with(|w| {
                w.add_symlink("link", "/etc/passwd", SimpleFileOptions::default())
                    .unwrap();
            }),
        ),
    ];
    buckets(&moto, hostile[0].1.clone()).await;
    let marker = std::env::temp_dir().join(format!("cpl-unsafe-{}", uuid::Uuid::new_v4()));
    let mut config = real_config(&moto);
    config.local_executor = true;
    let t = start_with(config).await;
    let c = &t.client;
    create(c, "deploy", s3_deploy("Src", "site-bucket", "site")).await;
    let touch = format!("touch {}", marker.display());
    create(c, "build", commands(&[&touch], "Src", None)).await;
    for (shown, zip) in hostile {
        put(&s3, "source-bucket", "app.zip", zip).await;
        let expected = format!("Input artifact 'Src' contains an unsafe path: {shown}");
        assert_eq!(failure_of(c, "deploy", "Deploy").await, expected);
        assert_eq!(failure_of(c, "build", "Commands").await, expected);
    }
    assert!(
        keys(&s3, "site-bucket", "").await.is_empty(),
        "nothing deployed, not even the safe file before the unsafe one"
    );
    assert!(!marker.exists(), "the commands did not run");
}

/// The process's peak resident memory since the last reset (`/proc/self/clear_refs`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deflate_bomb_fails_at_the_limit_and_memory_stays_bounded() {
    // 512 MiB of zeros in one entry, deflated to about half a MiB.
    let bomb = zip_with(|w| {
        w.start_file("zeros.bin", deflated().large_file(true))
            .unwrap();
        let chunk = vec![0u8; 1024 * 1024];
        for _ in 0..512 {
            w.write_all(&chunk).unwrap();
        }
    });
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let moto = Moto::start().await;
    buckets(&moto, bomb.clone()).await;
    let t = start_with(real_config(&moto)).await;
    let c = &t.client;
    create(c, "bomb", s3_deploy("Src", "site-bucket", "site")).await;
    // Resets the peak (VmHWM) to the current resident size.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = peak_rss();
    let message = failure_of(c, "bomb", "Deploy").await;
    let growth = peak_rss().saturating_sub(before);
    assert_eq!(
        message,
        format!(
            "Input artifact 'Src' unpacks to more than 100 times the size of its zip file ({} bytes; the limit, --artifact-max-compression-ratio): it looks like a zip bomb",
            bomb.len()
        )
    );
    assert!(
        growth < 200 * 1024 * 1024,
        "the peak resident memory grew by {} MiB",
        growth / 1024 / 1024
    );
    assert!(keys(&moto.s3(), "site-bucket", "").await.is_empty());
}

/// Sets the uncompressed size in every zip64 extended information field (id 0x0001, whose first
/// 8 bytes are that size) of a one-entry zip written with `large_file(true)`.
fn declare_size(bytes: &mut [u8], size: u64) {
    let mut at = 0;
    let mut patched = 0;
    while let Some(offset) = bytes[at..]
        .windows(4)
        .position(|w| w == [0x01, 0x00, 0x10, 0x00] || w == [0x01, 0x00, 0x18, 0x00])
    {
        let start = at + offset + 4;
        bytes[start..start + 8].copy_from_slice(&size.to_le_bytes());
        patched += 1;
        at = start + 8;
    }
    assert!(patched >= 2, "local and central zip64 fields: {patched}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip64_entry_declaring_a_huge_size_or_a_damaged_zip_fails_cleanly() {
    let mut huge = zip_with(|w| {
        w.start_file("index.html", SimpleFileOptions::default().large_file(true))
            .unwrap();
        w.write_all(b"<html></html>").unwrap();
    });
    declare_size(&mut huge, 1 << 63);
    let zip_len = huge.len();
    let moto = Moto::start().await;
    let s3 = moto.s3();
    buckets(&moto, huge).await;
    let mut config = real_config(&moto);
    config.local_executor = true;
    let t = start_with(config).await;
    let c = &t.client;
    create(c, "huge", s3_deploy("Src", "site-bucket", "site")).await;
    create(c, "huge-build", commands(&["true"], "Src", None)).await;
    // Refused on its declared size, without inflating anything.
    let limit = format!(
        "Input artifact 'Src' unpacks to more than 100 times the size of its zip file ({zip_len} bytes; the limit, --artifact-max-compression-ratio): it looks like a zip bomb"
    );
    assert_eq!(failure_of(c, "huge", "Deploy").await, limit);
    assert_eq!(failure_of(c, "huge-build", "Commands").await, limit);

    // A truncated zip and bytes that are no zip at all.
    let good = codepipeline_local::actions::artifacts::zip_bytes(&[("a.txt", b"hello")]);
    for damaged in [good[..good.len() / 2].to_vec(), b"not a zip".to_vec()] {
        put(&s3, "source-bucket", "app.zip", damaged).await;
        let message = failure_of(c, "huge", "Deploy").await;
        assert!(
            message.starts_with("Input artifact 'Src' cannot be extracted: not a zip file"),
            "{message}"
        );
    }
    assert!(keys(&s3, "site-bucket", "").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_limits_apply() {
    let two_files = codepipeline_local::actions::artifacts::zip_bytes(&[("a", b"a"), ("b", b"b")]);
    let moto = Moto::start().await;
    buckets(&moto, two_files).await;
    let mut config = real_config(&moto);
    config.artifact_max_entries = 1;
    let t = start_with(config).await;
    create(
        &t.client,
        "limited",
        s3_deploy("Src", "site-bucket", "site"),
    )
    .await;
    assert_eq!(
        failure_of(&t.client, "limited", "Deploy").await,
        "Input artifact 'Src' holds more than 1 entries (the limit, --artifact-max-entries)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_action_that_hangs_fails_at_its_timeout() {
    // An "S3 endpoint" that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut config = manual_config();
    config.s3_endpoint = Some(endpoint);
    config.real_action_timeout = Duration::from_secs(1);
    let t = start_with(config).await;
    create(&t.client, "hangs", codebuild("Build", "Src", &[])).await;
    assert_eq!(
        failure_of(&t.client, "hangs", "Source").await,
        "The action did not finish within 1 seconds and was stopped"
    );
    assert!(t.server.app.running.is_empty());
    silent.abort();
}

// ---- the local executor's processes ----

/// Whether a process is alive (a zombie is not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        !state.starts_with('Z') && !state.starts_with('X')
    })
}

/// Commands that start `sleep 127` in the background and in the foreground, writing both pids.
fn sleepers(pid_file: &Path) -> Vec<String> {
    let file = pid_file.display();
    vec![
        format!("sleep 127 & echo $! >> {file}"),
        format!("sh -c 'echo $$ >> {file}; exec sleep 127'"),
    ]
}

/// The two pids, once both sleepers run.
async fn running_pids(pid_file: &Path) -> Vec<u32> {
    wait_for("the commands to start their sleepers", || async {
        let text = std::fs::read_to_string(pid_file).ok()?;
        let pids: Vec<u32> = text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        (pids.len() == 2 && pids.iter().all(|&p| alive(p))).then_some(pids)
    })
    .await
}

async fn assert_gone(pids: &[u32], when: &str) {
    let started = Instant::now();
    while pids.iter().any(|&p| alive(p)) {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{when}: processes {pids:?} are still running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A server with the local executor, and a pipeline whose Commands action runs the sleepers.
async fn sleeping(moto: &Moto, timeout: Duration, pid_file: &Path) -> (TestServer, String) {
    buckets(
        moto,
        codepipeline_local::actions::artifacts::zip_bytes(&[("a", b"a")]),
    )
    .await;
    let mut config = real_config(moto);
    config.local_executor = true;
    config.local_executor_timeout = timeout;
    let t = start_with(config).await;
    let commands_list = sleepers(pid_file);
    let list: Vec<&str> = commands_list.iter().map(String::as_str).collect();
    create(&t.client, "sleepy", commands(&list, "Src", None)).await;
    let id = start_execution(&t.client, "sleepy").await;
    (t, id)
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_abandon_kills_the_commands_and_their_children() {
    let moto = Moto::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let (t, id) = sleeping(&moto, Duration::from_secs(3600), &pid_file).await;
    let pids = running_pids(&pid_file).await;
    t.client
        .stop_pipeline_execution()
        .pipeline_name("sleepy")
        .pipeline_execution_id(&id)
        .abandon(true)
        .send()
        .await
        .unwrap();
    assert_gone(&pids, "after stop-and-abandon").await;
    let done = wait_finished(&t.client, "sleepy", &id).await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Stopped));
    let detail = action_detail(&t.client, "sleepy", &id, "Commands").await;
    assert_eq!(detail.status(), Some(&ActionExecutionStatus::Abandoned));
    assert!(t.server.app.running.is_empty());
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_kills_the_commands_and_their_children_and_fails_the_action() {
    let moto = Moto::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let (t, id) = sleeping(&moto, Duration::from_secs(2), &pid_file).await;
    let pids = running_pids(&pid_file).await;
    let done = wait_finished(&t.client, "sleepy", &id).await;
    assert_eq!(done.status(), Some(&PipelineExecutionStatus::Failed));
    assert_gone(&pids, "after the timeout").await;
    let detail = action_detail(&t.client, "sleepy", &id, "Commands").await;
    assert_eq!(
        error_message(&detail),
        "The commands did not finish within 2 seconds and were stopped"
    );
    let summary = detail
        .output()
        .and_then(|o| o.execution_result())
        .and_then(|r| r.external_execution_summary())
        .unwrap_or_default();
    assert!(summary.contains("Running command sleep 127"), "{summary}");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_shutdown_kills_the_commands_and_their_children() {
    let moto = Moto::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let (t, _) = sleeping(&moto, Duration::from_secs(3600), &pid_file).await;
    let pids = running_pids(&pid_file).await;
    t.server.shutdown().await.unwrap();
    assert_gone(&pids, "after shutdown").await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_pipeline_kills_its_commands_and_their_children() {
    let moto = Moto::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let (t, _) = sleeping(&moto, Duration::from_secs(3600), &pid_file).await;
    let pids = running_pids(&pid_file).await;
    t.client
        .delete_pipeline()
        .name("sleepy")
        .send()
        .await
        .unwrap();
    assert_gone(&pids, "after DeletePipeline").await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reset_kills_the_commands_and_their_children() {
    let moto = Moto::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let (t, _) = sleeping(&moto, Duration::from_secs(3600), &pid_file).await;
    let pids = running_pids(&pid_file).await;
    let reset = reqwest::Client::new()
        .post(format!("{}/_codepipeline-local/reset", t.url))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success(), "{}", reset.status());
    assert_gone(&pids, "after an admin reset").await;
}

/// A child process killed when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_to_the_binary_kills_the_commands_and_their_children() {
    use std::process::{Command, Stdio};
    let moto = Moto::start().await;
    buckets(
        &moto,
        codepipeline_local::actions::artifacts::zip_bytes(&[("a", b"a")]),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Killed(
        Command::new(env!("CARGO_BIN_EXE_codepipeline-local"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--no-auto-start"])
            .args(["--s3-endpoint", &moto.url, "--enable-local-executor"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the server binary"),
    );
    let url = format!("http://127.0.0.1:{port}");
    wait_for("the binary to answer", || async {
        reqwest::get(format!("{url}/health"))
            .await
            .ok()
            .filter(|r| r.status().is_success())
            .map(|_| ())
    })
    .await;
    let c = client(&url, "test", "us-east-1");
    let list = sleepers(&pid_file);
    let list: Vec<&str> = list.iter().map(String::as_str).collect();
    create(&c, "sleepy", commands(&list, "Src", None)).await;
    start_execution(&c, "sleepy").await;
    let pids = running_pids(&pid_file).await;
    let term = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let exited = wait_for("the binary to exit", || {
        let status = server.0.try_wait().unwrap();
        async move { status }
    })
    .await;
    assert!(exited.success(), "{exited}");
    assert_gone(&pids, "after SIGTERM to the binary").await;
}
