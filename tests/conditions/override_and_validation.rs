//! OverrideStageCondition on an in-progress condition, and the validation of condition
//! declarations.

use super::*;

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
