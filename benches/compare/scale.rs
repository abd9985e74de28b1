//! Startup, memory as pipelines and kept executions grow, and PollForJobs with other jobs queued.

use super::*;

pub(super) async fn startup(runs: usize) -> (Vec<Duration>, u64) {
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
pub(super) async fn growth(
    steps: &[usize],
    connections: usize,
) -> (Vec<(usize, Stats, Stats, u64)>, u64) {
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
pub(super) async fn history_rss(
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

/// PollForJobs for a type with nothing queued: with no other job, then with `foreign` jobs of
/// another type queued (CodeBuild in worker mode: each auto-started execution waits on a job).
/// The queue is indexed by action type, so the second figure should match the first.
pub(super) async fn poll_cost(foreign: usize, connections: usize) -> (Stats, Stats) {
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
