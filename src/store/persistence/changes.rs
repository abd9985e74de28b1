//! What a commit writes: the rows of a region's changes (`Dirty`), serialized while the
//! region's lock is held (`collect`), written later with other regions' in one transaction
//! (`Persistence::write`).

use super::{json, Fallible, JobBoardRow};
use super::{ACTION_TYPE, JOB, JOB_BOARD, RETIRED_ACTION_TYPE, WEBHOOK};
use crate::model::{Tag, Timestamp};
use crate::protocol::Scope;
use crate::store::ids::RecordId;
use crate::store::runtime::{
    ActionExecutionRecord, ActionRevisionRecord, PipelineExecutionRecord, RuleExecutionRecord,
    StageTransitions,
};
use crate::store::{Dirty, PipelineRecord, RegionState};
use serde::Serialize;
use std::collections::HashMap;

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

/// `ExecutionRow` as written.
#[derive(Serialize)]
struct ExecutionRowRef<'a> {
    execution: &'a PipelineExecutionRecord,
    actions: Vec<&'a ActionExecutionRecord>,
    rules: Vec<&'a RuleExecutionRecord>,
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
    DeletePipeline {
        name: String,
    },
    Version {
        name: String,
        version: i64,
        data: String,
    },
    Pipeline {
        name: String,
        data: String,
    },
    DeleteExecution {
        pipeline: String,
        seq: i64,
    },
    Execution {
        pipeline: String,
        seq: i64,
        data: String,
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

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Serializes what changed in a region and clears its change marks.
pub fn collect(scope: &Scope, state: &mut RegionState) -> Fallible<Changes> {
    let mut dirty = std::mem::take(&mut state.dirty);
    let mut dirty_jobs = std::mem::take(&mut state.jobs.dirty);
    let mut ops = Vec::new();
    if dirty.all {
        ops.push(Op::ClearRegion);
        dirty = Dirty {
            pipelines: state.pipelines.keys().cloned().collect(),
            action_types: state.action_types.keys().cloned().collect(),
            webhooks: state.webhooks.keys().cloned().collect(),
            ..Dirty::default()
        };
        for (name, record) in state.pipelines.iter_mut() {
            record.runtime.touched = record.runtime.execution_sequences().into_iter().collect();
            record.runtime.trimmed.clear();
            for (i, version) in record.versions().enumerate() {
                ops.push(Op::Version {
                    name: name.clone(),
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
    for name in &dirty.deleted_pipelines {
        ops.push(Op::DeletePipeline { name: name.clone() });
    }
    for name in &dirty.versions {
        if let Some(record) = state.pipelines.get(name) {
            ops.push(Op::Version {
                name: name.clone(),
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
        name: name.to_string(),
        data: serde_json::to_string(&row).map_err(json)?,
    });
    for seq in std::mem::take(&mut runtime.trimmed) {
        ops.push(Op::DeleteExecution {
            pipeline: name.to_string(),
            seq: seq as i64,
        });
    }
    for seq in std::mem::take(&mut runtime.touched) {
        if runtime.packed.contains_key(&seq) {
            // A packed execution is written from its decoded records.
            let Some(group) = runtime.group_at(seq) else {
                return Err(format!(
                    "execution {seq} of pipeline '{name}' cannot be decoded"
                ));
            };
            let row = ExecutionRowRef {
                execution: &group.execution,
                actions: group.actions.iter().collect(),
                rules: group.rules.iter().collect(),
            };
            ops.push(Op::Execution {
                pipeline: name.to_string(),
                seq: seq as i64,
                data: serde_json::to_string(&row).map_err(json)?,
            });
            continue;
        }
        let Some(execution) = runtime.executions.get(&seq) else {
            continue;
        };
        let row = ExecutionRowRef {
            execution,
            actions: execution
                .action_sequences
                .iter()
                .filter_map(|s| runtime.action_executions.get(s))
                .map(|a| &**a)
                .collect(),
            rules: execution
                .rule_sequences
                .iter()
                .filter_map(|s| runtime.rule_executions.get(s))
                .map(|r| &**r)
                .collect(),
        };
        ops.push(Op::Execution {
            pipeline: name.to_string(),
            seq: seq as i64,
            data: serde_json::to_string(&row).map_err(json)?,
        });
    }
    Ok(())
}
