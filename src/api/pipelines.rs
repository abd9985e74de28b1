//! CreatePipeline, GetPipeline, UpdatePipeline, DeletePipeline, ListPipelines.

use super::pagination::{decode_token, encode_token, page_size};
use super::tags::check_new_tags;
use crate::app::App;
use crate::engine::{self, StartRequest};
use crate::model::structure::{check_pipeline, fill_defaults, ActionTypeInfo, StructureContext};
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::{catalog_secret_keys, PipelineRecord, RegionState};
use std::sync::Arc;

/// Secret configuration values are never returned: AWS shows them as `****`.
pub const MASK: &str = "****";

pub fn create_pipeline(
    app: &App,
    ctx: &RequestContext,
    input: CreatePipelineInput,
) -> Result<CreatePipelineOutput, ApiError> {
    let mut pipeline = input.pipeline;
    let tags = input.tags.unwrap_or_default();
    check_new_tags(&tags, app.config.max_tags)?;
    pipeline.version = Some(1);
    let shown_early =
        check_early(app, ctx, &mut pipeline)?.then(|| masked_by(&pipeline, catalog_secret_keys));
    let region = app.store.region(&ctx.scope);
    let output = {
        let mut state = region.lock();
        if shown_early.is_none() {
            prepare_declaration(app, ctx, &state, &mut pipeline)?;
        }
        if state.pipelines.contains_key(&pipeline.name) {
            return Err(ApiError::new(
                ErrorCode::PipelineNameInUseException,
                format!(
                    "A pipeline with the name '{}' already exists in account '{}'",
                    pipeline.name, ctx.scope.account
                ),
            ));
        }
        if state.pipelines.len() >= app.config.max_pipelines {
            return Err(ApiError::new(
                ErrorCode::LimitExceededException,
                format!(
                    "The maximum number of pipelines ({}) for account '{}' in region '{}' has been reached",
                    app.config.max_pipelines, ctx.scope.account, ctx.scope.region
                ),
            ));
        }
        let arn = region.arn(&pipeline.name);
        let shown = match shown_early {
            Some(shown) if !state.registers_any(action_type_ids(&pipeline)) => shown,
            _ => masked(&state, &pipeline),
        };
        let name = pipeline.name.clone();
        state.pipelines.insert(
            name.clone(),
            Box::new(PipelineRecord::new(arn, pipeline, tags.clone())),
        );
        state.touch_pipeline(&name);
        state.dirty.versions.insert(name.clone());
        if app.config.auto_start {
            crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
                engine::start_execution(
                    cx,
                    state,
                    &name,
                    automatic_start(TriggerType::CreatePipeline, ctx),
                )
            })?;
        }
        CreatePipelineOutput {
            pipeline: Some(shown),
            tags: if tags.is_empty() { None } else { Some(tags) },
        }
    };
    Ok(output)
}

pub fn get_pipeline(
    app: &App,
    ctx: &RequestContext,
    input: GetPipelineInput,
) -> Result<GetPipelineOutput, ApiError> {
    let region = app.store.read(&ctx.scope);
    let state = region.lock();
    let record = state
        .pipelines
        .get(&input.name)
        .ok_or_else(|| ApiError::pipeline_not_found(&input.name, &ctx.scope.account))?;
    let declaration = match input.version {
        None => record.current().clone(),
        Some(version) => record.at_version(version).ok_or_else(|| {
            ApiError::new(
                ErrorCode::PipelineVersionNotFoundException,
                format!(
                    "Pipeline '{}' does not have a version {version}",
                    input.name
                ),
            )
        })?,
    };
    Ok(GetPipelineOutput {
        pipeline: Some(masked(&state, &declaration)),
        metadata: Some(PipelineMetadata {
            pipeline_arn: Some(record.arn.clone()),
            created: Some(record.created),
            updated: Some(record.updated),
            polling_disabled_at: None,
        }),
    })
}

pub fn update_pipeline(
    app: &App,
    ctx: &RequestContext,
    input: UpdatePipelineInput,
) -> Result<UpdatePipelineOutput, ApiError> {
    let mut pipeline = input.pipeline;
    // A missing pipeline is reported before a broken declaration.
    let checked_early = check_early(app, ctx, &mut pipeline);
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    if !state.pipelines.contains_key(&pipeline.name) {
        return Err(ApiError::pipeline_not_found(
            &pipeline.name,
            &ctx.scope.account,
        ));
    }
    if !checked_early? {
        prepare_declaration(app, ctx, &state, &mut pipeline)?;
    }
    let name = pipeline.name.clone();
    let record = state
        .pipelines
        .get_mut(&name)
        .ok_or_else(|| ApiError::pipeline_not_found(&name, &ctx.scope.account))?;
    // The version in the request is ignored: every accepted update becomes the next version.
    pipeline.version = Some(record.version() + 1);
    record.push_version(Arc::new(pipeline));
    record.updated = Timestamp::now();
    let current = record.current().clone();
    state.touch_pipeline(&name);
    state.dirty.versions.insert(name.clone());
    if app.config.auto_start {
        crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
            engine::start_execution(
                cx,
                state,
                &name,
                automatic_start(TriggerType::StartPipelineExecution, ctx),
            )
        })?;
    }
    Ok(UpdatePipelineOutput {
        pipeline: Some(masked(&state, &current)),
    })
}

pub fn delete_pipeline(
    app: &App,
    ctx: &RequestContext,
    input: DeletePipelineInput,
) -> Result<Empty, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    // AWS answers a delete of a missing pipeline with success.
    if let Some(record) = state.remove_pipeline(&input.name) {
        crate::runtime::stop_real_work(app, &record);
    }
    state.jobs.remove_pipeline(&input.name);
    crate::runtime::cancel_pipeline(app, &ctx.scope, &input.name);
    Ok(Empty::default())
}

pub fn list_pipelines(
    app: &App,
    ctx: &RequestContext,
    input: ListPipelinesInput,
) -> Result<ListPipelinesOutput, ApiError> {
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let size = page_size(input.max_results, 100);
    let region = app.store.read(&ctx.scope);
    let state = region.lock();
    let range = match &after {
        Some(last) => state
            .pipelines
            .range::<String, _>((std::ops::Bound::Excluded(last), std::ops::Bound::Unbounded)),
        None => state.pipelines.range::<String, _>(..),
    };
    let mut pipelines = Vec::with_capacity(size.min(state.pipelines.len()));
    let mut more = false;
    for (name, record) in range {
        if pipelines.len() == size {
            more = true;
            break;
        }
        let current = record.current();
        pipelines.push(PipelineSummary {
            name: Some(name.clone()),
            version: Some(record.version()),
            pipeline_type: current.pipeline_type,
            execution_mode: current.execution_mode,
            created: Some(record.created),
            updated: Some(record.updated),
        });
    }
    let next_token = if more {
        pipelines
            .last()
            .and_then(|p| p.name.as_deref())
            .map(encode_token)
    } else {
        None
    };
    Ok(ListPipelinesOutput {
        pipelines: Some(pipelines),
        next_token,
    })
}

/// The execution AWS starts by itself when a pipeline is created or updated.
fn automatic_start(trigger: TriggerType, ctx: &RequestContext) -> StartRequest {
    StartRequest {
        trigger_type: Some(trigger),
        trigger_detail: Some(ctx.caller_arn()),
        ..StartRequest::default()
    }
}

/// Applies AWS's defaults and checks the structure rules.
fn prepare_declaration(
    app: &App,
    ctx: &RequestContext,
    state: &RegionState,
    pipeline: &mut PipelineDeclaration,
) -> Result<(), ApiError> {
    check_declaration(app, ctx, &|id| state.registered_action_type(id), pipeline)
}

/// `prepare_declaration` before the region's lock is taken, when every action type of the
/// declaration is one of AWS's own: the catalog describes those whatever is registered in the
/// region, so the checks need nothing of its state (and other requests need not wait for them).
/// Whether it checked the declaration.
fn check_early(
    app: &App,
    ctx: &RequestContext,
    pipeline: &mut PipelineDeclaration,
) -> Result<bool, ApiError> {
    let catalog_only = action_type_ids(pipeline)
        .all(|id| id.owner == ActionOwner::Aws && crate::model::catalog::action_type(id).is_some());
    if !catalog_only {
        return Ok(false);
    }
    check_declaration(app, ctx, &|_| None, pipeline)?;
    Ok(true)
}

fn check_declaration(
    app: &App,
    ctx: &RequestContext,
    registered_action_type: &dyn Fn(&ActionTypeId) -> Option<ActionTypeInfo>,
    pipeline: &mut PipelineDeclaration,
) -> Result<(), ApiError> {
    fill_defaults(pipeline);
    let structure = StructureContext {
        region: &ctx.scope.region,
        max_stages: app.config.max_stages,
        max_actions_per_stage: app.config.max_actions_per_stage,
        registered_action_type,
    };
    check_pipeline(pipeline, &structure)
}

fn action_type_ids(pipeline: &PipelineDeclaration) -> impl Iterator<Item = &ActionTypeId> {
    pipeline
        .stages
        .iter()
        .flat_map(|s| &s.actions)
        .map(|a| &a.action_type_id)
}

/// The declaration as clients see it: secret configuration values masked.
pub fn masked(state: &RegionState, pipeline: &PipelineDeclaration) -> PipelineDeclaration {
    masked_by(pipeline, |id| state.secret_configuration_keys(id))
}

/// `masked` with the secret keys of each action type from `secret_keys`.
fn masked_by(
    pipeline: &PipelineDeclaration,
    secret_keys: impl Fn(&ActionTypeId) -> Vec<String>,
) -> PipelineDeclaration {
    let mut shown = pipeline.clone();
    for stage in &mut shown.stages {
        for action in &mut stage.actions {
            let secret_keys = secret_keys(&action.action_type_id);
            if let Some(configuration) = &mut action.configuration {
                for key in secret_keys {
                    if let Some(value) = configuration.get_mut(&key) {
                        *value = MASK.to_string();
                    }
                }
            }
        }
    }
    shown
}
