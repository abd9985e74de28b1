//! Packed finished executions. Once an execution is finished (and the change that finished it
//! was handed to persistence), its execution record, action executions and rule executions
//! become one blob: their MessagePack (without the declaration, which the packed form shares as
//! an `Arc`), zstd-compressed (`codec`) against a dictionary of the records' usual text. Reads decode it; a change (RetryStageExecution, a late job result) unpacks it first.
//! The live maps of `PipelineRuntime` hold only unpacked records; `packed_actions` and
//! `packed_rules` say which packed execution holds an action or rule execution.

use crate::model::{PipelineDeclaration, RuleExecutionStatus};
use crate::store::runtime::{
    ActionExecutionRecord, PackTicket, PipelineExecutionRecord, PipelineRuntime,
    RuleExecutionRecord,
};
use litemap::LiteMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A finished execution with its action and rule executions, packed.
#[derive(Debug)]
pub struct PackedExecution {
    /// Unique in the process: the key of the decoded-groups cache.
    id: u64,
    declaration: Arc<PipelineDeclaration>,
    blob: Box<[u8]>,
}

static NEXT_PACKED_ID: AtomicU64 = AtomicU64::new(1);

/// How many decoded groups each thread keeps: one GetPipelineState reads a stage's latest
/// execution and each of its actions' latest action executions, mostly from the same one or two
/// packed executions, so a few decoded groups spare most decoding.
const RECENTLY_DECODED: usize = 8;

thread_local! {
    static DECODED: RefCell<VecDeque<(u64, Rc<Group>)>> = const { RefCell::new(VecDeque::new()) };
}

#[derive(Serialize)]
struct GroupRef<'a> {
    execution: &'a PipelineExecutionRecord,
    actions: Vec<&'a ActionExecutionRecord>,
    rules: Vec<&'a RuleExecutionRecord>,
}

thread_local! {
    /// Set while `encode` runs on this thread: the execution's declaration is left out.
    static ENCODING: Cell<bool> = const { Cell::new(false) };
}

/// Whether an execution's declaration is left out of what is being serialized: it is, from a
/// packed blob (the packed execution keeps the `Arc`), and from nothing else.
pub fn leaves_out(_declaration: &Arc<PipelineDeclaration>) -> bool {
    ENCODING.with(Cell::get)
}

/// A group's bytes: MessagePack with field names (the records skip absent optional fields,
/// so their encoding must name what it holds), several times faster to read and write than
/// their JSON.
fn encode(group: &GroupRef) -> Result<Vec<u8>, String> {
    // About what a group takes, so that the buffer seldom grows while it is written.
    let mut bytes = Vec::with_capacity(1024 + 1536 * (group.actions.len() + group.rules.len()));
    ENCODING.with(|encoding| encoding.set(true));
    let written = rmp_serde::encode::write_named(&mut bytes, group);
    ENCODING.with(|encoding| encoding.set(false));
    written.map_err(|e| e.to_string())?;
    Ok(bytes)
}

pub use super::dictionary::dictionary;

/// A decoded group's packed encoding (the dictionary's training samples).
#[cfg(test)]
pub(crate) fn encode_group(group: &Group) -> Result<Vec<u8>, String> {
    encode(&GroupRef {
        execution: &group.execution,
        actions: group.actions.iter().collect(),
        rules: group.rules.iter().collect(),
    })
}

/// An execution unpacked.
#[derive(Deserialize)]
pub struct Group {
    pub execution: PipelineExecutionRecord,
    pub actions: Vec<ActionExecutionRecord>,
    pub rules: Vec<RuleExecutionRecord>,
}

/// A finished execution's records, shared with the live maps (they are reference-counted: a
/// change to one meanwhile copies it), to be packed or persisted without the region's lock.
#[derive(Debug)]
pub struct Snapshot {
    execution: Arc<PipelineExecutionRecord>,
    actions: Vec<Arc<ActionExecutionRecord>>,
    rules: Vec<Arc<RuleExecutionRecord>>,
}

impl Snapshot {
    /// The execution's packing ticket (`store::packing`).
    pub fn ticket(&self) -> &PackTicket {
        &self.execution.pack_ticket
    }

    /// The declaration the execution ran.
    pub fn declaration(&self) -> &Arc<PipelineDeclaration> {
        &self.execution.declaration
    }

    /// The records encoded and compressed as a packed execution's blob is.
    pub fn compress(&self) -> Result<Vec<u8>, String> {
        let bytes = encode(&GroupRef {
            execution: &self.execution,
            actions: self.actions.iter().map(|a| &**a).collect(),
            rules: self.rules.iter().map(|r| &**r).collect(),
        })?;
        super::codec::compress(&bytes, dictionary())
    }
}

/// The records of a blob that `Snapshot::compress` made with `dictionary` (this process's or
/// an earlier one's), without their declaration (a default one stands in).
pub fn decompress(blob: &[u8], dictionary: &[u8]) -> Result<Group, String> {
    let bytes = super::codec::decompress(blob, dictionary)?;
    rmp_serde::from_slice(&bytes).map_err(|e| e.to_string())
}

impl PackedExecution {
    /// Encodes and compresses a finished execution's records (the costly part of packing:
    /// `store::packing` does it outside the region's lock).
    pub fn pack(snapshot: &Snapshot) -> Result<Self, String> {
        Ok(PackedExecution {
            id: NEXT_PACKED_ID.fetch_add(1, Ordering::Relaxed),
            declaration: snapshot.execution.declaration.clone(),
            blob: snapshot.compress()?.into_boxed_slice(),
        })
    }

    pub(super) fn group(&self) -> Result<Group, String> {
        let mut group = decompress(&self.blob, dictionary())?;
        group.execution.declaration = self.declaration.clone();
        Ok(group)
    }

    /// The compressed records (`Snapshot::compress`).
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// The declaration the execution ran.
    pub fn declaration(&self) -> &Arc<PipelineDeclaration> {
        &self.declaration
    }

    /// The decoded group, from this thread's cache of recently decoded ones when it is there.
    fn decoded(&self) -> Result<Rc<Group>, String> {
        let cached = DECODED.with(|cache| {
            cache.try_borrow().ok().and_then(|c| {
                c.iter()
                    .find(|(id, _)| *id == self.id)
                    .map(|(_, g)| g.clone())
            })
        });
        if let Some(group) = cached {
            return Ok(group);
        }
        let group = Rc::new(self.group()?);
        DECODED.with(|cache| {
            if let Ok(mut cache) = cache.try_borrow_mut() {
                if cache.len() == RECENTLY_DECODED {
                    cache.pop_back();
                }
                cache.push_front((self.id, group.clone()));
            }
        });
        Ok(group)
    }

    fn execution(&self) -> Result<PipelineExecutionRecord, String> {
        Ok(self.decoded()?.execution.clone())
    }

    /// Bytes held by the blob.
    pub fn size(&self) -> usize {
        self.blob.len()
    }
}

/// A record that cannot be decoded is reported and treated as absent (the caller answers with
/// its not-found error).
fn decoded<T>(seq: u64, result: Result<T, String>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            tracing::error!(
                execution_sequence = seq,
                "cannot decode a packed execution: {e}"
            );
            None
        }
    }
}

impl PipelineRuntime {
    /// Packs the executions that finished since the last call (see the module doc).
    pub fn pack_finished(&mut self) {
        for seq in std::mem::take(&mut self.to_pack) {
            self.pack(seq);
        }
    }

    /// Packs every finished execution (after state was loaded or imported).
    pub fn pack_all_finished(&mut self) {
        let finished: Vec<u64> = self
            .executions
            .iter()
            .filter(|(_, e)| !e.is_active())
            .map(|(seq, _)| *seq)
            .collect();
        self.to_pack.clear();
        for seq in finished {
            self.pack(seq);
        }
    }

    /// Packs a finished execution now (under the lock; `store::packing` does the compression
    /// off it in the usual case).
    pub(super) fn pack(&mut self, seq: u64) {
        let Some(snapshot) = self.snapshot_finished(seq) else {
            return;
        };
        let packed = PackedExecution::pack(&snapshot);
        drop(snapshot);
        match packed {
            Ok(packed) => self.install_packed(seq, packed),
            Err(e) => tracing::error!(execution_sequence = seq, "cannot pack an execution: {e}"),
        }
    }

    /// A finished execution's records; `None` while it or one of its actions or rules still
    /// runs.
    pub(super) fn snapshot_finished(&self, seq: u64) -> Option<Snapshot> {
        let execution = self.executions.get(&seq)?;
        if execution.is_active() {
            return None;
        }
        let finished = execution.action_sequences.iter().all(|s| {
            self.action_executions
                .get(s)
                .is_some_and(|a| a.is_finished())
        }) && execution.rule_sequences.iter().all(|s| {
            self.rule_executions
                .get(s)
                .is_some_and(|r| r.status != RuleExecutionStatus::InProgress)
        });
        if !finished {
            return None;
        }
        self.live_snapshot(seq)
    }

    /// A live execution's records, finished or not (`None` when it is packed or unknown).
    pub fn live_snapshot(&self, seq: u64) -> Option<Snapshot> {
        let execution = self.executions.get(&seq)?;
        Some(Snapshot {
            execution: execution.clone(),
            actions: execution
                .action_sequences
                .iter()
                .filter_map(|s| self.action_executions.get(s).cloned())
                .collect(),
            rules: execution
                .rule_sequences
                .iter()
                .filter_map(|s| self.rule_executions.get(s).cloned())
                .collect(),
        })
    }

    /// Replaces a finished execution's live records with its packed form, made from them.
    pub(super) fn install_packed(&mut self, seq: u64, packed: PackedExecution) {
        let Some(execution) = self.executions.remove(&seq) else {
            return;
        };
        for s in &execution.action_sequences {
            self.action_executions.remove(s);
            self.packed_actions.insert(*s, seq);
        }
        for s in &execution.rule_sequences {
            self.rule_executions.remove(s);
            self.packed_rules.insert(*s, seq);
        }
        self.packed.insert(seq, packed);
        // An emptied BTreeMap keeps its root node (11 slots); a small LiteMap keeps its spare
        // capacity.
        if self.executions.is_empty() {
            self.executions = BTreeMap::new();
        }
        if self.action_executions.is_empty() {
            self.action_executions = BTreeMap::new();
        }
        if self.rule_executions.is_empty() {
            self.rule_executions = BTreeMap::new();
        }
        if self.packed.len() < 16 {
            self.packed = shrunk(std::mem::take(&mut self.packed));
            self.packed_actions = shrunk(std::mem::take(&mut self.packed_actions));
            self.packed_rules = shrunk(std::mem::take(&mut self.packed_rules));
        }
        if self.execution_ids.len() < 16 {
            self.execution_ids.shrink();
            self.action_execution_ids.shrink();
            self.client_tokens = shrunk(std::mem::take(&mut self.client_tokens));
        }
    }

    /// Moves a packed execution back into the live maps; `false` when it cannot be decoded.
    pub fn unpack(&mut self, seq: u64) -> bool {
        let Some(packed) = self.packed.get(&seq) else {
            // Live, maybe being packed off the lock: it changes now, so that packing is void.
            return match self.executions.get(&seq) {
                Some(execution) => {
                    execution.pack_ticket.void();
                    true
                }
                None => false,
            };
        };
        let Some(group) = decoded(seq, packed.group()) else {
            return false;
        };
        self.packed.remove(&seq);
        // Packed again when the region's lock is next released with this pipeline changed.
        self.to_pack.push(seq);
        for action in group.actions {
            self.packed_actions.remove(&action.sequence);
            self.action_executions
                .insert(action.sequence, Arc::new(action));
        }
        for rule in group.rules {
            self.packed_rules.remove(&rule.sequence);
            self.rule_executions.insert(rule.sequence, Arc::new(rule));
        }
        self.executions.insert(seq, Arc::new(group.execution));
        true
    }

    /// Removes an execution with its action and rule executions, packed or not.
    pub fn remove_execution(&mut self, seq: u64) -> Option<Group> {
        if self.packed.contains_key(&seq) && !self.unpack(seq) {
            // Undecodable: drop what is known of it.
            self.packed.remove(&seq);
            self.packed_actions.retain(|_, owner| *owner != seq);
            self.packed_rules.retain(|_, owner| *owner != seq);
            return None;
        }
        let execution = self.executions.remove(&seq)?;
        let actions = execution
            .action_sequences
            .iter()
            .filter_map(|s| self.action_executions.remove(s))
            .map(Arc::unwrap_or_clone)
            .collect();
        let rules = execution
            .rule_sequences
            .iter()
            .filter_map(|s| self.rule_executions.remove(s))
            .map(Arc::unwrap_or_clone)
            .collect();
        Some(Group {
            execution: Arc::unwrap_or_clone(execution),
            actions,
            rules,
        })
    }

    /// The execution with this sequence number, packed or not.
    pub fn execution_at(&self, seq: u64) -> Option<Cow<'_, PipelineExecutionRecord>> {
        if let Some(execution) = self.executions.get(&seq) {
            return Some(Cow::Borrowed(&**execution));
        }
        let packed = self.packed.get(&seq)?;
        decoded(seq, packed.execution()).map(Cow::Owned)
    }

    /// The action execution with this sequence number, packed or not.
    pub fn action_at(&self, seq: u64) -> Option<Cow<'_, ActionExecutionRecord>> {
        if let Some(action) = self.action_executions.get(&seq) {
            return Some(Cow::Borrowed(&**action));
        }
        let owner = *self.packed_actions.get(&seq)?;
        decoded(owner, self.packed.get(&owner)?.decoded())?
            .actions
            .iter()
            .find(|a| a.sequence == seq)
            .map(|a| Cow::Owned(a.clone()))
    }

    /// The rule execution with this sequence number, packed or not.
    pub fn rule_at(&self, seq: u64) -> Option<Cow<'_, RuleExecutionRecord>> {
        if let Some(rule) = self.rule_executions.get(&seq) {
            return Some(Cow::Borrowed(&**rule));
        }
        let owner = *self.packed_rules.get(&seq)?;
        decoded(owner, self.packed.get(&owner)?.decoded())?
            .rules
            .iter()
            .find(|r| r.sequence == seq)
            .map(|r| Cow::Owned(r.clone()))
    }

    /// The execution and its action and rule executions, packed or not (persistence rows).
    pub fn group_at(&self, seq: u64) -> Option<Group> {
        if let Some(packed) = self.packed.get(&seq) {
            return decoded(seq, packed.group());
        }
        let execution = self.executions.get(&seq)?;
        Some(Group {
            execution: (**execution).clone(),
            actions: execution
                .action_sequences
                .iter()
                .filter_map(|s| self.action_executions.get(s))
                .map(|a| (**a).clone())
                .collect(),
            rules: execution
                .rule_sequences
                .iter()
                .filter_map(|s| self.rule_executions.get(s))
                .map(|r| (**r).clone())
                .collect(),
        })
    }

    /// Sequence numbers of every execution, packed or not, oldest first.
    pub fn execution_sequences(&self) -> Vec<u64> {
        merged(self.executions.keys(), self.packed.keys())
    }

    /// Sequence numbers of every action execution, packed or not, oldest first.
    pub fn action_sequences(&self) -> Vec<u64> {
        merged(self.action_executions.keys(), self.packed_actions.keys())
    }

    /// Sequence numbers of every rule execution, packed or not, oldest first.
    pub fn rule_sequences(&self) -> Vec<u64> {
        merged(self.rule_executions.keys(), self.packed_rules.keys())
    }

    /// How many executions are kept, packed or not.
    pub fn execution_count(&self) -> usize {
        self.executions.len() + self.packed.len()
    }

    /// Bytes held by packed blobs (the memory measurement prints it).
    pub fn packed_bytes(&self) -> usize {
        self.packed.values().map(PackedExecution::size).sum()
    }
}

/// The map with its capacity cut to its length.
fn shrunk<K: Ord, V>(map: LiteMap<K, V>) -> LiteMap<K, V> {
    let mut exact = LiteMap::with_capacity(map.len());
    for (k, v) in map {
        exact.insert(k, v);
    }
    exact
}

fn merged<'a>(a: impl Iterator<Item = &'a u64>, b: impl Iterator<Item = &'a u64>) -> Vec<u64> {
    let mut all: Vec<u64> = a.chain(b).copied().collect();
    all.sort_unstable();
    all
}

#[cfg(test)]
/// A runtime holding the dictionary's sample: one finished execution, two actions, a rule.
pub(super) fn sample_runtime() -> PipelineRuntime {
    let group: Group = serde_json::from_slice(include_bytes!("packed_dictionary.json"))
        .expect("the sample decodes");
    let mut runtime = PipelineRuntime::default();
    let seq = group.execution.sequence;
    for action in group.actions {
        runtime
            .action_execution_ids
            .insert(&format!("action-{}", action.sequence), action.sequence);
        runtime
            .action_executions
            .insert(action.sequence, Arc::new(action));
    }
    for rule in group.rules {
        runtime
            .rule_executions
            .insert(rule.sequence, Arc::new(rule));
    }
    runtime.execution_ids.insert(&group.execution.id, seq);
    runtime.executions.insert(seq, Arc::new(group.execution));
    runtime.to_pack.push(seq);
    runtime
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::sample_runtime as sample;

    fn export(runtime: &PipelineRuntime) -> serde_json::Value {
        serde_json::to_value(runtime).expect("serializes")
    }

    #[test]
    fn a_packed_execution_reads_and_exports_as_before() {
        let mut runtime = sample();
        let before = export(&runtime);
        let execution = serde_json::to_value(runtime.execution_at(1)).expect("serializes");
        let action = serde_json::to_value(runtime.action_at(2)).expect("serializes");
        runtime.pack_finished();
        assert_eq!(runtime.packed.len(), 1);
        assert!(runtime.executions.is_empty() && runtime.action_executions.is_empty());
        assert_eq!(export(&runtime), before);
        assert_eq!(
            serde_json::to_value(runtime.execution_at(1)).expect("serializes"),
            execution
        );
        assert_eq!(
            serde_json::to_value(runtime.action_at(2)).expect("serializes"),
            action
        );
        assert_eq!(runtime.execution_sequences(), vec![1]);
        assert_eq!(runtime.action_sequences(), vec![1, 2]);
        // A change unpacks it; it is packed again afterwards.
        let id = before["executions"]["1"]["id"].as_str().unwrap_or_default();
        assert!(runtime.execution_mut(id).is_some());
        assert!(runtime.packed.is_empty());
        assert_eq!(export(&runtime), before);
        runtime.pack_finished();
        assert_eq!(runtime.packed.len(), 1);
        let group = runtime.remove_execution(1).expect("decodes");
        assert_eq!(group.actions.len(), 2);
        assert_eq!(runtime.execution_count(), 0);
        assert!(runtime.packed_actions.is_empty());
    }

    #[test]
    fn an_undecodable_blob_reads_as_absent() {
        let mut runtime = sample();
        runtime.pack_finished();
        if let Some(packed) = runtime.packed.get_mut(&1) {
            packed.blob = vec![0xff; 8].into_boxed_slice();
        }
        assert!(runtime.execution_at(1).is_none());
        assert!(runtime.action_at(1).is_none());
        assert!(!runtime.unpack(1));
        assert!(serde_json::to_value(&runtime).is_err());
        assert!(runtime.remove_execution(1).is_none());
        assert_eq!(runtime.execution_count(), 0);
    }
}
