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
    /// Versions 1 to N-1, oldest first, encoded (rarely read).
    older: Vec<Older>,
    /// Version N.
    latest: Arc<PipelineDeclaration>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub tags: Vec<Tag>,
    /// Boxed: the map of pipelines holds small records (a B-tree node has 11 slots).
    pub runtime: Box<PipelineRuntime>,
    /// Its id in the data directory's database: 0 until it is first written there.
    pub row: i64,
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

/// An older version of the declaration: its JSON, zstd-compressed, decoded on read (GetPipeline
/// with a version, the configuration of an old action execution, a full rewrite of the data
/// directory, the state export). Executions that ran it share the decoded `Arc` they hold.
#[derive(Debug)]
enum Older {
    Encoded(Box<[u8]>),
    /// Kept as it is when it could not be encoded.
    Plain(Arc<PipelineDeclaration>),
}

impl Older {
    fn new(declaration: Arc<PipelineDeclaration>) -> Self {
        match serde_json::to_vec(&*declaration) {
            Ok(json) => match super::codec::compress_plain(&json) {
                Ok(blob) => Older::Encoded(blob.into()),
                Err(e) => {
                    tracing::error!("cannot encode a pipeline version: {e}");
                    Older::Plain(declaration)
                }
            },
            Err(e) => {
                tracing::error!("cannot encode a pipeline version: {e}");
                Older::Plain(declaration)
            }
        }
    }

    fn decode(&self) -> Result<Arc<PipelineDeclaration>, String> {
        match self {
            Older::Plain(declaration) => Ok(declaration.clone()),
            Older::Encoded(blob) => {
                let json = super::codec::decompress_plain(blob)
                    .map_err(|e| format!("cannot decode a pipeline version: {e}"))?;
                serde_json::from_slice(&json)
                    .map(|mut declaration: PipelineDeclaration| {
                        declaration.shrink_to_fit();
                        Arc::new(declaration)
                    })
                    .map_err(|e| format!("cannot decode a pipeline version: {e}"))
            }
        }
    }
}

/// A declaration parsed from JSON text (a stored version, an imported state) keeps the growth
/// slack of its vectors: dropped, as it is kept for the pipeline's life.
fn fitted(mut declaration: Arc<PipelineDeclaration>) -> Arc<PipelineDeclaration> {
    if let Some(parsed) = Arc::get_mut(&mut declaration) {
        parsed.shrink_to_fit();
    }
    declaration
}

impl TryFrom<PipelineDocument> for PipelineRecord {
    type Error = String;
    fn try_from(doc: PipelineDocument) -> Result<Self, String> {
        let mut versions = doc.versions;
        let latest = versions
            .pop()
            .map(fitted)
            .ok_or_else(|| format!("pipeline {} has no versions", doc.arn))?;
        Ok(PipelineRecord {
            arn: doc.arn,
            older: versions.into_iter().map(Older::new).collect(),
            latest,
            created: doc.created,
            updated: doc.updated,
            tags: doc.tags,
            runtime: Box::new(doc.runtime),
            row: 0,
        })
    }
}

impl Serialize for PipelineRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PipelineDocument {
            arn: self.arn.clone(),
            versions: self
                .versions()
                .collect::<Result<Vec<_>, _>>()
                .map_err(serde::ser::Error::custom)?,
            created: self.created,
            updated: self.updated,
            tags: self.tags.clone(),
            runtime: &self.runtime,
        }
        .serialize(serializer)
    }
}

impl PipelineRecord {
    pub fn new(mut arn: String, declaration: PipelineDeclaration, tags: Vec<Tag>) -> Self {
        let now = Timestamp::now();
        // Kept for the pipeline's life: no spare capacity (`format!` leaves some).
        arn.shrink_to_fit();
        PipelineRecord {
            arn,
            older: Vec::new(),
            latest: Arc::new(declaration),
            created: now,
            updated: now,
            tags,
            runtime: Box::default(),
            row: 0,
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
        let latest = fitted(versions.pop()?);
        Some(PipelineRecord {
            arn,
            older: versions.into_iter().map(Older::new).collect(),
            latest,
            created,
            updated,
            tags,
            runtime: Box::new(runtime),
            row: 0,
        })
    }

    /// The latest version of the declaration.
    pub fn current(&self) -> &Arc<PipelineDeclaration> {
        &self.latest
    }

    /// Makes `declaration` the latest version.
    pub fn push_version(&mut self, declaration: Arc<PipelineDeclaration>) {
        let previous = std::mem::replace(&mut self.latest, declaration);
        self.older.push(Older::new(previous));
    }

    /// Every version, oldest first (older ones decoded).
    pub fn versions(&self) -> impl Iterator<Item = Result<Arc<PipelineDeclaration>, String>> + '_ {
        self.older
            .iter()
            .map(Older::decode)
            .chain(std::iter::once(Ok(self.latest.clone())))
    }

    pub fn version(&self) -> i64 {
        self.older.len() as i64 + 1
    }

    /// Executions read back (loaded or imported) each hold a copy of the declaration they
    /// ran: one copy per version, equal to the version's, is shared instead.
    pub fn share_declarations(&mut self) {
        let mut decoded: std::collections::BTreeMap<i64, Arc<PipelineDeclaration>> =
            Default::default();
        for execution in self.runtime.executions.values_mut().map(Arc::make_mut) {
            let version = execution.pipeline_version;
            let shared = match decoded.get(&version) {
                Some(shared) => Some(shared.clone()),
                None => {
                    let shared = match version {
                        v if v < 1 => None,
                        v if v == self.older.len() as i64 + 1 => Some(self.latest.clone()),
                        // An older version: the first execution's copy is the shared one
                        // when it is equal to the version.
                        v => self
                            .older
                            .get((v - 1) as usize)
                            .and_then(|o| o.decode().ok())
                            .filter(|d| *d == execution.declaration)
                            .map(|_| execution.declaration.clone()),
                    };
                    if let Some(shared) = &shared {
                        decoded.insert(version, shared.clone());
                    }
                    shared
                }
            };
            if let Some(shared) = shared {
                if *shared == *execution.declaration {
                    execution.declaration = shared;
                }
            }
        }
    }

    /// A given version, if it exists (an older one is decoded).
    pub fn at_version(&self, version: i64) -> Option<Arc<PipelineDeclaration>> {
        match version {
            v if v < 1 => None,
            v if v == self.version() => Some(self.latest.clone()),
            v => match self.older.get((v - 1) as usize)?.decode() {
                Ok(declaration) => Some(declaration),
                Err(e) => {
                    tracing::error!(pipeline = %self.arn, version = v, "{e}");
                    None
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn declaration(name: &str) -> serde_json::Value {
        let action = |name: &str| {
            json!({
                "name": name,
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "p"},
                "inputArtifacts": [{"name": "In"}],
                "outputArtifacts": []
            })
        };
        json!({
            "name": name,
            "roleArn": "arn:aws:iam::123456789012:role/r",
            "artifactStore": {
                "type": "S3",
                "location": "bucket",
                "encryptionKey": {"id": "alias/k", "type": "KMS"}
            },
            "stages": [
                {"name": "One", "actions": [action("A")]},
                {
                    "name": "Two",
                    "actions": [action("B"), action("C")],
                    "onFailure": {"result": "RETRY", "retryConfiguration": {"retryMode": "ALL_ACTIONS"}}
                }
            ],
            "version": 1
        })
    }

    fn without_slack(declaration: &PipelineDeclaration) -> bool {
        declaration.stages.capacity() == declaration.stages.len()
            && declaration.stages.iter().all(|stage| {
                stage.actions.capacity() == stage.actions.len()
                    && stage.actions.iter().all(|action| {
                        action
                            .input_artifacts
                            .as_ref()
                            .is_some_and(|inputs| inputs.capacity() == inputs.len())
                    })
            })
    }

    #[test]
    fn a_record_read_from_json_text_keeps_no_growth_slack_in_its_declarations() {
        let text = declaration("p").to_string();
        let parsed: PipelineDeclaration = serde_json::from_str(&text).expect("a declaration");
        assert!(
            !without_slack(&parsed),
            "serde_json leaves slack: the test is moot"
        );

        let now = serde_json::to_value(Timestamp::now()).expect("a timestamp");
        let mut older = declaration("p");
        older["version"] = json!(1);
        let mut latest = declaration("p");
        latest["version"] = json!(2);
        let document = json!({
            "arn": "arn:aws:codepipeline:us-east-1:123456789012:p",
            "versions": [older, latest],
            "created": now,
            "updated": now,
            "tags": []
        });
        let record: PipelineRecord = serde_json::from_str(&document.to_string()).expect("a record");
        assert!(without_slack(record.current()));
        let first = record.at_version(1).expect("version 1");
        assert!(without_slack(&first));
    }

    #[test]
    fn a_declaration_reads_and_writes_the_same_json() {
        let text = declaration("p").to_string();
        let parsed: PipelineDeclaration = serde_json::from_str(&text).expect("a declaration");
        let written = serde_json::to_value(&parsed).expect("json");
        assert_eq!(written, declaration("p"));
    }
}
