//! The rules a region's state keeps, checked on state that comes from outside the store (the
//! admin import): the handlers and the engine rely on them.

use super::{action_type_key, persistence, RegionState};
use crate::protocol::Scope;
use std::collections::BTreeSet;

/// An account id: 12 digits (the AWS model's `AccountId` pattern).
pub fn check_scope(scope: &Scope) -> Result<(), String> {
    let account_ok = scope.account.len() == 12 && scope.account.bytes().all(|b| b.is_ascii_digit());
    if !account_ok {
        return Err(format!(
            "account {:?} is not an AWS account id (12 digits)",
            scope.account
        ));
    }
    let region_ok = !scope.region.is_empty()
        && scope.region.len() <= 64
        && scope
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(format!(
            "region {:?} is not a region name (lowercase letters, digits and '-')",
            scope.region
        ));
    }
    Ok(())
}

/// Checks `state` (for `scope`) and rebuilds what is derived from its records.
pub fn check_and_index(scope: &Scope, state: &mut RegionState) -> Result<(), String> {
    check_scope(scope)?;
    for (name, record) in &state.pipelines {
        let here = format!("pipeline '{name}'");
        if record.current().name != *name {
            return Err(format!(
                "{here}: its declaration is named '{}'",
                record.current().name
            ));
        }
        for (i, version) in record.versions().enumerate() {
            let version = version.map_err(|e| format!("{here}: {e}"))?;
            if version.name != *name {
                return Err(format!(
                    "{here}: version {} is named '{}'",
                    i + 1,
                    version.name
                ));
            }
        }
        let runtime = &record.runtime;
        let mut ids = BTreeSet::new();
        for (seq, execution) in &runtime.executions {
            let there = format!("{here}, execution {}", execution.id);
            if *seq != execution.sequence {
                return Err(format!(
                    "{there}: filed under sequence {seq} but has {}",
                    execution.sequence
                ));
            }
            if *seq > runtime.next_sequence {
                return Err(format!("{there}: sequence {seq} is past next_sequence"));
            }
            if !ids.insert(execution.id.as_str()) {
                return Err(format!("{there}: the id is used twice"));
            }
            if execution.pipeline_version < 1 || execution.pipeline_version > record.version() {
                return Err(format!(
                    "{there}: pipeline version {} does not exist",
                    execution.pipeline_version
                ));
            }
            if runtime.execution_ids.get(&execution.id) != Some(seq) {
                return Err(format!("{there}: missing from execution_ids"));
            }
            for action in &execution.action_sequences {
                if !runtime.action_executions.contains_key(action) {
                    return Err(format!("{there}: action execution {action} does not exist"));
                }
            }
            for rule in &execution.rule_sequences {
                if !runtime.rule_executions.contains_key(rule) {
                    return Err(format!("{there}: rule execution {rule} does not exist"));
                }
            }
        }
        if runtime.execution_ids.len() != runtime.executions.len() {
            return Err(format!(
                "{here}: execution_ids names executions that do not exist"
            ));
        }
        for (seq, action) in &runtime.action_executions {
            let there = format!("{here}, action execution {}", action.id);
            if *seq != action.sequence || *seq > runtime.next_action_sequence {
                return Err(format!("{there}: bad sequence {seq}"));
            }
            if runtime.action_execution_ids.get(&action.id) != Some(seq) {
                return Err(format!("{there}: missing from action_execution_ids"));
            }
            if !runtime
                .execution_ids
                .contains_key(&action.pipeline_execution_id)
            {
                return Err(format!(
                    "{there}: its pipeline execution {} does not exist",
                    action.pipeline_execution_id
                ));
            }
        }
        if runtime.action_execution_ids.len() != runtime.action_executions.len() {
            return Err(format!(
                "{here}: action_execution_ids names action executions that do not exist"
            ));
        }
        for (seq, rule) in &runtime.rule_executions {
            if *seq != rule.sequence || *seq > runtime.next_rule_sequence {
                return Err(format!(
                    "{here}, rule execution {}: bad sequence {seq}",
                    rule.id
                ));
            }
        }
    }
    for (key, registered) in &state.action_types {
        let expected = action_type_key(&registered.action_type.id);
        if *key != expected {
            return Err(format!(
                "action type '{key}': its id makes the key '{expected}'"
            ));
        }
    }
    for (name, webhook) in &state.webhooks {
        if webhook.definition.name != *name {
            return Err(format!(
                "webhook '{name}': its definition is named '{}'",
                webhook.definition.name
            ));
        }
    }
    for (id, job) in &state.jobs.jobs {
        if job.id != *id {
            return Err(format!("job '{id}': its record has id '{}'", job.id));
        }
        if job.sequence > state.jobs.next_sequence {
            return Err(format!(
                "job '{id}': sequence {} is past next_sequence",
                job.sequence
            ));
        }
    }
    persistence::rebuild_indexes(state);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(account: &str, region: &str) -> Scope {
        Scope {
            account: account.into(),
            region: region.into(),
        }
    }

    #[test]
    fn scopes_follow_the_aws_patterns() {
        assert!(check_scope(&scope("123456789012", "eu-west-1")).is_ok());
        assert!(check_scope(&scope("../../x", "eu-west-1")).is_err());
        assert!(check_scope(&scope("12345678901", "eu-west-1")).is_err());
        assert!(check_scope(&scope("123456789012", "\0")).is_err());
        assert!(check_scope(&scope("123456789012", "")).is_err());
        assert!(check_scope(&scope("123456789012", "EU/../west")).is_err());
    }
}
