//! ListRuleExecutions: the rule executions of stage conditions, newest first.

use super::executions::{find_execution, pipeline};
use super::pagination::{decode_token, encode_token, page_size};
use crate::app::App;
use crate::engine::RuleExecutionRecord;
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};
use std::collections::HashSet;

pub fn list_rule_executions(
    app: &App,
    ctx: &RequestContext,
    input: ListRuleExecutionsInput,
) -> Result<ListRuleExecutionsOutput, ApiError> {
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
        Some(seq) => runtime.rule_executions.range(..seq),
        None => runtime.rule_executions.range(..),
    };
    let mut seen = HashSet::new();
    let mut details = Vec::new();
    let mut last = None;
    let mut more = false;
    for (seq, rule) in range.rev() {
        if only_execution
            .as_ref()
            .is_some_and(|id| id != &rule.pipeline_execution_id)
        {
            continue;
        }
        if latest_only && !seen.insert((rule.stage.clone(), rule.rule.clone())) {
            continue;
        }
        if details.len() == size {
            more = true;
            break;
        }
        details.push(detail(rule));
        last = Some(*seq);
    }
    Ok(ListRuleExecutionsOutput {
        rule_execution_details: Some(details),
        next_token: if more {
            last.map(|s| encode_token(&s.to_string()))
        } else {
            None
        },
    })
}

fn detail(rule: &RuleExecutionRecord) -> RuleExecutionDetail {
    RuleExecutionDetail {
        pipeline_execution_id: Some(rule.pipeline_execution_id.clone()),
        rule_execution_id: Some(rule.id.clone()),
        pipeline_version: Some(rule.pipeline_version),
        stage_name: Some(rule.stage.clone()),
        rule_name: Some(rule.rule.clone()),
        start_time: Some(rule.start_time),
        last_update_time: Some(rule.last_update_time),
        updated_by: None,
        status: Some(rule.status),
        input: Some(rule.input.clone()),
        output: Some(RuleExecutionOutput {
            execution_result: Some(RuleExecutionResult {
                external_execution_id: rule.external_execution_id.clone(),
                external_execution_summary: rule.summary.clone(),
                external_execution_url: None,
                error_details: rule.error_details.clone(),
            }),
        }),
    }
}
