//! Durability faults with `--data-dir` (see the README's Reliability section): a full database,
//! a second server, a removed data directory, resets racing writes, inconsistent rows. Every
//! acknowledged write is kept, no refused one is.

mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::*;
use common::data_dir::*;
use common::engine::*;
use common::*;
use std::process::{Command, Stdio};

/// Creates pipelines until the database is full and a few more: returns the names that were
/// acknowledged and the ones refused (each with an `InternalFailure`).
async fn fill(c: &aws_sdk_codepipeline::Client, prefix: &str) -> (Vec<String>, Vec<String>) {
    let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
    for i in 0..400 {
        let name = format!("{prefix}{i:03}");
        match c
            .create_pipeline()
            .pipeline(two_stage_pipeline(&name))
            .send()
            .await
        {
            Ok(_) => acknowledged.push(name),
            Err(e) => {
                let (code, message) = service_error::<(), _, _>(Err(e));
                assert_eq!(code, "InternalFailure", "{message}");
                assert!(message.contains("could not be saved"), "{message}");
                refused.push(name);
                if refused.len() == 5 {
                    break;
                }
            }
        }
    }
    assert!(!acknowledged.is_empty(), "nothing fit in the database");
    assert_eq!(refused.len(), 5, "the database never filled up");
    (acknowledged, refused)
}

#[tokio::test]
async fn a_write_that_cannot_be_persisted_is_refused_and_not_kept_and_later_writes_retry() {
    let dir = data_dir("full");
    let mut config = persistent_config(&dir);
    config.data_dir_max_bytes = Some(96 * 1024);
    let t = start_with(config).await;
    let c = &t.client;
    let (acknowledged, refused) = fill(c, "p").await;
    // What was refused is not in memory either.
    assert_eq!(pipeline_names(c).await, acknowledged);
    for name in &refused {
        let err = c.get_pipeline().name(name).send().await.unwrap_err();
        assert_eq!(err.code(), Some("PipelineNotFoundException"));
    }
    // An update of a full database: whatever the answer, it is what the disk keeps.
    let arn = format!(
        "arn:aws:codepipeline:us-east-1:000000000000:{}",
        acknowledged[0]
    );
    let tagged = c
        .tag_resource()
        .resource_arn(&arn)
        .tags(
            Tag::builder()
                .key("k")
                .value("v".repeat(200))
                .build()
                .unwrap(),
        )
        .send()
        .await;
    if let Err(e) = &tagged {
        assert_eq!(e.code(), Some("InternalFailure"));
    }
    t.server.shutdown().await.unwrap();

    // More room: every acknowledged write is there, no refused one; a refused write, sent
    // again, now succeeds.
    let t = start_with(persistent_config(&dir)).await;
    let c = &t.client;
    assert_eq!(pipeline_names(c).await, acknowledged);
    let tags = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), usize::from(tagged.is_ok()));
    c.create_pipeline()
        .pipeline(two_stage_pipeline(&refused[0]))
        .send()
        .await
        .unwrap();
    t.server.shutdown().await.unwrap();
    let t = start_with(persistent_config(&dir)).await;
    let mut expected = acknowledged.clone();
    expected.push(refused[0].clone());
    assert_eq!(pipeline_names(&t.client).await, expected);
    t.server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_binary_on_a_full_disk_acknowledges_only_what_it_keeps() {
    let dir = data_dir("full-binary");
    let (server, url) = spawn_binary_with(&dir, &["--data-dir-max-bytes", "98304"]).await;
    let c = client(&url, "test", "us-east-1");
    let (acknowledged, _refused) = fill(&c, "b").await;
    // An execution on a full database: acknowledged only if it is kept.
    let started = c
        .start_pipeline_execution()
        .name(&acknowledged[0])
        .send()
        .await
        .map(|o| o.pipeline_execution_id.unwrap());
    if let Err(e) = &started {
        assert_eq!(e.code(), Some("InternalFailure"));
    }
    drop(server);

    let (_server, url) = spawn_binary(&dir).await;
    let c = client(&url, "test", "us-east-1");
    assert_eq!(pipeline_names(&c).await, acknowledged);
    let executions = c
        .list_pipeline_executions()
        .pipeline_name(&acknowledged[0])
        .send()
        .await
        .unwrap();
    let kept: Vec<&str> = executions
        .pipeline_execution_summaries()
        .iter()
        .filter_map(|e| e.pipeline_execution_id())
        .collect();
    match &started {
        Ok(id) => assert_eq!(kept, [id.as_str()]),
        Err(_) => assert!(kept.is_empty(), "{kept:?}"),
    }
    c.create_pipeline()
        .pipeline(two_stage_pipeline("after"))
        .send()
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_exits_at_once_naming_the_first() {
    let dir = data_dir("lock");
    let (_first, url) = spawn_binary(&dir).await;
    let first_port = url.rsplit(':').next().unwrap().to_string();
    let mut second = Command::new(env!("CARGO_BIN_EXE_codepipeline-local"))
        .args([
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--data-dir",
        ])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the second server");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            panic!("the second server did not exit");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let output = second.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!status.success());
    assert!(
        said.contains("in use by another codepipeline-local"),
        "{said}"
    );
    assert!(said.contains(&format!("127.0.0.1:{first_port}")), "{said}");
    // The first one is unharmed.
    let c = client(&url, "test", "us-east-1");
    c.create_pipeline()
        .pipeline(two_stage_pipeline("still-mine"))
        .send()
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_second_server_in_the_same_process_waits_for_the_first_to_shut_down() {
    let dir = data_dir("lock-in-process");
    let first = start_with(persistent_config(&dir)).await;
    let err = codepipeline_local::start(persistent_config(&dir))
        .await
        .err()
        .expect("the second server is refused");
    assert!(err.to_string().contains("in use by"), "{err}");
    first.server.shutdown().await.unwrap();
    // Released at shutdown (start_with retries while a forked child holds a copy of it).
    let again = start_with(persistent_config(&dir)).await;
    again.server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_removed_data_dir_refuses_writes_instead_of_losing_them() {
    let dir = data_dir("vanished");
    let t = start_with(persistent_config(&dir)).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("before"))
        .send()
        .await
        .unwrap();
    // Exclusive locking mode: no memory-mapped WAL index that could SIGBUS the process.
    assert!(dir.join("codepipeline-local.sqlite3-wal").exists());
    assert!(!dir.join("codepipeline-local.sqlite3-shm").exists());
    std::fs::remove_dir_all(&dir).unwrap();
    let (code, message) = service_error(
        c.create_pipeline()
            .pipeline(two_stage_pipeline("after"))
            .send()
            .await,
    );
    assert_eq!(code, "InternalFailure");
    assert!(message.contains("deleted or replaced"), "{message}");
    assert_eq!(pipeline_names(c).await, ["before"]);
    // The server goes on answering.
    let err = c.get_pipeline().name("after").send().await.unwrap_err();
    assert_eq!(err.code(), Some("PipelineNotFoundException"));
    t.server.shutdown().await.unwrap();
}

/// Admin resets every 20 ms while 8 clients create pipelines, on a server with worker threads
/// (so that a handler can hold the region while a reset runs).
async fn race_resets_and_creates(url: &str, round: usize) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let resetter = {
        let stop = stop.clone();
        let url = format!("{url}/_codepipeline-local/reset");
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let status = http.post(&url).send().await.unwrap().status();
                assert!(status.is_success());
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..8 {
        let c = client(url, "test", "us-east-1");
        writers.push(tokio::spawn(async move {
            for i in 0..25 {
                // A reset may land between creates: either answer is fine here.
                let _ = c
                    .create_pipeline()
                    .pipeline(two_stage_pipeline(&format!("r{round}-w{w}-{i}")))
                    .send()
                    .await;
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    resetter.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resets_racing_creates_leave_on_disk_what_is_in_memory() {
    let dir = data_dir("reset-race");
    // A lost race shows only after a restart, and not every time: a few rounds.
    for round in 0..4 {
        let t = start_with(persistent_config(&dir)).await;
        race_resets_and_creates(&t.url, round).await;
        let in_memory = pipeline_names(&t.client).await;
        t.server.shutdown().await.unwrap();
        let t = start_with(persistent_config(&dir)).await;
        assert_eq!(pipeline_names(&t.client).await, in_memory, "round {round}");
        t.server.shutdown().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_database_with_rows_that_do_not_fit_together_is_refused_at_start() {
    let dir = data_dir("inconsistent");
    let t = start_with(persistent_config(&dir)).await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("halved"))
        .send()
        .await
        .unwrap();
    t.server.shutdown().await.unwrap();
    let db = rusqlite::Connection::open(dir.join("codepipeline-local.sqlite3")).unwrap();
    db.execute("DELETE FROM pipeline_versions", []).unwrap();
    drop(db);
    let err = codepipeline_local::start(persistent_config(&dir))
        .await
        .err()
        .expect("the load fails");
    let err = err.to_string();
    assert!(err.contains("inconsistent"), "{err}");
    assert!(err.contains("pipeline 'halved'"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits (bounded) on the event stream for the action `action` of `pipeline` to reach `state`.
async fn wait_action_event(events: &mut reqwest::Response, action: &str, state: &str) {
    let mut buffer = String::new();
    // One deadline for the whole wait: a stream that keeps sending other events ends too.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let chunk = tokio::time::timeout_at(deadline, events.chunk())
            .await
            .unwrap_or_else(|_| panic!("the {action} {state} event within 30 seconds"))
            .expect("read the event stream")
            .expect("the stream goes on");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        for line in buffer.lines() {
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                continue;
            };
            let detail = &event["detail"];
            if detail["action"] == action
                && detail["state"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(state))
            {
                return;
            }
        }
    }
}

#[tokio::test]
async fn engine_work_that_cannot_be_saved_is_rolled_back_too() {
    use codepipeline_local::engine::behavior::{ActionRule, Behavior};
    let dir = data_dir("engine-rollback");
    let mut config = persistent_config(&dir);
    config.actions = vec![ActionRule {
        duration_ms: Some(300),
        ..common::engine::rule("CodeBuild", Behavior::Succeed)
    }];
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("slow"))
        .send()
        .await
        .unwrap();
    let mut events = reqwest::get(format!(
        "{}/_codepipeline-local/events?pipeline=slow",
        t.url
    ))
    .await
    .unwrap();
    let id = start_execution(c, "slow").await;
    wait_action_event(&mut events, "Build", "STARTED").await;
    // From now on nothing can be saved: the build's end (a timer) is computed, published and
    // then rolled back, since it could not be written.
    std::fs::remove_dir_all(&dir).unwrap();
    wait_action_event(&mut events, "Build", "SUCCEEDED").await;
    assert_eq!(
        execution(c, "slow", &id).await.status(),
        Some(&PipelineExecutionStatus::InProgress)
    );
    let build = action_executions(c, "slow", &id)
        .await
        .into_iter()
        .find(|a| a.action_name() == Some("Build"))
        .expect("the build's action execution");
    assert_eq!(build.status(), Some(&ActionExecutionStatus::InProgress));
    t.server.shutdown().await.unwrap();
}
