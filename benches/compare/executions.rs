//! Executions: latency from start to Succeeded on the events stream, and throughput of many runs.

use super::*;

/// Single-execution latency (start -> Succeeded, seen on the event stream, or by polling when
/// the server has no event stream), `runs` times in a row.
pub(super) async fn execution_latency(runs: usize) -> (Histogram<u64>, &'static str) {
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
pub(super) struct EventStream {
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

/// `count` executions started back to back over `connections` connections on `pipelines`
/// PARALLEL pipelines (at most 50 running per pipeline, AWS's limit), then waited for.
/// Returns (seconds from the first start to the last execution's end, statuses).
pub(super) async fn execution_throughput(
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
pub(super) async fn run_executions(
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
