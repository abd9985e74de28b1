//! Starting an action execution: its configuration resolved (variables), its input artifacts
//! located in the artifact store, and a runner: simulated (AWS actions, per the behaviour
//! rules), a manual approval, real work (`Effect::StartReal`), or a job for a worker (Custom,
//! ThirdParty, `behavior = "worker"`, or a Lambda function).

use super::actions::{action_timeout, artifact_bucket, artifact_key};
use super::behavior::{matching_rule, ActionRule, Behavior};
use super::jobs::{new_job, NewJob};
use super::simulate;
use super::variables::VariableScope;
use super::{Cx, Effect, Timer};
use crate::jobs::JobRecord;
use crate::model::*;
use crate::store::runtime::*;
use std::collections::BTreeMap;
use std::sync::Arc;
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
    let Some(execution) = runtime.live_execution_mut(execution_sequence) else {
        tracing::error!(
            pipeline = pipeline_name,
            "bug: an action started for an execution that does not exist"
        );
        return None;
    };
    let configuration = action.configuration.clone().unwrap_or_default();
    let resolved = VariableScope::of(execution).resolve_map(&configuration);
    let mut record = new_record(cx, pipeline_name, execution, sequence, stage, action);
    record.input.resolved_configuration = resolved.as_ref().ok().cloned();
    execution.action_sequences.push(sequence);
    if let Some(run) = execution.stages.get_mut(&stage.name) {
        run.actions.insert(action.name.clone(), sequence);
    }
    let job = match resolved {
        Err(message) => {
            configuration_error(&mut record, message);
            None
        }
        Ok(resolved) => {
            let starting = Starting {
                cx,
                pipeline_name,
                pipeline_arn,
                execution,
                stage,
                action,
                resolved: &resolved,
            };
            starting.assign_runner(&mut record)
        }
    };
    let finished_at_start = record.status != ActionExecutionStatus::InProgress;
    runtime.action_execution_ids.insert(&record.id, sequence);
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
    runtime.action_executions.insert(sequence, Arc::new(record));
    Some(Started { sequence, job })
}

/// A new in-progress action execution, its artifacts located (the runner is set later).
fn new_record(
    cx: &Cx,
    pipeline_name: &str,
    execution: &PipelineExecutionRecord,
    sequence: u64,
    stage: &StageDeclaration,
    action: &ActionDeclaration,
) -> ActionExecutionRecord {
    let region = cx.scope.region.as_str();
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
    let bucket = artifact_bucket(&execution.declaration, action, region);
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
    let now = Timestamp::now();
    ActionExecutionRecord {
        id: uuid::Uuid::new_v4().to_string(),
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
            // Not kept: the API reads it from the execution's declaration (`configuration_of`).
            configuration: None,
            resolved_configuration: None,
            role_arn: action
                .role_arn
                .as_deref()
                .cloned()
                .or_else(|| Some(execution.declaration.role_arn.clone())),
            region: Some(
                action
                    .region
                    .as_deref()
                    .cloned()
                    .unwrap_or_else(|| region.to_string()),
            ),
            input_artifacts: Some(input_artifacts),
            namespace: action.namespace.clone(),
        },
        output_artifacts,
        output_variables: Default::default(),
        summary: None,
        external_execution_id: None,
        external_execution_url: None,
        percent_complete: None,
        error_details: None,
        token: None,
        job_id: None,
        runner: Runner::Approval,
    }
}

/// A configuration whose variables do not resolve fails the action at once.
fn configuration_error(record: &mut ActionExecutionRecord, message: String) {
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

/// An action being started, its configuration resolved.
struct Starting<'a> {
    cx: &'a Cx<'a>,
    pipeline_name: &'a str,
    pipeline_arn: &'a str,
    execution: &'a PipelineExecutionRecord,
    stage: &'a StageDeclaration,
    action: &'a ActionDeclaration,
    resolved: &'a Map<String>,
}

impl Starting<'_> {
    /// Chooses who finishes the action and asks for what that needs (a timer, real work, a
    /// job). Returns the job to queue, if any.
    fn assign_runner(&self, record: &mut ActionExecutionRecord) -> Option<JobRecord> {
        let (cx, action) = (self.cx, self.action);
        let type_id = &action.action_type_id;
        let is_approval = type_id.category == ActionCategory::Approval
            && type_id.owner == ActionOwner::Aws
            && type_id.provider == "Manual";
        let aws_run_third_party =
            type_id.owner == ActionOwner::ThirdParty && type_id.provider == "GitHub";
        let rule = matching_rule(
            cx.settings.action_rules,
            self.pipeline_name,
            &self.stage.name,
            action,
        );
        // Real work (S3 endpoint, local executor, Lambda endpoint) when the configuration
        // enables it for the provider; a matching [[actions]] rule takes precedence.
        let plan = match rule {
            None => cx.world.plan(action, self.resolved),
            Some(_) => None,
        };
        if is_approval
            && rule.is_none_or(|r| {
                r.behavior == Behavior::Succeed && r.duration_ms.is_none() && r.summary.is_none()
            })
        {
            self.approval(record);
            None
        } else if let Some(Plan::Real(work)) = plan {
            record.runner = Runner::Real { work };
            cx.effect(Effect::StartReal {
                pipeline: self.pipeline_name.to_string(),
                action_execution_id: record.id.clone(),
                work,
            });
            None
        } else if type_id.owner == ActionOwner::Custom
            || (type_id.owner == ActionOwner::ThirdParty && !aws_run_third_party)
            || rule.is_some_and(|r| r.behavior == Behavior::Worker)
            || plan == Some(Plan::Lambda)
        {
            Some(self.job(record, plan == Some(Plan::Lambda)))
        } else {
            self.simulated(record, rule);
            None
        }
    }

    fn approval(&self, record: &mut ActionExecutionRecord) {
        record.runner = Runner::Approval;
        record.token = Some(uuid::Uuid::new_v4().to_string());
        self.cx.schedule(
            action_timeout(self.action).unwrap_or(self.cx.settings.approval_timeout),
            Timer::ApprovalTimeout {
                pipeline: self.pipeline_name.to_string(),
                action_execution_id: record.id.clone(),
            },
        );
    }

    fn job(&self, record: &mut ActionExecutionRecord, lambda: bool) -> JobRecord {
        let cx = self.cx;
        let third_party = self.action.action_type_id.owner == ActionOwner::ThirdParty;
        record.runner = Runner::Job { third_party };
        let bucket = artifact_bucket(&self.execution.declaration, self.action, &cx.scope.region);
        let mut new_job = new_job(NewJob {
            account: &cx.scope.account,
            pipeline_name: self.pipeline_name,
            pipeline_arn: self.pipeline_arn,
            execution: self.execution,
            stage: &self.stage.name,
            action: self.action,
            action_execution_id: &record.id,
            resolved_configuration: self.resolved,
            input_artifacts: record.input.input_artifacts.as_deref().unwrap_or_default(),
            output_artifacts: &record.output_artifacts,
            bucket: &bucket,
            continuation_token: None,
            third_party,
        });
        if let Some(credentials) = cx.world.job_credentials() {
            new_job.data.artifact_credentials = Some(credentials);
        }
        if lambda {
            new_job.lambda = true;
            cx.effect(Effect::InvokeLambda {
                job_id: new_job.id.clone(),
            });
        }
        record.job_id = Some(new_job.id.clone());
        cx.schedule(
            action_timeout(self.action).unwrap_or(cx.settings.job_timeout),
            Timer::JobTimeout {
                pipeline: self.pipeline_name.to_string(),
                job_id: new_job.id.clone(),
            },
        );
        new_job
    }

    fn simulated(&self, record: &mut ActionExecutionRecord, rule: Option<&ActionRule>) {
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
        let (external_id, external_url) = simulate::external_execution(
            &self.action.action_type_id,
            self.resolved,
            &self.cx.scope.region,
        );
        record.external_execution_id = external_id;
        record.external_execution_url = external_url;
        self.cx.schedule(
            Duration::from_millis(duration_ms),
            Timer::FinishSimulated {
                pipeline: self.pipeline_name.to_string(),
                action_execution_id: record.id.clone(),
            },
        );
    }
}
