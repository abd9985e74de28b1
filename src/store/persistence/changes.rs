//! What a commit writes: the rows of a region's changes (`Dirty`), serialized while the
//! region's lock is held (`collect`), written later with other regions' in one transaction
//! (`Persistence::write`).

use super::stored::Declared;
use super::{json, Fallible, JobBoardRow};
use super::{ACTION_TYPE, JOB, JOB_BOARD, RETIRED_ACTION_TYPE, WEBHOOK};
use crate::model::PipelineDeclaration;
use crate::model::{Tag, Timestamp};
use crate::protocol::Scope;
use crate::store::ids::RecordId;
use crate::store::packed::Snapshot;
use crate::store::runtime::{ActionRevisionRecord, StageTransitions};
use crate::store::{Dirty, PipelineRecord, RegionState};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// `PipelineRow` as written: borrowed from the state, not cloned.
#[derive(Serialize)]
struct PipelineRowRef<'a> {
    arn: &'a str,
    created: Timestamp,
    updated: Timestamp,
    tags: &'a [Tag],
    next_sequence: u64,
    next_action_sequence: u64,
    next_rule_sequence: u64,
    stage_latest: HashMap<&'a str, &'a RecordId>,
    action_latest: HashMap<&'a str, &'a u64>,
    current_revisions: HashMap<&'a str, &'a ActionRevisionRecord>,
    transitions: HashMap<&'a str, &'a StageTransitions>,
    client_tokens: HashMap<&'a str, &'a String>,
}

/// The rows one region's changes write, in order.
#[derive(Debug)]
pub struct Changes {
    pub(super) scope: Scope,
    pub(super) ops: Vec<Op>,
}

/// One row written or deleted.
#[derive(Debug)]
pub(super) enum Op {
    /// Every row of the region goes (a reset or an import rewrites it whole).
    ClearRegion,
    /// A pipeline's rows go, by its row id.
    DeletePipeline {
        row: i64,
    },
    Version {
        row: i64,
        version: i64,
        data: String,
    },
    Pipeline {
        row: i64,
        name: String,
        data: String,
    },
    DeleteExecution {
        row: i64,
        seq: i64,
    },
    Execution {
        row: i64,
        seq: i64,
        /// The declaration it ran: the pipeline's latest version's, or its own.
        declared: Declared<Arc<PipelineDeclaration>>,
        records: Records,
    },
    Item {
        kind: &'static str,
        key: String,
        data: String,
    },
    DeleteItem {
        kind: &'static str,
        key: String,
    },
}

/// An execution's records as collected under the region's lock.
#[derive(Debug)]
pub(super) enum Records {
    /// A packed execution's blob (compressed already), copied.
    Compressed(Vec<u8>),
    /// A live execution's records, shared: compressed after the lock is released.
    Live(Snapshot),
}

impl Records {
    /// The compressed records (`stored`), compressing a live execution's now.
    pub(super) fn compressed(&self) -> Fallible<Cow<'_, [u8]>> {
        match self {
            Records::Compressed(blob) => Ok(Cow::Borrowed(blob)),
            Records::Live(snapshot) => snapshot.compress().map(Cow::Owned),
        }
    }
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Serializes what changed in a region and clears its change marks; a pipeline written for
/// the first time gets its row id from `next_row`.
pub(super) fn collect(
    scope: &Scope,
    state: &mut RegionState,
    next_row: &dyn Fn() -> i64,
) -> Fallible<Changes> {
    let mut dirty = std::mem::take(&mut state.dirty);
    let mut dirty_jobs = std::mem::take(&mut state.jobs.dirty);
    let mut ops = Vec::new();
    let all = dirty.all;
    if all {
        ops.push(Op::ClearRegion);
        dirty = Dirty {
            pipelines: state.pipelines.keys().cloned().collect(),
            action_types: state.action_types.keys().cloned().collect(),
            webhooks: state.webhooks.keys().cloned().collect(),
            ..Dirty::default()
        };
    }
    // A pipeline without a row gets one (a new version comes with its pipeline's row).
    for name in &dirty.versions {
        if !dirty.pipelines.contains(name) {
            dirty.pipelines.insert(name.clone());
        }
    }
    for name in &dirty.pipelines {
        if let Some(record) = state.pipelines.get_mut(name) {
            if record.row == 0 {
                record.row = next_row();
            }
        }
    }
    if all {
        for record in state.pipelines.values_mut() {
            record.runtime.touched = record.runtime.execution_sequences().into_iter().collect();
            record.runtime.trimmed.clear();
            for (i, version) in record.versions().enumerate() {
                ops.push(Op::Version {
                    row: record.row,
                    version: i as i64 + 1,
                    data: serde_json::to_string(&*version?).map_err(json)?,
                });
            }
        }
        for key in &state.retired_action_types {
            ops.push(item(RETIRED_ACTION_TYPE, key, "{}".into()));
        }
        dirty_jobs = state.jobs.jobs.keys().cloned().collect();
    }
    for row in &dirty.deleted_pipelines {
        ops.push(Op::DeletePipeline { row: *row });
    }
    for name in &dirty.versions {
        if let Some(record) = state.pipelines.get(name) {
            ops.push(Op::Version {
                row: record.row,
                version: record.version(),
                data: serde_json::to_string(record.current()).map_err(json)?,
            });
        }
    }
    for name in &dirty.pipelines {
        if let Some(record) = state.pipelines.get_mut(name) {
            pipeline(&mut ops, name, record)?;
        }
    }
    for key in &dirty.action_types {
        ops.push(match state.action_types.get(key) {
            Some(t) => item(ACTION_TYPE, key, serde_json::to_string(t).map_err(json)?),
            None => delete_item(ACTION_TYPE, key),
        });
        if state.retired_action_types.contains(key) {
            ops.push(item(RETIRED_ACTION_TYPE, key, "{}".into()));
        }
    }
    for key in &dirty.webhooks {
        ops.push(match state.webhooks.get(key) {
            Some(w) => item(WEBHOOK, key, serde_json::to_string(w).map_err(json)?),
            None => delete_item(WEBHOOK, key),
        });
    }
    if !dirty_jobs.is_empty() {
        for id in &dirty_jobs {
            ops.push(match state.jobs.jobs.get(id) {
                Some(job) => item(JOB, id, serde_json::to_string(job).map_err(json)?),
                None => delete_item(JOB, id),
            });
        }
        let board = JobBoardRow {
            next_sequence: state.jobs.next_sequence,
        };
        ops.push(item(
            JOB_BOARD,
            "",
            serde_json::to_string(&board).map_err(json)?,
        ));
    }
    Ok(Changes {
        scope: scope.clone(),
        ops,
    })
}

fn item(kind: &'static str, key: &str, data: String) -> Op {
    Op::Item {
        kind,
        key: key.to_string(),
        data,
    }
}

fn delete_item(kind: &'static str, key: &str) -> Op {
    Op::DeleteItem {
        kind,
        key: key.to_string(),
    }
}

/// A pipeline's row and the rows of its touched executions (dropping trimmed ones).
fn pipeline(ops: &mut Vec<Op>, name: &str, record: &mut PipelineRecord) -> Fallible<()> {
    let latest = record.current().clone();
    let latest_version = record.version();
    let runtime = &mut record.runtime;
    let row = PipelineRowRef {
        arn: &record.arn,
        created: record.created,
        updated: record.updated,
        tags: &record.tags,
        next_sequence: runtime.next_sequence,
        next_action_sequence: runtime.next_action_sequence,
        next_rule_sequence: runtime.next_rule_sequence,
        stage_latest: runtime
            .stage_latest
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect(),
        action_latest: runtime
            .action_latest
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect(),
        current_revisions: runtime
            .current_revisions
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect(),
        transitions: runtime
            .transitions
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect(),
        client_tokens: runtime
            .client_tokens
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect(),
    };
    ops.push(Op::Pipeline {
        row: record.row,
        name: name.to_string(),
        data: serde_json::to_string(&row).map_err(json)?,
    });
    for seq in std::mem::take(&mut runtime.trimmed) {
        ops.push(Op::DeleteExecution {
            row: record.row,
            seq: seq as i64,
        });
    }
    // A row names the latest version instead of holding its declaration, the usual case.
    let declared = |declaration: &Arc<PipelineDeclaration>| match Arc::ptr_eq(declaration, &latest)
    {
        true => Declared::Version(latest_version),
        false => Declared::Own(declaration.clone()),
    };
    for seq in std::mem::take(&mut runtime.touched) {
        let (declared, records) = if let Some(packed) = runtime.packed.get(&seq) {
            (
                declared(packed.declaration()),
                Records::Compressed(packed.blob().to_vec()),
            )
        } else if let Some(snapshot) = runtime.live_snapshot(seq) {
            (declared(snapshot.declaration()), Records::Live(snapshot))
        } else {
            continue;
        };
        ops.push(Op::Execution {
            row: record.row,
            seq: seq as i64,
            declared,
            records,
        });
    }
    Ok(())
}
