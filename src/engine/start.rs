//! Starting executions: StartPipelineExecution, PutActionRevision, and every automatic start
//! (webhooks, git events, the CodePipeline invoke action) through `start_execution`.

use super::{action_key, advance, Cx, EngineError, Refusal};
use crate::model::*;
use crate::store::runtime::*;
use crate::store::{PipelineRecord, RegionState};
use litemap::LiteMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a new execution starts.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    pub trigger_type: Option<TriggerType>,
    pub trigger_detail: Option<String>,
    pub variables: Vec<PipelineVariable>,
    pub source_overrides: Vec<SourceRevisionOverride>,
    pub pinned_revisions: BTreeMap<String, ActionRevisionRecord>,
    pub client_token: Option<String>,
}

/// Most executions waiting or running at once in QUEUED and PARALLEL modes.
const MAX_CONCURRENT_EXECUTIONS: usize = 50;

/// StartPipelineExecution (and the automatic starts): creates an execution at the first stage.
pub fn start_execution(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    request: StartRequest,
) -> Result<String, EngineError> {
    let record = pipeline_record(cx, state, pipeline)?;
    if let Some(token) = &request.client_token {
        if let Some(existing) = record.runtime.client_tokens.get(token) {
            return Ok(existing.clone());
        }
    }
    let declaration = record.current().clone();
    let variables = resolve_pipeline_variables(&declaration, &request.variables)?;
    for o in &request.source_overrides {
        let is_source = declaration
            .stages
            .first()
            .is_some_and(|s| s.actions.iter().any(|a| a.name == o.action_name));
        if !is_source {
            return Err(EngineError::invalid(format!(
                "Source revision override names action '{}', which is not a source action of pipeline '{pipeline}'",
                o.action_name
            )));
        }
    }
    let mode = declaration
        .execution_mode
        .unwrap_or(ExecutionMode::Superseded);
    if mode != ExecutionMode::Superseded {
        let active = record.runtime.active.len();
        if active >= MAX_CONCURRENT_EXECUTIONS {
            return Err(EngineError::refused(Refusal::ConcurrencyLimit,
                format!(
                    "Pipeline '{pipeline}' already has {active} executions in progress, the most allowed in {mode} mode"
                ),
            ));
        }
    }
    let id = new_execution(
        record,
        declaration,
        NewExecution {
            trigger: ExecutionTrigger {
                trigger_type: request.trigger_type,
                trigger_detail: request.trigger_detail,
            },
            execution_type: ExecutionType::Standard,
            variables,
            source_overrides: request.source_overrides,
            pinned_revisions: request.pinned_revisions,
            position: Position::Waiting { stage: 0 },
            only_stage: None,
            rollback_target: None,
            inherited: None,
        },
    );
    if let Some(token) = request.client_token {
        record.runtime.client_tokens.insert(token, id.clone());
    }
    let arn = record.arn.clone();
    if let Some(execution) = record.runtime.execution(&id) {
        tracing::info!(pipeline, execution_id = %id, trigger = execution.trigger.trigger_type.as_ref().map_or("", |t| t.as_str()), "execution started");
        cx.publish_execution(pipeline, &arn, &execution, "STARTED");
    }
    advance(cx, state, pipeline);
    Ok(id)
}

/// Declared variables with their defaults, overridden by the values given at start.
fn resolve_pipeline_variables(
    declaration: &PipelineDeclaration,
    given: &[PipelineVariable],
) -> Result<Vec<ResolvedPipelineVariable>, EngineError> {
    let declared = declaration
        .variables
        .as_deref()
        .cloned()
        .unwrap_or_default();
    if !given.is_empty() && declaration.pipeline_type != Some(PipelineType::V2) {
        return Err(EngineError::invalid(
            "Pipeline variables can only be given for pipelines of type V2",
        ));
    }
    for variable in given {
        if !declared.iter().any(|d| d.name == variable.name) {
            return Err(EngineError::invalid(format!(
                "Variable '{}' is not declared in the pipeline",
                variable.name
            )));
        }
    }
    let mut resolved = Vec::new();
    for d in &declared {
        let value = given
            .iter()
            .rev()
            .find(|v| v.name == d.name)
            .map(|v| v.value.clone())
            .or_else(|| d.default_value.clone())
            .ok_or_else(|| {
                EngineError::invalid(format!(
                    "Variable '{}' has no default value: give it a value when starting the pipeline",
                    d.name
                ))
            })?;
        resolved.push(ResolvedPipelineVariable {
            name: Some(d.name.clone()),
            resolved_value: Some(value),
        });
    }
    Ok(resolved)
}

pub(super) struct NewExecution {
    pub(super) trigger: ExecutionTrigger,
    pub(super) execution_type: ExecutionType,
    pub(super) variables: Vec<ResolvedPipelineVariable>,
    pub(super) source_overrides: Vec<SourceRevisionOverride>,
    pub(super) pinned_revisions: BTreeMap<String, ActionRevisionRecord>,
    pub(super) position: Position,
    pub(super) only_stage: Option<usize>,
    pub(super) rollback_target: Option<String>,
    /// Artifacts, namespaces and revisions carried over (rollbacks).
    pub(super) inherited: Option<PipelineExecutionRecord>,
}

pub(super) fn new_execution(
    record: &mut PipelineRecord,
    declaration: Arc<PipelineDeclaration>,
    new: NewExecution,
) -> String {
    let runtime = &mut record.runtime;
    runtime.next_sequence += 1;
    let sequence = runtime.next_sequence;
    let id = uuid::Uuid::new_v4().to_string();
    let now = Timestamp::now();
    let mut execution = PipelineExecutionRecord {
        id: id.clone(),
        sequence,
        pipeline_version: declaration.version.unwrap_or(1),
        execution_mode: declaration
            .execution_mode
            .unwrap_or(ExecutionMode::Superseded),
        declaration,
        status: PipelineExecutionStatus::InProgress,
        status_summary: None,
        start_time: now,
        last_update_time: now,
        trigger: new.trigger,
        execution_type: new.execution_type,
        rollback_target: new.rollback_target,
        variables: new.variables,
        source_overrides: new.source_overrides,
        pinned_revisions: new.pinned_revisions,
        artifact_revisions: Vec::new(),
        source_revisions: Vec::new(),
        artifacts: LiteMap::new(),
        namespaces: BTreeMap::new(),
        stop: None,
        position: new.position,
        stages: LiteMap::new(),
        only_stage: new.only_stage,
        action_sequences: Vec::new(),
        rule_sequences: Vec::new(),
        pack_ticket: Default::default(),
    };
    if let Some(from) = new.inherited {
        execution.variables = from.variables;
        execution.artifact_revisions = from.artifact_revisions;
        execution.source_revisions = from.source_revisions;
        execution.artifacts = from.artifacts;
        execution.namespaces = from.namespaces;
    }
    runtime.execution_ids.insert(&id, sequence);
    runtime.executions.insert(sequence, Arc::new(execution));
    runtime.touch(sequence);
    runtime.sync_active(sequence);
    id
}

/// PutActionRevision: records a new revision of a source action and starts an execution for
/// it; a revision equal to the current one changes nothing.
pub fn put_action_revision(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    stage: &str,
    action: &str,
    revision: &ActionRevision,
) -> Result<(bool, Option<String>), EngineError> {
    let record = pipeline_record(cx, state, pipeline)?;
    let declaration = record.current().clone();
    let stage_declaration = declaration
        .stages
        .iter()
        .find(|s| s.name == stage)
        .ok_or_else(|| EngineError::stage_not_found(stage, pipeline))?;
    let action_declaration = stage_declaration
        .actions
        .iter()
        .find(|a| a.name == action)
        .ok_or_else(|| EngineError::action_not_found(action, stage, pipeline))?;
    if action_declaration.action_type_id.category != ActionCategory::Source {
        return Err(EngineError::invalid(format!(
            "Action '{action}' in stage '{stage}' is not a source action"
        )));
    }
    let key = action_key(stage, action);
    if record
        .runtime
        .current_revisions
        .get(&key)
        .is_some_and(|r| r.revision_id == revision.revision_id)
    {
        return Ok((false, None));
    }
    let pinned = ActionRevisionRecord {
        revision_id: revision.revision_id.clone(),
        revision_change_id: revision.revision_change_id.clone(),
        created: revision.created,
        summary: None,
        branch: None,
    };
    record.runtime.current_revisions.insert(key, pinned.clone());
    let id = start_execution(
        cx,
        state,
        pipeline,
        StartRequest {
            trigger_type: Some(TriggerType::PutActionRevision),
            trigger_detail: Some(format!("{stage}/{action}")),
            pinned_revisions: BTreeMap::from([(action.to_string(), pinned)]),
            ..StartRequest::default()
        },
    )?;
    Ok((true, Some(id)))
}

/// The pipeline's record, or `PipelineNotFound` in the caller's account.
pub(super) fn pipeline_record<'s>(
    cx: &Cx,
    state: &'s mut RegionState,
    pipeline: &str,
) -> Result<&'s mut PipelineRecord, EngineError> {
    state
        .pipelines
        .get_mut(pipeline)
        .map(|record| &mut **record)
        .ok_or_else(|| EngineError::PipelineNotFound {
            pipeline: pipeline.to_string(),
            account: cx.scope.account.clone(),
        })
}
