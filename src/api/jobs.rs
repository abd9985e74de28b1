//! The job worker protocol for Custom actions (and AWS actions in worker mode): PollForJobs,
//! AcknowledgeJob, GetJobDetails, PutJobSuccessResult, PutJobFailureResult.

use crate::app::App;
use crate::engine::jobs::{self as results, job_not_found, JobSuccess};
use crate::jobs::{JobRecord, QueueKey};
use crate::model::catalog;
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::{action_type_key, RegionState};

/// Most jobs one poll hands out.
const MAX_BATCH: usize = 100;

pub fn poll_for_jobs(
    app: &App,
    ctx: &RequestContext,
    input: PollForJobsInput,
) -> Result<PollForJobsOutput, ApiError> {
    let region = app.store.read(&ctx.scope);
    let mut state = region.lock();
    let id = &input.action_type_id;
    let queryable: Vec<String> = match id.owner {
        ActionOwner::Custom => state
            .action_types
            .get(&action_type_key(id))
            .ok_or_else(|| type_not_found(id))?
            .action_type
            .action_configuration_properties
            .iter()
            .flatten()
            .filter(|p| p.queryable == Some(true))
            .map(|p| p.name.clone())
            .collect(),
        ActionOwner::Aws if catalog::action_type(id).is_some() => Vec::new(),
        _ => return Err(type_not_found(id)),
    };
    let query = input.query_param.unwrap_or_default();
    if id.owner == ActionOwner::Custom {
        if let Some(key) = query.keys().find(|k| !queryable.contains(k)) {
            return Err(ApiError::validation(format!(
                "queryParam key '{key}' is not a queryable configuration property of the action type"
            )));
        }
    }
    let batch = input.max_batch_size.unwrap_or(1).clamp(1, MAX_BATCH as i64) as usize;
    // Under the region lock, so no two pollers ever get the same job.
    let picked = state.jobs.take(&QueueKey::new(id, false), batch, |job| {
        query.iter().all(|(k, v)| {
            job.data
                .action_configuration
                .as_ref()
                .and_then(|c| c.configuration.as_ref())
                .and_then(|c| c.get(k))
                == Some(v)
        })
    });
    let jobs = picked
        .into_iter()
        .map(|job| Job {
            id: Some(job.id),
            data: Some(job.data),
            nonce: Some(job.nonce),
            account_id: Some(job.account),
        })
        .collect();
    Ok(PollForJobsOutput { jobs: Some(jobs) })
}

pub fn acknowledge_job(
    app: &App,
    ctx: &RequestContext,
    input: AcknowledgeJobInput,
) -> Result<AcknowledgeJobOutput, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    let job = worker_job_mut(&mut state, &input.job_id)?;
    if job.nonce != input.nonce {
        return Err(invalid_nonce(&input.job_id));
    }
    if job.status == JobStatus::Dispatched {
        job.status = JobStatus::InProgress;
    }
    let status = job.status;
    state.jobs.touch(&input.job_id);
    Ok(AcknowledgeJobOutput {
        status: Some(status),
    })
}

pub fn get_job_details(
    app: &App,
    ctx: &RequestContext,
    input: GetJobDetailsInput,
) -> Result<GetJobDetailsOutput, ApiError> {
    let region = app.store.read(&ctx.scope);
    let mut state = region.lock();
    let job = worker_job_mut(&mut state, &input.job_id)?;
    Ok(GetJobDetailsOutput {
        job_details: Some(JobDetails {
            id: Some(job.id.clone()),
            data: Some(job.data.clone()),
            account_id: Some(job.account.clone()),
        }),
    })
}

pub fn put_job_success_result(
    app: &App,
    ctx: &RequestContext,
    input: PutJobSuccessResultInput,
) -> Result<Empty, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    worker_job_mut(&mut state, &input.job_id)?;
    crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
        results::succeed(
            cx,
            state,
            &input.job_id,
            JobSuccess {
                current_revision: input.current_revision,
                continuation_token: input.continuation_token,
                execution_details: input.execution_details,
                output_variables: input.output_variables,
            },
        )
    })?;
    Ok(Empty::default())
}

pub fn put_job_failure_result(
    app: &App,
    ctx: &RequestContext,
    input: PutJobFailureResultInput,
) -> Result<Empty, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    worker_job_mut(&mut state, &input.job_id)?;
    crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
        results::fail(cx, state, &input.job_id, input.failure_details)
    })?;
    Ok(Empty::default())
}

/// A job served through the (non-ThirdParty) job calls.
fn worker_job_mut<'a>(
    state: &'a mut RegionState,
    job_id: &str,
) -> Result<&'a mut JobRecord, ApiError> {
    match state.jobs.jobs.get_mut(job_id) {
        Some(job) if !job.third_party => Ok(job),
        _ => Err(job_not_found(job_id).into()),
    }
}

pub fn invalid_nonce(job_id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidNonceException,
        format!("The nonce does not match the nonce of job '{job_id}'"),
    )
}

fn type_not_found(id: &ActionTypeId) -> ApiError {
    ApiError::new(
        ErrorCode::ActionTypeNotFoundException,
        format!(
            "Action type (Category: '{}', Owner: '{}', Provider: '{}', Version: '{}') was not found",
            id.category, id.owner, id.provider, id.version
        ),
    )
}
