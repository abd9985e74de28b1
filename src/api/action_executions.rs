//! ListActionExecutions: every action execution of a pipeline, newest first, with its resolved
//! configuration, artifacts and output variables.

use super::lookup::pipeline;
use super::pagination::{decode_position, newest_first, page_size, ExecutionFilter};
use super::pipelines::MASK;
use crate::app::App;
use crate::engine::ActionExecutionRecord;
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::{PipelineRecord, RegionState};
use std::collections::HashSet;

pub fn list_action_executions(
    app: &App,
    ctx: &RequestContext,
    input: ListActionExecutionsInput,
) -> Result<ListActionExecutionsOutput, ApiError> {
    let before = decode_position(input.next_token.as_deref())?;
    let size = page_size(input.max_results, 100);
    let region = app.store.read(&ctx.scope);
    let state = region.lock();
    let pipeline_record = pipeline(&state.pipelines, &input.pipeline_name, ctx)?;
    let filter = ExecutionFilter::new(
        input
            .filter
            .as_ref()
            .and_then(|f| f.pipeline_execution_id.clone()),
        input
            .filter
            .as_ref()
            .and_then(|f| f.latest_in_pipeline_execution.clone()),
    );
    filter.check(pipeline_record, &input.pipeline_name)?;
    let mut seen = HashSet::new();
    let runtime = &pipeline_record.runtime;
    let (details, next_token) = newest_first(
        &filter.sequences(runtime, |e| &e.action_sequences, runtime.action_sequences()),
        before,
        size,
        |seq| {
            let record = runtime.action_at(seq)?;
            let record = &*record;
            filter
                .keeps(
                    &record.pipeline_execution_id,
                    &record.stage,
                    &record.action,
                    &mut seen,
                )
                .then(|| detail(&state, pipeline_record, record))
        },
    );
    Ok(ListActionExecutionsOutput {
        action_execution_details: Some(details),
        next_token,
    })
}

fn detail(
    state: &RegionState,
    pipeline_record: &PipelineRecord,
    action: &ActionExecutionRecord,
) -> ActionExecutionDetail {
    let mut input = action.input.clone();
    if input.configuration.is_none() {
        input.configuration = Some(configuration_of(pipeline_record, action));
    }
    // A finished record drops a resolved configuration equal to the declared one.
    if input.resolved_configuration.is_none() && !action.configuration_failed() {
        input.resolved_configuration = input.configuration.clone();
    }
    if let Some(type_id) = &input.action_type_id {
        let secrets = state.secret_configuration_keys(type_id);
        mask(&mut input.configuration, &secrets);
        mask(&mut input.resolved_configuration, &secrets);
    }
    ActionExecutionDetail {
        pipeline_execution_id: Some(action.pipeline_execution_id.clone()),
        action_execution_id: Some(action.id.clone()),
        pipeline_version: Some(action.pipeline_version),
        stage_name: Some(action.stage.clone()),
        action_name: Some(action.action.clone()),
        start_time: Some(action.start_time),
        last_update_time: Some(action.last_update_time),
        updated_by: action.updated_by.clone(),
        status: Some(action.status),
        input: Some(input),
        output: Some(ActionExecutionOutput {
            output_artifacts: Some(action.output_artifacts.clone()),
            execution_result: Some(ActionExecutionResult {
                external_execution_id: action.external_execution_id.clone(),
                external_execution_summary: action.summary.clone(),
                external_execution_url: action.external_execution_url.clone(),
                error_details: action.error_details.clone(),
                log_stream_arn: None,
            }),
            // AWS prints `{}` for an action without output variables.
            output_variables: Some(
                action
                    .output_variables
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        }),
    }
}

/// The unresolved configuration of an action execution: its action's, in the declaration the
/// pipeline execution ran (records do not keep a copy).
fn configuration_of(
    pipeline_record: &PipelineRecord,
    action: &ActionExecutionRecord,
) -> Map<String> {
    let declaration = match pipeline_record
        .runtime
        .execution(&action.pipeline_execution_id)
    {
        Some(execution) => Some(execution.declaration.clone()),
        None => pipeline_record.at_version(action.pipeline_version),
    };
    declaration
        .and_then(|d| action.declared_configuration(&d).cloned())
        .unwrap_or_default()
}

fn mask(configuration: &mut Option<Map<String>>, secrets: &[String]) {
    if let Some(configuration) = configuration {
        for key in secrets {
            if let Some(value) = configuration.get_mut(key) {
                *value = MASK.to_string();
            }
        }
    }
}
