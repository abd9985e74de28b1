//! ThirdParty jobs: a worker that polls with client tokens.

use super::*;

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
