//! ListRuleExecutions: the rule executions of stage conditions, newest first.

use super::lookup::pipeline;
use super::pagination::{decode_position, newest_first, page_size, ExecutionFilter};
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
        &filter.sequences(runtime, |e| &e.rule_sequences, runtime.rule_sequences()),
        before,
        size,
        |seq| {
            let record = runtime.rule_at(seq)?;
            let record = &*record;
            filter
                .keeps(
                    &record.pipeline_execution_id,
                    &record.stage,
                    &record.rule,
                    &mut seen,
                )
                .then(|| detail(record))
        },
    );
    Ok(ListRuleExecutionsOutput {
        rule_execution_details: Some(details),
        next_token,
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
