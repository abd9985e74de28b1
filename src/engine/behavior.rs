//! What simulated actions do, chosen per provider or per pipeline/stage/action name in the
//! configuration file. The first rule that matches an action wins; no match means `succeed`.
//!
//! ```toml
//! [[actions]]
//! provider = "CodeBuild"       # match keys, all optional: owner, category, provider,
//! pipeline = "my-pipeline"     # pipeline, stage, action
//! behavior = "fail"            # succeed | fail | worker
//! message = "Unit tests failed"
//! duration_ms = 1500
//! [actions.output_variables]
//! BuildID = "build-1"
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a simulated action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behavior {
    /// Succeed after `duration_ms`, with the provider's output variables.
    #[default]
    Succeed,
    /// Fail after `duration_ms` with `message`.
    Fail,
    /// Become a job that a worker polls for with PollForJobs (AWS action type id).
    Worker,
}

/// One action behaviour rule of the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRule {
    pub owner: Option<String>,
    pub category: Option<String>,
    pub provider: Option<String>,
    pub pipeline: Option<String>,
    pub stage: Option<String>,
    pub action: Option<String>,
    #[serde(default)]
    pub behavior: Behavior,
    pub message: Option<String>,
    pub summary: Option<String>,
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub output_variables: BTreeMap<String, String>,
}

impl ActionRule {
    /// Rejects rules that cannot mean anything.
    pub fn check(&self) -> Result<(), String> {
        if self.behavior != Behavior::Fail && self.message.is_some() {
            return Err("an action rule's `message` only applies to behavior = \"fail\"".into());
        }
        Ok(())
    }
}

/// The first rule matching an action, if any.
pub fn matching_rule<'a>(
    rules: &'a [ActionRule],
    pipeline: &str,
    stage: &str,
    action: &crate::model::ActionDeclaration,
) -> Option<&'a ActionRule> {
    let id = &action.action_type_id;
    rules.iter().find(|rule| {
        matches(&rule.owner, id.owner.as_str())
            && matches(&rule.category, id.category.as_str())
            && matches(&rule.provider, &id.provider)
            && matches(&rule.pipeline, pipeline)
            && matches(&rule.stage, stage)
            && matches(&rule.action, &action.name)
    })
}

fn matches(wanted: &Option<String>, actual: &str) -> bool {
    wanted.as_deref().is_none_or(|w| w == actual)
}

/// What a simulated stage-condition rule (any type but VariableCheck) reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleOutcome {
    #[default]
    Pass,
    Fail,
}

/// One `[[rules]]` entry of the configuration file: how simulated condition rules behave.
///
/// ```toml
/// [[rules]]
/// provider = "CloudWatchAlarm"   # match keys, all optional: provider, pipeline, stage, rule
/// result = "fail"                # pass | fail
/// message = "Alarm HighErrorRate is in ALARM"
/// duration_ms = 200
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionRuleBehavior {
    pub provider: Option<String>,
    pub pipeline: Option<String>,
    pub stage: Option<String>,
    pub rule: Option<String>,
    #[serde(default)]
    pub result: RuleOutcome,
    pub message: Option<String>,
    pub duration_ms: Option<u64>,
}

/// The first condition-rule behaviour matching a rule, if any.
pub fn matching_condition_rule<'a>(
    rules: &'a [ConditionRuleBehavior],
    pipeline: &str,
    stage: &str,
    rule: &crate::model::RuleDeclaration,
) -> Option<&'a ConditionRuleBehavior> {
    rules.iter().find(|r| {
        matches(&r.provider, &rule.rule_type_id.provider)
            && matches(&r.pipeline, pipeline)
            && matches(&r.stage, stage)
            && matches(&r.rule, &rule.name)
    })
}
