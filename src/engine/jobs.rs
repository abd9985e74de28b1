//! Jobs as the engine sees them: the job a worker-run action hands out (`new_job`), and what a
//! worker's result does to its action: success (possibly "still running" with a continuation
//! token, which hands a new job to the workers), or failure.

use super::simulate::{alphanumeric, GivenRevision};
use super::{advance, finish_action_by_id, Cx, Effect, EngineError, Outcome, Refusal};
use super::{Subject, Timer};
use crate::jobs::JobRecord;
use crate::model::*;
use crate::store::runtime::PipelineExecutionRecord;
use crate::store::RegionState;

/// What a new job is made of.
pub struct NewJob<'a> {
    pub account: &'a str,
    pub pipeline_name: &'a str,
    pub pipeline_arn: &'a str,
    pub execution: &'a PipelineExecutionRecord,
    pub stage: &'a str,
    pub action: &'a ActionDeclaration,
    pub action_execution_id: &'a str,
    pub resolved_configuration: &'a Map<String>,
    pub input_artifacts: &'a [ArtifactDetail],
    pub output_artifacts: &'a [ArtifactDetail],
    pub bucket: &'a str,
    pub continuation_token: Option<String>,
    pub third_party: bool,
}

/// Builds a job with full JobData, as AWS hands it to workers.
pub fn new_job(new: NewJob) -> JobRecord {
    let artifact = |detail: &ArtifactDetail| {
        let name = detail.name.clone().unwrap_or_default();
        Artifact {
            revision: new
                .execution
                .artifacts
                .get(&name)
                .and_then(|a| a.revision.clone()),
            location: detail.s3location.as_ref().map(|l| ArtifactLocation {
                r#type: Some(ArtifactLocationType::S3),
                s3_location: Some(S3ArtifactLocation {
                    bucket_name: l.bucket.clone().unwrap_or_else(|| new.bucket.to_string()),
                    object_key: l.key.clone().unwrap_or_default(),
                }),
            }),
            name: Some(name),
        }
    };
    let encryption_key = new
        .execution
        .declaration
        .artifact_store
        .as_ref()
        .and_then(|s| s.encryption_key.as_deref().cloned());
    let data = JobData {
        action_type_id: Some(new.action.action_type_id.clone()),
        action_configuration: Some(ActionConfiguration {
            configuration: Some(new.resolved_configuration.clone()),
        }),
        pipeline_context: Some(PipelineContext {
            pipeline_name: Some(new.pipeline_name.to_string()),
            stage: Some(StageContext {
                name: Some(new.stage.to_string()),
            }),
            action: Some(ActionContext {
                name: Some(new.action.name.clone()),
                action_execution_id: Some(new.action_execution_id.to_string()),
            }),
            pipeline_arn: Some(new.pipeline_arn.to_string()),
            pipeline_execution_id: Some(new.execution.id.clone()),
        }),
        input_artifacts: Some(new.input_artifacts.iter().map(artifact).collect()),
        output_artifacts: Some(new.output_artifacts.iter().map(artifact).collect()),
        artifact_credentials: Some(session_credentials()),
        continuation_token: new.continuation_token,
        encryption_key,
    };
    JobRecord {
        id: uuid::Uuid::new_v4().to_string(),
        sequence: 0,
        nonce: crate::jobs::nonce(),
        status: JobStatus::Created,
        account: new.account.to_string(),
        pipeline: new.pipeline_name.to_string(),
        pipeline_execution_id: new.execution.id.clone(),
        action_execution_id: new.action_execution_id.to_string(),
        stage: new.stage.to_string(),
        action: new.action.name.clone(),
        action_type_id: new.action.action_type_id.clone(),
        third_party: new.third_party,
        client_id: None,
        data,
        created: Timestamp::now(),
        lambda: false,
    }
}

/// Temporary credentials for the artifact store, in the shape of STS session credentials.
fn session_credentials() -> AWSSessionCredentials {
    AWSSessionCredentials {
        access_key_id: format!("ASIA{}", alphanumeric(16).to_uppercase()),
        secret_access_key: alphanumeric(40),
        session_token: alphanumeric(200),
    }
}

/// AWS's limit on the total size of an action's output variables (keys and values).
pub const MAX_OUTPUT_VARIABLES_BYTES: usize = 122_880;

/// A success result, from PutJobSuccessResult or PutThirdPartyJobSuccessResult.
pub struct JobSuccess {
    pub current_revision: Option<CurrentRevision>,
    pub continuation_token: Option<String>,
    pub execution_details: Option<ExecutionDetails>,
    pub output_variables: Option<Map<String>>,
}

/// The job a result is for: it must exist and have been handed to a worker, not finished.
pub fn job_taking_results<'a>(
    state: &'a RegionState,
    job_id: &str,
) -> Result<&'a JobRecord, EngineError> {
    let job = state
        .jobs
        .jobs
        .get(job_id)
        .ok_or_else(|| job_not_found(job_id))?;
    match job.status {
        JobStatus::Dispatched | JobStatus::InProgress => Ok(job),
        status => Err(EngineError::refused(
            Refusal::InvalidJobState,
            format!("Job '{job_id}' is {status} and cannot take a result"),
        )),
    }
}

pub fn job_not_found(job_id: &str) -> EngineError {
    EngineError::refused(
        Refusal::JobNotFound,
        format!("Job '{job_id}' was not found"),
    )
}

/// Applies a success result to a job (already checked with `job_taking_results`).
pub fn succeed(
    cx: &Cx,
    state: &mut RegionState,
    job_id: &str,
    result: JobSuccess,
) -> Result<(), EngineError> {
    if let Some(variables) = &result.output_variables {
        if result.continuation_token.is_some() && !variables.is_empty() {
            return Err(EngineError::invalid(
                "outputVariables can only be given when there is no continuationToken",
            ));
        }
        let size: usize = variables.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > MAX_OUTPUT_VARIABLES_BYTES {
            return Err(EngineError::refused(Refusal::OutputVariablesTooLarge,
                format!(
                    "The output variables total {size} bytes, more than the limit of {MAX_OUTPUT_VARIABLES_BYTES} bytes"
                ),
            ));
        }
    }
    let job = job_taking_results(state, job_id)?.clone();
    state.jobs.finish(job_id, JobStatus::Succeeded);
    cx.cancel_timer(&job.pipeline, Subject::Job(job.id.clone()));
    let details = result.execution_details.unwrap_or_default();
    if let Some(token) = result.continuation_token {
        // Still running: the action stays InProgress and a new job carries the token.
        let mut next = job.clone();
        next.id = uuid::Uuid::new_v4().to_string();
        next.nonce = crate::jobs::nonce();
        next.client_id = None;
        next.created = Timestamp::now();
        next.data.continuation_token = Some(token);
        state.touch_pipeline(&job.pipeline);
        if let Some(record) = state.pipelines.get_mut(&job.pipeline) {
            if let Some(seq) = record
                .runtime
                .execution_ids
                .get(&job.pipeline_execution_id)
                .copied()
            {
                record.runtime.touch(seq);
            }
            if let Some(action) = record
                .runtime
                .action_execution_mut(&job.action_execution_id)
            {
                action.job_id = Some(next.id.clone());
                action.last_update_time = Timestamp::now();
                if details.summary.is_some() {
                    action.summary = details.summary.clone();
                }
                if details.external_execution_id.is_some() {
                    action.external_execution_id = details.external_execution_id.clone();
                }
                if details.percent_complete.is_some() {
                    action.percent_complete = details.percent_complete;
                }
            }
        }
        let next_id = next.id.clone();
        let lambda = next.lambda;
        state.jobs.queue(next);
        if lambda {
            // AWS invokes the function again with the continuation token.
            cx.effect(Effect::InvokeLambda {
                job_id: next_id.clone(),
            });
        }
        cx.schedule(
            cx.settings.job_timeout,
            Timer::JobTimeout {
                pipeline: job.pipeline.clone(),
                job_id: next_id,
            },
        );
        return Ok(());
    }
    let outcome = Outcome::Succeeded {
        summary: details.summary,
        output_variables: result
            .output_variables
            .map(|v| v.into_iter().collect())
            .unwrap_or_default(),
        external_execution_id: details.external_execution_id,
        external_execution_url: None,
        percent_complete: details.percent_complete,
        revision: result.current_revision.map(|r| GivenRevision {
            kind: None,
            value: r.revision,
            change_id: Some(r.change_identifier),
            summary: r.revision_summary,
            url: None,
            branch: None,
        }),
        updated_by: None,
    };
    if finish_action_by_id(cx, state, &job.pipeline, &job.action_execution_id, outcome) {
        advance(cx, state, &job.pipeline);
    }
    Ok(())
}

/// Applies a failure result to a job (already checked with `job_taking_results`).
pub fn fail(
    cx: &Cx,
    state: &mut RegionState,
    job_id: &str,
    failure: FailureDetails,
) -> Result<(), EngineError> {
    let job = job_taking_results(state, job_id)?.clone();
    state.jobs.finish(job_id, JobStatus::Failed);
    cx.cancel_timer(&job.pipeline, Subject::Job(job.id.clone()));
    let outcome = Outcome::Failed {
        code: failure.r#type.as_str().to_string(),
        message: failure.message,
        summary: None,
        external_execution_id: failure.external_execution_id,
        updated_by: None,
    };
    if finish_action_by_id(cx, state, &job.pipeline, &job.action_execution_id, outcome) {
        advance(cx, state, &job.pipeline);
    }
    Ok(())
}
