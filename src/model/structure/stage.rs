//! Stage-level rules: unique blocker names, and stage conditions (V2 only; the results and
//! rules each kind of condition allows).

use super::action::check_allowed_values;
use super::*;

pub(super) fn check_blockers(stage: &StageDeclaration) -> Result<(), ApiError> {
    let mut names = HashSet::new();
    for blocker in stage.blockers.iter().flatten() {
        if !names.insert(blocker.name.as_str()) {
            return Err(ApiError::new(
                ErrorCode::InvalidBlockerDeclarationException,
                format!(
                    "Stage '{}' has more than one blocker named '{}'",
                    stage.name, blocker.name
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn check_conditions(stage: &StageDeclaration, v2: bool) -> Result<(), ApiError> {
    let has_conditions =
        stage.before_entry.is_some() || stage.on_success.is_some() || stage.on_failure.is_some();
    if has_conditions && !v2 {
        return Err(stage_error(format!(
            "Stage '{}' declares conditions: stage conditions are only supported in pipelines of type V2",
            stage.name
        )));
    }
    // (kind, conditions, results allowed for that kind)
    let mut groups: Vec<(&str, &[Condition], &[ConditionResult])> = Vec::new();
    if let Some(before) = &stage.before_entry {
        groups.push((
            "beforeEntry",
            &before.conditions,
            &[ConditionResult::Fail, ConditionResult::Skip],
        ));
    }
    if let Some(success) = &stage.on_success {
        groups.push((
            "onSuccess",
            &success.conditions,
            &[ConditionResult::Rollback, ConditionResult::Fail],
        ));
    }
    if let Some(failure) = &stage.on_failure {
        if let Some(result) = failure.result {
            if ![
                ConditionResult::Rollback,
                ConditionResult::Retry,
                ConditionResult::Fail,
            ]
            .contains(&result)
            {
                return Err(stage_error(format!(
                    "Stage '{}': onFailure result {result} is not supported; use ROLLBACK, RETRY or FAIL",
                    stage.name
                )));
            }
            if result == ConditionResult::Retry && failure.retry_configuration.is_none() {
                return Err(stage_error(format!(
                    "Stage '{}': onFailure with result RETRY needs a retryConfiguration",
                    stage.name
                )));
            }
        }
        if failure.retry_configuration.is_some() && failure.result != Some(ConditionResult::Retry) {
            return Err(stage_error(format!(
                "Stage '{}': retryConfiguration is only allowed with onFailure result RETRY",
                stage.name
            )));
        }
        if let Some(conditions) = &failure.conditions {
            groups.push((
                "onFailure",
                conditions,
                &[
                    ConditionResult::Rollback,
                    ConditionResult::Retry,
                    ConditionResult::Fail,
                ],
            ));
        }
    }
    for (kind, conditions, allowed) in groups {
        for condition in conditions {
            if let Some(result) = condition.result {
                if !allowed.contains(&result) {
                    return Err(stage_error(format!(
                        "Stage '{}': result {result} is not supported for {kind} conditions",
                        stage.name
                    )));
                }
            }
            let mut names = HashSet::new();
            for rule in condition.rules.iter().flatten() {
                if !names.insert(rule.name.as_str()) {
                    return Err(stage_error(format!(
                        "Stage '{}': rule names must be unique within a condition, '{}' is repeated",
                        stage.name, rule.name
                    )));
                }
                let Some(known) = catalog::rule_type(&rule.rule_type_id) else {
                    return Err(stage_error(format!(
                        "Stage '{}': rule '{}' uses rule type (Category: '{}', Owner: '{}', Provider: '{}', Version: '{}'), which does not exist",
                        stage.name,
                        rule.name,
                        rule.rule_type_id.category,
                        rule.rule_type_id.owner.map(|o| o.as_str()).unwrap_or("AWS"),
                        rule.rule_type_id.provider,
                        rule.rule_type_id.version.as_deref().unwrap_or("1"),
                    )));
                };
                if condition.result == Some(ConditionResult::Skip) && !known.allows_skip {
                    return Err(stage_error(format!(
                        "Stage '{}': rule '{}' of type {} cannot be used with result SKIP (only LambdaInvoke and VariableCheck rules can)",
                        stage.name, rule.name, rule.rule_type_id.provider
                    )));
                }
                let configuration = rule.configuration.clone().unwrap_or_default();
                for property in known
                    .rule_type
                    .rule_configuration_properties
                    .iter()
                    .flatten()
                {
                    if property.required && !configuration.contains_key(&property.name) {
                        return Err(stage_error(format!(
                            "Stage '{}': rule '{}' is missing required configuration '{}'",
                            stage.name, rule.name, property.name
                        )));
                    }
                }
                check_allowed_values(&known.allowed_values, &configuration).map_err(|(key, value, allowed)| {
                    stage_error(format!(
                        "Stage '{}': rule '{}' has configuration {key} = '{value}', which is not one of [{}]",
                        stage.name,
                        rule.name,
                        allowed.join(", ")
                    ))
                })?;
            }
        }
    }
    Ok(())
}
