//! Local git repositories as sources (`BENCH_SECTION=git-sources` runs only this): how long a
//! commit takes to start an execution (the watcher, `--repository`), and how long a CODE_ZIP
//! source action takes on a repository of 10,000 files (local artifact store).

use super::{epoch_seconds, percentile_ms, spawn_ours, Conn, ROLE_ARN};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.com",
        ])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

/// A repository on main with `files` files of ~100 bytes in 100 directories.
fn repository(files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    for i in 0..files {
        let path = dir.path().join(format!("src/d{:02}/f{i:05}.txt", i % 100));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("file {i} {}\n", "x".repeat(90))).unwrap();
    }
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "Initial commit"]);
    dir
}

fn pipeline(name: &str) -> Value {
    json!({
        "name": name,
        "roleArn": ROLE_ARN,
        "artifactStore": {"type": "S3", "location": "artifact-bucket"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                "configuration": {
                    "ConnectionArn": "arn:aws:codeconnections:us-east-1:000000000000:connection/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                    "FullRepositoryId": "octo/app",
                    "BranchName": "main"
                },
                "outputArtifacts": [{"name": "SourceOutput"}]
            }]},
            {"name": "Build", "actions": [{
                "name": "Build",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "app"},
                "inputArtifacts": [{"name": "SourceOutput"}]
            }]}
        ]
    })
}

async fn execution_count(conn: &mut Conn, pipeline: &str) -> usize {
    let list = conn
        .ok(
            "ListPipelineExecutions",
            json!({"pipelineName": pipeline, "maxResults": 100}),
        )
        .await;
    list["pipelineExecutionSummaries"]
        .as_array()
        .map_or(0, Vec::len)
}

/// `runs` commits, one after the other: commit written -> the execution listed.
pub async fn commit_to_execution(runs: usize) -> Histogram<u64> {
    let repo = repository(10);
    let data = tempfile::tempdir().unwrap();
    let mapping = format!("octo/app={}", repo.path().display());
    let data_dir = data.path().display().to_string();
    let (server, _) = spawn_ours(&[
        "--no-auto-start",
        "--data-dir",
        &data_dir,
        "--repository",
        &mapping,
    ])
    .await;
    let mut conn = Conn::open(server.addr).await.unwrap();
    conn.ok("CreatePipeline", json!({"pipeline": pipeline("commits")}))
        .await;
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for i in 0..runs {
        std::fs::write(repo.path().join("src/change.txt"), format!("{i}\n")).unwrap();
        git(repo.path(), &["add", "src/change.txt"]);
        git(repo.path(), &["commit", "-q", "-m", &format!("change {i}")]);
        let committed = Instant::now();
        let deadline = committed + Duration::from_secs(20);
        while execution_count(&mut conn, "commits").await < (i + 1).min(100) {
            assert!(Instant::now() < deadline, "commit {i} started nothing");
        }
        histogram.saturating_record(committed.elapsed().as_micros() as u64);
    }
    histogram
}

/// The Source action's duration (its startTime -> lastUpdateTime), `runs` executions of a
/// CODE_ZIP source on a repository of `files` files.
pub async fn code_zip_duration(files: usize, runs: usize) -> Vec<f64> {
    let repo = repository(files);
    let data = tempfile::tempdir().unwrap();
    let mapping = format!("octo/app={}", repo.path().display());
    let data_dir = data.path().display().to_string();
    let (server, _) = spawn_ours(&[
        "--no-auto-start",
        "--data-dir",
        &data_dir,
        "--repository",
        &mapping,
    ])
    .await;
    let mut conn = Conn::open(server.addr).await.unwrap();
    conn.ok("CreatePipeline", json!({"pipeline": pipeline("zip")}))
        .await;
    let mut durations = Vec::new();
    for _ in 0..runs {
        let started = conn
            .ok("StartPipelineExecution", json!({"name": "zip"}))
            .await;
        let id = started["pipelineExecutionId"].as_str().unwrap().to_string();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let list = conn
                .ok(
                    "ListActionExecutions",
                    json!({"pipelineName": "zip", "filter": {"pipelineExecutionId": id}}),
                )
                .await;
            let source = list["actionExecutionDetails"]
                .as_array()
                .and_then(|all| all.iter().find(|d| d["actionName"] == "Source").cloned());
            match source.as_ref().and_then(|s| s["status"].as_str()) {
                Some("Succeeded") => {
                    let s = source.unwrap();
                    durations
                        .push(epoch_seconds(&s["lastUpdateTime"]) - epoch_seconds(&s["startTime"]));
                    break;
                }
                Some("Failed") => panic!("the source failed: {source:?}"),
                _ => {}
            }
            assert!(Instant::now() < deadline, "the source did not finish");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    durations.sort_by(f64::total_cmp);
    durations
}

/// Runs both measures and prints their table.
pub async fn section(quick: bool) {
    let commits = commit_to_execution(if quick { 20 } else { 100 }).await;
    eprintln!("commit -> execution: done");
    let zips = code_zip_duration(10_000, if quick { 3 } else { 5 }).await;
    eprintln!("CODE_ZIP of 10,000 files: done");
    println!("\n### Local git sources\n");
    println!("| Measure | Value |");
    println!("|---|---|");
    println!(
        "| Commit -> execution listed (`git commit` returned -> ListPipelineExecutions shows it; file-system notification on the refs; {} commits) | p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms |",
        commits.len(),
        percentile_ms(&commits, 0.5),
        percentile_ms(&commits, 0.99),
        commits.max() as f64 / 1000.0
    );
    println!(
        "| CODE_ZIP source action on a repository of 10,000 files (~1 MB; zip of the tree into the local artifact store; {} runs) | min {:.2} s, median {:.2} s, max {:.2} s |",
        zips.len(),
        zips[0],
        zips[zips.len() / 2],
        zips[zips.len() - 1]
    );
}
