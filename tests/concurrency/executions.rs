//! Racing executions and job workers: concurrently started executions all finish; concurrent
//! workers never get the same job.

use super::*;

/// Executions started from 16 clients at once on one pipeline (SUPERSEDED) and one PARALLEL
/// pipeline, while other clients update them: every execution reaches a final status; the
/// PARALLEL ones all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrently_started_executions_all_finish() {
    let t = start_with(manual_config()).await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("serial"))
        .send()
        .await
        .unwrap();
    let parallel = pipeline("parallel")
        .pipeline_type(PipelineType::V2)
        .execution_mode(ExecutionMode::Parallel)
        .stages(stage("Source", vec![s3_source("Source", "SourceOutput")]))
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &[])],
        ))
        .build()
        .unwrap();
    t.client
        .create_pipeline()
        .pipeline(parallel)
        .send()
        .await
        .unwrap();
    let started: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let client = client(&t.url, "test", "us-east-1");
        let started = started.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..3 {
                let name = if (task + i) % 2 == 0 {
                    "serial"
                } else {
                    "parallel"
                };
                if task % 4 == 3 && i == 1 {
                    // An update racing the starts (the pipeline keeps its mode).
                    let current = client.get_pipeline().name(name).send().await.unwrap();
                    client
                        .update_pipeline()
                        .pipeline(current.pipeline().unwrap().clone())
                        .send()
                        .await
                        .unwrap();
                }
                let id = start_execution(&client, name).await;
                started.lock().unwrap().push((name.to_string(), id));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let started = started.lock().unwrap().clone();
    assert_eq!(started.len(), TASKS * 3);
    let ids: HashSet<&String> = started.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), started.len(), "execution ids are unique");
    for (name, id) in &started {
        let finished = wait_finished(&t.client, name, id).await;
        let status = finished.status().unwrap();
        if name == "parallel" {
            assert_eq!(status, &PipelineExecutionStatus::Succeeded, "{id}");
        } else {
            assert!(
                matches!(
                    status,
                    PipelineExecutionStatus::Succeeded | PipelineExecutionStatus::Superseded
                ),
                "{id}: {status:?}"
            );
        }
    }
    // The newest execution of the serial pipeline is never superseded.
    let newest = t
        .client
        .list_pipeline_executions()
        .pipeline_name("serial")
        .send()
        .await
        .unwrap();
    let newest = &newest.pipeline_execution_summaries()[0];
    assert_eq!(newest.status(), Some(&PipelineExecutionStatus::Succeeded));
}

fn custom_id() -> ActionTypeId {
    ActionTypeId::builder()
        .category(ActionCategory::Build)
        .owner(ActionOwner::Custom)
        .provider("RaceBuilder")
        .version("1")
        .build()
        .unwrap()
}

async fn worker(client: Client, seen: Arc<Mutex<Vec<String>>>, done: Arc<tokio::sync::Notify>) {
    loop {
        let polled = client
            .poll_for_jobs()
            .action_type_id(custom_id())
            .max_batch_size(3)
            .send()
            .await
            .expect("poll");
        let jobs = polled.jobs.unwrap_or_default();
        if jobs.is_empty() {
            tokio::select! {
                _ = done.notified() => return,
                _ = tokio::time::sleep(Duration::from_millis(5)) => continue,
            }
        }
        for job in jobs {
            let id = job.id().unwrap().to_string();
            seen.lock().unwrap().push(id.clone());
            client
                .acknowledge_job()
                .job_id(&id)
                .nonce(job.nonce().unwrap())
                .send()
                .await
                .expect("acknowledge a job this worker was given");
            client
                .put_job_success_result()
                .job_id(&id)
                .send()
                .await
                .expect("success");
        }
    }
}

/// Four workers poll the same custom action type while 30 PARALLEL executions wait on it: every
/// job is handed out once, and every execution succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_never_get_the_same_job() {
    let t = start_with(manual_config()).await;
    t.client
        .create_custom_action_type()
        .category(ActionCategory::Build)
        .provider("RaceBuilder")
        .version("1")
        .input_artifact_details(common::artifacts(1, 1))
        .output_artifact_details(common::artifacts(0, 1))
        .send()
        .await
        .unwrap();
    let declaration = pipeline("jobs")
        .pipeline_type(PipelineType::V2)
        .execution_mode(ExecutionMode::Parallel)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage(
            "Build",
            vec![action("Build", custom_id(), &["Src"], &[]).build().unwrap()],
        ))
        .build()
        .unwrap();
    t.client
        .create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let done = Arc::new(tokio::sync::Notify::new());
    let workers: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(worker(
                client(&t.url, "test", "us-east-1"),
                seen.clone(),
                done.clone(),
            ))
        })
        .collect();
    let starters: Vec<_> = (0..6)
        .map(|_| {
            let client = client(&t.url, "test", "us-east-1");
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for _ in 0..5 {
                    ids.push(start_execution(&client, "jobs").await);
                }
                ids
            })
        })
        .collect();
    let mut ids = Vec::new();
    for starter in starters {
        ids.extend(starter.await.unwrap());
    }
    for id in &ids {
        let finished = wait_finished(&t.client, "jobs", id).await;
        assert_eq!(
            finished.status(),
            Some(&PipelineExecutionStatus::Succeeded),
            "{id}"
        );
    }
    done.notify_waiters();
    for w in workers {
        // A worker between polls sees the notification on its next empty poll.
        loop {
            done.notify_waiters();
            if w.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        w.await.unwrap();
    }
    let seen = seen.lock().unwrap();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a job was delivered twice: {seen:?}"
    );
    assert_eq!(seen.len(), ids.len(), "one job per execution");
}
