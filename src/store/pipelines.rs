//! A pipeline as stored: every version of its declaration, its metadata and tags, and the
//! runtime state of its executions.

use crate::engine::PipelineRuntime;
use crate::model::{PipelineDeclaration, Tag, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Serialize, Deserialize)]
pub struct PipelineRecord {
    pub arn: String,
    /// Every version, oldest first: version N is `versions[N - 1]`.
    pub versions: Vec<Arc<PipelineDeclaration>>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub runtime: PipelineRuntime,
}

impl PipelineRecord {
    pub fn new(arn: String, declaration: PipelineDeclaration, tags: Vec<Tag>) -> Self {
        let now = Timestamp::now();
        PipelineRecord {
            arn,
            versions: vec![Arc::new(declaration)],
            created: now,
            updated: now,
            tags,
            runtime: PipelineRuntime::default(),
        }
    }

    /// The latest version of the declaration.
    pub fn current(&self) -> &Arc<PipelineDeclaration> {
        self.versions
            .last()
            .expect("a pipeline has at least one version")
    }

    pub fn version(&self) -> i64 {
        self.versions.len() as i64
    }

    /// A given version, if it exists.
    pub fn at_version(&self, version: i64) -> Option<&Arc<PipelineDeclaration>> {
        if version < 1 {
            return None;
        }
        self.versions.get((version - 1) as usize)
    }
}
