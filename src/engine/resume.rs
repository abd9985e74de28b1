//! Picking executions up after their state was restored (from disk or an import).

use super::{actions, advance, finish_action_by_id, Cx, Outcome, Timer};
use crate::model::*;
use crate::store::runtime::*;
use crate::store::RegionState;
use std::time::Duration;

/// Picks up executions after their state was restored (from disk or an import): every action
/// still in progress gets its timer back (a simulated action finishes, an approval or job times
/// out when its remaining time has passed), then every pipeline advances.
pub fn resume(cx: &Cx, state: &mut RegionState) {
    let now = Timestamp::now().millis();
    let elapsed = |start: Timestamp| Duration::from_millis((now - start.millis()).max(0) as u64);
    let names: Vec<String> = state.pipelines.keys().cloned().collect();
    for record in state.pipelines.values_mut() {
        record.runtime.rebuild_active();
    }
    // Real actions whose task was lost with the previous process: (pipeline, action id).
    let mut interrupted: Vec<(String, String)> = Vec::new();
    for name in &names {
        let Some(record) = state.pipelines.get(name) else {
            continue;
        };
        for action in record.runtime.action_executions.values() {
            if action.is_finished() {
                continue;
            }
            let waited = elapsed(action.start_time);
            let own_timeout = record
                .runtime
                .execution(&action.pipeline_execution_id)
                .and_then(|e| {
                    e.declaration
                        .stages
                        .iter()
                        .find(|s| s.name == action.stage)
                        .and_then(|s| s.actions.iter().find(|a| a.name == action.action))
                        .and_then(actions::action_timeout)
                });
            match &action.runner {
                Runner::Simulated { duration_ms, .. } => cx.schedule(
                    Duration::from_millis(*duration_ms).saturating_sub(waited),
                    Timer::FinishSimulated {
                        pipeline: name.clone(),
                        action_execution_id: action.id.clone(),
                    },
                ),
                Runner::Approval => cx.schedule(
                    own_timeout
                        .unwrap_or(cx.settings.approval_timeout)
                        .saturating_sub(waited),
                    Timer::ApprovalTimeout {
                        pipeline: name.clone(),
                        action_execution_id: action.id.clone(),
                    },
                ),
                Runner::Real { .. } => interrupted.push((name.clone(), action.id.clone())),
                Runner::Job { .. } => {
                    if let Some(job_id) = &action.job_id {
                        let created = state
                            .jobs
                            .jobs
                            .get(job_id)
                            .map(|j| j.created)
                            .unwrap_or(action.start_time);
                        cx.schedule(
                            own_timeout
                                .unwrap_or(cx.settings.job_timeout)
                                .saturating_sub(elapsed(created)),
                            Timer::JobTimeout {
                                pipeline: name.clone(),
                                job_id: job_id.clone(),
                            },
                        );
                    }
                }
            }
        }
    }
    for name in &names {
        let Some(record) = state.pipelines.get(name) else {
            continue;
        };
        for (sequence, rule) in &record.runtime.rule_executions {
            if rule.status == RuleExecutionStatus::InProgress {
                cx.schedule(
                    Duration::from_millis(rule.duration_ms)
                        .saturating_sub(elapsed(rule.start_time)),
                    Timer::FinishRule {
                        pipeline: name.clone(),
                        rule_sequence: *sequence,
                    },
                );
            }
        }
    }
    for (pipeline, action_execution_id) in interrupted {
        finish_action_by_id(
            cx,
            state,
            &pipeline,
            &action_execution_id,
            Outcome::failed(
                "JobFailed",
                "The action was interrupted: codepipeline-local stopped while it ran",
            ),
        );
    }
    for name in &names {
        advance(cx, state, name);
    }
}
