//! Memory per record (`BENCH_SECTION=records` runs only this): RSS growth per stored pipeline
//! (2 stages, 1 version) and per finished 2-stage execution, and RSS with that many pipelines
//! each with one finished execution, next to moto holding the same pipelines (moto never runs
//! an execution).

use super::{fan_out, mib, moto_role, pipeline, spawn_moto, spawn_ours, Conn, Server};
use serde_json::{json, Value};
use std::time::Duration;

/// The bench pipeline cut to its first two stages (Source, Build).
fn two_stage(name: &str) -> Value {
    let mut p = pipeline(name, false);
    if let Some(stages) = p["stages"].as_array_mut() {
        stages.truncate(2);
    }
    json!({"pipeline": p})
}

pub struct Records {
    pipelines: usize,
    ours: [u64; 3],
    moto: Option<[u64; 2]>,
}

async fn settled_rss(server: &Server) -> u64 {
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.rss_kib()
}

/// Waits until every pipeline's execution is final.
async fn wait_finished(server: &Server, pipelines: usize) {
    let mut conn = Conn::open(server.addr).await.unwrap();
    for p in 0..pipelines {
        loop {
            let page = conn
                .ok(
                    "ListPipelineExecutions",
                    json!({"pipelineName": format!("rec-{p:05}")}),
                )
                .await;
            let done = page["pipelineExecutionSummaries"]
                .as_array()
                .and_then(|s| s.first())
                .is_some_and(|e| e["status"] != "InProgress");
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub async fn section(pipelines: usize, connections: usize, with_moto: bool) -> Records {
    let (ours, _) = spawn_ours(&["--no-auto-start", "--max-pipelines", "1000000"]).await;
    let idle = settled_rss(&ours).await;
    fan_out(ours.addr, "CreatePipeline", connections, pipelines, |i| {
        two_stage(&format!("rec-{i:05}"))
    })
    .await;
    let with_pipelines = settled_rss(&ours).await;
    fan_out(
        ours.addr,
        "StartPipelineExecution",
        connections,
        pipelines,
        |i| json!({"name": format!("rec-{i:05}")}),
    )
    .await;
    wait_finished(&ours, pipelines).await;
    let with_executions = settled_rss(&ours).await;
    drop(ours);
    let moto = match with_moto {
        true => match spawn_moto().await {
            Some(moto) => {
                moto_role(moto.addr).await;
                let idle = settled_rss(&moto).await;
                fan_out(moto.addr, "CreatePipeline", connections, pipelines, |i| {
                    two_stage(&format!("rec-{i:05}"))
                })
                .await;
                Some([idle, settled_rss(&moto).await])
            }
            None => None,
        },
        false => None,
    };
    Records {
        pipelines,
        ours: [idle, with_pipelines, with_executions],
        moto,
    }
}

fn per(delta_kib: u64, count: usize) -> String {
    format!("{:.2} KiB", delta_kib as f64 / count as f64)
}

pub fn print(records: &Records) {
    let n = records.pipelines;
    let [idle, pipelines, executions] = records.ours;
    println!("\n### Memory per record\n");
    println!("| Measure | ours | moto |");
    println!("|---|---:|---:|");
    let moto_per_pipeline = records
        .moto
        .map(|[i, p]| per(p.saturating_sub(i), n))
        .unwrap_or_else(|| "—".into());
    println!(
        "| RSS growth per stored pipeline (2 stages, 1 version; {n} pipelines) | {} | {moto_per_pipeline} |",
        per(pipelines.saturating_sub(idle), n)
    );
    println!(
        "| RSS growth per finished 2-stage execution ({n}, one per pipeline) | {} | — |",
        per(executions.saturating_sub(pipelines), n)
    );
    let moto_rss = records
        .moto
        .map(|[_, p]| mib(p))
        .unwrap_or_else(|| "—".into());
    println!(
        "| RSS with {n} pipelines, each with one finished execution (moto: the pipelines only) | {} | {moto_rss} |",
        mib(executions)
    );
}
