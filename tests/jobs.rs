//! Job workers written with the AWS SDK for Rust: custom action types, the job protocol
//! (poll, acknowledge, success with output variables, continuation tokens, failure), ThirdParty
//! jobs, and AWS actions in worker mode.

mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use codepipeline_local::engine::behavior::Behavior;
use common::engine::*;
use common::*;
use std::collections::HashSet;

fn custom_id(provider: &str) -> ActionTypeId {
    ActionTypeId::builder()
        .category(ActionCategory::Build)
        .owner(ActionOwner::Custom)
        .provider(provider)
        .version("1")
        .build()
        .unwrap()
}

async fn create_custom_type(c: &Client, provider: &str) {
    c.create_custom_action_type()
        .category(ActionCategory::Build)
        .provider(provider)
        .version("1")
        .configuration_properties(
            ActionConfigurationProperty::builder()
                .name("ProjectName")
                .required(true)
                .key(true)
                .secret(false)
                .queryable(true)
                .build()
                .unwrap(),
        )
        .configuration_properties(
            ActionConfigurationProperty::builder()
                .name("Token")
                .required(false)
                .key(false)
                .secret(true)
                .build()
                .unwrap(),
        )
        .input_artifact_details(common::artifacts(1, 1))
        .output_artifact_details(common::artifacts(0, 1))
        .tags(Tag::builder().key("team").value("ci").build().unwrap())
        .send()
        .await
        .expect("create custom action type");
}

/// Source -> Build (custom, namespace BuildVars) -> Deploy (CodeDeploy reading #{BuildVars.Image}).
fn worker_pipeline(name: &str, provider: &str, project: &str) -> PipelineDeclaration {
    let build = action("Build", custom_id(provider), &["Src"], &["Built"])
        .configuration("ProjectName", project)
        .configuration("Token", "s3cr3t")
        .namespace("BuildVars")
        .build()
        .unwrap();
    let deploy = action(
        "Deploy",
        type_id(ActionCategory::Deploy, ActionOwner::Aws, "CodeDeploy"),
        &["Built"],
        &[],
    )
    .configuration("ApplicationName", "#{BuildVars.Image}")
    .configuration("DeploymentGroupName", "group")
    .build()
    .unwrap();
    pipeline(name)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Build", vec![build]))
        .stages(stage("Deploy", vec![deploy]))
        .build()
        .unwrap()
}

async fn poll_one(c: &Client, provider: &str) -> Job {
    wait_for("a job to poll", || async {
        let out = c
            .poll_for_jobs()
            .action_type_id(custom_id(provider))
            .send()
            .await
            .unwrap();
        out.jobs.and_then(|mut jobs| jobs.pop())
    })
    .await
}

#[tokio::test]
async fn a_worker_polls_acknowledges_and_succeeds_with_variables_a_later_action_uses() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    create_custom_type(c, "MyBuilder").await;
    c.create_pipeline()
        .pipeline(worker_pipeline("worked", "MyBuilder", "proj"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "worked").await;
    let job = poll_one(c, "MyBuilder").await;
    let job_id = job.id().unwrap();
    let data = job.data().unwrap();
    // Full JobData, as AWS hands it out.
    assert_eq!(data.action_type_id().unwrap().provider(), "MyBuilder");
    let configuration = data
        .action_configuration()
        .unwrap()
        .configuration()
        .unwrap();
    assert_eq!(configuration["ProjectName"], "proj");
    assert_eq!(
        configuration["Token"], "s3cr3t",
        "workers see secret values"
    );
    let context = data.pipeline_context().unwrap();
    assert_eq!(context.pipeline_name(), Some("worked"));
    assert_eq!(context.stage().unwrap().name(), Some("Build"));
    assert_eq!(context.action().unwrap().name(), Some("Build"));
    assert_eq!(context.pipeline_execution_id(), Some(id.as_str()));
    assert_eq!(
        context.pipeline_arn(),
        Some("arn:aws:codepipeline:us-east-1:000000000000:worked")
    );
    let input = &data.input_artifacts()[0];
    assert_eq!(input.name(), Some("Src"));
    let location = input.location().unwrap().s3_location().unwrap();
    assert_eq!(location.bucket_name(), "artifact-bucket");
    assert!(location.object_key().starts_with("worked/Src/"));
    assert!(input.revision().is_some());
    assert_eq!(data.output_artifacts()[0].name(), Some("Built"));
    assert!(data
        .artifact_credentials()
        .unwrap()
        .access_key_id()
        .starts_with("ASIA"));
    assert_eq!(job.account_id(), Some("000000000000"));
    // The job is handed out once only.
    let again = c
        .poll_for_jobs()
        .action_type_id(custom_id("MyBuilder"))
        .send()
        .await
        .unwrap();
    assert!(again.jobs().is_empty());

    let err = c
        .acknowledge_job()
        .job_id(job_id)
        .nonce("wrong")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidNonceException"));
    let ack = c
        .acknowledge_job()
        .job_id(job_id)
        .nonce(job.nonce().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), Some(&JobStatus::InProgress));
    let details = c.get_job_details().job_id(job_id).send().await.unwrap();
    assert_eq!(details.job_details().unwrap().id(), Some(job_id));

    c.put_job_success_result()
        .job_id(job_id)
        .execution_details(
            ExecutionDetails::builder()
                .summary("Built image")
                .external_execution_id("build-42")
                .percent_complete(100)
                .build(),
        )
        .output_variables("Image", "registry/app:42")
        .send()
        .await
        .unwrap();
    wait_status(c, "worked", &id, PipelineExecutionStatus::Succeeded).await;
    let actions = action_executions(c, "worked", &id).await;
    let build = actions
        .iter()
        .find(|a| a.action_name() == Some("Build"))
        .unwrap();
    let result = build.output().unwrap().execution_result().unwrap();
    assert_eq!(result.external_execution_summary(), Some("Built image"));
    assert_eq!(result.external_execution_id(), Some("build-42"));
    assert_eq!(
        build.output().unwrap().output_variables().unwrap()["Image"],
        "registry/app:42"
    );
    assert_eq!(
        build.input().unwrap().configuration().unwrap()["Token"],
        "****",
        "secrets are masked"
    );
    let deploy = actions
        .iter()
        .find(|a| a.action_name() == Some("Deploy"))
        .unwrap();
    assert_eq!(
        deploy.input().unwrap().resolved_configuration().unwrap()["ApplicationName"],
        "registry/app:42"
    );
    // A finished job takes no more results.
    let err = c
        .put_job_success_result()
        .job_id(job_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidJobStateException"));
    let err = c
        .put_job_failure_result()
        .job_id(job_id)
        .failure_details(
            FailureDetails::builder()
                .r#type(FailureType::JobFailed)
                .message("late")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidJobStateException"));
    let unknown = "00000000-0000-0000-0000-000000000000";
    let err = c
        .get_job_details()
        .job_id(unknown)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("JobNotFoundException"));
    let err = c
        .acknowledge_job()
        .job_id(unknown)
        .nonce("n")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("JobNotFoundException"));
    let err = c
        .put_job_success_result()
        .job_id(unknown)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("JobNotFoundException"));
}

#[tokio::test]
async fn a_continuation_token_keeps_the_action_running_with_a_new_job() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    create_custom_type(c, "LongBuilder").await;
    c.create_pipeline()
        .pipeline(worker_pipeline("long", "LongBuilder", "p"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "long").await;
    let first = poll_one(c, "LongBuilder").await;
    assert!(first.data().unwrap().continuation_token().is_none());
    c.put_job_success_result()
        .job_id(first.id().unwrap())
        .continuation_token("step-2")
        .execution_details(
            ExecutionDetails::builder()
                .summary("halfway")
                .percent_complete(50)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let build = stage_state(c, "long", "Build").await;
    let latest = build.action_states()[0].latest_execution().unwrap();
    assert_eq!(latest.status(), Some(&ActionExecutionStatus::InProgress));
    assert_eq!(latest.percent_complete(), Some(50));
    let second = poll_one(c, "LongBuilder").await;
    assert_ne!(second.id(), first.id());
    assert_eq!(second.data().unwrap().continuation_token(), Some("step-2"));
    c.put_job_success_result()
        .job_id(second.id().unwrap())
        .output_variables("Image", "done")
        .send()
        .await
        .unwrap();
    wait_status(c, "long", &id, PipelineExecutionStatus::Succeeded).await;
}

#[tokio::test]
async fn a_failure_result_fails_the_action_with_its_message() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    create_custom_type(c, "Flaky").await;
    c.create_pipeline()
        .pipeline(worker_pipeline("flaky", "Flaky", "p"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "flaky").await;
    let job = poll_one(c, "Flaky").await;
    c.put_job_failure_result()
        .job_id(job.id().unwrap())
        .failure_details(
            FailureDetails::builder()
                .r#type(FailureType::JobFailed)
                .message("compiler exploded")
                .external_execution_id("ext-1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_status(c, "flaky", &id, PipelineExecutionStatus::Failed).await;
    let latest = stage_state(c, "flaky", "Build").await.action_states()[0]
        .latest_execution()
        .cloned()
        .unwrap();
    assert_eq!(latest.status(), Some(&ActionExecutionStatus::Failed));
    let error = latest.error_details().unwrap();
    assert_eq!(error.code(), Some("JobFailed"));
    assert_eq!(error.message(), Some("compiler exploded"));
}

#[tokio::test]
async fn oversized_output_variables_are_refused() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    create_custom_type(c, "Chatty").await;
    c.create_pipeline()
        .pipeline(worker_pipeline("chatty", "Chatty", "p"))
        .send()
        .await
        .unwrap();
    start_execution(c, "chatty").await;
    let job = poll_one(c, "Chatty").await;
    let big = "x".repeat(130_000);
    let err = c
        .put_job_success_result()
        .job_id(job.id().unwrap())
        .output_variables("Big", big)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("OutputVariablesSizeExceededException"));
    // The job still takes a proper result.
    c.put_job_success_result()
        .job_id(job.id().unwrap())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_workers_never_receive_the_same_job() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    create_custom_type(c, "Shared").await;
    let mut pipelines = Vec::new();
    for i in 0..10 {
        let name = format!("shared-{i}");
        c.create_pipeline()
            .pipeline(worker_pipeline(&name, "Shared", "p"))
            .send()
            .await
            .unwrap();
        start_execution(c, &name).await;
        pipelines.push(name);
    }
    // Wait until all ten jobs are queued (each execution reached its Build stage).
    for name in &pipelines {
        wait_for("build to start", || async {
            stage_state(c, name, "Build")
                .await
                .latest_execution()
                .map(|_| ())
        })
        .await;
    }
    let mut workers = Vec::new();
    for _ in 0..8 {
        let client = t.client_for("test", "us-east-1");
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..5 {
                let out = client
                    .poll_for_jobs()
                    .action_type_id(custom_id("Shared"))
                    .max_batch_size(2)
                    .send()
                    .await
                    .unwrap();
                got.extend(out.jobs().iter().map(|j| j.id().unwrap().to_string()));
            }
            got
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 10, "every job handed out exactly once");
    assert_eq!(unique.len(), 10);
}

#[tokio::test]
async fn query_params_select_jobs_by_their_queryable_configuration() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    create_custom_type(c, "Picky").await;
    c.create_pipeline()
        .pipeline(worker_pipeline("picky-a", "Picky", "alpha"))
        .send()
        .await
        .unwrap();
    c.create_pipeline()
        .pipeline(worker_pipeline("picky-b", "Picky", "beta"))
        .send()
        .await
        .unwrap();
    start_execution(c, "picky-a").await;
    start_execution(c, "picky-b").await;
    let job = wait_for("the beta job", || async {
        let out = c
            .poll_for_jobs()
            .action_type_id(custom_id("Picky"))
            .query_param("ProjectName", "beta")
            .max_batch_size(10)
            .send()
            .await
            .unwrap();
        out.jobs.and_then(|mut j| j.pop())
    })
    .await;
    assert_eq!(
        job.data()
            .unwrap()
            .pipeline_context()
            .unwrap()
            .pipeline_name(),
        Some("picky-b")
    );
    let err = c
        .poll_for_jobs()
        .action_type_id(custom_id("Picky"))
        .query_param("Token", "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = c
        .poll_for_jobs()
        .action_type_id(custom_id("Unregistered"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionTypeNotFoundException"));
}

#[tokio::test]
async fn an_aws_action_in_worker_mode_waits_for_the_test_worker() {
    let mut config = manual_config();
    config.actions.push(rule("CodeBuild", Behavior::Worker));
    let t = start_with(config).await;
    let c = &t.client;
    c.create_pipeline()
        .pipeline(two_stage_pipeline("aws-worker"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "aws-worker").await;
    let codebuild = type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild");
    let job = wait_for("the CodeBuild job", || async {
        let out = c
            .poll_for_jobs()
            .action_type_id(codebuild.clone())
            .send()
            .await
            .unwrap();
        out.jobs.and_then(|mut j| j.pop())
    })
    .await;
    assert_eq!(
        execution(c, "aws-worker", &id).await.status(),
        Some(&PipelineExecutionStatus::InProgress)
    );
    c.put_job_success_result()
        .job_id(job.id().unwrap())
        .send()
        .await
        .unwrap();
    wait_status(c, "aws-worker", &id, PipelineExecutionStatus::Succeeded).await;
}

#[tokio::test]
async fn a_job_no_worker_finishes_times_out() {
    let mut config = manual_config();
    config.job_timeout = std::time::Duration::from_millis(100);
    let t = start_with(config).await;
    let c = &t.client;
    create_custom_type(c, "Nobody").await;
    c.create_pipeline()
        .pipeline(worker_pipeline("nobody", "Nobody", "p"))
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "nobody").await;
    wait_status(c, "nobody", &id, PipelineExecutionStatus::Failed).await;
    let latest = stage_state(c, "nobody", "Build").await.action_states()[0]
        .latest_execution()
        .cloned()
        .unwrap();
    assert!(latest
        .error_details()
        .unwrap()
        .message()
        .unwrap()
        .contains("timed out"));
}

fn third_party_id(provider: &str) -> ActionTypeId {
    ActionTypeId::builder()
        .category(ActionCategory::Test)
        .owner(ActionOwner::ThirdParty)
        .provider(provider)
        .version("1")
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_third_party_worker_uses_client_tokens() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let test = action("Scan", third_party_id("Scanner"), &["Src"], &[])
        .configuration("Target", "app")
        .build()
        .unwrap();
    let declaration = pipeline("partner")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Test", vec![test]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "partner").await;
    let job = wait_for("a third-party job", || async {
        let out = c
            .poll_for_third_party_jobs()
            .action_type_id(third_party_id("Scanner"))
            .send()
            .await
            .unwrap();
        out.jobs.and_then(|mut j| j.pop())
    })
    .await;
    let (job_id, client) = (job.job_id().unwrap(), job.client_id().unwrap());
    let err = c
        .get_third_party_job_details()
        .job_id(job_id)
        .client_token("wrong")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidClientTokenException"));
    let details = c
        .get_third_party_job_details()
        .job_id(job_id)
        .client_token(client)
        .send()
        .await
        .unwrap();
    let details = details.job_details().unwrap();
    let nonce = details.nonce().unwrap();
    assert_eq!(
        details
            .data()
            .unwrap()
            .action_configuration()
            .unwrap()
            .configuration()
            .unwrap()["Target"],
        "app"
    );
    let err = c
        .acknowledge_third_party_job()
        .job_id(job_id)
        .client_token(client)
        .nonce("wrong")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidNonceException"));
    let ack = c
        .acknowledge_third_party_job()
        .job_id(job_id)
        .client_token(client)
        .nonce(nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), Some(&JobStatus::InProgress));
    c.put_third_party_job_success_result()
        .job_id(job_id)
        .client_token(client)
        .continuation_token("more")
        .send()
        .await
        .unwrap();
    let next = wait_for("the continued job", || async {
        let out = c
            .poll_for_third_party_jobs()
            .action_type_id(third_party_id("Scanner"))
            .send()
            .await
            .unwrap();
        out.jobs.and_then(|mut j| j.pop())
    })
    .await;
    let err = c
        .put_third_party_job_failure_result()
        .job_id(next.job_id().unwrap())
        .client_token(client)
        .failure_details(
            FailureDetails::builder()
                .r#type(FailureType::JobFailed)
                .message("x")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("InvalidClientTokenException"),
        "a new job has a new client id"
    );
    c.put_third_party_job_failure_result()
        .job_id(next.job_id().unwrap())
        .client_token(next.client_id().unwrap())
        .failure_details(
            FailureDetails::builder()
                .r#type(FailureType::JobFailed)
                .message("vulnerable")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_status(c, "partner", &id, PipelineExecutionStatus::Failed).await;
    // Third-party jobs are not served by the Custom job calls, and vice versa.
    let err = c.get_job_details().job_id(job_id).send().await.unwrap_err();
    assert_eq!(err.code(), Some("JobNotFoundException"));
    let err = c
        .get_third_party_job_details()
        .job_id("00000000-0000-0000-0000-000000000000")
        .client_token(client)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("JobNotFoundException"));
}

#[tokio::test]
async fn custom_action_types_are_listed_tagged_and_deleted_for_good() {
    let mut config = manual_config();
    config.max_custom_action_types = 2;
    let t = start_with(config).await;
    let c = &t.client;
    create_custom_type(c, "Listed").await;
    let all = c.list_action_types().send().await.unwrap();
    let providers: Vec<_> = all
        .action_types()
        .iter()
        .map(|t| t.id().unwrap().provider().to_string())
        .collect();
    for expected in [
        "S3",
        "CodeCommit",
        "CodeBuild",
        "CodeDeploy",
        "CloudFormation",
        "Manual",
        "Lambda",
        "Listed",
    ] {
        assert!(providers.iter().any(|p| p == expected), "{expected} listed");
    }
    let custom = c
        .list_action_types()
        .action_owner_filter(ActionOwner::Custom)
        .send()
        .await
        .unwrap();
    assert_eq!(custom.action_types().len(), 1);
    let listed = &custom.action_types()[0];
    assert_eq!(listed.input_artifact_details().unwrap().maximum_count(), 1);
    assert_eq!(listed.action_configuration_properties().len(), 2);
    let aws = c
        .list_action_types()
        .action_owner_filter(ActionOwner::Aws)
        .send()
        .await
        .unwrap();
    assert!(aws
        .action_types()
        .iter()
        .all(|t| t.id().unwrap().owner() == &ActionOwner::Aws));
    let codebuild = aws
        .action_types()
        .iter()
        .find(|t| {
            t.id().unwrap().provider() == "CodeBuild"
                && t.id().unwrap().category() == &ActionCategory::Build
        })
        .unwrap();
    assert_eq!(
        codebuild.input_artifact_details().unwrap().minimum_count(),
        1
    );
    assert_eq!(
        codebuild.input_artifact_details().unwrap().maximum_count(),
        5
    );

    let arn = "arn:aws:codepipeline:us-east-1:000000000000:actiontype:Custom/Build/Listed/1";
    let tags = c
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), "team");

    let err = c
        .create_custom_action_type()
        .category(ActionCategory::Build)
        .provider("Listed")
        .version("1")
        .input_artifact_details(common::artifacts(0, 0))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionTypeAlreadyExistsException"));
    create_custom_type(c, "Second").await;
    let err = c
        .create_custom_action_type()
        .category(ActionCategory::Build)
        .provider("Third")
        .version("1")
        .input_artifact_details(common::artifacts(0, 0))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LimitExceededException"));

    c.delete_custom_action_type()
        .category(ActionCategory::Build)
        .provider("Listed")
        .version("1")
        .send()
        .await
        .unwrap();
    // A pipeline using it can no longer be created, and the id cannot be reused.
    let err = c
        .create_pipeline()
        .pipeline(worker_pipeline("orphan", "Listed", "p"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidActionDeclarationException"));
    let err = c
        .create_custom_action_type()
        .category(ActionCategory::Build)
        .provider("Listed")
        .version("1")
        .input_artifact_details(common::artifacts(0, 0))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionTypeAlreadyExistsException"));
    let err = c
        .delete_custom_action_type()
        .category(ActionCategory::Build)
        .provider("Listed")
        .version("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionTypeNotFoundException"));
}

#[tokio::test]
async fn queryable_properties_must_be_required_and_not_secret() {
    let t = start_with(manual_config()).await;
    let err = t
        .client
        .create_custom_action_type()
        .category(ActionCategory::Test)
        .provider("Bad")
        .version("1")
        .configuration_properties(
            ActionConfigurationProperty::builder()
                .name("Q")
                .required(false)
                .key(true)
                .secret(false)
                .queryable(true)
                .build()
                .unwrap(),
        )
        .input_artifact_details(common::artifacts(0, 0))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
}

/// An action type declaration run by job workers, with artifact bounds (min, max).
fn job_worker_type(
    category: ActionCategory,
    owner: &str,
    provider: &str,
    inputs: (i32, i32),
    outputs: (i32, i32),
) -> aws_sdk_codepipeline::types::builders::ActionTypeDeclarationBuilder {
    let bounds = |(min, max): (i32, i32)| {
        ActionTypeArtifactDetails::builder()
            .minimum_count(min)
            .maximum_count(max)
            .build()
    };
    ActionTypeDeclaration::builder()
        .id(ActionTypeIdentifier::builder()
            .category(category)
            .owner(owner)
            .provider(provider)
            .version("1")
            .build()
            .unwrap())
        .executor(
            ActionTypeExecutor::builder()
                .r#type(ExecutorType::JobWorker)
                .configuration(ExecutorConfiguration::builder().build())
                .build()
                .unwrap(),
        )
        .input_artifact_details(bounds(inputs))
        .output_artifact_details(bounds(outputs))
}

/// Registers ThirdParty/Test/PROVIDER/1 the way the README says (AWS creates third-party types
/// on request): a custom type of that name, exported, renamed to ThirdParty and imported.
async fn register_third_party_type(t: &TestServer, provider: &str) {
    t.client
        .create_custom_action_type()
        .category(ActionCategory::Test)
        .provider(provider)
        .version("1")
        .input_artifact_details(common::artifacts(1, 1))
        .output_artifact_details(common::artifacts(0, 0))
        .send()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/_codepipeline-local/state", t.url);
    let mut doc: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    let types = doc[0]["state"]["action_types"].as_object_mut().unwrap();
    let mut entry = types.remove(&format!("Custom/Test/{provider}/1")).unwrap();
    entry["action_type"]["id"]["owner"] = "ThirdParty".into();
    types.insert(format!("ThirdParty/Test/{provider}/1"), entry);
    let put = http.put(&url).json(&doc).send().await.unwrap();
    assert_eq!(put.status(), 200);
}

#[tokio::test]
async fn get_and_update_action_type_declarations() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let s3 = c
        .get_action_type()
        .category(ActionCategory::Source)
        .owner("AWS")
        .provider("S3")
        .version("1")
        .send()
        .await
        .unwrap();
    let declaration = s3.action_type().unwrap();
    assert_eq!(declaration.id().unwrap().provider(), "S3");
    assert_eq!(
        declaration
            .output_artifact_details()
            .unwrap()
            .minimum_count(),
        1
    );
    assert!(declaration
        .properties()
        .iter()
        .any(|p| p.name() == "S3Bucket" && !p.optional()));

    let err = c
        .get_action_type()
        .category(ActionCategory::Test)
        .owner("ThirdParty")
        .provider("Partner")
        .version("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionTypeNotFoundException"));

    let partner = job_worker_type(
        ActionCategory::Test,
        "ThirdParty",
        "Partner",
        (1, 1),
        (0, 0),
    )
    .properties(
        ActionTypeProperty::builder()
            .name("ApiKey")
            .optional(false)
            .key(false)
            .no_echo(true)
            .build()
            .unwrap(),
    )
    .description("A partner test action")
    .build();
    // A type that does not exist cannot be updated, as in AWS.
    let err = c
        .update_action_type()
        .action_type(partner.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionTypeNotFoundException"));
    register_third_party_type(&t, "Partner").await;
    c.update_action_type()
        .action_type(partner)
        .send()
        .await
        .unwrap();
    let got = c
        .get_action_type()
        .category(ActionCategory::Test)
        .owner("ThirdParty")
        .provider("Partner")
        .version("1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.action_type().unwrap().description(),
        Some("A partner test action")
    );
    // Its declared properties now drive pipeline validation: ApiKey is required.
    let test = action("Check", third_party_id("Partner"), &["Src"], &[])
        .build()
        .unwrap();
    let declaration = pipeline("partner-check")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Test", vec![test]))
        .build()
        .unwrap();
    let err = c
        .create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidActionDeclarationException"));

    let aws_owned = job_worker_type(ActionCategory::Source, "AWS", "S3", (0, 0), (1, 1)).build();
    let err = c
        .update_action_type()
        .action_type(aws_owned)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RequestFailedException"));
}

#[tokio::test]
async fn deploy_actions_list_their_targets() {
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let deploy = codedeploy("Deploy", "Src");
    let declaration = pipeline("targets")
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Deploy", vec![deploy]))
        .build()
        .unwrap();
    c.create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let id = start_execution(c, "targets").await;
    wait_status(c, "targets", &id, PipelineExecutionStatus::Succeeded).await;
    let actions = action_executions(c, "targets", &id).await;
    let deploy_id = actions
        .iter()
        .find(|a| a.action_name() == Some("Deploy"))
        .and_then(|a| a.action_execution_id())
        .unwrap();
    let targets = c
        .list_deploy_action_execution_targets()
        .pipeline_name("targets")
        .action_execution_id(deploy_id)
        .send()
        .await
        .unwrap();
    assert_eq!(targets.targets().len(), 2);
    let target = &targets.targets()[0];
    assert_eq!(target.status(), Some("Succeeded"));
    assert!(target.target_id().unwrap().starts_with("i-"));
    assert!(!target.events().is_empty());
    // Stable between calls, filterable and paginated.
    let again = c
        .list_deploy_action_execution_targets()
        .action_execution_id(deploy_id)
        .send()
        .await
        .unwrap();
    assert_eq!(again.targets()[0].target_id(), target.target_id());
    let failed_only = c
        .list_deploy_action_execution_targets()
        .action_execution_id(deploy_id)
        .filters(
            TargetFilter::builder()
                .name(TargetFilterName::TargetStatus)
                .values("Failed")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(failed_only.targets().is_empty());
    let page = c
        .list_deploy_action_execution_targets()
        .action_execution_id(deploy_id)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.targets().len(), 1);
    assert!(page.next_token().is_some());
    let err = c
        .list_deploy_action_execution_targets()
        .action_execution_id("no-such-action-execution")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ActionExecutionNotFoundException"));
}

#[tokio::test]
async fn list_rule_types_returns_the_aws_rule_catalog() {
    let t = start().await;
    let rules = t.client.list_rule_types().send().await.unwrap();
    let providers: Vec<_> = rules
        .rule_types()
        .iter()
        .map(|r| r.id().unwrap().provider().to_string())
        .collect();
    for expected in [
        "VariableCheck",
        "CloudWatchAlarm",
        "LambdaInvoke",
        "DeploymentWindow",
        "Commands",
    ] {
        assert!(providers.iter().any(|p| p == expected), "{expected} listed");
    }
    let check = rules
        .rule_types()
        .iter()
        .find(|r| r.id().unwrap().provider() == "VariableCheck")
        .unwrap();
    let names: Vec<_> = check
        .rule_configuration_properties()
        .iter()
        .map(|p| p.name())
        .collect();
    assert!(names.contains(&"Variable") && names.contains(&"Operator") && names.contains(&"Value"));
}
