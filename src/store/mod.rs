//! All state, scoped by (account, region) as AWS scopes it: the same pipeline name in two
//! regions is two pipelines. Each region's state sits behind one mutex; handlers and the engine
//! hold it only for short, non-blocking sections.
//!
//! With a data directory, what changed under the lock is written to SQLite by the committer
//! thread (`committer`: group commit, with the changes of every region made meanwhile), and the
//! request that made it is answered once it is written (`commits`): an acknowledged write is on
//! disk, and so is anything a request read. Changes are tracked in `RegionState::dirty` (and
//! `PipelineRuntime::touched`). A change that cannot be written is not kept: the region is read
//! back from the database (its last committed state), the request gets an error, and the engine
//! resumes the region's executions.
//!
//! Only writes create a region: reads of an unknown account or region see an empty, detached
//! one (`Store::read`).

mod action_types;
mod admission;
mod codec;
pub mod commits;
mod committer;
pub mod deliveries;
mod dictionary;
pub mod ids;
pub mod invariants;
mod lock;
pub mod packed;
mod packing;
pub mod persistence;
mod pipelines;
pub mod runtime;
mod runtime_document;
mod webhooks;

pub use action_types::{action_type_key, catalog_secret_keys, RegisteredActionType};
pub use pipelines::PipelineRecord;
pub use webhooks::WebhookRecord;

use crate::protocol::Scope;
use committer::{Committer, Pending};
use dashmap::DashMap;
use parking_lot::{Mutex, MutexGuard};
use persistence::Persistence;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};

/// Called (outside any lock) after a region was rolled back to its committed state, to pick its
/// executions up again (`runtime::resume`).
pub type RollbackHook = Box<dyn Fn(&Scope) + Send + Sync>;

/// Every account and region's state.
#[derive(Default)]
pub struct Store {
    regions: DashMap<Scope, Arc<Region>>,
    shared: Arc<Shared>,
}

/// What every region of a store shares.
#[derive(Default)]
struct Shared {
    persistence: Option<Arc<Persistence>>,
    /// Writes the changes (with `persistence` only).
    committer: Option<Committer>,
    on_rollback: OnceLock<RollbackHook>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // A store dropped without `close`: the thread writes what is queued and ends.
        if let Some(committer) = &self.committer {
            committer.stop();
        }
    }
}

impl Store {
    /// A store that keeps its state in `persistence` (loaded from it first), or only in memory.
    pub fn open(persistence: Option<Persistence>) -> Result<Store, String> {
        let loaded = match &persistence {
            Some(persistence) => persistence.load(None)?,
            None => Vec::new(),
        };
        let persistence = persistence.map(Arc::new);
        let committer = match &persistence {
            Some(persistence) => Some(Committer::start(
                persistence.clone(),
                tokio::runtime::Handle::try_current().ok(),
            )?),
            None => None,
        };
        let store = Store {
            regions: DashMap::new(),
            shared: Arc::new(Shared {
                persistence,
                committer,
                on_rollback: OnceLock::new(),
            }),
        };
        for (scope, state) in loaded {
            let region = store.new_region(&scope, state);
            store.regions.insert(scope, region);
        }
        Ok(store)
    }

    /// Whether changes are written to a data directory.
    pub fn is_durable(&self) -> bool {
        self.shared.committer.is_some()
    }

    /// Sets what runs after a region was rolled back (once, when the application starts).
    pub fn on_rollback(&self, hook: RollbackHook) {
        let _ = self.shared.on_rollback.set(hook);
    }

    /// Writes what is queued, then releases the database and its lock (at shutdown); later
    /// writes fail.
    pub fn close(&self) {
        if let Some(committer) = &self.shared.committer {
            committer.close();
        }
        if let Some(persistence) = &self.shared.persistence {
            persistence.close();
        }
    }

    fn new_region(&self, scope: &Scope, state: RegionState) -> Arc<Region> {
        Arc::new_cyclic(|me| Region {
            scope: scope.clone(),
            state: Mutex::new(state),
            shared: Some(self.shared.clone()),
            resume_pending: AtomicBool::new(false),
            handoff: packing::Handoff::default(),
            admission: admission::Admission::default(),
            me: me.clone(),
        })
    }

    /// The state of one account and region, created empty on first use: for writes.
    pub fn region(&self, scope: &Scope) -> Arc<Region> {
        if let Some(region) = self.regions.get(scope) {
            return region.clone();
        }
        self.regions
            .entry(scope.clone())
            .or_insert_with(|| self.new_region(scope, RegionState::default()))
            .clone()
    }

    /// The state of one account and region if it exists.
    pub fn get(&self, scope: &Scope) -> Option<Arc<Region>> {
        self.regions.get(scope).map(|r| r.value().clone())
    }

    /// The state of one account and region for a read: an unknown one is an empty region that
    /// is not kept (a read creates nothing). A change made to it is refused.
    pub fn read(&self, scope: &Scope) -> Arc<Region> {
        self.get(scope).unwrap_or_else(|| {
            Arc::new_cyclic(|me| Region {
                scope: scope.clone(),
                state: Mutex::new(RegionState::default()),
                shared: None,
                resume_pending: AtomicBool::new(false),
                handoff: packing::Handoff::default(),
                admission: admission::Admission::default(),
                me: me.clone(),
            })
        })
    }

    /// The regions that hold state.
    pub fn regions(&self) -> Vec<Arc<Region>> {
        self.regions.iter().map(|r| r.value().clone()).collect()
    }

    /// Empties one account and region (admin reset). The region stays the same object, emptied
    /// under its lock: a handler that already holds it writes into the emptied state, which is
    /// the one kept in memory and on disk. Timers of its old executions find nothing.
    pub fn reset(&self, scope: &Scope) {
        if let Some(region) = self.get(scope) {
            let mut state = region.lock();
            state.replace(RegionState::default());
            // Persisted: the region's rows are deleted.
            state.dirty.all = true;
        }
    }

    /// Empties every account and region (admin reset).
    pub fn reset_all(&self) {
        for region in self.regions() {
            self.reset(&region.scope);
        }
    }

    /// Replaces the state of one account and region (admin import) and returns the region; the
    /// caller resumes its executions (`runtime::resume`).
    pub fn replace(&self, scope: &Scope, state: RegionState) -> Arc<Region> {
        let region = self.region(scope);
        {
            let mut guard = region.lock();
            guard.replace(state);
            // Persisted: the region's rows are rewritten from the imported state.
            guard.dirty.all = true;
        }
        region
    }
}

/// One account and region.
pub struct Region {
    pub scope: Scope,
    state: Mutex<RegionState>,
    /// `None` for the detached region a read of an unknown scope sees.
    shared: Option<Arc<Shared>>,
    /// A resume after a rollback is scheduled.
    resume_pending: AtomicBool,
    /// Executions packed outside the lock, waiting for it (`packing`).
    handoff: packing::Handoff,
    /// Requests take turns here before they take the lock (`admission`).
    admission: admission::Admission,
    /// This region (the committer queues it).
    me: Weak<Region>,
}

impl Region {
    /// Locks the region's state; what changes is persisted when the guard is dropped.
    pub fn lock(&self) -> RegionGuard<'_> {
        let mut guard = RegionGuard::new(self);
        if guard.guard.unreadable {
            // The last rollback could not read the database back: try again.
            guard.reload();
        }
        guard
    }

    /// `arn:aws:codepipeline:REGION:ACCOUNT:RESOURCE`.
    pub fn arn(&self, resource: &str) -> String {
        format!(
            "arn:{}:codepipeline:{}:{}:{resource}",
            partition(&self.scope.region),
            self.scope.region,
            self.scope.account
        )
    }

    fn persistence(&self) -> Option<&Persistence> {
        self.shared.as_ref().and_then(|s| s.persistence.as_deref())
    }

    fn committer(&self) -> Option<&Committer> {
        self.shared.as_ref().and_then(|s| s.committer.as_ref())
    }

    /// Runs the rollback hook for this region, unless a run is already pending.
    fn schedule_resume(&self) {
        let Some(hook) = self.shared.as_ref().and_then(|s| s.on_rollback.get()) else {
            return;
        };
        if !self.resume_pending.swap(true, Ordering::AcqRel) {
            hook(&self.scope);
        }
    }

    /// Marks the scheduled resume as started (the hook calls it before resuming).
    pub fn resume_started(&self) {
        self.resume_pending.store(false, Ordering::Release);
    }
}

/// Exclusive access to a region's state. Dropping it writes the changes (see the module doc).
pub struct RegionGuard<'a> {
    region: &'a Region,
    guard: MutexGuard<'a, RegionState>,
    /// The state was borrowed mutably: the change marks may be this guard's (and not only
    /// those of earlier guards whose changes wait for the committer).
    mutated: bool,
    /// Compresses what finished under the lock, once `guard` has released it: the last field,
    /// so dropped after `guard` (fields drop in declaration order).
    after: packing::AfterUnlock<'a>,
}

impl Deref for RegionGuard<'_> {
    type Target = RegionState;
    fn deref(&self) -> &RegionState {
        &self.guard
    }
}

impl DerefMut for RegionGuard<'_> {
    fn deref_mut(&mut self) -> &mut RegionState {
        self.mutated = true;
        &mut self.guard
    }
}

impl<'a> RegionGuard<'a> {
    /// Waits for the region's lock.
    fn new(region: &'a Region) -> Self {
        RegionGuard {
            region,
            guard: region.state.lock(),
            mutated: false,
            after: packing::AfterUnlock {
                region,
                encodings: Vec::new(),
            },
        }
    }
}

impl RegionGuard<'_> {
    /// Replaces the whole state, keeping the commits it waits for (a reset or an import).
    fn replace(&mut self, mut state: RegionState) {
        state.pending = std::mem::take(&mut self.guard.pending);
        *self.guard = state;
    }

    /// Hands what changed to the committer: the ticket its commit resolves (`None` in memory).
    /// An error means nothing of it will be on disk.
    fn commit(&mut self) -> Result<Option<Arc<commits::Ticket>>, String> {
        if self.region.shared.is_none() {
            return Err("internal error: a read changed the state of an unknown region".into());
        }
        match self.region.committer() {
            Some(_) if self.guard.unreadable => {
                Err("the state could not be read back from the data directory".into())
            }
            Some(committer) => committer.request(self).map(Some),
            None => {
                self.guard.forget_changes();
                Ok(None)
            }
        }
    }

    /// Puts the region back to its last committed state.
    fn reload(&mut self) {
        let scope = &self.region.scope;
        let restored = match self.region.persistence() {
            Some(persistence) => persistence.load_region(scope),
            None => Ok(RegionState::default()),
        };
        match restored {
            Ok(state) => *self.guard = state,
            Err(e) => {
                tracing::error!(account = %scope.account, region = %scope.region, "cannot read the state back: {e}; the region refuses writes until it can");
                *self.guard = RegionState {
                    unreadable: true,
                    ..RegionState::default()
                };
            }
        }
    }
}

impl Drop for RegionGuard<'_> {
    fn drop(&mut self) {
        packing::install(&self.region.handoff, &mut self.guard);
        let marked = self.guard.dirty.any() || !self.guard.jobs.dirty.is_empty();
        if !self.mutated || !marked {
            // Nothing changed here: what was read is answered once it is committed.
            if let Some(ticket) = self.guard.pending.latest() {
                commits::record_seen(ticket);
            }
            return;
        }
        // Packed once the lock is released (`packing`).
        self.after.encodings = packing::snapshot_finished(&mut self.guard);
        match self.commit() {
            Ok(Some(ticket)) => commits::record_own(&ticket),
            Ok(None) => {}
            Err(e) => self.fail(&e),
        }
    }
}

impl RegionGuard<'_> {
    /// A change that cannot be committed (the committer was never asked): rolled back at once.
    fn fail(&mut self, e: &str) {
        let scope = &self.region.scope;
        tracing::error!(account = %scope.account, region = %scope.region, "could not persist state, change rolled back: {e}");
        commits::record_failure(e);
        self.reload();
        self.region.schedule_resume();
    }
}

/// What changed in a region since it was last persisted.
#[derive(Debug, Default)]
pub struct Dirty {
    /// Rewrite the whole region (after a reset or an import).
    pub all: bool,
    /// Pipelines whose record (metadata, runtime, touched executions) changed.
    pub pipelines: BTreeSet<String>,
    /// Pipelines that got a new version.
    pub versions: BTreeSet<String>,
    /// The database rows (`PipelineRecord::row`) of pipelines deleted.
    pub deleted_pipelines: BTreeSet<i64>,
    pub action_types: BTreeSet<String>,
    pub webhooks: BTreeSet<String>,
}

impl Dirty {
    pub fn any(&self) -> bool {
        self.all
            || !self.pipelines.is_empty()
            || !self.versions.is_empty()
            || !self.deleted_pipelines.is_empty()
            || !self.action_types.is_empty()
            || !self.webhooks.is_empty()
    }
}

impl RegionState {
    /// Removes a pipeline, marking its rows (if it has any) for deletion.
    pub fn remove_pipeline(&mut self, name: &str) -> Option<Box<PipelineRecord>> {
        let record = self.pipelines.remove(name)?;
        if record.row > 0 {
            self.dirty.deleted_pipelines.insert(record.row);
        }
        self.dirty.pipelines.remove(name);
        self.dirty.versions.remove(name);
        Some(record)
    }

    /// Marks a pipeline's record as changed.
    pub fn touch_pipeline(&mut self, name: &str) {
        if !self.dirty.pipelines.contains(name) {
            self.dirty.pipelines.insert(name.to_string());
        }
    }

    /// Drops the change marks (when nothing is persisted).
    fn forget_changes(&mut self) {
        for name in std::mem::take(&mut self.dirty.pipelines) {
            if let Some(record) = self.pipelines.get_mut(&name) {
                record.runtime.touched.clear();
                record.runtime.trimmed.clear();
            }
        }
        self.dirty = Dirty::default();
        self.jobs.dirty.clear();
    }
}

/// The AWS partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The state of one account and region.
#[derive(Default, Serialize, Deserialize)]
pub struct RegionState {
    /// Boxed records: a B-tree node has 11 slots, a slot holds a pointer, not a record.
    pub pipelines: BTreeMap<String, Box<PipelineRecord>>,
    /// Custom and ThirdParty action types, by `action_type_key`.
    pub action_types: BTreeMap<String, RegisteredActionType>,
    /// Keys of deleted custom action types: they cannot be created again.
    #[serde(default)]
    pub retired_action_types: BTreeSet<String>,
    pub webhooks: BTreeMap<String, WebhookRecord>,
    pub jobs: crate::jobs::JobBoard,
    /// What changed since the state was last persisted.
    #[serde(skip)]
    pub dirty: Dirty,
    /// A rollback could not read the committed state back: the state is empty and refuses
    /// writes until a later lock reads it back.
    #[serde(skip)]
    unreadable: bool,
    /// Commits of this state that are not resolved yet.
    #[serde(skip)]
    pending: Pending,
}
