//! Starting and finishing action executions.
//!
//! An action starts with its configuration resolved (variables), its input artifacts located in
//! the artifact store, and a runner: simulated (AWS actions, per the behaviour config), a manual
//! approval, or a job for a worker (Custom, ThirdParty, or `behavior = "worker"`).

use super::behavior::{matching_rule, Behavior};
pub use super::outcome::simulated_outcome;
use super::simulate::{self, GivenRevision};
use super::variables::VariableScope;
use super::{Cx, Subject, Timer};
use crate::jobs::JobRecord;
use crate::model::*;
use crate::store::runtime::*;
use std::collections::BTreeMap;
use std::time::Duration;

/// What `start_action` asks of the caller besides the record: a job to queue.
pub struct Started {
    pub sequence: u64,
    pub job: Option<JobRecord>,
}

/// Starts one action of a stage for an execution. Returns the action execution's sequence
/// number (and a job to queue, for worker-run actions); `None` if the execution is gone.
pub fn start_action(
    cx: &Cx,
    pipeline_name: &str,
    pipeline_arn: &str,
    runtime: &mut PipelineRuntime,
    execution_sequence: u64,
    stage: &StageDeclaration,
    action: &ActionDeclaration,
) -> Option<Started> {
    runtime.next_action_sequence += 1;
    let sequence = runtime.next_action_sequence;
    let id = uuid::Uuid::new_v4().to_string();
    let now = Timestamp::now();
    let region = cx.region.scope.region.clone();
    let Some(execution) = runtime.executions.get_mut(&execution_sequence) else {
        tracing::error!(
            pipeline = pipeline_name,
            "bug: an action started for an execution that does not exist"
        );
        return None;
    };

    let configuration = action.configuration.clone().unwrap_or_default();
    let resolved = VariableScope::of(execution).resolve_map(&configuration);
    let input_artifacts: Vec<ArtifactDetail> = action
        .input_artifacts
        .iter()
        .flatten()
        .map(|input| {
            let location = execution.artifacts.get(&input.name);
            ArtifactDetail {
                name: Some(input.name.clone()),
                s3location: location.map(|a| S3Location {
                    bucket: Some(a.bucket.clone()),
                    key: Some(a.key.clone()),
                }),
            }
        })
        .collect();
    let bucket = artifact_bucket(&execution.declaration, action, &region);
    let output_artifacts: Vec<ArtifactDetail> = action
        .output_artifacts
        .iter()
        .flatten()
        .map(|output| ArtifactDetail {
            name: Some(output.name.clone()),
            s3location: Some(S3Location {
                bucket: Some(bucket.clone()),
                key: Some(artifact_key(pipeline_name, &output.name)),
            }),
        })
        .collect();

    let mut record = ActionExecutionRecord {
        id: id.clone(),
        sequence,
        pipeline_execution_id: execution.id.clone(),
        pipeline_version: execution.pipeline_version,
        stage: stage.name.clone(),
        action: action.name.clone(),
        status: ActionExecutionStatus::InProgress,
        start_time: now,
        last_update_time: now,
        updated_by: None,
        input: ActionExecutionInput {
            action_type_id: Some(action.action_type_id.clone()),
            configuration: Some(configuration.clone()),
            resolved_configuration: resolved.as_ref().ok().cloned(),
            role_arn: action
                .role_arn
                .clone()
                .or_else(|| Some(execution.declaration.role_arn.clone())),
            region: Some(action.region.clone().unwrap_or_else(|| region.clone())),
            input_artifacts: Some(input_artifacts.clone()),
            namespace: action.namespace.clone(),
        },
        output_artifacts,
        output_variables: BTreeMap::new(),
        summary: None,
        external_execution_id: None,
        external_execution_url: None,
        percent_complete: None,
        error_details: None,
        token: None,
        job_id: None,
        runner: Runner::Approval,
    };
    execution.action_sequences.push(sequence);
    if let Some(run) = execution.stages.get_mut(&stage.name) {
        run.actions.insert(action.name.clone(), sequence);
    }

    let mut job = None;
    match resolved {
        Err(message) => {
            record.status = ActionExecutionStatus::Failed;
            record.error_details = Some(ErrorDetails {
                code: Some("ConfigurationError".into()),
                message: Some(message.clone()),
            });
            record.summary = Some(message);
            record.runner = Runner::Simulated {
                duration_ms: 0,
                fail_message: None,
                summary: None,
                output_variables: BTreeMap::new(),
            };
        }
        Ok(resolved) => {
            let type_id = &action.action_type_id;
            let is_approval = type_id.category == ActionCategory::Approval
                && type_id.owner == ActionOwner::Aws
                && type_id.provider == "Manual";
            let aws_run_third_party =
                type_id.owner == ActionOwner::ThirdParty && type_id.provider == "GitHub";
            let rule = matching_rule(&cx.app.config.actions, pipeline_name, &stage.name, action);
            // Real work (S3 endpoint, local executor, Lambda endpoint) when the configuration
            // enables it for the provider; a matching [[actions]] rule takes precedence.
            let plan = match rule {
                None => crate::actions::plan(&cx.app.config, action, &resolved),
                Some(_) => None,
            };
            if is_approval
                && rule.is_none_or(|r| {
                    r.behavior == Behavior::Succeed
                        && r.duration_ms.is_none()
                        && r.summary.is_none()
                })
            {
                record.runner = Runner::Approval;
                record.token = Some(uuid::Uuid::new_v4().to_string());
                cx.schedule(
                    action_timeout(action).unwrap_or(cx.app.config.approval_timeout),
                    Timer::ApprovalTimeout {
                        pipeline: pipeline_name.to_string(),
                        action_execution_id: id.clone(),
                    },
                );
            } else if let Some(crate::actions::Plan::Real(work)) = &plan {
                record.runner = Runner::Real { work: *work };
                let (external_id, external_url) = crate::actions::start(
                    cx,
                    *work,
                    crate::actions::Starting {
                        pipeline: pipeline_name,
                        execution,
                        action,
                        action_execution_id: &id,
                        configuration: &resolved,
                        output_artifacts: &record.output_artifacts,
                    },
                );
                record.external_execution_id = external_id;
                record.external_execution_url = external_url;
            } else if type_id.owner == ActionOwner::Custom
                || (type_id.owner == ActionOwner::ThirdParty && !aws_run_third_party)
                || rule.is_some_and(|r| r.behavior == Behavior::Worker)
                || plan == Some(crate::actions::Plan::Lambda)
            {
                let third_party = type_id.owner == ActionOwner::ThirdParty;
                record.runner = Runner::Job { third_party };
                let mut new_job = crate::jobs::new_job(crate::jobs::NewJob {
                    account: &cx.region.scope.account,
                    pipeline_name,
                    pipeline_arn,
                    execution,
                    stage: &stage.name,
                    action,
                    action_execution_id: &id,
                    resolved_configuration: &resolved,
                    input_artifacts: &input_artifacts,
                    output_artifacts: &record.output_artifacts,
                    bucket: &bucket,
                    continuation_token: None,
                    third_party,
                });
                if let Some(credentials) =
                    crate::actions::artifacts::job_credentials(&cx.app.config)
                {
                    new_job.data.artifact_credentials = Some(credentials);
                }
                if plan == Some(crate::actions::Plan::Lambda) {
                    new_job.lambda = true;
                    crate::actions::lambda::invoke(cx.app, &cx.region.scope, &new_job.id);
                }
                record.job_id = Some(new_job.id.clone());
                cx.schedule(
                    action_timeout(action).unwrap_or(cx.app.config.job_timeout),
                    Timer::JobTimeout {
                        pipeline: pipeline_name.to_string(),
                        job_id: new_job.id.clone(),
                    },
                );
                job = Some(new_job);
            } else {
                let duration_ms = rule.and_then(|r| r.duration_ms).unwrap_or(0);
                let fail_message = rule.filter(|r| r.behavior == Behavior::Fail).map(|r| {
                    r.message
                        .clone()
                        .unwrap_or_else(|| "Action failed (simulated)".into())
                });
                record.runner = Runner::Simulated {
                    duration_ms,
                    fail_message,
                    summary: rule.and_then(|r| r.summary.clone()),
                    output_variables: rule.map(|r| r.output_variables.clone()).unwrap_or_default(),
                };
                let (external_id, external_url) =
                    simulate::external_execution(&action.action_type_id, &resolved, &region);
                record.external_execution_id = external_id;
                record.external_execution_url = external_url;
                cx.schedule(
                    Duration::from_millis(duration_ms),
                    Timer::FinishSimulated {
                        pipeline: pipeline_name.to_string(),
                        action_execution_id: id.clone(),
                    },
                );
            }
        }
    }
    let finished_at_start = record.status != ActionExecutionStatus::InProgress;
    runtime.action_execution_ids.insert(id, sequence);
    runtime
        .action_latest
        .insert(action_key(&stage.name, &action.name), sequence);
    cx.publish_action(
        pipeline_name,
        pipeline_arn,
        &record,
        action,
        if finished_at_start {
            "FAILED"
        } else {
            "STARTED"
        },
    );
    runtime.action_executions.insert(sequence, record);
    Some(Started { sequence, job })
}

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
    let Some(record) = runtime.action_executions.get_mut(&action_sequence) else {
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
            record.output_variables = output_variables;
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
    cx.app.running.cancel(&record.id);
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
    let Some(execution) = runtime.executions.get_mut(&seq) else {
        return true;
    };
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
                execution
                    .namespaces
                    .insert(namespace.clone(), record.output_variables.clone());
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
    let region = action.region.as_deref().unwrap_or(region);
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
