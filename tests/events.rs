//! The state-change stream `GET /_codepipeline-local/events` (Server-Sent Events): a run's
//! pipeline, stage and action events arrive in order in the EventBridge shape, the `pipeline=`
//! and `execution-id=` filters hold, and open streams end when the server shuts down.

mod common;

use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use common::engine::*;
use common::*;
use serde_json::Value;
use std::time::Duration;

/// A client of the event stream: reads SSE messages off a streaming response.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    /// Opens the stream; once this returns, the server is subscribed.
    async fn open(t: &TestServer, query: &str) -> EventStream {
        let response = reqwest::Client::new()
            .get(format!("{}/_codepipeline-local/events{query}", t.url))
            .send()
            .await
            .expect("open the event stream");
        assert_eq!(response.status().as_u16(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The next SSE message's fields (comment-only messages are skipped), or None when the
    /// stream ends.
    async fn next_message(&mut self) -> Option<Vec<(String, String)>> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let fields: Vec<(String, String)> = block
                    .lines()
                    .filter(|line| !line.is_empty() && !line.starts_with(':'))
                    .map(|line| {
                        let (name, value) = line.split_once(':').unwrap_or((line, ""));
                        let value = value.strip_prefix(' ').unwrap_or(value);
                        (name.to_string(), value.to_string())
                    })
                    .collect();
                if fields.is_empty() {
                    continue;
                }
                return Some(fields);
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event within 10 seconds")
                .expect("read the event stream")?;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// The next event, parsed from its `data:` field.
    async fn next_event(&mut self) -> Value {
        let fields = self.next_message().await.expect("the stream goes on");
        let data: Vec<&str> = fields
            .iter()
            .filter(|(name, _)| name == "data")
            .map(|(_, value)| value.as_str())
            .collect();
        let event: Value = serde_json::from_str(&data.join("\n")).expect("data is JSON");
        let id = fields.iter().find(|(name, _)| name == "id").map(|(_, v)| v);
        assert_eq!(
            id.map(String::as_str),
            event["id"].as_str(),
            "SSE id is the event id"
        );
        event
    }
}

/// `(kind, stage, action, state)` of an event, for comparing sequences.
fn summary(event: &Value) -> (String, String, String, String) {
    let detail = &event["detail"];
    let kind = match event["detail-type"].as_str().unwrap() {
        "CodePipeline Pipeline Execution State Change" => "pipeline",
        "CodePipeline Stage Execution State Change" => "stage",
        "CodePipeline Action Execution State Change" => "action",
        other => panic!("unexpected detail-type {other}"),
    };
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    (
        kind.to_string(),
        text(&detail["stage"]),
        text(&detail["action"]),
        text(&detail["state"]),
    )
}

fn expected(steps: &[(&str, &str, &str, &str)]) -> Vec<(String, String, String, String)> {
    steps
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect()
}

#[tokio::test]
async fn a_run_streams_its_state_changes_in_order() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let mut stream = EventStream::open(&t, "").await;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("flow"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "flow").await;

    let mut events = Vec::new();
    loop {
        let event = stream.next_event().await;
        let done = summary(&event) == ("pipeline".into(), "".into(), "".into(), "SUCCEEDED".into());
        events.push(event);
        if done {
            break;
        }
    }
    assert_eq!(
        events.iter().map(summary).collect::<Vec<_>>(),
        expected(&[
            ("pipeline", "", "", "STARTED"),
            ("stage", "Source", "", "STARTED"),
            ("action", "Source", "Source", "STARTED"),
            ("action", "Source", "Source", "SUCCEEDED"),
            ("stage", "Source", "", "SUCCEEDED"),
            ("stage", "Build", "", "STARTED"),
            ("action", "Build", "Build", "STARTED"),
            ("action", "Build", "Build", "SUCCEEDED"),
            ("stage", "Build", "", "SUCCEEDED"),
            ("pipeline", "", "", "SUCCEEDED"),
        ])
    );
    for event in &events {
        assert_eq!(event["source"], "aws.codepipeline");
        assert_eq!(event["account"], "000000000000");
        assert_eq!(event["region"], "us-east-1");
        assert_eq!(
            event["resources"][0],
            "arn:aws:codepipeline:us-east-1:000000000000:flow"
        );
        assert_eq!(event["detail"]["pipeline"], "flow");
        assert_eq!(event["detail"]["execution-id"], id.as_str());
    }
    let build = &events[7]["detail"];
    assert_eq!(build["type"]["provider"], "CodeBuild");
    assert_eq!(build["type"]["category"], "Build");
    assert_eq!(
        wait_finished(c, "flow", &id).await.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
}

#[tokio::test]
async fn the_pipeline_and_execution_id_filters_pass_only_matching_events() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    for name in ["one", "two"] {
        c.create_pipeline()
            .pipeline(two_stage_pipeline(name))
            .send()
            .await
            .unwrap();
    }
    let gate = pipeline("gate")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Approve", vec![manual_approval("Approval")]))
        .build()
        .unwrap();
    c.create_pipeline().pipeline(gate).send().await.unwrap();

    // pipeline=two: the whole run of "one" goes by unseen.
    let mut only_two = EventStream::open(&t, "?pipeline=two").await;
    let one = start_execution(c, "one").await;
    wait_finished(c, "one", &one).await;
    let two = start_execution(c, "two").await;
    let first = only_two.next_event().await;
    assert_eq!(first["detail"]["pipeline"], "two");
    assert_eq!(first["detail"]["execution-id"], two.as_str());
    assert_eq!(
        summary(&first),
        ("pipeline".into(), "".into(), "".into(), "STARTED".into())
    );
    wait_finished(c, "two", &two).await;

    // execution-id=ID: a run of another pipeline goes by unseen, then the approval shows.
    let waiting = start_execution(c, "gate").await;
    let token = wait_approval_token(c, "gate", "Approve", "Approval").await;
    let mut only_gate = EventStream::open(&t, &format!("?execution-id={waiting}")).await;
    let again = start_execution(c, "one").await;
    wait_finished(c, "one", &again).await;
    approve_with(c, "gate", "Approve", "Approval", &token).await;
    let first = only_gate.next_event().await;
    assert_eq!(first["detail"]["execution-id"], waiting.as_str());
    assert_eq!(
        summary(&first),
        (
            "action".into(),
            "Approve".into(),
            "Approval".into(),
            "SUCCEEDED".into()
        )
    );
}

#[tokio::test]
async fn open_streams_end_when_the_server_shuts_down() {
    let t = start_with(manual_config()).await;
    let mut stream = EventStream::open(&t, "").await;
    let TestServer { server, .. } = t;
    tokio::time::timeout(Duration::from_secs(5), server.shutdown())
        .await
        .expect("shutdown does not wait for the event stream")
        .expect("clean shutdown");
    assert!(stream.next_message().await.is_none(), "the stream ended");
}

#[tokio::test]
async fn many_subscribers_all_receive_every_event_in_order() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let mut streams = Vec::new();
    for _ in 0..40 {
        streams.push(EventStream::open(&t, "").await);
    }
    let pipelines = ["p0", "p1", "p2", "p3", "p4"];
    for name in pipelines {
        c.create_pipeline()
            .pipeline(two_stage_pipeline(name))
            .send()
            .await
            .unwrap();
        start_execution(c, name).await;
    }
    let mut sequences = Vec::new();
    for stream in &mut streams {
        let mut events = Vec::new();
        let mut ended = 0;
        while ended < pipelines.len() {
            let event = stream.next_event().await;
            if summary(&event) == ("pipeline".into(), "".into(), "".into(), "SUCCEEDED".into()) {
                ended += 1;
            }
            events.push(event);
        }
        sequences.push(events);
    }
    let first = &sequences[0];
    // Each run's events, in the order of a single run.
    for name in pipelines {
        let run: Vec<_> = first
            .iter()
            .filter(|e| e["detail"]["pipeline"] == name)
            .map(summary)
            .collect();
        assert_eq!(
            run.first().map(|s| s.3.as_str()),
            Some("STARTED"),
            "{name}: {run:?}"
        );
        assert_eq!(
            run.first().map(|s| s.0.as_str()),
            Some("pipeline"),
            "{name}: {run:?}"
        );
        assert_eq!(
            run.last().map(|s| s.3.as_str()),
            Some("SUCCEEDED"),
            "{name}: {run:?}"
        );
    }
    let ids = |events: &Vec<Value>| -> Vec<String> {
        events
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    let unique: std::collections::HashSet<_> = ids(first).into_iter().collect();
    assert_eq!(unique.len(), first.len(), "no event twice");
    for (i, events) in sequences.iter().enumerate() {
        assert_eq!(
            ids(events),
            ids(first),
            "subscriber {i} saw another sequence"
        );
    }
}

/// A pipeline whose run publishes many large events: 50 parallel build actions with long names.
fn wide_pipeline(name: &str) -> aws_sdk_codepipeline::types::PipelineDeclaration {
    let builds = (0..50)
        .map(|i| {
            codebuild(
                &format!("Build{i:02}-{}", "x".repeat(90)),
                "SourceOutput",
                &[],
            )
        })
        .collect();
    pipeline(name)
        .stages(stage("Source", vec![s3_source("Source", "SourceOutput")]))
        .stages(stage("Build", builds))
        .build()
        .unwrap()
}

/// The batches the slowest stream subscriber has yet to take, and how many the ring keeps.
async fn batches_queued(t: &TestServer) -> (u64, u64) {
    let health: Value = reqwest::get(format!("{}/_codepipeline-local/health", t.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let streams = &health["eventStreams"];
    (
        streams["batchesQueued"].as_u64().unwrap(),
        streams["batchesKept"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_gets_a_notice_its_stream_ends_and_it_can_reconnect() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = start_with(manual_config()).await;
    let c = &t.client;
    // A client that asks for the stream and then reads nothing (with a small receive buffer,
    // so that the server's writes stall soon).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut laggard = socket.connect(t.server.addr).await.unwrap();
    let request = format!(
        "GET /_codepipeline-local/events HTTP/1.1\r\nHost: {}\r\n\r\n",
        t.server.addr
    );
    laggard.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(laggard.read(&mut byte).await.unwrap(), 1, "response head");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{head:?}");
    let names: Vec<String> = (0..5).map(|i| format!("wide-{i}")).collect();
    for name in &names {
        c.create_pipeline()
            .pipeline(wide_pipeline(name))
            .send()
            .await
            .unwrap();
    }
    // Runs start until the ring is full behind the laggard, then once more: it has lost its
    // place. Rounds, not time, bound the test.
    let mut full = false;
    for _round in 0..2000 {
        for name in &names {
            start_execution(c, name).await;
        }
        if full {
            break;
        }
        let (queued, kept) = batches_queued(&t).await;
        full = queued == kept;
    }
    assert!(full, "the laggard never fell a whole ring behind");
    // It reads now: what was written before, the notice, and the end of the response.
    let mut received = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    while !received.ends_with(b"\r\n0\r\n\r\n") {
        let n = laggard.read(&mut buffer).await.unwrap();
        assert!(n > 0, "the connection stays open after the stream's end");
        received.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&received);
    let notice = text.rfind(": lagged: ").expect("a lag notice");
    assert!(text[notice..].contains("reconnect"), "{}", &text[notice..]);
    assert!(text[..notice].contains("data: "), "events came before");
    assert!(
        !text[notice..].contains("data: "),
        "no event after the notice"
    );
    // Reconnecting follows the events again.
    let mut stream = EventStream::open(&t, "?pipeline=after").await;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("after"))
        .send()
        .await
        .unwrap();
    start_execution(c, "after").await;
    let first = stream.next_event().await;
    assert_eq!(
        summary(&first),
        ("pipeline".into(), "".into(), "".into(), "STARTED".into())
    );
}
