//! The job protocol of custom actions: polling, acknowledging, success with output variables,
//! continuation tokens, failure, timeouts, and AWS actions in worker mode.

use super::*;

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
