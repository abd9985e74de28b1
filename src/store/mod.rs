//! All state, scoped by (account, region) as AWS scopes it: the same pipeline name in two
//! regions is two pipelines. Each region's state sits behind one mutex; handlers and the engine
//! hold it only for short, non-blocking sections.

mod action_types;
mod pipelines;
mod webhooks;

pub use action_types::{action_type_key, RegisteredActionType};
pub use pipelines::PipelineRecord;
pub use webhooks::WebhookRecord;

use crate::protocol::Scope;
use dashmap::DashMap;
use parking_lot::{Mutex, MutexGuard};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Every account and region's state.
#[derive(Default)]
pub struct Store {
    regions: DashMap<Scope, Arc<Region>>,
}

impl Store {
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
                })
            })
            .clone()
    }

    /// The regions that hold state.
    pub fn regions(&self) -> Vec<Arc<Region>> {
        self.regions.iter().map(|r| r.value().clone()).collect()
    }
}

/// One account and region.
pub struct Region {
    pub scope: Scope,
    state: Mutex<RegionState>,
}

impl Region {
    pub fn lock(&self) -> MutexGuard<'_, RegionState> {
        self.state.lock()
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
}
