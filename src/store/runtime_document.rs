//! How a pipeline's runtime is serialized (state export, the persistence of a whole runtime):
//! every record, packed or not, in the maps of the unpacked form.

use crate::store::ids::RecordId;
use crate::store::runtime::{
    ActionExecutionRecord, ActionRevisionRecord, PipelineExecutionRecord, PipelineRuntime,
    RuleExecutionRecord, StageTransitions,
};
use litemap::LiteMap;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// `PipelineRuntime` as serialized (state export): every record, packed or not, in the maps of
/// the unpacked form.
#[derive(Serialize)]
struct RuntimeDocument<'a> {
    executions: BTreeMap<u64, Cow<'a, PipelineExecutionRecord>>,
    execution_ids: HashMap<String, u64>,
    next_sequence: u64,
    action_executions: BTreeMap<u64, Cow<'a, ActionExecutionRecord>>,
    action_execution_ids: HashMap<String, u64>,
    next_action_sequence: u64,
    rule_executions: BTreeMap<u64, Cow<'a, RuleExecutionRecord>>,
    next_rule_sequence: u64,
    stage_latest: &'a LiteMap<String, RecordId>,
    action_latest: &'a LiteMap<String, u64>,
    current_revisions: &'a LiteMap<String, ActionRevisionRecord>,
    transitions: &'a LiteMap<String, StageTransitions>,
    client_tokens: HashMap<&'a str, &'a str>,
}

impl Serialize for PipelineRuntime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut executions: BTreeMap<u64, Cow<'_, PipelineExecutionRecord>> = self
            .executions
            .iter()
            .map(|(seq, e)| (*seq, Cow::Borrowed(&**e)))
            .collect();
        let mut action_executions: BTreeMap<u64, Cow<'_, ActionExecutionRecord>> = self
            .action_executions
            .iter()
            .map(|(seq, a)| (*seq, Cow::Borrowed(&**a)))
            .collect();
        let mut rule_executions: BTreeMap<u64, Cow<'_, RuleExecutionRecord>> = self
            .rule_executions
            .iter()
            .map(|(seq, r)| (*seq, Cow::Borrowed(&**r)))
            .collect();
        for (seq, packed) in &self.packed {
            let group = packed
                .group()
                .map_err(|e| serde::ser::Error::custom(format!("packed execution {seq}: {e}")))?;
            executions.insert(*seq, Cow::Owned(group.execution));
            for action in group.actions {
                action_executions.insert(action.sequence, Cow::Owned(action));
            }
            for rule in group.rules {
                rule_executions.insert(rule.sequence, Cow::Owned(rule));
            }
        }
        RuntimeDocument {
            executions,
            execution_ids: self.execution_ids.to_map(),
            next_sequence: self.next_sequence,
            action_executions,
            action_execution_ids: self.action_execution_ids.to_map(),
            next_action_sequence: self.next_action_sequence,
            rule_executions,
            next_rule_sequence: self.next_rule_sequence,
            stage_latest: &self.stage_latest,
            action_latest: &self.action_latest,
            current_revisions: &self.current_revisions,
            transitions: &self.transitions,
            client_tokens: self
                .client_tokens
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
        }
        .serialize(serializer)
    }
}
