//! The job protocol for ThirdParty actions: PollForThirdPartyJobs, GetThirdPartyJobDetails,
//! AcknowledgeThirdPartyJob, PutThirdPartyJobSuccessResult, PutThirdPartyJobFailureResult.
//! Each job handed out gets a client id; later calls must present it as `clientToken`.

use super::jobs::invalid_nonce;
use crate::app::App;
use crate::engine::jobs::{self as results, job_not_found, JobSuccess};
use crate::jobs::{JobRecord, QueueKey};
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::RegionState;

pub fn poll_for_third_party_jobs(
    app: &App,
    ctx: &RequestContext,
    input: PollForThirdPartyJobsInput,
) -> Result<PollForThirdPartyJobsOutput, ApiError> {
    let id = &input.action_type_id;
    if id.owner != ActionOwner::ThirdParty {
        return Err(ApiError::new(
            ErrorCode::ActionTypeNotFoundException,
            format!(
                "PollForThirdPartyJobs serves ThirdParty action types; {} types are polled with PollForJobs",
                id.owner
            ),
        ));
    }
    let region = app.store.read(&ctx.scope);
    let mut state = region.lock();
    let batch = input.max_batch_size.unwrap_or(1).clamp(1, 100) as usize;
    let picked = state.jobs.take(&QueueKey::new(id, true), batch, |_| true);
    let mut jobs = Vec::with_capacity(picked.len());
    for job in picked {
        let client_id = uuid::Uuid::new_v4().to_string();
        if let Some(stored) = state.jobs.jobs.get_mut(&job.id) {
            stored.client_id = Some(client_id.clone());
        }
        state.jobs.touch(&job.id);
        jobs.push(ThirdPartyJob {
            client_id: Some(client_id),
            job_id: Some(job.id),
        });
    }
    Ok(PollForThirdPartyJobsOutput { jobs: Some(jobs) })
}

pub fn get_third_party_job_details(
    app: &App,
    ctx: &RequestContext,
    input: GetThirdPartyJobDetailsInput,
) -> Result<GetThirdPartyJobDetailsOutput, ApiError> {
    let region = app.store.read(&ctx.scope);
    let mut state = region.lock();
    let job = third_party_job(&mut state, &input.job_id, &input.client_token)?;
    let data = job.data.clone();
    Ok(GetThirdPartyJobDetailsOutput {
        job_details: Some(ThirdPartyJobDetails {
            id: Some(job.id.clone()),
            data: Some(ThirdPartyJobData {
                action_type_id: data.action_type_id,
                action_configuration: data.action_configuration,
                // The model: pipelineArn and pipelineExecutionId are not populated for
                // ThirdParty action types.
                pipeline_context: data.pipeline_context.map(|context| PipelineContext {
                    pipeline_arn: None,
                    pipeline_execution_id: None,
                    ..context
                }),
                input_artifacts: data.input_artifacts,
                output_artifacts: data.output_artifacts,
                artifact_credentials: data.artifact_credentials,
                continuation_token: data.continuation_token,
                encryption_key: data.encryption_key,
            }),
            nonce: Some(job.nonce.clone()),
        }),
    })
}

pub fn acknowledge_third_party_job(
    app: &App,
    ctx: &RequestContext,
    input: AcknowledgeThirdPartyJobInput,
) -> Result<AcknowledgeThirdPartyJobOutput, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    let job = third_party_job(&mut state, &input.job_id, &input.client_token)?;
    if job.nonce != input.nonce {
        return Err(invalid_nonce(&input.job_id));
    }
    if job.status == JobStatus::Dispatched {
        job.status = JobStatus::InProgress;
    }
    let status = job.status;
    state.jobs.touch(&input.job_id);
    Ok(AcknowledgeThirdPartyJobOutput {
        status: Some(status),
    })
}

pub fn put_third_party_job_success_result(
    app: &App,
    ctx: &RequestContext,
    input: PutThirdPartyJobSuccessResultInput,
) -> Result<Empty, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    third_party_job(&mut state, &input.job_id, &input.client_token)?;
    crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
        results::succeed(
            cx,
            state,
            &input.job_id,
            JobSuccess {
                current_revision: input.current_revision,
                continuation_token: input.continuation_token,
                execution_details: input.execution_details,
                output_variables: None,
            },
        )
    })?;
    Ok(Empty::default())
}

pub fn put_third_party_job_failure_result(
    app: &App,
    ctx: &RequestContext,
    input: PutThirdPartyJobFailureResultInput,
) -> Result<Empty, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    third_party_job(&mut state, &input.job_id, &input.client_token)?;
    crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
        results::fail(cx, state, &input.job_id, input.failure_details)
    })?;
    Ok(Empty::default())
}

/// A ThirdParty job, checked against the client token its poller received.
fn third_party_job<'a>(
    state: &'a mut RegionState,
    job_id: &str,
    client_token: &str,
) -> Result<&'a mut JobRecord, ApiError> {
    let job = state
        .jobs
        .jobs
        .get_mut(job_id)
        .ok_or_else(|| job_not_found(job_id))?;
    if !job.third_party {
        return Err(ApiError::new(
            ErrorCode::InvalidJobException,
            format!("Job '{job_id}' is not a ThirdParty job: use the job calls for Custom actions"),
        ));
    }
    if job.client_id.as_deref() != Some(client_token) {
        return Err(ApiError::new(
            ErrorCode::InvalidClientTokenException,
            format!(
                "The client token does not match the client id job '{job_id}' was handed out with"
            ),
        ));
    }
    Ok(job)
}
