//! The watcher of the mapped repositories: one task per repository reads its branch heads and
//! tags when the file system says its refs changed (`notify`, on `refs/` and the git
//! directory itself for `packed-refs`) and at least every `repository_poll_interval_ms` (the
//! fallback where notification does not work, e.g. some network file systems). Every ref that
//! moved since the last read is a push (`push::dispatch`); what was there at startup is not.
//! A repository mapped by URL is fetched into its mirror (`git::remote`) at startup (the start
//! waits for it) and every interval after (no notification); what its first successful fetch
//! finds is not a push. A remote that does not answer is logged (once per new error) and tried
//! again at every interval: the server starts anyway.
//! The tasks end when the application does.

use super::push::{self, Started};
use crate::actions::git::{repo, Repository};
use crate::app::{App, WeakApp};
use notify::{RecursiveMode, Watcher};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long after a file-system event the refs are read (a push moves several files).
const SETTLE: Duration = Duration::from_millis(20);

/// Starts watching every configured repository (fetching those mapped by URL first); fails
/// when a path is not a git repository.
pub async fn start(app: &App) -> Result<(), String> {
    crate::actions::git::check(&app.config.repositories)?;
    let started = Arc::new(Started::default());
    let interval = Duration::from_millis(app.config.repository_poll_interval_ms.max(10));
    for repository in &app.config.repositories {
        let dir = repository.git_dir(&app.config);
        let changed = Arc::new(Notify::new());
        let (known, watcher) = if repository.url().is_some() {
            (first_fetch(repository, &dir).await, None)
        } else {
            let git =
                repo::open(&dir).map_err(|e| format!("repository '{}': {e}", repository.id))?;
            let watcher = watch_refs(git.path(), changed.clone());
            if watcher.is_none() {
                tracing::info!(
                    repository = %repository.id,
                    "file-system notification unavailable: polling every {} ms",
                    app.config.repository_poll_interval_ms
                );
            }
            (Some(repo::refs(&git)), watcher)
        };
        tracing::info!(repository = %repository.id, path = %repository.location(), "watching repository");
        let watched = Watched {
            repository: repository.clone(),
            dir,
            changed,
            _watcher: watcher,
        };
        tokio::spawn(run(
            app.downgrade(),
            watched,
            known,
            started.clone(),
            interval,
        ));
    }
    Ok(())
}

/// The refs of a URL's mirror after the first fetch; `None` (logged) when the remote does not
/// answer: the watcher tries again.
async fn first_fetch(repository: &Repository, dir: &Path) -> Option<BTreeMap<String, git2::Oid>> {
    let (repository, dir) = (repository.clone(), dir.to_path_buf());
    let id = repository.id.clone();
    let read = tokio::task::spawn_blocking(move || {
        repository.fetch(&dir)?;
        repo::open(&dir).map(|git| repo::refs(&git))
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|read| read);
    match read {
        Ok(refs) => Some(refs),
        Err(e) => {
            tracing::warn!(repository = %id, error = %e, "cannot fetch the repository: trying again every interval");
            None
        }
    }
}

/// A repository being watched.
struct Watched {
    repository: Repository,
    /// Where it is read (its mirror, for a URL).
    dir: PathBuf,
    changed: Arc<Notify>,
    // Kept alive as long as the task: dropping it stops the notifications.
    _watcher: Option<notify::RecommendedWatcher>,
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

/// Reads the repository's refs (fetching a URL's first) whenever told or every `interval`;
/// `known`: the refs of the last read (`None` before the first one).
async fn run(
    app: WeakApp,
    watched: Watched,
    mut known: Option<BTreeMap<String, git2::Oid>>,
    started: Arc<Started>,
    interval: Duration,
) {
    let repository = &watched.repository;
    let mut last_error: Option<String> = None;
    loop {
        tokio::select! {
            _ = watched.changed.notified() => tokio::time::sleep(SETTLE).await,
            _ = tokio::time::sleep(interval) => {}
        }
        if app.upgrade().is_none() {
            return;
        }
        let read = {
            let (repository, dir) = (repository.clone(), watched.dir.clone());
            let known = known.clone();
            tokio::task::spawn_blocking(move || pushes(&repository, &dir, known.as_ref())).await
        };
        let (refs, events) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(e)) => {
                if last_error.as_ref() != Some(&e) {
                    tracing::warn!(repository = %repository.id, error = %e, "cannot read the repository (tried again every interval)");
                    last_error = Some(e);
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(repository = %repository.id, error = %e, "reading the repository failed");
                continue;
            }
        };
        if last_error.take().is_some() {
            tracing::info!(repository = %repository.id, "the repository can be read again");
        }
        known = Some(refs);
        let Some(app) = app.upgrade() else {
            return;
        };
        for event in events {
            push::dispatch(&app, repository, &event, &started);
        }
    }
}

type Pushes = (
    BTreeMap<String, git2::Oid>,
    Vec<crate::webhooks::git::GitEvent>,
);

/// The refs now (after fetching a URL's), and a push for every ref that is new or moved since
/// `known` (none on the first read).
fn pushes(
    repository: &Repository,
    dir: &Path,
    known: Option<&BTreeMap<String, git2::Oid>>,
) -> Result<Pushes, String> {
    repository.fetch(dir)?;
    let git = repo::open(dir)?;
    let refs = repo::refs(&git);
    let Some(known) = known else {
        return Ok((refs, Vec::new()));
    };
    let events = refs
        .iter()
        .filter(|(name, id)| known.get(*name) != Some(*id))
        .filter_map(|(name, id)| {
            push::event_of(&git, repository, name, known.get(name).copied(), *id)
        })
        .collect();
    Ok((refs, events))
}
