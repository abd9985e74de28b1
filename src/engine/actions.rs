//! Finishing action executions (`finish_action`), and what starting them needs to know: the
//! revision a source action is asked for, timeouts, artifact locations. Starting them is
//! `launch`.

pub use super::launch::{start_action, Started};
pub use super::outcome::simulated_outcome;
use super::simulate::{self, GivenRevision};
use super::{Cx, Effect, Subject};
use crate::model::*;
use crate::store::runtime::*;
use std::sync::Arc;
use std::time::Duration;

/// The revision an execution asks a source action for: a sourceRevisions override, or the
/// revision it was started for (PutActionRevision, webhooks, git events).
pub fn requested_revision(
    execution: &PipelineExecutionRecord,
    action: &str,
) -> Option<GivenRevision> {
    if let Some(o) = execution
        .source_overrides
        .iter()
        .find(|o| o.action_name == action)
    {
        return Some(GivenRevision {
            kind: Some(o.revision_type),
            value: o.revision_value.clone(),
            change_id: None,
            summary: None,
            url: None,
            branch: None,
        });
    }
    execution.pinned_revisions.get(action).map(revision_of)
}

/// The revision a simulated source action uses: the requested one, else the action's current
/// revision (what it picked up last time), as a repository head stays until something is pushed.
pub fn given_revision(
    runtime: &PipelineRuntime,
    execution: &PipelineExecutionRecord,
    stage: &str,
    action: &str,
) -> Option<GivenRevision> {
    requested_revision(execution, action).or_else(|| {
        runtime
            .current_revisions
            .get(&action_key(stage, action))
            .map(revision_of)
    })
}

fn revision_of(r: &ActionRevisionRecord) -> GivenRevision {
    GivenRevision {
        kind: None,
        value: r.revision_id.clone(),
        change_id: Some(r.revision_change_id.clone()),
        summary: r.summary.clone(),
        url: None,
        branch: r.branch.clone(),
    }
}

/// Applies an outcome to an in-progress action execution. Returns false when the action had
/// already finished (the outcome is ignored).
pub fn finish_action(
    cx: &Cx,
    pipeline_name: &str,
    pipeline_arn: &str,
    runtime: &mut PipelineRuntime,
    action_sequence: u64,
    outcome: Outcome,
) -> bool {
    let Some(record) = runtime.live_action_mut(action_sequence) else {
        return false;
    };
    if record.is_finished() {
        return false;
    }
    let now = Timestamp::now();
    record.last_update_time = now;
    let state_name;
    let mut source_revision = None;
    match outcome {
        Outcome::Succeeded {
            summary,
            output_variables,
            external_execution_id,
            external_execution_url,
            percent_complete,
            revision,
            updated_by,
        } => {
            record.status = ActionExecutionStatus::Succeeded;
            record.summary = summary.or(record.summary.take());
            record.output_variables = output_variables.into_iter().collect();
            record.external_execution_id =
                external_execution_id.or(record.external_execution_id.take());
            record.external_execution_url =
                external_execution_url.or(record.external_execution_url.take());
            record.percent_complete = percent_complete.or(Some(100));
            record.updated_by = updated_by;
            source_revision = revision;
            state_name = "SUCCEEDED";
        }
        Outcome::Failed {
            code,
            message,
            summary,
            external_execution_id,
            updated_by,
        } => {
            record.status = ActionExecutionStatus::Failed;
            record.summary = summary.or(record.summary.take());
            record.error_details = Some(ErrorDetails {
                code: Some(code),
                message: Some(message),
            });
            record.external_execution_id =
                external_execution_id.or(record.external_execution_id.take());
            record.updated_by = updated_by;
            state_name = "FAILED";
        }
        Outcome::Abandoned => {
            record.status = ActionExecutionStatus::Abandoned;
            state_name = "ABANDONED";
        }
    }
    // Real work still running for it (abandoned, or finished otherwise) is stopped.
    if matches!(record.runner, Runner::Real { .. }) {
        cx.effect(Effect::StopReal {
            action_execution_id: record.id.clone(),
        });
    }
    // Disjoint borrows of the runtime: the finished record is read while its execution is
    // updated (no clone of the record).
    let Some(record) = runtime.action_executions.get(&action_sequence) else {
        return false;
    };
    // Its timer (simulated end, approval or job timeout) has nothing left to guard.
    cx.cancel_timer(pipeline_name, Subject::Action(record.id.clone()));
    if let Some(job_id) = &record.job_id {
        cx.cancel_timer(pipeline_name, Subject::Job(job_id.clone()));
    }
    let Some(&seq) = runtime.execution_ids.get(&record.pipeline_execution_id) else {
        return true;
    };
    runtime.touched.insert(seq);
    let Some(execution) = runtime.executions.get_mut(&seq).map(Arc::make_mut) else {
        return true;
    };
    // As `PipelineRuntime::touch` does (the record is borrowed).
    execution.pack_ticket.void();
    execution.last_update_time = now;
    let declaration = execution.declaration.clone();
    let action = declaration
        .stages
        .iter()
        .find(|s| s.name == record.stage)
        .and_then(|s| s.actions.iter().find(|a| a.name == record.action));
    if record.status == ActionExecutionStatus::Succeeded {
        if let Some(action) = action {
            for artifact in &record.output_artifacts {
                if let (Some(name), Some(location)) = (&artifact.name, &artifact.s3location) {
                    execution.artifacts.insert(
                        name.clone(),
                        ArtifactRecord {
                            name: name.clone(),
                            bucket: location.bucket.clone().unwrap_or_default(),
                            key: location.key.clone().unwrap_or_default(),
                            revision: source_revision.as_ref().map(|r| r.value.clone()),
                        },
                    );
                }
            }
            if let Some(namespace) = &action.namespace {
                execution.namespaces.insert(
                    namespace.clone(),
                    record
                        .output_variables
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                );
            }
            if let Some(revision) = &source_revision {
                record_source_revision(execution, action, revision, now);
            }
        }
    }
    if let (Some(revision), ActionExecutionStatus::Succeeded) = (&source_revision, record.status) {
        if action.is_some_and(|a| a.action_type_id.category == ActionCategory::Source) {
            runtime.current_revisions.insert(
                action_key(&record.stage, &record.action),
                ActionRevisionRecord {
                    revision_id: revision.value.clone(),
                    revision_change_id: revision
                        .change_id
                        .clone()
                        .unwrap_or_else(|| revision.value.clone()),
                    created: now,
                    summary: revision.summary.clone(),
                    branch: revision.branch.clone(),
                },
            );
        }
    }
    if let Some(action) = action {
        cx.publish_action(pipeline_name, pipeline_arn, record, action, state_name);
    }
    true
}

fn record_source_revision(
    execution: &mut PipelineExecutionRecord,
    action: &ActionDeclaration,
    revision: &GivenRevision,
    now: Timestamp,
) {
    execution
        .source_revisions
        .retain(|r| r.action_name != action.name);
    execution.source_revisions.push(SourceRevision {
        action_name: action.name.clone(),
        revision_id: Some(revision.value.clone()),
        revision_summary: revision.summary.clone(),
        revision_url: revision.url.clone(),
    });
    for output in action.output_artifacts.iter().flatten() {
        execution
            .artifact_revisions
            .retain(|r| r.name.as_deref() != Some(output.name.as_str()));
        execution.artifact_revisions.push(ArtifactRevision {
            name: Some(output.name.clone()),
            revision_id: Some(revision.value.clone()),
            revision_change_identifier: Some(
                revision
                    .change_id
                    .clone()
                    .unwrap_or_else(|| revision.value.clone()),
            ),
            revision_summary: revision.summary.clone(),
            created: Some(now),
            revision_url: revision.url.clone(),
        });
    }
}

/// An action's own timeout (`timeoutInMinutes`), which overrides the configured default for
/// approvals and jobs, as in AWS.
pub fn action_timeout(action: &ActionDeclaration) -> Option<Duration> {
    action
        .timeout_in_minutes
        .map(|minutes| Duration::from_secs(minutes.max(0) as u64 * 60))
}

/// The artifact bucket an action uses: the pipeline's store, or the store of its region.
pub fn artifact_bucket(
    pipeline: &PipelineDeclaration,
    action: &ActionDeclaration,
    region: &str,
) -> String {
    if let Some(store) = &pipeline.artifact_store {
        return store.location.clone();
    }
    let region = action.region.as_deref().map_or(region, String::as_str);
    pipeline
        .artifact_stores
        .as_ref()
        .and_then(|stores| stores.get(region).or_else(|| stores.values().next()))
        .map(|s| s.location.clone())
        .unwrap_or_default()
}

/// AWS's artifact key layout: `PIPELINE[..20]/ARTIFACT[..10]/RANDOM7`.
pub fn artifact_key(pipeline: &str, artifact: &str) -> String {
    let pipeline: String = pipeline.chars().take(20).collect();
    let artifact: String = artifact.chars().take(10).collect();
    format!("{pipeline}/{artifact}/{}", simulate::alphanumeric(7))
}
