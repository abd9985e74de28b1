//! onFailure conditions on a stage a test worker drives: ROLLBACK to the last good execution (also
//! after a failing rule) and RETRY.

use super::*;

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
