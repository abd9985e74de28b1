//! Stage conditions and rules (V2) through the AWS SDK for Rust: beforeEntry FAIL and SKIP,
//! onSuccess, onFailure ROLLBACK and RETRY, OverrideStageCondition, ListRuleExecutions.

#[path = "../common/mod.rs"]
mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::Result as ConditionResult;
use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use codepipeline_local::engine::behavior::{ConditionRuleBehavior, RuleOutcome};
use common::engine::*;
use common::*;

mod entry_and_success;
mod on_failure;
mod override_and_validation;

fn rule_type(provider: &str) -> RuleTypeId {
    RuleTypeId::builder()
        .category(RuleCategory::Rule)
        .owner(RuleOwner::Aws)
        .provider(provider)
        .version("1")
        .build()
        .unwrap()
}

/// VariableCheck: the source branch must equal `branch`.
fn branch_is(name: &str, branch: &str) -> RuleDeclaration {
    RuleDeclaration::builder()
        .name(name)
        .rule_type_id(rule_type("VariableCheck"))
        .configuration("Variable", "#{SourceVariables.BranchName}")
        .configuration("Operator", "EQ")
        .configuration("Value", branch)
        .build()
        .unwrap()
}

fn alarm_rule(name: &str) -> RuleDeclaration {
    RuleDeclaration::builder()
        .name(name)
        .rule_type_id(rule_type("CloudWatchAlarm"))
        .configuration("AlarmName", "HighErrorRate")
        .build()
        .unwrap()
}

fn condition(result: Option<ConditionResult>, rules: Vec<RuleDeclaration>) -> Condition {
    Condition::builder()
        .set_result(result)
        .set_rules(Some(rules))
        .build()
}

fn codecommit_source() -> ActionDeclaration {
    action(
        "Source",
        type_id(ActionCategory::Source, ActionOwner::Aws, "CodeCommit"),
        &[],
        &["Src"],
    )
    .configuration("RepositoryName", "repo")
    .configuration("BranchName", "main")
    .namespace("SourceVariables")
    .build()
    .unwrap()
}

/// Source (CodeCommit on main) -> Build (the given stage) -> Deploy.
fn conditioned_pipeline(name: &str, build: StageDeclaration) -> PipelineDeclaration {
    let deploy = codedeploy("Deploy", "Src");
    pipeline(name)
        .pipeline_type(PipelineType::V2)
        .stages(stage("Source", vec![codecommit_source()]))
        .stages(build)
        .stages(stage("Deploy", vec![deploy]))
        .build()
        .unwrap()
}

fn build_stage() -> aws_sdk_codepipeline::types::builders::StageDeclarationBuilder {
    StageDeclaration::builder()
        .name("Build")
        .actions(codebuild("Build", "Src", &[]))
}

async fn rule_executions(c: &Client, pipeline: &str, execution: &str) -> Vec<RuleExecutionDetail> {
    c.list_rule_executions()
        .pipeline_name(pipeline)
        .filter(
            RuleExecutionFilter::builder()
                .pipeline_execution_id(execution)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .rule_execution_details
        .unwrap_or_default()
}
