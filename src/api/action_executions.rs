//! ListActionExecutions: every action execution of a pipeline, newest first, with its resolved
//! configuration, artifacts and output variables.

use super::executions::{find_execution, pipeline};
use super::pagination::{decode_token, encode_token, page_size};
use super::pipelines::MASK;
use crate::app::App;
use crate::engine::ActionExecutionRecord;
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::RegionState;
use std::collections::{BTreeMap, HashSet};

pub fn list_action_executions(
    app: &App,
    ctx: &RequestContext,
    input: ListActionExecutionsInput,
) -> Result<ListActionExecutionsOutput, ApiError> {
    let before = match input.next_token.as_deref() {
        Some(token) => Some(
            decode_token(token)?
                .parse::<u64>()
                .map_err(|_| ApiError::invalid_next_token())?,
        ),
        None => None,
    };
    let size = page_size(input.max_results, 100);
    let region = app.store.region(&ctx.scope);
    let state = region.lock();
    let record = pipeline(&state.pipelines, &input.pipeline_name, ctx)?;
    let filter = input.filter.unwrap_or_default();
    let mut only_execution = filter.pipeline_execution_id.clone();
    let mut latest_only = false;
    if let Some(latest) = &filter.latest_in_pipeline_execution {
        only_execution = Some(latest.pipeline_execution_id.clone());
        latest_only = latest.start_time_range == StartTimeRange::Latest;
    }
    if let Some(id) = &only_execution {
        find_execution(record, &input.pipeline_name, id)?;
    }
    let runtime = &record.runtime;
    let range = match before {
        Some(seq) => runtime.action_executions.range(..seq),
        None => runtime.action_executions.range(..),
    };
    let mut seen = HashSet::new();
    let mut details = Vec::new();
    let mut last = None;
    let mut more = false;
    for (seq, action) in range.rev() {
        if only_execution
            .as_ref()
            .is_some_and(|id| id != &action.pipeline_execution_id)
        {
            continue;
        }
        if latest_only && !seen.insert((action.stage.clone(), action.action.clone())) {
            continue;
        }
        if details.len() == size {
            more = true;
            break;
        }
        details.push(detail(&state, action));
        last = Some(*seq);
    }
    Ok(ListActionExecutionsOutput {
        action_execution_details: Some(details),
        next_token: if more {
            last.map(|s| encode_token(&s.to_string()))
        } else {
            None
        },
    })
}

fn detail(state: &RegionState, action: &ActionExecutionRecord) -> ActionExecutionDetail {
    let mut input = action.input.clone();
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
            output_variables: Some(action.output_variables.clone()).filter(|v| !v.is_empty()),
        }),
    }
}

fn mask(configuration: &mut Option<BTreeMap<String, String>>, secrets: &[String]) {
    if let Some(configuration) = configuration {
        for key in secrets {
            if let Some(value) = configuration.get_mut(key) {
                *value = MASK.to_string();
            }
        }
    }
}
