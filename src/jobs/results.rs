//! What a job worker's result does to its action: success (possibly "still running" with a
//! continuation token, which hands a new job to the workers), or failure.

use super::JobRecord;
use crate::engine::{self, Cx, Outcome, Subject, Timer};
use crate::model::*;
use crate::protocol::ApiError;
use crate::store::runtime::GivenRevision;
use crate::store::RegionState;
use std::collections::BTreeMap;

/// AWS's limit on the total size of an action's output variables (keys and values).
pub const MAX_OUTPUT_VARIABLES_BYTES: usize = 122_880;

/// A success result, from PutJobSuccessResult or PutThirdPartyJobSuccessResult.
pub struct JobSuccess {
    pub current_revision: Option<CurrentRevision>,
    pub continuation_token: Option<String>,
    pub execution_details: Option<ExecutionDetails>,
    pub output_variables: Option<BTreeMap<String, String>>,
}

/// The job a result is for: it must exist and have been handed to a worker, not finished.
pub fn job_taking_results<'a>(
    state: &'a RegionState,
    job_id: &str,
) -> Result<&'a JobRecord, ApiError> {
    let job = state
        .jobs
        .jobs
        .get(job_id)
        .ok_or_else(|| job_not_found(job_id))?;
    match job.status {
        JobStatus::Dispatched | JobStatus::InProgress => Ok(job),
        status => Err(ApiError::new(
            ErrorCode::InvalidJobStateException,
            format!("Job '{job_id}' is {status} and cannot take a result"),
        )),
    }
}

pub fn job_not_found(job_id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::JobNotFoundException,
        format!("Job '{job_id}' was not found"),
    )
}

/// Applies a success result to a job (already checked with `job_taking_results`).
pub fn succeed(
    cx: &Cx,
    state: &mut RegionState,
    job_id: &str,
    result: JobSuccess,
) -> Result<(), ApiError> {
    if let Some(variables) = &result.output_variables {
        if result.continuation_token.is_some() && !variables.is_empty() {
            return Err(ApiError::validation(
                "outputVariables can only be given when there is no continuationToken",
            ));
        }
        let size: usize = variables.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > MAX_OUTPUT_VARIABLES_BYTES {
            return Err(ApiError::new(
                ErrorCode::OutputVariablesSizeExceededException,
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
        next.nonce = super::nonce();
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
            crate::actions::lambda::invoke(cx.app, &cx.region.scope, &next_id);
        }
        cx.schedule(
            cx.app.config.job_timeout,
            Timer::JobTimeout {
                pipeline: job.pipeline.clone(),
                job_id: next_id,
            },
        );
        return Ok(());
    }
    let outcome = Outcome::Succeeded {
        summary: details.summary,
        output_variables: result.output_variables.unwrap_or_default(),
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
    if engine::finish_action_by_id(cx, state, &job.pipeline, &job.action_execution_id, outcome) {
        engine::advance(cx, state, &job.pipeline);
    }
    Ok(())
}

/// Applies a failure result to a job (already checked with `job_taking_results`).
pub fn fail(
    cx: &Cx,
    state: &mut RegionState,
    job_id: &str,
    failure: FailureDetails,
) -> Result<(), ApiError> {
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
    if engine::finish_action_by_id(cx, state, &job.pipeline, &job.action_execution_id, outcome) {
        engine::advance(cx, state, &job.pipeline);
    }
    Ok(())
}
