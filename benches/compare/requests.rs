//! Request throughput and latency per operation, side by side with moto (the first table).

use super::*;

pub(super) struct Row {
    operation: &'static str,
    note: &'static str,
    ours: Stats,
    moto: Option<Stats>,
}

pub(super) fn fmt_stats(s: &Stats) -> (String, String, String) {
    (
        format!("{:.0}", s.rps()),
        format!("{:.2}", s.p50_ms()),
        format!("{:.2}", s.p99_ms()),
    )
}

pub(super) fn print_rows(rows: &[Row], connections: usize, seconds: u64) {
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

pub(super) async fn compare(connections: usize, seconds: u64, with_moto: bool) -> Vec<Row> {
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
        create_bytes(&format!("load-{c}-{s}-{n}"))
    };
    let update: BodyFn = |c, s| {
        update_bytes(
            &format!("bench-{:05}", (c * 131 + s as usize * 7) % 2000),
            &format!("p-{c}-{s}"),
        )
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
