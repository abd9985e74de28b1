//! Persistence (`--data-dir`): state survives a restart of the server, and a `kill -9` of the
//! real binary right after an acknowledged write loses nothing.

mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::*;
use codepipeline_local::Config;
use common::engine::*;
use common::*;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cpl-{name}-{}", uuid_like()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn persistent_config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: Some(dir.to_path_buf()),
        ..manual_config()
    }
}

fn custom_type() -> ActionTypeId {
    ActionTypeId::builder()
        .category(ActionCategory::Build)
        .owner(ActionOwner::Custom)
        .provider("Builder")
        .version("1")
        .build()
        .unwrap()
}

#[tokio::test]
async fn all_state_survives_a_restart() {
    let dir = data_dir("restart");
    let (finished, waiting, working);
    {
        let t = start_with(persistent_config(&dir)).await;
        let c = &t.client;
        // A pipeline with two versions and tags, and a finished execution.
        c.create_pipeline()
            .pipeline(two_stage_pipeline("kept"))
            .tags(Tag::builder().key("team").value("a").build().unwrap())
            .send()
            .await
            .unwrap();
        let mut v2 = two_stage_pipeline("kept");
        v2.version = Some(1);
        c.update_pipeline().pipeline(v2).send().await.unwrap();
        finished = start_execution(c, "kept").await;
        wait_status(c, "kept", &finished, PipelineExecutionStatus::Succeeded).await;
        c.disable_stage_transition()
            .pipeline_name("kept")
            .stage_name("Build")
            .transition_type(StageTransitionType::Inbound)
            .reason("frozen")
            .send()
            .await
            .unwrap();
        // A pipeline waiting for an approval.
        let approval = pipeline("gate")
            .stages(stage("Source", vec![s3_source("Source", "Src")]))
            .stages(stage("Approve", vec![manual_approval("Approval")]))
            .build()
            .unwrap();
        c.create_pipeline().pipeline(approval).send().await.unwrap();
        waiting = start_execution(c, "gate").await;
        wait_approval_token(c, "gate", "Approve", "Approval").await;
        // A custom action whose job is queued.
        c.create_custom_action_type()
            .category(ActionCategory::Build)
            .provider("Builder")
            .version("1")
            .input_artifact_details(
                ArtifactDetails::builder()
                    .minimum_count(1)
                    .maximum_count(1)
                    .build(),
            )
            .output_artifact_details(
                ArtifactDetails::builder()
                    .minimum_count(0)
                    .maximum_count(0)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let worked = pipeline("worked")
            .stages(stage("Source", vec![s3_source("Source", "Src")]))
            .stages(stage(
                "Build",
                vec![action("Build", custom_type(), &["Src"], &[])
                    .build()
                    .unwrap()],
            ))
            .build()
            .unwrap();
        c.create_pipeline().pipeline(worked).send().await.unwrap();
        working = start_execution(c, "worked").await;
        wait_for("the build to start", || async {
            stage_state(c, "worked", "Build")
                .await
                .latest_execution()
                .map(|_| ())
        })
        .await;
        // A webhook.
        c.put_webhook()
            .webhook(
                WebhookDefinition::builder()
                    .name("hook")
                    .target_pipeline("kept")
                    .target_action("Source")
                    .filters(
                        WebhookFilterRule::builder()
                            .json_path("$.ref")
                            .match_equals("refs/heads/main")
                            .build()
                            .unwrap(),
                    )
                    .authentication(WebhookAuthenticationType::Unauthenticated)
                    .authentication_configuration(WebhookAuthConfiguration::builder().build())
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        t.server.shutdown().await.unwrap();
    }

    let t = start_with(persistent_config(&dir)).await;
    let c = &t.client;
    let names: Vec<_> = c
        .list_pipelines()
        .send()
        .await
        .unwrap()
        .pipelines()
        .iter()
        .map(|p| p.name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["gate", "kept", "worked"]);
    let kept = c.get_pipeline().name("kept").send().await.unwrap();
    assert_eq!(kept.pipeline().unwrap().version(), Some(2));
    assert_eq!(
        c.get_pipeline()
            .name("kept")
            .version(1)
            .send()
            .await
            .unwrap()
            .pipeline()
            .unwrap()
            .version(),
        Some(1)
    );
    let arn = kept.metadata().unwrap().pipeline_arn().unwrap();
    let tags = c
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].value(), "a");
    assert_eq!(
        execution(c, "kept", &finished).await.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
    assert_eq!(action_executions(c, "kept", &finished).await.len(), 2);
    let build = stage_state(c, "kept", "Build").await;
    assert_eq!(
        build.inbound_transition_state().unwrap().disabled_reason(),
        Some("frozen")
    );

    // The approval still waits, and can be approved after the restart.
    let token = wait_approval_token(c, "gate", "Approve", "Approval").await;
    c.put_approval_result()
        .pipeline_name("gate")
        .stage_name("Approve")
        .action_name("Approval")
        .token(token)
        .result(
            ApprovalResult::builder()
                .status(ApprovalStatus::Approved)
                .summary("ok")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_status(c, "gate", &waiting, PipelineExecutionStatus::Succeeded).await;

    // The queued job is still there for a worker.
    let job = c
        .poll_for_jobs()
        .action_type_id(custom_type())
        .send()
        .await
        .unwrap();
    let job = job.jobs()[0].clone();
    c.put_job_success_result()
        .job_id(job.id().unwrap())
        .send()
        .await
        .unwrap();
    wait_status(c, "worked", &working, PipelineExecutionStatus::Succeeded).await;

    let hooks = c.list_webhooks().send().await.unwrap();
    assert_eq!(hooks.webhooks()[0].definition().unwrap().name(), "hook");
    let types = c
        .list_action_types()
        .action_owner_filter(ActionOwner::Custom)
        .send()
        .await
        .unwrap();
    assert_eq!(types.action_types().len(), 1);

    // Deleting persists too.
    c.delete_pipeline().name("kept").send().await.unwrap();
    t.server.shutdown().await.unwrap();
    let t = start_with(persistent_config(&dir)).await;
    let err = t
        .client
        .get_pipeline()
        .name("kept")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineNotFoundException"));
    assert_eq!(
        execution(&t.client, "gate", &waiting).await.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
    t.server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the real binary on a free port with a data directory.
async fn spawn_binary(dir: &std::path::Path) -> (Killed, String) {
    spawn_binary_with(dir, &[]).await
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts the real binary with a data directory and more flags.
async fn spawn_binary_with(dir: &std::path::Path, flags: &[&str]) -> (Killed, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_codepipeline-local"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--no-auto-start",
            "--data-dir",
        ])
        .arg(dir)
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the server binary");
    let url = format!("http://127.0.0.1:{port}");
    let health = format!("{url}/health");
    wait_for("the binary to answer", || async {
        reqwest::get(&health)
            .await
            .ok()
            .filter(|r| r.status().is_success())
            .map(|_| ())
    })
    .await;
    (Killed(child), url)
}

#[tokio::test]
async fn a_kill_9_right_after_an_acknowledged_write_loses_nothing() {
    let dir = data_dir("kill9");
    let (server, url) = spawn_binary(&dir).await;
    let c = client(&url, "test", "us-east-1");
    for i in 0..5 {
        c.create_pipeline()
            .pipeline(two_stage_pipeline(&format!("p{i}")))
            .send()
            .await
            .unwrap();
    }
    let id = c
        .start_pipeline_execution()
        .name("p4")
        .send()
        .await
        .unwrap()
        .pipeline_execution_id
        .unwrap();
    c.tag_resource()
        .resource_arn("arn:aws:codepipeline:us-east-1:000000000000:p3")
        .tags(Tag::builder().key("last").value("write").build().unwrap())
        .send()
        .await
        .unwrap();
    // SIGKILL: no graceful shutdown, no chance to flush anything.
    drop(server);

    let (_server, url) = spawn_binary(&dir).await;
    let c = client(&url, "test", "us-east-1");
    let listed = c.list_pipelines().send().await.unwrap();
    assert_eq!(listed.pipelines().len(), 5);
    let tags = c
        .list_tags_for_resource()
        .resource_arn("arn:aws:codepipeline:us-east-1:000000000000:p3")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), "last");
    // The execution was acknowledged: it is there, and it finishes after the restart.
    wait_status(&c, "p4", &id, PipelineExecutionStatus::Succeeded).await;
    let _ = std::fs::remove_dir_all(&dir);
}

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

async fn pipeline_names(c: &aws_sdk_codepipeline::Client) -> Vec<String> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_pipelines()
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        names.extend(
            page.pipelines()
                .iter()
                .filter_map(|p| p.name().map(str::to_string)),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return names;
        }
    }
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

#[tokio::test]
async fn resets_racing_creates_leave_on_disk_what_is_in_memory() {
    let dir = data_dir("reset-race");
    let t = start_with(persistent_config(&dir)).await;
    let url = t.url.clone();
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
        let c = client(&url, "test", "us-east-1");
        writers.push(tokio::spawn(async move {
            for i in 0..25 {
                // A reset may land between creates: either answer is fine here.
                let _ = c
                    .create_pipeline()
                    .pipeline(two_stage_pipeline(&format!("w{w}-{i}")))
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
    let in_memory = pipeline_names(&t.client).await;
    t.server.shutdown().await.unwrap();
    let t = start_with(persistent_config(&dir)).await;
    assert_eq!(pipeline_names(&t.client).await, in_memory);
    t.server.shutdown().await.unwrap();
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
