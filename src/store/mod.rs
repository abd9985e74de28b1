//! All state, scoped by (account, region) as AWS scopes it: the same pipeline name in two
//! regions is two pipelines. Each region's state sits behind one mutex; handlers and the engine
//! hold it only for short, non-blocking sections.
//!
//! With a data directory, what changed under the lock is written to SQLite when the lock is
//! released (`RegionGuard`'s drop), before any answer goes out: an acknowledged write is on disk.
//! Changes are tracked in `RegionState::dirty` (and `PipelineRuntime::touched`).

mod action_types;
pub mod persistence;
mod pipelines;
mod webhooks;

pub use action_types::{action_type_key, RegisteredActionType};
pub use pipelines::PipelineRecord;
pub use webhooks::WebhookRecord;

use crate::protocol::Scope;
use dashmap::DashMap;
use parking_lot::{Mutex, MutexGuard};
use persistence::Persistence;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Every account and region's state.
#[derive(Default)]
pub struct Store {
    regions: DashMap<Scope, Arc<Region>>,
    persistence: Option<Arc<Persistence>>,
}

impl Store {
    /// A store that keeps its state in `persistence` (loaded from it first), or only in memory.
    pub fn open(persistence: Option<Persistence>) -> Result<Store, String> {
        let persistence = persistence.map(Arc::new);
        let store = Store {
            regions: DashMap::new(),
            persistence: persistence.clone(),
        };
        if let Some(persistence) = &persistence {
            for (scope, state) in persistence.load()? {
                store.regions.insert(
                    scope.clone(),
                    Arc::new(Region {
                        scope,
                        state: Mutex::new(state),
                        persistence: Some(persistence.clone()),
                    }),
                );
            }
        }
        Ok(store)
    }

    /// The state of one account and region, created empty on first use.
    pub fn region(&self, scope: &Scope) -> Arc<Region> {
        if let Some(region) = self.regions.get(scope) {
            return region.clone();
        }
        self.regions
            .entry(scope.clone())
            .or_insert_with(|| {
                Arc::new(Region {
                    scope: scope.clone(),
                    state: Mutex::new(RegionState::default()),
                    persistence: self.persistence.clone(),
                })
            })
            .clone()
    }

    /// The regions that hold state.
    pub fn regions(&self) -> Vec<Arc<Region>> {
        self.regions.iter().map(|r| r.value().clone()).collect()
    }

    /// Empties one account and region (admin reset). Whoever still holds its `Region` sees the
    /// empty state; timers of its old executions find nothing and do nothing.
    pub fn reset(&self, scope: &Scope) {
        if let Some((_, region)) = self.regions.remove(scope) {
            let mut state = region.lock();
            *state = RegionState::default();
            // Persisted: the region's rows are deleted.
            state.dirty.all = true;
        }
    }

    /// Empties every account and region (admin reset).
    pub fn reset_all(&self) {
        let scopes: Vec<Scope> = self.regions.iter().map(|r| r.key().clone()).collect();
        for scope in &scopes {
            self.reset(scope);
        }
    }

    /// Replaces the state of one account and region (admin import) and returns the region; the
    /// caller resumes its executions (`engine::resume`).
    pub fn replace(&self, scope: &Scope, state: RegionState) -> Arc<Region> {
        let region = self.region(scope);
        {
            let mut guard = region.lock();
            *guard = state;
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
    persistence: Option<Arc<Persistence>>,
}

impl Region {
    /// Locks the region's state; what changes is persisted when the guard is dropped.
    pub fn lock(&self) -> RegionGuard<'_> {
        RegionGuard {
            region: self,
            guard: self.state.lock(),
        }
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
}

/// Exclusive access to a region's state. Dropping it writes the changes (see the module doc).
pub struct RegionGuard<'a> {
    region: &'a Region,
    guard: MutexGuard<'a, RegionState>,
}

impl Deref for RegionGuard<'_> {
    type Target = RegionState;
    fn deref(&self) -> &RegionState {
        &self.guard
    }
}

impl DerefMut for RegionGuard<'_> {
    fn deref_mut(&mut self) -> &mut RegionState {
        &mut self.guard
    }
}

impl Drop for RegionGuard<'_> {
    fn drop(&mut self) {
        if !self.guard.dirty.any() && self.guard.jobs.dirty.is_empty() {
            return;
        }
        match &self.region.persistence {
            Some(persistence) => {
                if let Err(e) = persistence.flush(&self.region.scope, &mut self.guard) {
                    tracing::error!(account = %self.region.scope.account, region = %self.region.scope.region, "could not persist state: {e}");
                }
            }
            None => self.guard.forget_changes(),
        }
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
    /// Pipelines deleted (their rows go before anything of the same name is written).
    pub deleted_pipelines: BTreeSet<String>,
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
    pub pipelines: BTreeMap<String, PipelineRecord>,
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
}
