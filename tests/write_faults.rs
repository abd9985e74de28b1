//! Faults of the real binary's writes under concurrent clients (group commit): a `kill -9` while
//! eight clients write, and a data directory made unwritable at run time (`chattr +i`). Every
//! acknowledged write is kept, no refused one, and the server never dies of the fault.
//!
//! A read-only bind mount of the data directory is no fault for a running server: the database
//! was opened through the mount below, which its descriptors keep writing to (tried: the write
//! succeeds and is on disk). A read-only remount of the whole filesystem is refused while files
//! are open for writing, and is not something a test may do to a shared machine.

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
    run("chattr", &[flag], paths)
}

fn run(program: &str, args: &[&str], paths: &[std::path::PathBuf]) -> bool {
    Command::new(program)
        .args(args)
        .args(paths)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A fault of the data directory: injected, then removed.
trait Fault {
    /// Makes the directory unwritable; false (with the reason) when it cannot here.
    fn inject(&mut self, dir: &std::path::Path) -> Result<(), String>;
    fn remove(&mut self);
}

/// `chattr +i` on the directory and every file in it.
#[derive(Default)]
struct Immutable(Vec<std::path::PathBuf>);

impl Fault for Immutable {
    fn inject(&mut self, dir: &std::path::Path) -> Result<(), String> {
        self.0 = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .chain([dir.to_path_buf()])
            .collect();
        if chattr("+i", &self.0) {
            Ok(())
        } else {
            self.0.clear();
            Err("`chattr +i` is not supported here (needs root and a filesystem with immutable files)".into())
        }
    }
    fn remove(&mut self) {
        if !self.0.is_empty() {
            assert!(chattr("-i", &self.0), "chattr -i");
            self.0.clear();
        }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        // However the test ends: an immutable file cannot even be removed.
        chattr("-i", &self.0);
    }
}

/// With `fault` in the data directory of the real binary: writes are refused with an
/// `InternalFailure`, reads go on, the process lives; once removed, writes succeed again; after
/// a restart every acknowledged write is there and no refused one.
async fn refuses_writes_under(name: &str, mut fault: impl Fault) {
    let dir = data_dir(name);
    let (mut server, url) = spawn_binary(&dir).await;
    let c = client(&url, "test", "us-east-1");
    for name in ["a", "b"] {
        c.create_pipeline()
            .pipeline(two_stage_pipeline(name))
            .send()
            .await
            .unwrap();
    }
    if let Err(reason) = fault.inject(&dir) {
        println!("skipped: {reason}");
        fault.remove();
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    for i in 0..5 {
        let (code, message) = service_error(
            c.create_pipeline()
                .pipeline(two_stage_pipeline(&format!("during-{i}")))
                .send()
                .await,
        );
        assert_eq!(code, "InternalFailure", "{message}");
        assert!(message.contains("could not be saved"), "{message}");
    }
    assert_eq!(pipeline_names(&c).await, ["a", "b"]);
    assert!(server.0.try_wait().unwrap().is_none(), "the server died");
    let tag = aws_sdk_codepipeline::types::Tag::builder()
        .key("k")
        .value("v")
        .build()
        .unwrap();
    let tagged = c
        .tag_resource()
        .resource_arn("arn:aws:codepipeline:us-east-1:000000000000:a")
        .tags(tag)
        .send()
        .await;
    assert!(
        tagged.is_err(),
        "a tag was acknowledged on an unwritable disk"
    );

    // The fault removed: writes succeed again, on the same server.
    fault.remove();
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

#[tokio::test]
async fn an_immutable_data_dir_refuses_writes_keeps_serving_and_loses_nothing() {
    refuses_writes_under("immutable", Immutable::default()).await;
}
