//! Jobs: how Custom, ThirdParty and worker-mode actions reach job workers. The engine queues a
//! job when such an action starts; workers take it with PollForJobs (or PollForThirdPartyJobs),
//! acknowledge it with its nonce, and report success or failure, which finishes the action.

use crate::model::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Finished jobs kept for answering late results (InvalidJobStateException) per region.
const FINISHED_JOBS_KEPT: usize = 10_000;

/// One job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub sequence: u64,
    pub nonce: String,
    pub status: JobStatus,
    pub account: String,
    pub pipeline: String,
    pub pipeline_execution_id: String,
    pub action_execution_id: String,
    pub stage: String,
    pub action: String,
    pub action_type_id: ActionTypeId,
    /// Served through the ThirdParty job calls (with a client token).
    pub third_party: bool,
    /// ThirdParty jobs: the client id handed out by PollForThirdPartyJobs.
    pub client_id: Option<String>,
    pub data: JobData,
    pub created: Timestamp,
    /// Handed to a Lambda function (Lambda invoke actions, `actions::lambda`) instead
    /// of waiting for PollForJobs.
    #[serde(default)]
    pub lambda: bool,
}

impl JobRecord {
    pub fn is_finished(&self) -> bool {
        matches!(
            self.status,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::TimedOut
        )
    }
}

/// The jobs of one account and region.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(from = "StoredJobBoard")]
pub struct JobBoard {
    pub jobs: HashMap<String, JobRecord>,
    /// Queued jobs, by who polls them. Derived from `jobs`: rebuilt on load and import, never
    /// stored.
    #[serde(skip)]
    pub queued: JobQueues,
    pub next_sequence: u64,
    /// Finished jobs, oldest first, for trimming.
    pub finished: VecDeque<String>,
    /// Jobs changed (or removed) since the state was last persisted.
    #[serde(skip)]
    pub dirty: BTreeSet<String>,
}

/// A job board as exported (older exports also carry a `queue`, which is derived and ignored).
#[derive(Deserialize)]
struct StoredJobBoard {
    jobs: HashMap<String, JobRecord>,
    next_sequence: u64,
    finished: VecDeque<String>,
}

impl From<StoredJobBoard> for JobBoard {
    fn from(stored: StoredJobBoard) -> Self {
        let mut queued = JobQueues::default();
        for job in stored.jobs.values() {
            if job.status == JobStatus::Queued {
                queued.insert(job);
            }
        }
        JobBoard {
            jobs: stored.jobs,
            queued,
            next_sequence: stored.next_sequence,
            finished: stored.finished,
            dirty: BTreeSet::new(),
        }
    }
}

impl JobBoard {
    /// Queues a new job; its sequence number is assigned here.
    pub fn queue(&mut self, mut job: JobRecord) {
        self.next_sequence += 1;
        job.sequence = self.next_sequence;
        if job.lambda {
            // Dispatched to the function at once: never handed to pollers.
            job.status = JobStatus::Dispatched;
        } else {
            job.status = JobStatus::Queued;
            self.queued.insert(&job);
        }
        self.dirty.insert(job.id.clone());
        self.jobs.insert(job.id.clone(), job);
    }

    /// Takes up to `batch` queued jobs of `key` that `wanted` accepts, oldest first, marking
    /// them Dispatched. Reads only the jobs of that queue.
    pub fn take(
        &mut self,
        key: &QueueKey,
        batch: usize,
        wanted: impl Fn(&JobRecord) -> bool,
    ) -> Vec<JobRecord> {
        let Some(queue) = self.queued.by_key.get_mut(key) else {
            return Vec::new();
        };
        let picked_ids: Vec<(u64, String)> = queue
            .iter()
            .filter(|(_, id)| self.jobs.get(*id).is_some_and(&wanted))
            .take(batch)
            .map(|(seq, id)| (*seq, id.clone()))
            .collect();
        let mut picked = Vec::with_capacity(picked_ids.len());
        for (seq, id) in picked_ids {
            queue.remove(&seq);
            if let Some(job) = self.jobs.get_mut(&id) {
                job.status = JobStatus::Dispatched;
                picked.push(job.clone());
            }
            self.dirty.insert(id);
        }
        if queue.is_empty() {
            self.queued.by_key.remove(key);
        }
        picked
    }

    /// Marks a job as changed (for persistence).
    pub fn touch(&mut self, id: &str) {
        self.dirty.insert(id.to_string());
    }

    /// Marks a job finished with `status` and forgets the oldest finished jobs past the cap.
    pub fn finish(&mut self, id: &str, status: JobStatus) {
        if let Some(job) = self.jobs.get_mut(id) {
            self.queued.remove(job);
            job.status = status;
            self.finished.push_back(id.to_string());
            self.dirty.insert(id.to_string());
        }
        while self.finished.len() > FINISHED_JOBS_KEPT {
            if let Some(old) = self.finished.pop_front() {
                self.jobs.remove(&old);
                self.dirty.insert(old);
            }
        }
    }

    /// Forgets every job of a pipeline (when it is deleted).
    pub fn remove_pipeline(&mut self, pipeline: &str) {
        let ids: Vec<String> = self
            .jobs
            .values()
            .filter(|j| j.pipeline == pipeline)
            .map(|j| j.id.clone())
            .collect();
        for id in ids {
            if let Some(job) = self.jobs.remove(&id) {
                self.queued.remove(&job);
            }
            self.dirty.insert(id);
        }
        self.finished.retain(|id| self.jobs.contains_key(id));
    }
}

/// Who polls a queued job: PollForJobs or PollForThirdPartyJobs, for one action type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueKey {
    pub third_party: bool,
    pub category: ActionCategory,
    pub owner: ActionOwner,
    pub provider: String,
    pub version: String,
}

impl QueueKey {
    pub fn new(type_id: &ActionTypeId, third_party: bool) -> Self {
        QueueKey {
            third_party,
            category: type_id.category,
            owner: type_id.owner,
            provider: type_id.provider.clone(),
            version: type_id.version.clone(),
        }
    }

    fn of(job: &JobRecord) -> Self {
        QueueKey::new(&job.action_type_id, job.third_party)
    }
}

/// The queued jobs of a region, one queue per `QueueKey`, each oldest first (by sequence).
#[derive(Debug, Default)]
pub struct JobQueues {
    by_key: HashMap<QueueKey, BTreeMap<u64, String>>,
}

impl JobQueues {
    /// Adds a queued job (loading keeps this index in step with the jobs).
    pub fn insert(&mut self, job: &JobRecord) {
        self.by_key
            .entry(QueueKey::of(job))
            .or_default()
            .insert(job.sequence, job.id.clone());
    }

    /// Removes a job if it is queued.
    fn remove(&mut self, job: &JobRecord) {
        let key = QueueKey::of(job);
        if let Some(queue) = self.by_key.get_mut(&key) {
            queue.remove(&job.sequence);
            if queue.is_empty() {
                self.by_key.remove(&key);
            }
        }
    }
}

/// A job's nonce: AWS documents "a system-generated random number" and shows small ones ("3").
pub fn nonce() -> String {
    use rand::Rng;
    rand::thread_rng().gen_range(1..=999u32).to_string()
}
