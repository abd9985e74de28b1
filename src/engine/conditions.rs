//! Stage conditions (V2 pipelines): a condition is met when all of its rules succeed.
//! - beforeEntry: met -> the stage is entered; not met -> its result: FAIL (the stage fails) or
//!   SKIP (the stage is skipped and the execution goes on);
//! - onSuccess (after the actions succeeded): met -> the stage succeeds; not met -> ROLLBACK
//!   (the stage fails and is rolled back) or FAIL;
//! - onFailure (after the stage failed): without rules, its result applies at once; with rules,
//!   it applies when the condition fails, as for every condition ("the stage performs the
//!   specified result only when the condition fails"). ROLLBACK rolls the stage back to the
//!   latest execution that succeeded in it, RETRY retries the stage (once, with
//!   `retryConfiguration.retryMode`), FAIL leaves it failed.
//!
//! Rules run as rule executions: VariableCheck is evaluated for real against the execution's
//! variables, the other rule types follow the `[[rules]]` configuration (default: they pass).
//! An in-progress beforeEntry or onSuccess condition can be overridden (OverrideStageCondition).

use super::advance::Consequences;
use super::behavior::{matching_condition_rule, RuleOutcome};
use super::progress::{finish_stage, restart_stage, set_phase, StageRef};
use super::variables::VariableScope;
use super::{Cx, Subject, Timer};
use crate::model::*;
use crate::store::runtime::*;
use std::sync::Arc;
use std::time::Duration;

pub const BEFORE_ENTRY: &str = "BEFORE_ENTRY";
pub const ON_SUCCESS: &str = "ON_SUCCESS";
pub const ON_FAILURE: &str = "ON_FAILURE";

/// Automatic retries of a stage per execution (onFailure RETRY).
const MAX_AUTOMATED_RETRIES: i64 = 1;

/// Advances a stage that is evaluating one of its conditions.
#[allow(clippy::too_many_arguments)]
pub fn step(
    cx: &Cx,
    name: &str,
    arn: &str,
    runtime: &mut PipelineRuntime,
    seq: u64,
    index: usize,
    stage: &StageDeclaration,
    stopping: bool,
    effects: &mut Consequences,
) -> bool {
    let Some(phase) = runtime.executions[&seq]
        .stages
        .get(&stage.name)
        .map(|r| r.phase)
    else {
        return false;
    };
    if stopping {
        abandon_rules(cx, name, runtime, seq, &stage.name);
        finish_stage(
            cx,
            name,
            arn,
            runtime,
            StageRef { seq, index, stage },
            StageExecutionStatus::Stopped,
        );
        return true;
    }
    let (kind, condition) = match phase {
        StagePhase::BeforeEntry => (
            BEFORE_ENTRY,
            stage
                .before_entry
                .as_ref()
                .and_then(|c| c.conditions.first()),
        ),
        StagePhase::OnSuccess => (
            ON_SUCCESS,
            stage.on_success.as_ref().and_then(|c| c.conditions.first()),
        ),
        StagePhase::OnFailure => (
            ON_FAILURE,
            stage
                .on_failure
                .as_ref()
                .and_then(|f| f.conditions.as_ref())
                .and_then(|c| c.first()),
        ),
        _ => return false,
    };
    let rules = condition.and_then(|c| c.rules.clone()).unwrap_or_default();
    let existing = runtime.executions[&seq].stages[&stage.name]
        .conditions
        .get(kind)
        .cloned();
    let met = match existing {
        None if rules.is_empty() => true,
        None => {
            start_rules(cx, name, runtime, seq, stage, kind, &rules);
            return true;
        }
        Some(run) => match run.status {
            ConditionExecutionStatus::InProgress => {
                let statuses: Vec<RuleExecutionStatus> = run
                    .rules
                    .iter()
                    .filter_map(|s| runtime.rule_executions.get(s))
                    .map(|r| r.status)
                    .collect();
                if statuses.contains(&RuleExecutionStatus::InProgress) {
                    return false;
                }
                let met = statuses
                    .iter()
                    .all(|s| *s == RuleExecutionStatus::Succeeded);
                let failed_rule = run
                    .rules
                    .iter()
                    .filter_map(|s| runtime.rule_executions.get(s))
                    .find(|r| r.status != RuleExecutionStatus::Succeeded)
                    .map(|r| r.rule.clone());
                set_condition(
                    runtime,
                    seq,
                    &stage.name,
                    kind,
                    if met {
                        ConditionExecutionStatus::Succeeded
                    } else {
                        ConditionExecutionStatus::Failed
                    },
                    Some(match failed_rule {
                        Some(rule) => format!("Rule '{rule}' failed"),
                        None => "All rules succeeded".to_string(),
                    }),
                );
                met
            }
            ConditionExecutionStatus::Overridden | ConditionExecutionStatus::Succeeded => true,
            _ => false,
        },
    };
    let result = condition.and_then(|c| c.result);
    match phase {
        StagePhase::BeforeEntry => {
            if met {
                set_phase(runtime, seq, &stage.name, StagePhase::Actions { group: 0 });
            } else if result == Some(ConditionResult::Skip) {
                finish_stage(
                    cx,
                    name,
                    arn,
                    runtime,
                    StageRef { seq, index, stage },
                    StageExecutionStatus::Skipped,
                );
            } else {
                finish_stage(
                    cx,
                    name,
                    arn,
                    runtime,
                    StageRef { seq, index, stage },
                    StageExecutionStatus::Failed,
                );
            }
        }
        StagePhase::OnSuccess => {
            if met {
                finish_stage(
                    cx,
                    name,
                    arn,
                    runtime,
                    StageRef { seq, index, stage },
                    StageExecutionStatus::Succeeded,
                );
            } else {
                let execution_id = runtime.executions[&seq].id.clone();
                finish_stage(
                    cx,
                    name,
                    arn,
                    runtime,
                    StageRef { seq, index, stage },
                    StageExecutionStatus::Failed,
                );
                if result == Some(ConditionResult::Rollback) {
                    effects.rollbacks.push((stage.name.clone(), execution_id));
                }
            }
        }
        StagePhase::OnFailure => {
            let failure = stage.on_failure.as_ref();
            let result = result.or(failure.and_then(|f| f.result));
            let execution_id = runtime.executions[&seq].id.clone();
            let retries = runtime.executions[&seq].stages[&stage.name].auto_retries;
            let engage = rules.is_empty() || !met;
            match (engage, result) {
                (true, Some(ConditionResult::Retry)) if retries < MAX_AUTOMATED_RETRIES => {
                    let mode = failure
                        .and_then(|f| f.retry_configuration.as_ref())
                        .and_then(|r| r.retry_mode)
                        .unwrap_or(StageRetryMode::FailedActions);
                    restart_stage(
                        cx,
                        name,
                        arn,
                        runtime,
                        seq,
                        &stage.name,
                        index,
                        mode,
                        RetryTrigger::AutomatedStageRetry,
                    );
                }
                (true, Some(ConditionResult::Rollback)) => {
                    finish_stage(
                        cx,
                        name,
                        arn,
                        runtime,
                        StageRef { seq, index, stage },
                        StageExecutionStatus::Failed,
                    );
                    effects.rollbacks.push((stage.name.clone(), execution_id));
                }
                _ => finish_stage(
                    cx,
                    name,
                    arn,
                    runtime,
                    StageRef { seq, index, stage },
                    StageExecutionStatus::Failed,
                ),
            }
        }
        _ => {}
    }
    true
}

fn set_condition(
    runtime: &mut PipelineRuntime,
    seq: u64,
    stage: &str,
    kind: &str,
    status: ConditionExecutionStatus,
    summary: Option<String>,
) {
    if let Some(run) = runtime
        .live_execution_mut(seq)
        .and_then(|e| e.stages.get_mut(stage))
        .and_then(|r| r.conditions.get_mut(kind))
    {
        run.status = status;
        run.summary = summary;
        run.last_status_change = Timestamp::now();
    }
}

/// Starts one rule execution per rule of a condition; each finishes on its timer.
fn start_rules(
    cx: &Cx,
    name: &str,
    runtime: &mut PipelineRuntime,
    seq: u64,
    stage: &StageDeclaration,
    kind: &str,
    rules: &[RuleDeclaration],
) {
    let now = Timestamp::now();
    let region = cx.scope.region.clone();
    let mut sequences = Vec::new();
    for rule in rules {
        runtime.next_rule_sequence += 1;
        let sequence = runtime.next_rule_sequence;
        let execution = &runtime.executions[&seq];
        let configuration = rule.configuration.clone().unwrap_or_default();
        let resolved = VariableScope::of(execution).resolve_map(&configuration);
        let behavior =
            matching_condition_rule(cx.settings.condition_rules, name, &stage.name, rule);
        let mut record = RuleExecutionRecord {
            id: uuid::Uuid::new_v4().to_string(),
            sequence,
            pipeline_execution_id: execution.id.clone(),
            pipeline_version: execution.pipeline_version,
            stage: stage.name.clone(),
            rule: rule.name.clone(),
            status: RuleExecutionStatus::InProgress,
            start_time: now,
            last_update_time: now,
            input: RuleExecutionInput {
                rule_type_id: Some(rule.rule_type_id.clone()),
                configuration: Some(configuration),
                resolved_configuration: resolved.as_ref().ok().cloned(),
                role_arn: rule
                    .role_arn
                    .clone()
                    .or_else(|| Some(execution.declaration.role_arn.clone())),
                region: Some(rule.region.clone().unwrap_or_else(|| region.clone())),
                input_artifacts: Some(
                    rule.input_artifacts
                        .iter()
                        .flatten()
                        .map(|a| ArtifactDetail {
                            name: Some(a.name.clone()),
                            s3location: execution.artifacts.get(&a.name).map(|r| S3Location {
                                bucket: Some(r.bucket.clone()),
                                key: Some(r.key.clone()),
                            }),
                        })
                        .collect(),
                ),
            },
            summary: None,
            error_details: None,
            external_execution_id: None,
            duration_ms: behavior.and_then(|b| b.duration_ms).unwrap_or(0),
        };
        let duration = record.duration_ms;
        match resolved {
            Err(message) => finish_rule(&mut record, Err(message)),
            Ok(_) => cx.schedule(
                Duration::from_millis(duration),
                Timer::FinishRule {
                    pipeline: name.to_string(),
                    rule_sequence: sequence,
                },
            ),
        }
        runtime.rule_executions.insert(sequence, Arc::new(record));
        sequences.push(sequence);
    }
    if let Some(execution) = runtime.live_execution_mut(seq) {
        execution.rule_sequences.extend(&sequences);
        if let Some(run) = execution.stages.get_mut(&stage.name) {
            run.conditions.insert(
                kind.to_string(),
                ConditionRun {
                    status: ConditionExecutionStatus::InProgress,
                    summary: None,
                    last_status_change: now,
                    rules: sequences,
                },
            );
        }
    }
}

/// A rule's timer fired: evaluate it. False if it was no longer in progress.
pub fn evaluate_rule(
    cx: &Cx,
    pipeline: &str,
    runtime: &mut PipelineRuntime,
    sequence: u64,
) -> bool {
    let Some(record) = runtime.rule_executions.get(&sequence) else {
        return false;
    };
    if record.status != RuleExecutionStatus::InProgress {
        return false;
    }
    let provider = record
        .input
        .rule_type_id
        .as_ref()
        .map(|t| t.provider.clone())
        .unwrap_or_default();
    let configuration = record
        .input
        .resolved_configuration
        .clone()
        .unwrap_or_default();
    let verdict = if provider == "VariableCheck" {
        variable_check(&configuration)
    } else {
        let declared = runtime
            .execution(&record.pipeline_execution_id)
            .map(|e| e.declaration.clone());
        let declaration = declared
            .as_deref()
            .and_then(|d| d.stages.iter().find(|s| s.name == record.stage))
            .and_then(|s| find_rule(s, &record.rule));
        match declaration.and_then(|d| {
            matching_condition_rule(cx.settings.condition_rules, pipeline, &record.stage, d)
        }) {
            Some(rule) if rule.result == RuleOutcome::Fail => Err(rule
                .message
                .clone()
                .unwrap_or_else(|| format!("Rule of type {provider} failed (simulated)"))),
            _ => Ok(format!("Rule of type {provider} passed")),
        }
    };
    let execution = runtime
        .rule_executions
        .get(&sequence)
        .map(|r| r.pipeline_execution_id.clone());
    if let Some(record) = runtime.live_rule_mut(sequence) {
        finish_rule(record, verdict);
    }
    if let Some(seq) = execution.and_then(|id| runtime.execution_ids.get(&id).copied()) {
        runtime.touch(seq);
    }
    true
}

fn find_rule<'a>(stage: &'a StageDeclaration, rule: &str) -> Option<&'a RuleDeclaration> {
    let conditions = [
        stage.before_entry.as_ref().map(|c| &c.conditions),
        stage.on_success.as_ref().map(|c| &c.conditions),
        stage
            .on_failure
            .as_ref()
            .and_then(|c| c.conditions.as_ref()),
    ];
    conditions
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|c| c.rules.iter().flatten())
        .find(|r| r.name == rule)
}

fn finish_rule(record: &mut RuleExecutionRecord, verdict: Result<String, String>) {
    record.last_update_time = Timestamp::now();
    match verdict {
        Ok(summary) => {
            record.status = RuleExecutionStatus::Succeeded;
            record.summary = Some(summary);
        }
        Err(message) => {
            record.status = RuleExecutionStatus::Failed;
            record.summary = Some(message.clone());
            record.error_details = Some(ErrorDetails {
                code: Some("RuleFailed".into()),
                message: Some(message),
            });
        }
    }
}

/// VariableCheck: `Variable` (already resolved) compared with `Value` by `Operator`
/// (EQ, NE, CONTAINS, MATCHES).
fn variable_check(configuration: &Map<String>) -> Result<String, String> {
    let variable = configuration.get("Variable").cloned().unwrap_or_default();
    let value = configuration.get("Value").cloned().unwrap_or_default();
    let operator = configuration.get("Operator").cloned().unwrap_or_default();
    let passed = match operator.as_str() {
        "EQ" => variable == value,
        "NE" => variable != value,
        "CONTAINS" => variable.contains(&value),
        "MATCHES" => match regex::Regex::new(&value) {
            Ok(re) => re.is_match(&variable),
            Err(e) => {
                return Err(format!(
                    "Value '{value}' is not a valid regular expression: {e}"
                ))
            }
        },
        other => {
            return Err(format!(
                "Operator '{other}' is not one of EQ, NE, CONTAINS, MATCHES"
            ))
        }
    };
    if passed {
        Ok(format!("'{variable}' {operator} '{value}': true"))
    } else {
        Err(format!("'{variable}' {operator} '{value}': false"))
    }
}

/// Marks the in-progress rules of a stage's conditions Abandoned.
fn abandon_rules(cx: &Cx, name: &str, runtime: &mut PipelineRuntime, seq: u64, stage: &str) {
    let sequences: Vec<u64> = runtime.executions[&seq]
        .stages
        .get(stage)
        .map(|r| {
            r.conditions
                .values()
                .flat_map(|c| c.rules.clone())
                .collect()
        })
        .unwrap_or_default();
    for s in sequences {
        if let Some(rule) = runtime.live_rule_mut(s) {
            if rule.status == RuleExecutionStatus::InProgress {
                rule.status = RuleExecutionStatus::Abandoned;
                rule.last_update_time = Timestamp::now();
                cx.cancel_timer(name, Subject::Rule(s));
            }
        }
    }
}

/// OverrideStageCondition: the in-progress condition counts as met; its running rules are
/// abandoned. Returns false when no such condition is in progress.
pub fn override_condition(
    cx: &Cx,
    name: &str,
    runtime: &mut PipelineRuntime,
    seq: u64,
    stage: &str,
    kind: &str,
) -> bool {
    let in_progress = runtime.executions[&seq]
        .stages
        .get(stage)
        .and_then(|r| r.conditions.get(kind))
        .is_some_and(|c| c.status == ConditionExecutionStatus::InProgress);
    if !in_progress {
        return false;
    }
    runtime.touch(seq);
    let rules = runtime.executions[&seq]
        .stages
        .get(stage)
        .and_then(|r| r.conditions.get(kind))
        .map(|c| c.rules.clone())
        .unwrap_or_default();
    for s in rules {
        if let Some(rule) = runtime.live_rule_mut(s) {
            if rule.status == RuleExecutionStatus::InProgress {
                rule.status = RuleExecutionStatus::Abandoned;
                rule.last_update_time = Timestamp::now();
                cx.cancel_timer(name, Subject::Rule(s));
            }
        }
    }
    set_condition(
        runtime,
        seq,
        stage,
        kind,
        ConditionExecutionStatus::Overridden,
        Some("Overridden by OverrideStageCondition".into()),
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(variable: &str, operator: &str, value: &str) -> bool {
        let configuration = Map::from([
            ("Variable".to_string(), variable.to_string()),
            ("Operator".to_string(), operator.to_string()),
            ("Value".to_string(), value.to_string()),
        ]);
        variable_check(&configuration).is_ok()
    }

    #[test]
    fn variable_check_operators() {
        assert!(check("main", "EQ", "main"));
        assert!(!check("main", "EQ", "dev"));
        assert!(check("main", "NE", "dev"));
        assert!(check("feature/x", "CONTAINS", "feature"));
        assert!(check("v1.2.3", "MATCHES", r"^v\d+\.\d+\.\d+$"));
        assert!(!check("x", "MATCHES", "("));
        assert!(!check("x", "GT", "y"));
    }
}
