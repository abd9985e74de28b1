//! The AWS-owned action and rule types (from the CodePipeline user guide's action and rule
//! references, copied into `model/catalog/` by `scripts/copy-catalog.py`): what ListActionTypes
//! and ListRuleTypes return, and what pipeline validation checks actions and rules against.

use super::shapes::{ActionConfigurationProperty, ActionType, ActionTypeId, RuleType, RuleTypeId};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

const ACTION_TYPES_JSON: &str = include_str!("../../model/catalog/action-types.json");
const RULE_TYPES_JSON: &str = include_str!("../../model/catalog/rule-types.json");

/// An AWS-owned (or AWS-run ThirdParty) action type and what the emulator knows about it.
#[derive(Debug, Clone)]
pub struct CatalogActionType {
    /// The entry as the API returns it.
    pub action_type: ActionType,
    /// Output variables the action emits when it succeeds.
    pub output_variables: Vec<String>,
    /// The user chooses the names of (more) output variables: stack outputs, exported
    /// build variables, a function's or a Commands action's `outputVariables`.
    pub dynamic_outputs: bool,
    /// Configuration values AWS accepts, per key.
    pub allowed_values: BTreeMap<String, Vec<String>>,
    /// The action works only in V2 pipelines.
    pub v2_only: bool,
}

/// An AWS rule type for stage conditions.
#[derive(Debug, Clone)]
pub struct CatalogRuleType {
    pub rule_type: RuleType,
    pub allowed_values: BTreeMap<String, Vec<String>>,
    /// The rule may be used in a beforeEntry condition whose result is SKIP.
    pub allows_skip: bool,
}

static ACTION_TYPES: LazyLock<Vec<CatalogActionType>> = LazyLock::new(|| {
    entries(ACTION_TYPES_JSON, "actionTypes")
        .into_iter()
        .map(|entry| CatalogActionType {
            output_variables: strings(&entry["x_outputVariables"]),
            dynamic_outputs: entry["x_dynamicOutputVariables"].is_string(),
            allowed_values: allowed_values(&entry["x_allowedValues"]),
            v2_only: entry["x_v2Only"].as_bool().unwrap_or(false),
            action_type: serde_json::from_value(strip_extensions(entry))
                .expect("catalog action type matches the ActionType shape"),
        })
        .collect()
});

static RULE_TYPES: LazyLock<Vec<CatalogRuleType>> = LazyLock::new(|| {
    entries(RULE_TYPES_JSON, "ruleTypes")
        .into_iter()
        .map(|entry| CatalogRuleType {
            allowed_values: allowed_values(&entry["x_allowedValues"]),
            allows_skip: entry["x_allowsSkipResult"].as_bool().unwrap_or(false),
            rule_type: serde_json::from_value(strip_extensions(entry))
                .expect("catalog rule type matches the RuleType shape"),
        })
        .collect()
});

/// Every action type of the catalog (owners AWS and ThirdParty).
pub fn action_types() -> &'static [CatalogActionType] {
    &ACTION_TYPES
}

/// Every AWS rule type.
pub fn rule_types() -> &'static [CatalogRuleType] {
    &RULE_TYPES
}

/// The catalog entry for an action type id, if AWS defines it.
pub fn action_type(id: &ActionTypeId) -> Option<&'static CatalogActionType> {
    ACTION_TYPES
        .iter()
        .find(|t| same_action_type(&t.action_type.id, id))
}

/// The catalog entry for a rule type id (owner defaults to AWS, version to 1).
pub fn rule_type(id: &RuleTypeId) -> Option<&'static CatalogRuleType> {
    RULE_TYPES.iter().find(|t| {
        let known = &t.rule_type.id;
        known.provider == id.provider
            && known.category == id.category
            && known.owner == id.owner.or(known.owner)
            && known.version.as_deref() == Some(id.version.as_deref().unwrap_or("1"))
    })
}

pub fn same_action_type(a: &ActionTypeId, b: &ActionTypeId) -> bool {
    a.category == b.category
        && a.owner == b.owner
        && a.provider == b.provider
        && a.version == b.version
}

/// Configuration properties with `required: true`.
pub fn required_keys(properties: &[ActionConfigurationProperty]) -> impl Iterator<Item = &str> {
    properties
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name.as_str())
}

fn entries(text: &str, key: &str) -> Vec<Value> {
    let mut doc: Value = serde_json::from_str(text).expect("embedded catalog is JSON");
    match doc[key].take() {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

fn strip_extensions(mut entry: Value) -> Value {
    if let Value::Object(map) = &mut entry {
        map.retain(|k, _| !k.starts_with("x_"));
    }
    entry
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn allowed_values(value: &Value) -> BTreeMap<String, Vec<String>> {
    value
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), strings(v))).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::shapes::{ActionCategory, ActionOwner};

    #[test]
    fn the_catalog_loads_with_s3_source_and_rules() {
        let s3 = action_type(&ActionTypeId {
            category: ActionCategory::Source,
            owner: ActionOwner::Aws,
            provider: "S3".into(),
            version: "1".into(),
        })
        .expect("S3 source");
        assert_eq!(s3.action_type.output_artifact_details.maximum_count, 1);
        assert!(s3.output_variables.contains(&"ETag".to_string()));
        assert!(rule_types()
            .iter()
            .any(|r| r.rule_type.id.provider == "VariableCheck" && r.allows_skip));
        assert!(action_types().len() >= 28);
    }
}
