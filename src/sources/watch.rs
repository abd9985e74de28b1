//! The watcher of the mapped repositories: one task per repository reads its branch heads and
//! tags when the file system says its refs changed (`notify`, on `refs/` and the git
//! directory itself for `packed-refs`) and at least every `repository_poll_interval_ms` (the
//! fallback where notification does not work, e.g. some network file systems). Every ref that
//! moved since the last read is a push (`push::dispatch`); what was there at startup is not.
//! The tasks end when the application does.

use super::push::{self, Started};
use crate::actions::git::{repo, Repository};
use crate::app::{App, WeakApp};
use notify::{RecursiveMode, Watcher};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long after a file-system event the refs are read (a push moves several files).
const SETTLE: Duration = Duration::from_millis(20);

/// Starts watching every configured repository; fails when one is not a git repository.
pub fn start(app: &App) -> Result<(), String> {
    crate::actions::git::check(&app.config.repositories)?;
    let started = Arc::new(Started::default());
    for repository in &app.config.repositories {
        let git = repo::open(&repository.path)
            .map_err(|e| format!("repository '{}': {e}", repository.id))?;
        let git_dir = git.path().to_path_buf();
        let refs = repo::refs(&git);
        let changed = Arc::new(Notify::new());
        let watcher = watch_refs(&git_dir, changed.clone());
        if watcher.is_none() {
            tracing::info!(
                repository = %repository.id,
                "file-system notification unavailable: polling every {} ms",
                app.config.repository_poll_interval_ms
            );
        }
        tracing::info!(repository = %repository.id, path = %repository.path.display(), "watching repository");
        tokio::spawn(run(
            app.downgrade(),
            repository.clone(),
            refs,
            changed,
            watcher,
            started.clone(),
            Duration::from_millis(app.config.repository_poll_interval_ms.max(10)),
        ));
    }
    Ok(())
}

/// A notification watcher on the repository's refs, or `None` where it cannot be set up.
fn watch_refs(git_dir: &Path, changed: Arc<Notify>) -> Option<notify::RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Only writes: reading the refs opens them (an access event), which must not loop.
        if event.is_ok_and(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
            changed.notify_one();
        }
    })
    .ok()?;
    watcher
        .watch(&git_dir.join("refs"), RecursiveMode::Recursive)
        .ok()?;
    watcher.watch(git_dir, RecursiveMode::NonRecursive).ok()?;
    Some(watcher)
}

async fn run(
    app: WeakApp,
    repository: Repository,
    mut known: BTreeMap<String, git2::Oid>,
    changed: Arc<Notify>,
    // Kept alive as long as the task: dropping it stops the notifications.
    _watcher: Option<notify::RecommendedWatcher>,
    started: Arc<Started>,
    interval: Duration,
) {
    loop {
        tokio::select! {
            _ = changed.notified() => tokio::time::sleep(SETTLE).await,
            _ = tokio::time::sleep(interval) => {}
        }
        if app.upgrade().is_none() {
            return;
        }
        let read = {
            let repository = repository.clone();
            let known = known.clone();
            tokio::task::spawn_blocking(move || pushes(&repository, &known)).await
        };
        let (refs, events) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(e)) => {
                tracing::warn!(repository = %repository.id, error = %e, "cannot read the repository");
                continue;
            }
            Err(e) => {
                tracing::warn!(repository = %repository.id, error = %e, "reading the repository failed");
                continue;
            }
        };
        known = refs;
        let Some(app) = app.upgrade() else {
            return;
        };
        for event in events {
            push::dispatch(&app, &repository, &event, &started);
        }
    }
}

type Pushes = (
    BTreeMap<String, git2::Oid>,
    Vec<crate::webhooks::git::GitEvent>,
);

/// The refs now, and a push for every ref that is new or moved since `known`.
fn pushes(repository: &Repository, known: &BTreeMap<String, git2::Oid>) -> Result<Pushes, String> {
    let git = repo::open(&repository.path)?;
    let refs = repo::refs(&git);
    let events = refs
        .iter()
        .filter(|(name, id)| known.get(*name) != Some(*id))
        .filter_map(|(name, id)| {
            push::event_of(&git, repository, name, known.get(name).copied(), *id)
        })
        .collect();
    Ok((refs, events))
}
