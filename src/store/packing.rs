//! Packing finished executions outside the region's lock.
//!
//! Encoding and compressing a finished execution (`store::packed`) costs more than the rest of
//! its last step, and every request of the region waits while the lock is held. So the lock's
//! holder only takes a snapshot of what finished under it (`snapshot_finished`, when its guard
//! is dropped: the records are reference-counted, so this copies no record) and gives each
//! execution a ticket; the encoding and compression run once the lock is released
//! (`AfterUnlock`), and the blobs wait in the region's `Handoff` until the lock is taken
//! again: by the same thread at once if the lock is free, or else by whoever holds it, when
//! its guard is dropped (`install`). Meanwhile the live records stay and are read as before.
//!
//! A change to the execution in between (`PipelineRuntime::touch`, `unpack`: every change to
//! an execution marks it for persistence or unpacks it first) voids its ticket, and copies
//! the changed record rather than change the snapshot: the blob made before that change is
//! dropped, and the execution is packed again under the lock if it is still finished. A blob
//! is installed only into the execution it was made from (same ticket), so a deleted and
//! re-created pipeline, a reset or an import gets nothing of it.

use super::packed::{PackedExecution, Snapshot};
use super::{Region, RegionState};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static NEXT_TICKET: AtomicU64 = AtomicU64::new(1);

/// A finished execution's records taken under the lock, to be packed after it.
pub(super) struct Encoding {
    pipeline: String,
    seq: u64,
    ticket: u64,
    snapshot: Snapshot,
}

/// The ticket of a packing under way off the region's lock; 0 when there is none or a change
/// voided it. Atomic, so that voiding it does not copy a record that the packing still reads.
#[derive(Debug, Default)]
pub struct PackTicket(AtomicU64);

impl Clone for PackTicket {
    fn clone(&self) -> Self {
        PackTicket(AtomicU64::new(self.get()))
    }
}

impl PackTicket {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, ticket: u64) {
        self.0.store(ticket, Ordering::Relaxed);
    }

    pub fn void(&self) {
        self.set(0);
    }
}

/// An execution compressed off the lock, to be installed under it.
struct Compressed {
    pipeline: String,
    seq: u64,
    ticket: u64,
    packed: PackedExecution,
}

/// A region's blobs waiting for its lock.
#[derive(Default)]
pub(super) struct Handoff {
    waiting: AtomicBool,
    blobs: Mutex<Vec<Compressed>>,
}

/// Under the lock: the snapshots of the executions of the changed pipelines that finished since
/// the lock was last released, each with a new ticket.
pub(super) fn snapshot_finished(state: &mut RegionState) -> Vec<Encoding> {
    let mut encodings = Vec::new();
    let RegionState {
        pipelines, dirty, ..
    } = state;
    for name in &dirty.pipelines {
        let Some(record) = pipelines.get_mut(name) else {
            continue;
        };
        let runtime = &mut record.runtime;
        for seq in std::mem::take(&mut runtime.to_pack) {
            let Some(snapshot) = runtime.snapshot_finished(seq) else {
                continue;
            };
            let ticket = NEXT_TICKET.fetch_add(1, Ordering::Relaxed);
            snapshot.ticket().set(ticket);
            encodings.push(Encoding {
                pipeline: name.clone(),
                seq,
                ticket,
                snapshot,
            });
        }
    }
    encodings
}

/// Under the lock: installs the blobs compressed since the lock was last taken.
pub(super) fn install(handoff: &Handoff, state: &mut RegionState) {
    if !handoff.waiting.load(Ordering::Acquire) {
        return;
    }
    let blobs = {
        let mut blobs = handoff.blobs.lock();
        handoff.waiting.store(false, Ordering::Release);
        std::mem::take(&mut *blobs)
    };
    for blob in blobs {
        let Some(record) = state.pipelines.get_mut(&blob.pipeline) else {
            continue;
        };
        let runtime = &mut record.runtime;
        match runtime
            .executions
            .get(&blob.seq)
            .map(|e| e.pack_ticket.get())
        {
            Some(ticket) if ticket == blob.ticket => {
                runtime.install_packed(blob.seq, blob.packed);
            }
            // Changed since it was encoded: packed again now if it is still finished.
            Some(0) => runtime.pack(blob.seq),
            // Gone, packed already, or encoded again since.
            _ => {}
        }
    }
}

/// What a region's guard leaves for after its lock is released: it is the guard's last field,
/// dropped after the lock's own guard (fields drop in declaration order).
pub(super) struct AfterUnlock<'a> {
    pub(super) region: &'a Region,
    pub(super) encodings: Vec<Encoding>,
}

impl Drop for AfterUnlock<'_> {
    fn drop(&mut self) {
        super::admission::release(self.region);
        if self.encodings.is_empty() {
            return;
        }
        let mut compressed = Vec::with_capacity(self.encodings.len());
        for encoding in self.encodings.drain(..) {
            let packed = PackedExecution::pack(&encoding.snapshot);
            // The records are the live maps' alone again before a change can need them.
            drop(encoding.snapshot);
            match packed {
                Ok(packed) => compressed.push(Compressed {
                    pipeline: encoding.pipeline,
                    seq: encoding.seq,
                    ticket: encoding.ticket,
                    packed,
                }),
                Err(e) => tracing::error!(
                    pipeline = encoding.pipeline,
                    execution_sequence = encoding.seq,
                    "cannot pack an execution: {e}"
                ),
            }
        }
        let handoff = &self.region.handoff;
        {
            let mut blobs = handoff.blobs.lock();
            blobs.append(&mut compressed);
            handoff.waiting.store(true, Ordering::Release);
        }
        // Installed now if the lock is free; else by its holder, when it lets go.
        if let Some(mut state) = self.region.state.try_lock() {
            install(handoff, &mut state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PipelineDeclaration;
    use crate::protocol::Scope;
    use crate::store::packed::sample_runtime;
    use crate::store::{PipelineRecord, Store};
    use std::sync::Arc;

    /// A pipeline holding the dictionary's sample: one finished execution (sequence 1), two
    /// actions, a rule, waiting to be packed.
    fn finished_pipeline() -> Box<PipelineRecord> {
        let mut record = PipelineRecord::new("arn".into(), PipelineDeclaration::default(), vec![]);
        record.runtime = Box::new(sample_runtime());
        Box::new(record)
    }

    fn scope() -> Scope {
        Scope {
            account: "111111111111".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn a_finished_execution_is_packed_once_the_lock_is_released() {
        let store = Store::open(None).expect("opens");
        let region = store.region(&scope());
        {
            let mut state = region.lock();
            state.pipelines.insert("p".into(), finished_pipeline());
            state.touch_pipeline("p");
            // Still live under the lock that finished it.
            assert_eq!(state.pipelines["p"].runtime.executions.len(), 1);
        }
        let state = region.lock();
        let runtime = &state.pipelines["p"].runtime;
        assert_eq!(runtime.packed.len(), 1);
        assert!(runtime.executions.is_empty() && runtime.action_executions.is_empty());
        assert_eq!(runtime.action_sequences(), vec![1, 2]);
    }

    #[test]
    fn a_change_after_the_snapshot_voids_the_blob_and_the_change_is_packed() {
        let store = Store::open(None).expect("opens");
        let region = store.region(&scope());
        let encodings = stored_and_snapshot(&region);
        assert_eq!(encodings.len(), 1);
        {
            // A change after the snapshot (a late job result, say), marked as every change is.
            let mut state = region.lock();
            let runtime = &mut state.pipelines.get_mut("p").expect("stored").runtime;
            if let Some(execution) = runtime.executions.get_mut(&1).map(Arc::make_mut) {
                execution.status_summary = Some("changed after encoding".into());
            }
            runtime.touch(1);
        }
        // The stale blob is compressed and handed over after the guard let go.
        drop(AfterUnlock {
            region: &region,
            encodings,
        });
        let state = region.lock();
        let runtime = &state.pipelines["p"].runtime;
        assert_eq!(
            runtime.packed.len(),
            1,
            "packed again, from the changed records"
        );
        let execution = runtime.execution_at(1).expect("decodes");
        assert_eq!(
            execution.status_summary.as_deref(),
            Some("changed after encoding")
        );
    }

    #[test]
    fn a_blob_waits_for_the_lock_when_it_is_held() {
        let store = Store::open(None).expect("opens");
        let region = store.region(&scope());
        let encodings = stored_and_snapshot(&region);
        let held = region.lock();
        drop(AfterUnlock {
            region: &region,
            encodings,
        });
        assert_eq!(held.pipelines["p"].runtime.packed.len(), 0);
        drop(held);
        // The holder installed it when it let go.
        let state = region.lock();
        assert_eq!(state.pipelines["p"].runtime.packed.len(), 1);
    }

    /// Stores the finished pipeline `p` and takes the snapshot its guard would take.
    fn stored_and_snapshot(region: &Region) -> Vec<Encoding> {
        let mut state = region.lock();
        state.pipelines.insert("p".into(), finished_pipeline());
        state.touch_pipeline("p");
        snapshot_finished(&mut state)
    }
}
