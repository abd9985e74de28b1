//! The runtime state of a pipeline, in CodePipeline's own words: pipeline executions, the stage
//! executions they made, action executions, transitions and approvals, and the outcome an action
//! ends with. Everything here is plain data (serializable, for persistence); the rules that move
//! it live in `engine`.

use super::ids::{IdIndex, RecordId};
pub use super::packing::PackTicket;
use crate::model::*;
use litemap::LiteMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The runtime state of one pipeline. Finished executions are packed (`store::packed`): the
/// maps of records hold the live ones, `packed` the others; serialized, both are one map.
#[derive(Debug, Default, Deserialize)]
pub struct PipelineRuntime {
    /// Pipeline executions by sequence number (start order).
    pub executions: BTreeMap<u64, Arc<PipelineExecutionRecord>>,
    /// Execution id -> sequence number (a sorted vector, like the other id maps: smaller than
    /// a hash map at the sizes the history cap allows).
    pub execution_ids: IdIndex,
    pub next_sequence: u64,
    /// Action executions by sequence number (start order).
    pub action_executions: BTreeMap<u64, Arc<ActionExecutionRecord>>,
    /// Action execution id -> sequence number.
    pub action_execution_ids: IdIndex,
    pub next_action_sequence: u64,
    /// Rule executions (stage conditions) by sequence number.
    pub rule_executions: BTreeMap<u64, Arc<RuleExecutionRecord>>,
    pub next_rule_sequence: u64,
    /// Per stage name: the execution that entered the stage last. This and the other per-stage
    /// and per-action maps are sorted vectors: a pipeline has a few stages and actions.
    pub stage_latest: LiteMap<String, RecordId>,
    /// Per (stage, action): the latest action execution's sequence number.
    pub action_latest: LiteMap<String, u64>,
    /// Per (stage, action) of source actions: the current revision (PutActionRevision or the
    /// last revision a run picked up).
    pub current_revisions: LiteMap<String, ActionRevisionRecord>,
    /// Transition states by stage name (absent: enabled).
    pub transitions: LiteMap<String, StageTransitions>,
    /// clientRequestToken -> execution id, for idempotent StartPipelineExecution.
    pub client_tokens: LiteMap<String, String>,
    /// Executions changed since the state was last persisted.
    #[serde(skip)]
    pub touched: std::collections::BTreeSet<u64>,
    /// Index of the executions in progress or stopping (derived from their statuses; see
    /// `sync_active` and `rebuild_active`).
    #[serde(skip)]
    pub active: std::collections::BTreeSet<u64>,
    /// Executions dropped from the history since the state was last persisted.
    #[serde(skip)]
    pub trimmed: Vec<u64>,
    /// Finished executions packed with their action and rule executions, by sequence number.
    #[serde(skip)]
    pub packed: LiteMap<u64, super::packed::PackedExecution>,
    /// Action execution sequence number -> the packed execution that holds it.
    #[serde(skip)]
    pub packed_actions: LiteMap<u64, u64>,
    /// Rule execution sequence number -> the packed execution that holds it.
    #[serde(skip)]
    pub packed_rules: LiteMap<u64, u64>,
    /// Executions finished since the region's lock was last released: packed then.
    #[serde(skip)]
    pub to_pack: Vec<u64>,
}

/// `stage/action`, the key of per-action maps.
pub fn action_key(stage: &str, action: &str) -> String {
    format!("{stage}/{action}")
}

impl PipelineRuntime {
    /// Marks an execution as changed (for persistence).
    pub fn touch(&mut self, seq: u64) {
        self.touched.insert(seq);
        // A change voids the packing of the execution under way off the lock, if any.
        if let Some(execution) = self.executions.get(&seq) {
            execution.pack_ticket.void();
        }
    }

    /// The executions in progress or stopping, oldest first.
    pub fn active_executions(
        &self,
    ) -> impl DoubleEndedIterator<Item = (u64, &PipelineExecutionRecord)> {
        self.active
            .iter()
            .filter_map(|seq| self.executions.get(seq).map(|e| (*seq, &**e)))
    }

    /// Keeps the active index in step with an execution's status.
    pub fn sync_active(&mut self, seq: u64) {
        match self.executions.get(&seq) {
            Some(e) if e.is_active() => self.active.insert(seq),
            _ => self.active.remove(&seq),
        };
        if self.active.is_empty() {
            // An emptied BTreeSet keeps its root node.
            self.active = Default::default();
        }
    }

    /// Packs a finished execution and its action executions: vectors and small maps shrink to
    /// their length, and an action's resolved configuration that equals its declared one is not
    /// kept (the API reads it from the declaration, see `ActionExecutionRecord::compact`).
    pub fn compact_finished(&mut self, seq: u64) {
        // The per-stage and per-action maps have reached their size (a new execution replaces
        // entries): shrink them too.
        self.stage_latest = shrunk(std::mem::take(&mut self.stage_latest));
        self.action_latest = shrunk(std::mem::take(&mut self.action_latest));
        self.current_revisions = shrunk(std::mem::take(&mut self.current_revisions));
        let Some(execution) = self.executions.get_mut(&seq).map(Arc::make_mut) else {
            return;
        };
        execution.compact();
        let execution = &*execution;
        for action_seq in &execution.action_sequences {
            if let Some(action) = self
                .action_executions
                .get_mut(action_seq)
                .map(Arc::make_mut)
            {
                if action.is_finished() {
                    action.compact(&execution.declaration);
                }
            }
        }
        self.to_pack.push(seq);
    }

    /// Rebuilds the active index (after state was loaded or imported).
    pub fn rebuild_active(&mut self) {
        self.active = self
            .executions
            .iter()
            .filter(|(_, e)| e.is_active())
            .map(|(seq, _)| *seq)
            .collect();
    }

    /// An execution by id, packed or not.
    pub fn execution(&self, id: &str) -> Option<Cow<'_, PipelineExecutionRecord>> {
        self.execution_at(*self.execution_ids.get(id)?)
    }

    /// A live (unpacked) execution to change. A packing of it under way off the lock keeps
    /// what it read: a change copies the record first if that packing still holds it.
    pub fn live_execution_mut(&mut self, seq: u64) -> Option<&mut PipelineExecutionRecord> {
        self.executions.get_mut(&seq).map(Arc::make_mut)
    }

    /// A live action execution to change (see `live_execution_mut`).
    pub fn live_action_mut(&mut self, seq: u64) -> Option<&mut ActionExecutionRecord> {
        self.action_executions.get_mut(&seq).map(Arc::make_mut)
    }

    /// A live rule execution to change (see `live_execution_mut`).
    pub fn live_rule_mut(&mut self, seq: u64) -> Option<&mut RuleExecutionRecord> {
        self.rule_executions.get_mut(&seq).map(Arc::make_mut)
    }

    /// An execution by id to change (unpacked first).
    pub fn execution_mut(&mut self, id: &str) -> Option<&mut PipelineExecutionRecord> {
        let seq = *self.execution_ids.get(id)?;
        if !self.unpack(seq) {
            return None;
        }
        self.executions.get_mut(&seq).map(Arc::make_mut)
    }

    /// The execution that entered `stage` last, packed or not.
    pub fn latest_in_stage(&self, stage: &str) -> Option<Cow<'_, PipelineExecutionRecord>> {
        let id = self.stage_latest.get(stage)?;
        self.execution_at(*self.execution_ids.get_id(id)?)
    }

    /// An action execution by id, packed or not.
    pub fn action_execution(&self, id: &str) -> Option<Cow<'_, ActionExecutionRecord>> {
        self.action_at(*self.action_execution_ids.get(id)?)
    }

    /// An action execution by id to change (its execution is unpacked first).
    pub fn action_execution_mut(&mut self, id: &str) -> Option<&mut ActionExecutionRecord> {
        let seq = *self.action_execution_ids.get(id)?;
        match self.packed_actions.get(&seq).copied() {
            Some(owner) => {
                if !self.unpack(owner) {
                    return None;
                }
            }
            None => {
                // Live: a packing of its execution under way off the lock is void.
                let owner = self
                    .action_executions
                    .get(&seq)
                    .and_then(|a| self.execution_ids.get(&a.pipeline_execution_id).copied());
                if let Some(owner) = owner {
                    self.unpack(owner);
                }
            }
        }
        self.action_executions.get_mut(&seq).map(Arc::make_mut)
    }

    /// The latest action execution of an action, if it ever ran.
    pub fn latest_action_execution(
        &self,
        stage: &str,
        action: &str,
    ) -> Option<Cow<'_, ActionExecutionRecord>> {
        self.action_at(*self.action_latest.get(&action_key(stage, action))?)
    }

    pub fn transition(&self, stage: &str, kind: StageTransitionType) -> Option<&TransitionRecord> {
        let transitions = self.transitions.get(stage)?;
        match kind {
            StageTransitionType::Inbound => transitions.inbound.as_ref(),
            StageTransitionType::Outbound => transitions.outbound.as_ref(),
        }
    }

    /// Whether a transition lets executions through (transitions start enabled).
    pub fn transition_enabled(&self, stage: &str, kind: StageTransitionType) -> bool {
        self.transition(stage, kind).is_none_or(|t| t.enabled)
    }
}

/// The map with its capacity cut to its length (LiteMap's `collect` grows by doubling).
pub(super) fn shrunk<K: Ord, V>(map: LiteMap<K, V>) -> LiteMap<K, V> {
    let mut exact = LiteMap::with_capacity(map.len());
    for (k, v) in map {
        exact.insert(k, v);
    }
    exact
}

/// A transition's state as DisableStageTransition / EnableStageTransition left it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransitionRecord {
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub last_changed_by: Option<String>,
    pub last_changed_at: Timestamp,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StageTransitions {
    pub inbound: Option<TransitionRecord>,
    pub outbound: Option<TransitionRecord>,
}

/// A revision put by PutActionRevision or picked up by a source action.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionRevisionRecord {
    pub revision_id: String,
    pub revision_change_id: String,
    pub created: Timestamp,
    pub summary: Option<String>,
    /// The branch the revision was pushed to (webhooks and git events).
    #[serde(default)]
    pub branch: Option<String>,
}

/// Where an execution is in its pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Position {
    /// Waiting to enter the stage at this index (a transition is disabled or the stage is
    /// locked by another execution).
    Waiting { stage: usize },
    /// Inside the stage at this index.
    InStage { stage: usize },
    /// Done (succeeded, failed, stopped, superseded or cancelled).
    Finished,
}

/// One pipeline execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineExecutionRecord {
    pub id: String,
    pub sequence: u64,
    pub pipeline_version: i64,
    /// The pipeline as it was when the execution started: it runs that version to the end.
    /// Left out of a packed execution's blob, which shares it (`store::packed`).
    #[serde(default, skip_serializing_if = "super::packed::leaves_out")]
    pub declaration: Arc<PipelineDeclaration>,
    pub status: PipelineExecutionStatus,
    pub status_summary: Option<String>,
    pub start_time: Timestamp,
    pub last_update_time: Timestamp,
    pub trigger: ExecutionTrigger,
    pub execution_mode: ExecutionMode,
    pub execution_type: ExecutionType,
    pub rollback_target: Option<String>,
    /// Pipeline-level variables with their resolved values (V2).
    pub variables: Vec<ResolvedPipelineVariable>,
    /// Source revision overrides from StartPipelineExecution.
    pub source_overrides: Vec<SourceRevisionOverride>,
    /// Revisions this execution was started for (PutActionRevision, webhooks, git triggers),
    /// by source action name.
    pub pinned_revisions: BTreeMap<String, ActionRevisionRecord>,
    /// Revisions picked up by the source actions, one per source output artifact.
    pub artifact_revisions: Vec<ArtifactRevision>,
    /// Per source action: its revision, for ListPipelineExecutions' sourceRevisions.
    pub source_revisions: Vec<SourceRevision>,
    /// Artifacts produced so far, by name.
    pub artifacts: LiteMap<String, ArtifactRecord>,
    /// Output variables of actions with a namespace, by namespace.
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    pub stop: Option<StopRequest>,
    pub position: Position,
    /// Stage executions made by this pipeline execution, by stage name.
    pub stages: LiteMap<String, StageExecutionRecord>,
    /// Only this stage runs (rollback executions).
    pub only_stage: Option<usize>,
    /// Sequence numbers of this execution's action executions (for history trimming).
    pub action_sequences: Vec<u64>,
    /// Sequence numbers of this execution's rule executions.
    pub rule_sequences: Vec<u64>,
    /// Set when the finished execution is being packed off the region's lock
    /// (`store::packing`); a change voids it.
    #[serde(skip)]
    pub pack_ticket: PackTicket,
}

impl PipelineExecutionRecord {
    /// Shrinks vectors and small maps to their length (see `PipelineRuntime::compact_finished`).
    fn compact(&mut self) {
        self.variables.shrink_to_fit();
        self.source_overrides.shrink_to_fit();
        self.artifact_revisions.shrink_to_fit();
        self.source_revisions.shrink_to_fit();
        self.action_sequences.shrink_to_fit();
        self.rule_sequences.shrink_to_fit();
        self.artifacts = shrunk(std::mem::take(&mut self.artifacts));
        let mut stages = shrunk(std::mem::take(&mut self.stages));
        for (_, stage) in stages.iter_mut() {
            stage.actions = shrunk(std::mem::take(&mut stage.actions));
            stage.conditions = shrunk(std::mem::take(&mut stage.conditions));
        }
        self.stages = stages;
    }

    pub fn is_active(&self) -> bool {
        matches!(
            self.status,
            PipelineExecutionStatus::InProgress | PipelineExecutionStatus::Stopping
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StopRequest {
    pub abandon: bool,
    pub reason: Option<String>,
}

/// An artifact produced by an action, stored in the pipeline's artifact store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArtifactRecord {
    pub name: String,
    pub bucket: String,
    pub key: String,
    pub revision: Option<String>,
}

/// What a stage execution is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StagePhase {
    /// Evaluating the beforeEntry conditions.
    BeforeEntry,
    /// Running the actions of one runOrder group (index into the sorted run orders).
    Actions { group: usize },
    /// Evaluating the onSuccess conditions.
    OnSuccess,
    /// Evaluating the onFailure conditions.
    OnFailure,
    /// Finished (see the status).
    Done,
}

/// One execution of a stage by a pipeline execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageExecutionRecord {
    pub stage: String,
    pub status: StageExecutionStatus,
    pub execution_type: ExecutionType,
    pub phase: StagePhase,
    pub entered: Timestamp,
    pub manual_retries: i64,
    pub auto_retries: i64,
    pub latest_retry_trigger: Option<RetryTrigger>,
    /// Condition evaluations of this stage execution, by condition type.
    pub conditions: LiteMap<String, ConditionRun>,
    /// The current action execution of each action of the stage (by action name).
    pub actions: LiteMap<String, u64>,
}

/// The evaluation of one kind of stage condition (beforeEntry, onSuccess, onFailure).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConditionRun {
    pub status: ConditionExecutionStatus,
    pub summary: Option<String>,
    pub last_status_change: Timestamp,
    /// Rule execution sequence numbers, in declaration order.
    pub rules: Vec<u64>,
}

/// One action execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionExecutionRecord {
    pub id: String,
    pub sequence: u64,
    pub pipeline_execution_id: String,
    pub pipeline_version: i64,
    pub stage: String,
    pub action: String,
    pub status: ActionExecutionStatus,
    pub start_time: Timestamp,
    pub last_update_time: Timestamp,
    pub updated_by: Option<String>,
    pub input: ActionExecutionInput,
    pub output_artifacts: Vec<ArtifactDetail>,
    /// Kept as a sorted vector (a few variables at most; a BTreeMap node holds 11).
    pub output_variables: LiteMap<String, String>,
    pub summary: Option<String>,
    pub external_execution_id: Option<String>,
    pub external_execution_url: Option<String>,
    pub percent_complete: Option<i64>,
    pub error_details: Option<ErrorDetails>,
    /// Manual approvals: the token PutApprovalResult must present.
    pub token: Option<String>,
    /// Jobs: the job currently standing for this action.
    pub job_id: Option<String>,
    /// How the action runs.
    pub runner: Runner,
}

impl ActionExecutionRecord {
    pub fn is_finished(&self) -> bool {
        self.status != ActionExecutionStatus::InProgress
    }

    /// Whether the action failed because its configuration did not resolve (or a worker said
    /// so): its resolved configuration is kept as it is.
    pub fn configuration_failed(&self) -> bool {
        self.error_details
            .as_ref()
            .and_then(|e| e.code.as_deref())
            .is_some_and(|code| code == "ConfigurationError")
    }

    /// The configuration the action declares in `declaration`, if any.
    pub fn declared_configuration<'d>(
        &self,
        declaration: &'d PipelineDeclaration,
    ) -> Option<&'d Map<String>> {
        declaration
            .stages
            .iter()
            .find(|s| s.name == self.stage)
            .and_then(|s| s.actions.iter().find(|a| a.name == self.action))
            .and_then(|a| a.configuration.as_ref())
    }

    /// Packs a finished action execution: a resolved configuration equal to the declared one is
    /// dropped (read back from the declaration), vectors shrink to their length.
    fn compact(&mut self, declaration: &PipelineDeclaration) {
        let none = Map::new();
        let declared = self.declared_configuration(declaration).unwrap_or(&none);
        if !self.configuration_failed()
            && self.input.resolved_configuration.as_ref() == Some(declared)
        {
            self.input.resolved_configuration = None;
        }
        if let Some(inputs) = &mut self.input.input_artifacts {
            inputs.shrink_to_fit();
        }
        self.output_artifacts.shrink_to_fit();
        self.output_variables = shrunk(std::mem::take(&mut self.output_variables));
    }
}

/// Who finishes an action execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Runner {
    /// The engine, after `duration_ms`, with this outcome.
    Simulated {
        duration_ms: u64,
        fail_message: Option<String>,
        summary: Option<String>,
        output_variables: BTreeMap<String, String>,
    },
    /// PutApprovalResult (or the approval timeout).
    Approval,
    /// A job worker through the job API (Custom, ThirdParty, or an AWS action in worker mode);
    /// also Lambda invoke actions, whose job goes to the Lambda function (`actions`).
    Job { third_party: bool },
    /// The emulator does the work itself (`actions`): a task started with the action
    /// reports its outcome.
    Real { work: RealWork },
}

/// What an action with `Runner::Real` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RealWork {
    /// Copies the configured S3 object into the artifact store.
    S3Source,
    /// Copies or extracts the input artifact into the target bucket.
    S3Deploy,
    /// Runs the action's commands with the local executor.
    Commands,
    /// Runs a configured CodeBuild project's buildspec with the local executor.
    CodeBuild,
    /// Reads a mapped local git repository (`actions::git`): CODE_ZIP or CODEBUILD_CLONE_REF.
    GitSource,
    /// Deploys a CloudFormation stack or change set on the CloudFormation endpoint.
    CloudFormation,
}

/// What an AWS action does instead of being simulated, as `actions::plan` decides from the
/// configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// The emulator does the work (`Runner::Real`).
    Real(RealWork),
    /// A job handed to the Lambda function (`Runner::Job`, see `actions::lambda`).
    Lambda,
}

/// One rule execution of a stage condition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleExecutionRecord {
    pub id: String,
    pub sequence: u64,
    pub pipeline_execution_id: String,
    pub pipeline_version: i64,
    pub stage: String,
    pub rule: String,
    pub status: RuleExecutionStatus,
    pub start_time: Timestamp,
    pub last_update_time: Timestamp,
    pub input: RuleExecutionInput,
    pub summary: Option<String>,
    pub error_details: Option<ErrorDetails>,
    pub external_execution_id: Option<String>,
    /// How long the rule takes to report (simulated rules).
    #[serde(default)]
    pub duration_ms: u64,
}

/// A given revision for a source action: from sourceRevisions overrides or PutActionRevision.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenRevision {
    pub kind: Option<SourceRevisionType>,
    pub value: String,
    /// ETag for S3, the commit for git sources (defaults to `value`).
    pub change_id: Option<String>,
    pub summary: Option<String>,
    pub url: Option<String>,
    /// The branch a git revision was pushed to, when known.
    pub branch: Option<String>,
}

/// How an action execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded {
        summary: Option<String>,
        output_variables: BTreeMap<String, String>,
        external_execution_id: Option<String>,
        external_execution_url: Option<String>,
        percent_complete: Option<i64>,
        revision: Option<GivenRevision>,
        updated_by: Option<String>,
    },
    Failed {
        code: String,
        message: String,
        summary: Option<String>,
        external_execution_id: Option<String>,
        updated_by: Option<String>,
    },
    Abandoned,
}

impl Outcome {
    pub fn failed(code: &str, message: impl Into<String>) -> Self {
        Outcome::Failed {
            code: code.to_string(),
            message: message.into(),
            summary: None,
            external_execution_id: None,
            updated_by: None,
        }
    }
}
