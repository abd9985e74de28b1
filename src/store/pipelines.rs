//! A pipeline as stored: every version of its declaration, its metadata and tags, and the
//! runtime state of its executions.

use crate::model::{PipelineDeclaration, Tag, Timestamp};
use crate::store::runtime::PipelineRuntime;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A pipeline always has at least one version: the latest is held apart from the older ones,
/// so no state (loaded or imported) can lack it.
#[derive(Debug, Deserialize)]
#[serde(try_from = "PipelineDocument")]
pub struct PipelineRecord {
    pub arn: String,
    /// Versions 1 to N-1, oldest first.
    older: Vec<Arc<PipelineDeclaration>>,
    /// Version N.
    latest: Arc<PipelineDeclaration>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub tags: Vec<Tag>,
    pub runtime: PipelineRuntime,
}

/// The record's document form (state export and import): every version in one list, oldest
/// first.
#[derive(Serialize, Deserialize)]
struct PipelineDocument<V = Vec<Arc<PipelineDeclaration>>, R = PipelineRuntime> {
    arn: String,
    versions: V,
    created: Timestamp,
    updated: Timestamp,
    tags: Vec<Tag>,
    #[serde(default)]
    runtime: R,
}

impl TryFrom<PipelineDocument> for PipelineRecord {
    type Error = String;
    fn try_from(doc: PipelineDocument) -> Result<Self, String> {
        let mut versions = doc.versions;
        let latest = versions
            .pop()
            .ok_or_else(|| format!("pipeline {} has no versions", doc.arn))?;
        let mut record = PipelineRecord {
            arn: doc.arn,
            older: versions,
            latest,
            created: doc.created,
            updated: doc.updated,
            tags: doc.tags,
            runtime: doc.runtime,
        };
        record.share_declarations();
        Ok(record)
    }
}

impl Serialize for PipelineRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PipelineDocument {
            arn: self.arn.clone(),
            versions: self.versions().collect::<Vec<_>>(),
            created: self.created,
            updated: self.updated,
            tags: self.tags.clone(),
            runtime: &self.runtime,
        }
        .serialize(serializer)
    }
}

impl PipelineRecord {
    pub fn new(arn: String, declaration: PipelineDeclaration, tags: Vec<Tag>) -> Self {
        let now = Timestamp::now();
        PipelineRecord {
            arn,
            older: Vec::new(),
            latest: Arc::new(declaration),
            created: now,
            updated: now,
            tags,
            runtime: PipelineRuntime::default(),
        }
    }

    /// A record from its stored versions (oldest first); `None` when there is none.
    pub fn from_versions(
        arn: String,
        mut versions: Vec<Arc<PipelineDeclaration>>,
        created: Timestamp,
        updated: Timestamp,
        tags: Vec<Tag>,
        runtime: PipelineRuntime,
    ) -> Option<Self> {
        let latest = versions.pop()?;
        Some(PipelineRecord {
            arn,
            older: versions,
            latest,
            created,
            updated,
            tags,
            runtime,
        })
    }

    /// The latest version of the declaration.
    pub fn current(&self) -> &Arc<PipelineDeclaration> {
        &self.latest
    }

    /// Makes `declaration` the latest version.
    pub fn push_version(&mut self, declaration: Arc<PipelineDeclaration>) {
        let previous = std::mem::replace(&mut self.latest, declaration);
        self.older.push(previous);
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = &Arc<PipelineDeclaration>> {
        self.older.iter().chain(std::iter::once(&self.latest))
    }

    pub fn version(&self) -> i64 {
        self.older.len() as i64 + 1
    }

    /// A given version, if it exists.
    /// Executions read back (an import) each hold a copy of the declaration they ran: the
    /// version's, when equal, is shared instead.
    fn share_declarations(&mut self) {
        for execution in self.runtime.executions.values_mut() {
            let version = match execution.pipeline_version {
                v if v < 1 => None,
                v if v == self.older.len() as i64 + 1 => Some(&self.latest),
                v => self.older.get((v - 1) as usize),
            };
            if let Some(version) = version {
                if **version == *execution.declaration {
                    execution.declaration = version.clone();
                }
            }
        }
    }

    pub fn at_version(&self, version: i64) -> Option<&Arc<PipelineDeclaration>> {
        match version {
            v if v < 1 => None,
            v if v == self.version() => Some(&self.latest),
            v => self.older.get((v - 1) as usize),
        }
    }
}
