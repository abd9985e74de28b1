//! beforeEntry conditions (a failing VariableCheck fails the stage, a passing one lets the
//! execution in, SKIP skips the stage) and onSuccess conditions.

use super::*;

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
