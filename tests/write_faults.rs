//! Faults of the real binary's writes under concurrent clients (group commit): a `kill -9` while
//! eight clients write, and a data directory made unwritable at run time (`chattr +i`). Every
//! acknowledged write is kept, no refused one, and the server never dies of the fault.

mod common;

use common::data_dir::*;
use common::engine::*;
use common::*;
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// Eight clients create pipelines until told to stop; returns the names acknowledged.
async fn writers(
    url: &str,
    prefix: &str,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Arc<Mutex<BTreeSet<String>>> {
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    for w in 0..8 {
        let c = client(url, "test", "us-east-1");
        let (stop, acknowledged, prefix) = (stop.clone(), acknowledged.clone(), prefix.to_string());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let name = format!("{prefix}-w{w}-{i}");
                i += 1;
                // Refused or cut by the kill: either way it need not be kept.
                if c.create_pipeline()
                    .pipeline(two_stage_pipeline(&name))
                    .send()
                    .await
                    .is_ok()
                {
                    acknowledged.lock().unwrap().insert(name);
                }
            }
        });
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_9_under_eight_concurrent_writers_loses_no_acknowledged_write() {
    let dir = data_dir("kill9-concurrent");
    for round in 0..3 {
        let (server, url) = spawn_binary(&dir).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let acknowledged = writers(&url, &format!("r{round}"), stop.clone()).await;
        wait_for("200 acknowledged creates", || async {
            (acknowledged.lock().unwrap().len() >= 200).then_some(())
        })
        .await;
        // SIGKILL with writes in flight: commits queued, in progress and answered.
        drop(server);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let acknowledged = acknowledged.lock().unwrap().clone();

        let (_server, url) = spawn_binary(&dir).await;
        let kept: BTreeSet<String> = pipeline_names(&client(&url, "test", "us-east-1"))
            .await
            .into_iter()
            .filter(|n| n.starts_with(&format!("r{round}-")))
            .collect();
        let lost: Vec<_> = acknowledged.difference(&kept).collect();
        assert!(lost.is_empty(), "round {round}: lost {lost:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `chattr +i`/`-i` on the paths; false when the filesystem (or the lack of root) refuses it.
fn chattr(flag: &str, paths: &[std::path::PathBuf]) -> bool {
    Command::new("chattr")
        .arg(flag)
        .args(paths)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[tokio::test]
async fn an_immutable_data_dir_refuses_writes_keeps_serving_and_loses_nothing() {
    let dir = data_dir("immutable");
    let (mut server, url) = spawn_binary(&dir).await;
    let c = client(&url, "test", "us-east-1");
    for name in ["a", "b"] {
        c.create_pipeline()
            .pipeline(two_stage_pipeline(name))
            .send()
            .await
            .unwrap();
    }
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut paths = files.clone();
    paths.push(dir.clone());
    // Made mutable again however the test ends (an immutable file cannot even be removed).
    struct Mutable(Vec<std::path::PathBuf>);
    impl Drop for Mutable {
        fn drop(&mut self) {
            chattr("-i", &self.0);
        }
    }
    let _mutable = Mutable(paths.clone());
    if !chattr("+i", &paths) {
        println!(
            "skipped: `chattr +i` is not supported here (needs root and a filesystem with immutable files)"
        );
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    // Writes fail while the files cannot change; what was acknowledged stays readable.
    let mut refused = Vec::new();
    for i in 0..5 {
        let name = format!("during-{i}");
        let (code, message) = service_error(
            c.create_pipeline()
                .pipeline(two_stage_pipeline(&name))
                .send()
                .await,
        );
        assert_eq!(code, "InternalFailure", "{message}");
        assert!(message.contains("could not be saved"), "{message}");
        refused.push(name);
    }
    assert_eq!(pipeline_names(&c).await, ["a", "b"]);
    assert!(server.0.try_wait().unwrap().is_none(), "the server died");
    let failed_tag = c
        .tag_resource()
        .resource_arn("arn:aws:codepipeline:us-east-1:000000000000:a")
        .tags(
            aws_sdk_codepipeline::types::Tag::builder()
                .key("k")
                .value("v")
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert!(failed_tag.is_err());

    // The fault removed: writes succeed again, on the same server.
    assert!(chattr("-i", &paths), "chattr -i");
    c.create_pipeline()
        .pipeline(two_stage_pipeline("after"))
        .send()
        .await
        .unwrap();
    assert!(server.0.try_wait().unwrap().is_none(), "the server died");
    drop(server);

    let (_server, url) = spawn_binary(&dir).await;
    let c = client(&url, "test", "us-east-1");
    assert_eq!(pipeline_names(&c).await, ["a", "after", "b"]);
    let tags = c
        .list_tags_for_resource()
        .resource_arn("arn:aws:codepipeline:us-east-1:000000000000:a")
        .send()
        .await
        .unwrap();
    assert!(tags.tags().is_empty(), "a refused tag was kept");
    let _ = std::fs::remove_dir_all(&dir);
}
