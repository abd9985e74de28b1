//! Durable writes: CreatePipeline in memory and with `--data-dir` (group commit), side by side.

use super::{create_bytes, measure, spawn_ours, Stats, UNIQUE};
use std::time::Duration;

/// One measured configuration.
pub struct DurableRow {
    pub label: String,
    pub stats: Stats,
    /// Requests per second against the in-memory server of the same mode.
    pub ratio: f64,
}

/// CreatePipeline (each starting an execution, then with `--no-auto-start`) in memory, with
/// `--data-dir --data-dir-full-sync=false` and with `--data-dir` (full sync, the default),
/// `seconds` each.
pub async fn durable_writes(connections: usize, seconds: u64) -> Vec<DurableRow> {
    let duration = Duration::from_secs(seconds);
    let mut rows = Vec::new();
    for auto_start in [true, false] {
        let mut in_memory = None;
        for storage in [
            "in memory",
            "--data-dir --data-dir-full-sync=false",
            "--data-dir",
        ] {
            let dir = std::env::temp_dir().join(format!(
                "cpl-bench-durable-{}-{}",
                std::process::id(),
                UNIQUE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            let dir_arg = dir.to_string_lossy().to_string();
            let mut args = vec!["--max-pipelines", "1000000"];
            if !auto_start {
                args.push("--no-auto-start");
            }
            if storage != "in memory" {
                args.extend(["--data-dir", &dir_arg]);
            }
            if storage.ends_with("=false") {
                args.push("--data-dir-full-sync=false");
            }
            let (server, _) = spawn_ours(&args).await;
            let stats = measure(
                server.addr,
                "CreatePipeline",
                connections,
                duration,
                |c, s| {
                    let n = UNIQUE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    create_bytes(&format!("durable-{c}-{s}-{n}"))
                },
            )
            .await;
            drop(server);
            let _ = std::fs::remove_dir_all(&dir);
            let base = *in_memory.get_or_insert(stats.rps());
            rows.push(DurableRow {
                label: format!(
                    "CreatePipeline{}, {storage}",
                    if auto_start { "" } else { ", --no-auto-start" }
                ),
                ratio: stats.rps() / base,
                stats,
            });
            eprintln!("durable writes: {} done", rows[rows.len() - 1].label);
        }
    }
    rows
}

pub fn print_durable(rows: &[DurableRow], connections: usize, seconds: u64) {
    println!("\n### Durable writes ({connections} connections, {seconds} s each)\n");
    println!("| Operation, storage | req/s | vs in memory | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            row.label,
            row.stats.rps(),
            row.ratio,
            row.stats.p50_ms(),
            row.stats.p99_ms(),
            row.stats.errors
        );
    }
}
