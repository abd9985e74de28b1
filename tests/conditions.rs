//! Stage conditions and rules (V2) through the AWS SDK for Rust: beforeEntry FAIL and SKIP,
//! onSuccess, onFailure ROLLBACK and RETRY, OverrideStageCondition, ListRuleExecutions.

mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::Result as ConditionResult;
use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use codepipeline_local::engine::behavior::{ConditionRuleBehavior, RuleOutcome};
use common::engine::*;
use common::*;

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

#[tokio::test]
async fn a_failing_variable_check_before_entry_fails_the_stage() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let build = build_stage()
        .before_entry(
            BeforeEntryConditions::builder()
                .conditions(condition(
                    Some(ConditionResult::Fail),
                    vec![branch_is("OnRelease", "release")],
                ))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(conditioned_pipeline("gated", build))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "gated").await;
    wait_status(c, "gated", &id, PipelineExecutionStatus::Failed).await;
    let state = stage_state(c, "gated", "Build").await;
    assert_eq!(
        state.latest_execution().unwrap().status(),
        &StageExecutionStatus::Failed
    );
    assert!(
        state.action_states()[0].latest_execution().is_none(),
        "no action ran"
    );
    let condition_state = state.before_entry_condition_state().unwrap();
    assert_eq!(
        condition_state.latest_execution().unwrap().status(),
        Some(&ConditionExecutionStatus::Failed)
    );
    let rule_state = &condition_state.condition_states()[0].rule_states()[0];
    assert_eq!(rule_state.rule_name(), Some("OnRelease"));
    assert_eq!(
        rule_state.latest_execution().unwrap().status(),
        Some(&RuleExecutionStatus::Failed)
    );
    assert!(stage_state(c, "gated", "Deploy")
        .await
        .latest_execution()
        .is_none());

    let rules = rule_executions(c, "gated", &id).await;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].status(), Some(&RuleExecutionStatus::Failed));
    let input = rules[0].input().unwrap();
    assert_eq!(input.resolved_configuration().unwrap()["Variable"], "main");
    assert_eq!(
        input.configuration().unwrap()["Variable"],
        "#{SourceVariables.BranchName}"
    );
}

#[tokio::test]
async fn a_passing_variable_check_lets_the_execution_in() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let build = build_stage()
        .before_entry(
            BeforeEntryConditions::builder()
                .conditions(condition(
                    Some(ConditionResult::Fail),
                    vec![branch_is("OnMain", "main")],
                ))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(conditioned_pipeline("open", build))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "open").await;
    wait_status(c, "open", &id, PipelineExecutionStatus::Succeeded).await;
    let state = stage_state(c, "open", "Build").await;
    assert_eq!(
        state
            .before_entry_condition_state()
            .unwrap()
            .latest_execution()
            .unwrap()
            .status(),
        Some(&ConditionExecutionStatus::Succeeded)
    );
}

#[tokio::test]
async fn a_skip_result_skips_the_stage_and_the_execution_goes_on() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let build = build_stage()
        .before_entry(
            BeforeEntryConditions::builder()
                .conditions(condition(
                    Some(ConditionResult::Skip),
                    vec![branch_is("OnRelease", "release")],
                ))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(conditioned_pipeline("skippy", build))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "skippy").await;
    wait_status(c, "skippy", &id, PipelineExecutionStatus::Succeeded).await;
    assert_eq!(
        stage_state(c, "skippy", "Build")
            .await
            .latest_execution()
            .unwrap()
            .status(),
        &StageExecutionStatus::Skipped
    );
    assert_eq!(
        stage_state(c, "skippy", "Deploy")
            .await
            .latest_execution()
            .unwrap()
            .status(),
        &StageExecutionStatus::Succeeded
    );
    let names: Vec<_> = action_executions(c, "skippy", &id)
        .await
        .into_iter()
        .map(|a| a.action_name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Deploy", "Source"]);
}

#[tokio::test]
async fn a_failing_on_success_condition_fails_the_stage_after_its_actions() {
    let mut config = manual_config();
    config.rules.push(ConditionRuleBehavior {
        provider: Some("CloudWatchAlarm".into()),
        result: RuleOutcome::Fail,
        message: Some("Alarm HighErrorRate is in ALARM".into()),
        ..ConditionRuleBehavior::default()
    });
    let t = start_with(config).await;
    let c = &t.client;
    let build = build_stage()
        .on_success(
            SuccessConditions::builder()
                .conditions(condition(
                    Some(ConditionResult::Fail),
                    vec![alarm_rule("Alarm")],
                ))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(conditioned_pipeline("alarmed", build))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "alarmed").await;
    wait_status(c, "alarmed", &id, PipelineExecutionStatus::Failed).await;
    let state = stage_state(c, "alarmed", "Build").await;
    assert_eq!(
        state.action_states()[0]
            .latest_execution()
            .unwrap()
            .status(),
        Some(&ActionExecutionStatus::Succeeded)
    );
    assert_eq!(
        state.latest_execution().unwrap().status(),
        &StageExecutionStatus::Failed
    );
    let rules = rule_executions(c, "alarmed", &id).await;
    assert_eq!(
        rules[0]
            .output()
            .unwrap()
            .execution_result()
            .unwrap()
            .error_details()
            .unwrap()
            .message(),
        Some("Alarm HighErrorRate is in ALARM")
    );
}

/// A custom action a test worker drives: Build -> Deploy (custom "Deployer").
fn deployer_id() -> ActionTypeId {
    ActionTypeId::builder()
        .category(ActionCategory::Deploy)
        .owner(ActionOwner::Custom)
        .provider("Deployer")
        .version("1")
        .build()
        .unwrap()
}

async fn worker_deploy_pipeline(c: &Client, name: &str, on_failure: FailureConditions) {
    c.create_custom_action_type()
        .category(ActionCategory::Deploy)
        .provider("Deployer")
        .version("1")
        .input_artifact_details(common::artifacts(0, 1))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .ok();
    let deploy = StageDeclaration::builder()
        .name("Deploy")
        .actions(
            action("Deploy", deployer_id(), &["Src"], &[])
                .build()
                .unwrap(),
        )
        .on_failure(on_failure)
        .build()
        .unwrap();
    let declaration = pipeline(name)
        .pipeline_type(PipelineType::V2)
        .stages(stage("Source", vec![codecommit_source()]))
        .stages(deploy)
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
}

/// Takes the next Deployer job and reports success or failure.
async fn work(c: &Client, succeed: bool) {
    let job = wait_for("a Deployer job", || async {
        let out = c
            .poll_for_jobs()
            .action_type_id(deployer_id())
            .send()
            .await
            .unwrap();
        out.jobs.and_then(|mut j| j.pop())
    })
    .await;
    if succeed {
        c.put_job_success_result()
            .job_id(job.id().unwrap())
            .send()
            .await
            .unwrap();
    } else {
        c.put_job_failure_result()
            .job_id(job.id().unwrap())
            .failure_details(
                FailureDetails::builder()
                    .r#type(FailureType::JobFailed)
                    .message("boom")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
}

async fn rollback_after_failure(on_failure: FailureConditions) {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    worker_deploy_pipeline(c, "rolling", on_failure).await;
    let good = start_execution(c, "rolling").await;
    work(c, true).await;
    wait_status(c, "rolling", &good, PipelineExecutionStatus::Succeeded).await;
    let bad = start_execution(c, "rolling").await;
    work(c, false).await;
    wait_status(c, "rolling", &bad, PipelineExecutionStatus::Failed).await;
    // The rollback execution redeploys what the good execution deployed.
    let rollback = wait_for("an automated rollback", || async {
        let list = c
            .list_pipeline_executions()
            .pipeline_name("rolling")
            .send()
            .await
            .unwrap();
        list.pipeline_execution_summaries()
            .iter()
            .find(|s| s.execution_type() == Some(&ExecutionType::Rollback))
            .cloned()
    })
    .await;
    assert_eq!(
        rollback.trigger().and_then(|t| t.trigger_type()),
        Some(&TriggerType::AutomatedRollback)
    );
    assert_eq!(
        rollback
            .rollback_metadata()
            .and_then(|m| m.rollback_target_pipeline_execution_id()),
        Some(good.as_str())
    );
    work(c, true).await;
    let id = rollback.pipeline_execution_id().unwrap();
    wait_status(c, "rolling", id, PipelineExecutionStatus::Succeeded).await;
}

#[tokio::test]
async fn on_failure_rollback_rolls_the_stage_back_to_the_last_good_execution() {
    rollback_after_failure(
        FailureConditions::builder()
            .result(ConditionResult::Rollback)
            .build(),
    )
    .await;
}

#[tokio::test]
async fn a_failing_on_failure_rule_with_rollback_rolls_the_stage_back() {
    rollback_after_failure(
        FailureConditions::builder()
            .conditions(condition(
                Some(ConditionResult::Rollback),
                vec![branch_is("OnRelease", "release")],
            ))
            .build(),
    )
    .await;
}

#[tokio::test]
async fn on_failure_retry_retries_the_stage_once() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    worker_deploy_pipeline(
        c,
        "retrying",
        FailureConditions::builder()
            .result(ConditionResult::Retry)
            .retry_configuration(
                RetryConfiguration::builder()
                    .retry_mode(StageRetryMode::FailedActions)
                    .build(),
            )
            .build(),
    )
    .await;
    let id = start_execution(c, "retrying").await;
    work(c, false).await;
    work(c, true).await;
    wait_status(c, "retrying", &id, PipelineExecutionStatus::Succeeded).await;
    let deploy = stage_state(c, "retrying", "Deploy").await;
    let metadata = deploy.retry_stage_metadata().unwrap();
    assert_eq!(metadata.auto_stage_retry_attempt(), Some(1));
    assert_eq!(
        metadata.latest_retry_trigger(),
        Some(&RetryTrigger::AutomatedStageRetry)
    );
}

#[tokio::test]
async fn an_in_progress_condition_can_be_overridden() {
    let mut config = manual_config();
    config.rules.push(ConditionRuleBehavior {
        provider: Some("CloudWatchAlarm".into()),
        duration_ms: Some(60_000),
        ..ConditionRuleBehavior::default()
    });
    let t = start_with(config).await;
    let c = &t.client;
    let build = build_stage()
        .before_entry(
            BeforeEntryConditions::builder()
                .conditions(condition(
                    Some(ConditionResult::Fail),
                    vec![alarm_rule("SlowAlarm")],
                ))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(conditioned_pipeline("override", build))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "override").await;
    wait_for("the condition to be evaluated", || async {
        let state = stage_state(c, "override", "Build").await;
        state
            .before_entry_condition_state()
            .and_then(|s| s.latest_execution())
            .filter(|e| e.status() == Some(&ConditionExecutionStatus::InProgress))
            .map(|_| ())
    })
    .await;
    let err = c
        .override_stage_condition()
        .pipeline_name("override")
        .stage_name("Build")
        .pipeline_execution_id(&id)
        .condition_type(ConditionType::OnSuccess)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ConditionNotOverridableException"));
    let err = c
        .override_stage_condition()
        .pipeline_name("override")
        .stage_name("Build")
        .pipeline_execution_id("00000000-0000-0000-0000-000000000000")
        .condition_type(ConditionType::BeforeEntry)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NotLatestPipelineExecutionException"));
    c.override_stage_condition()
        .pipeline_name("override")
        .stage_name("Build")
        .pipeline_execution_id(&id)
        .condition_type(ConditionType::BeforeEntry)
        .send()
        .await
        .unwrap();
    wait_status(c, "override", &id, PipelineExecutionStatus::Succeeded).await;
    let state = stage_state(c, "override", "Build").await;
    assert_eq!(
        state
            .before_entry_condition_state()
            .unwrap()
            .latest_execution()
            .unwrap()
            .status(),
        Some(&ConditionExecutionStatus::Overridden)
    );
    let rules = rule_executions(c, "override", &id).await;
    assert_eq!(rules[0].status(), Some(&RuleExecutionStatus::Abandoned));
    let err = c
        .override_stage_condition()
        .pipeline_name("override")
        .stage_name("Nope")
        .pipeline_execution_id(&id)
        .condition_type(ConditionType::BeforeEntry)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("StageNotFoundException"));
}

#[tokio::test]
async fn condition_declarations_are_validated() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    // SKIP works only with LambdaInvoke and VariableCheck rules.
    let build = build_stage()
        .before_entry(
            BeforeEntryConditions::builder()
                .conditions(condition(
                    Some(ConditionResult::Skip),
                    vec![alarm_rule("Alarm")],
                ))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let err = c
        .create_pipeline()
        .pipeline(conditioned_pipeline("bad-skip", build))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidStageDeclarationException"));
    // Conditions need a V2 pipeline.
    let build = build_stage()
        .before_entry(
            BeforeEntryConditions::builder()
                .conditions(condition(
                    Some(ConditionResult::Fail),
                    vec![branch_is("B", "main")],
                ))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut v1 = conditioned_pipeline("v1-conditions", build);
    v1.pipeline_type = Some(PipelineType::V1);
    let err = c.create_pipeline().pipeline(v1).send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidStageDeclarationException"));
    // A rule type that does not exist.
    let unknown = RuleDeclaration::builder()
        .name("X")
        .rule_type_id(rule_type("NoSuchRule"))
        .build()
        .unwrap();
    let build = build_stage()
        .before_entry(
            BeforeEntryConditions::builder()
                .conditions(condition(Some(ConditionResult::Fail), vec![unknown]))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let err = c
        .create_pipeline()
        .pipeline(conditioned_pipeline("unknown-rule", build))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidStageDeclarationException"));
}
