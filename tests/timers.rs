//! Timers are cancelled when what they guard finishes: the count of armed timers on
//! `GET /_codepipeline-local/health` returns to where it was once approvals are answered, jobs
//! finished by a worker, executions stopped and abandoned, conditions overridden, pipelines
//! deleted, regions reset. And
//! PollForJobs hands out exactly the jobs of its type with thousands of other jobs queued (the
//! queue is indexed by action type), also after a restart and an admin import.

mod common;

use aws_sdk_codepipeline::types::Result as ConditionResult;
use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use codepipeline_local::engine::behavior::{Behavior, ConditionRuleBehavior};
use codepipeline_local::Config;
use common::engine::*;
use common::*;
use std::collections::HashSet;
use std::future::Future;

const ADMIN: &str = "/_codepipeline-local";

/// Requests in flight at once when a test sets up many pipelines.
const PARALLEL: usize = 8;

/// Source -> Approve (manual approval).
fn approval_pipeline(name: &str) -> PipelineDeclaration {
    pipeline(name)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Approve", vec![manual_approval("Approve")]))
        .build()
        .unwrap()
}

/// Source -> Deploy (CodeDeploy).
fn deploy_pipeline(name: &str) -> PipelineDeclaration {
    pipeline(name)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(stage("Deploy", vec![codedeploy("Deploy", "Src")]))
        .build()
        .unwrap()
}

/// CodeBuild and CodeDeploy actions wait for a job worker.
fn worker_config() -> Config {
    let mut config = manual_config();
    config.actions.push(rule("CodeBuild", Behavior::Worker));
    config.actions.push(rule("CodeDeploy", Behavior::Worker));
    config
}

fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

/// Runs `work` for every item, `PARALLEL` at a time; the results keep the items' order.
async fn for_each<I, T, F, Fut>(items: Vec<I>, work: F) -> Vec<T>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = T> + Send,
{
    let mut lanes: Vec<Vec<(usize, I)>> = (0..PARALLEL).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        lanes[i % PARALLEL].push((i, item));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for lane in lanes {
        let work = work.clone();
        tasks.spawn(async move {
            let mut done = Vec::with_capacity(lane.len());
            for (i, item) in lane {
                done.push((i, work(item).await));
            }
            done
        });
    }
    let mut results = Vec::new();
    while let Some(lane) = tasks.join_next().await {
        results.extend(lane.expect("a worker task"));
    }
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The armed timers, as the admin health endpoint counts them.
async fn pending_timers(t: &TestServer) -> u64 {
    let response = t.get(&format!("{ADMIN}/health")).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    response.body["timers"]["pending"]
        .as_u64()
        .unwrap_or_else(|| panic!("no timers.pending in {:?}", response.body))
}

/// Waits until the count of armed timers is `expected` (actions start asynchronously).
async fn wait_pending(t: &TestServer, expected: u64) {
    wait_for(&format!("{expected} armed timers"), || async {
        (pending_timers(t).await == expected).then_some(())
    })
    .await;
}

/// Creates the pipelines, starts an execution of each and returns the execution ids.
async fn create_and_start(
    c: &Client,
    names: &[String],
    declaration: fn(&str) -> PipelineDeclaration,
) -> Vec<String> {
    let c = c.clone();
    for_each(names.to_vec(), move |name| {
        let c = c.clone();
        async move {
            c.create_pipeline()
                .pipeline(declaration(&name))
                .send()
                .await
                .expect("create pipeline");
            start_execution(&c, &name).await
        }
    })
    .await
}

/// Waits for the approval of every pipeline and returns the tokens.
async fn approval_tokens(c: &Client, names: &[String]) -> Vec<String> {
    let c = c.clone();
    for_each(names.to_vec(), move |name| {
        let c = c.clone();
        async move { wait_approval_token(&c, &name, "Approve", "Approve").await }
    })
    .await
}

/// Polls `type_id` in batches until nothing is left; returns every job handed out.
async fn poll_all(c: &Client, type_id: &ActionTypeId) -> Vec<Job> {
    let mut jobs = Vec::new();
    loop {
        let batch = c
            .poll_for_jobs()
            .action_type_id(type_id.clone())
            .max_batch_size(100)
            .send()
            .await
            .expect("poll for jobs")
            .jobs
            .unwrap_or_default();
        if batch.is_empty() {
            return jobs;
        }
        jobs.extend(batch);
    }
}

/// The pipelines the jobs belong to (each job counted once: a repeat fails the test).
fn job_pipelines(jobs: &[Job]) -> HashSet<String> {
    let ids: HashSet<&str> = jobs.iter().filter_map(|j| j.id()).collect();
    assert_eq!(ids.len(), jobs.len(), "a job was handed out twice");
    jobs.iter()
        .map(|j| {
            j.data()
                .and_then(|d| d.pipeline_context())
                .and_then(|p| p.pipeline_name())
                .expect("the job names its pipeline")
                .to_string()
        })
        .collect()
}

fn codebuild_type() -> ActionTypeId {
    type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild")
}

fn codedeploy_type() -> ActionTypeId {
    type_id(ActionCategory::Deploy, ActionOwner::Aws, "CodeDeploy")
}

async fn succeed_jobs(c: &Client, jobs: Vec<Job>, continuation: Option<&'static str>) {
    let c = c.clone();
    for_each(jobs, move |job| {
        let c = c.clone();
        async move {
            c.put_job_success_result()
                .job_id(job.id().expect("job id"))
                .set_continuation_token(continuation.map(str::to_string))
                .send()
                .await
                .expect("put job success result");
        }
    })
    .await;
}

#[tokio::test]
async fn answered_approvals_cancel_their_timeouts() {
    const APPROVALS: usize = 1000;
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let before = pending_timers(&t).await;
    let names = names("approve", APPROVALS);
    create_and_start(c, &names, approval_pipeline).await;
    let tokens = approval_tokens(c, &names).await;
    // Each waiting approval has its timeout armed; the sources' timers have fired.
    assert_eq!(pending_timers(&t).await, before + APPROVALS as u64);

    let answers: Vec<(usize, String, String)> = names
        .iter()
        .cloned()
        .zip(tokens)
        .enumerate()
        .map(|(i, (name, token))| (i, name, token))
        .collect();
    let client = c.clone();
    for_each(answers, move |(i, name, token)| {
        let c = client.clone();
        async move {
            let status = if i % 2 == 0 {
                ApprovalStatus::Approved
            } else {
                ApprovalStatus::Rejected
            };
            c.put_approval_result()
                .pipeline_name(&name)
                .stage_name("Approve")
                .action_name("Approve")
                .token(token)
                .result(
                    ApprovalResult::builder()
                        .status(status)
                        .summary("answered")
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("put approval result");
        }
    })
    .await;
    assert_eq!(pending_timers(&t).await, before);
    let first = c
        .list_pipeline_executions()
        .pipeline_name(&names[0])
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.pipeline_execution_summaries()[0].status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
}

#[tokio::test]
async fn jobs_finished_by_a_worker_cancel_their_timeouts() {
    const JOBS: usize = 200;
    let t = start_with(worker_config()).await;
    let c = &t.client;
    let before = pending_timers(&t).await;
    let names = names("build", JOBS);
    create_and_start(c, &names, two_stage_pipeline).await;
    wait_pending(&t, before + JOBS as u64).await;

    // "Still running": each job is replaced by one carrying the token, whose timeout replaces
    // the first one's.
    let first = poll_all(c, &codebuild_type()).await;
    assert_eq!(first.len(), JOBS);
    succeed_jobs(c, first, Some("more")).await;
    assert_eq!(pending_timers(&t).await, before + JOBS as u64);

    let second = poll_all(c, &codebuild_type()).await;
    assert_eq!(second.len(), JOBS);
    succeed_jobs(c, second, None).await;
    assert_eq!(pending_timers(&t).await, before);
}

#[tokio::test]
async fn stopped_and_abandoned_executions_cancel_their_timers() {
    const EXECUTIONS: usize = 50;
    let t = start_with(manual_config()).await;
    let c = &t.client;
    let before = pending_timers(&t).await;
    let names = names("stop", EXECUTIONS);
    let ids = create_and_start(c, &names, approval_pipeline).await;
    approval_tokens(c, &names).await;
    assert_eq!(pending_timers(&t).await, before + EXECUTIONS as u64);

    // Without abandon the approval keeps waiting (and keeps its timeout), as in AWS.
    c.stop_pipeline_execution()
        .pipeline_name(&names[0])
        .pipeline_execution_id(&ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(pending_timers(&t).await, before + EXECUTIONS as u64);

    let client = c.clone();
    for_each(names.into_iter().zip(ids).collect(), move |(name, id)| {
        let c = client.clone();
        async move {
            c.stop_pipeline_execution()
                .pipeline_name(&name)
                .pipeline_execution_id(&id)
                .abandon(true)
                .send()
                .await
                .expect("stop and abandon");
        }
    })
    .await;
    assert_eq!(pending_timers(&t).await, before);
}

#[tokio::test]
async fn deleted_pipelines_cancel_their_timers() {
    const PIPELINES: usize = 50;
    let t = start_with(worker_config()).await;
    let c = &t.client;
    let before = pending_timers(&t).await;
    let approvals = names("gate", PIPELINES);
    let builds = names("job", PIPELINES);
    create_and_start(c, &approvals, approval_pipeline).await;
    create_and_start(c, &builds, two_stage_pipeline).await;
    wait_pending(&t, before + 2 * PIPELINES as u64).await;

    let client = c.clone();
    for_each([approvals, builds].concat(), move |name| {
        let c = client.clone();
        async move {
            c.delete_pipeline()
                .name(&name)
                .send()
                .await
                .expect("delete pipeline");
        }
    })
    .await;
    assert_eq!(pending_timers(&t).await, before);
    // A new pipeline of a deleted one's name arms its own timers.
    create_and_start(c, &names("gate", 1), approval_pipeline).await;
    wait_pending(&t, before + 1).await;
}

#[tokio::test]
async fn a_region_reset_cancels_its_timers_only() {
    const PIPELINES: usize = 20;
    let t = start_with(manual_config()).await;
    let here = &t.client;
    let there = t.client_for("other", "eu-west-1");
    let before = pending_timers(&t).await;
    let names = names("gate", PIPELINES);
    create_and_start(here, &names, approval_pipeline).await;
    create_and_start(&there, &names, approval_pipeline).await;
    approval_tokens(here, &names).await;
    approval_tokens(&there, &names).await;
    assert_eq!(pending_timers(&t).await, before + 2 * PIPELINES as u64);

    let reset = |query: &str| {
        reqwest::Client::new()
            .post(format!("{}{ADMIN}/reset{query}", t.url))
            .header("content-type", "application/json")
            .body("{}")
            .send()
    };
    let default_scope = format!(
        "?account={}&region=us-east-1",
        t.server.app.config.account_id
    );
    let response = reset(&default_scope).await.expect("reset");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(pending_timers(&t).await, before + PIPELINES as u64);
    let response = reset("").await.expect("reset all");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(pending_timers(&t).await, before);
}

/// A V2 pipeline whose Build stage waits on a beforeEntry CloudWatchAlarm rule.
fn gated_pipeline(name: &str) -> PipelineDeclaration {
    let alarm = RuleDeclaration::builder()
        .name("Alarm")
        .rule_type_id(
            RuleTypeId::builder()
                .category(RuleCategory::Rule)
                .owner(RuleOwner::Aws)
                .provider("CloudWatchAlarm")
                .version("1")
                .build()
                .unwrap(),
        )
        .configuration("AlarmName", "HighErrorRate")
        .build()
        .unwrap();
    let build = StageDeclaration::builder()
        .name("Build")
        .actions(codebuild("Build", "Src", &[]))
        .before_entry(
            BeforeEntryConditions::builder()
                .conditions(
                    Condition::builder()
                        .result(ConditionResult::Fail)
                        .rules(alarm)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    pipeline(name)
        .pipeline_type(PipelineType::V2)
        .stages(stage("Source", vec![s3_source("Source", "Src")]))
        .stages(build)
        .build()
        .unwrap()
}

#[tokio::test]
async fn overridden_or_stopped_conditions_cancel_their_rule_timers() {
    let mut config = manual_config();
    config.rules.push(ConditionRuleBehavior {
        provider: Some("CloudWatchAlarm".into()),
        duration_ms: Some(3_600_000),
        ..ConditionRuleBehavior::default()
    });
    let t = start_with(config).await;
    let c = &t.client;
    let before = pending_timers(&t).await;
    let names = names("gated", 2);
    let ids = create_and_start(c, &names, gated_pipeline).await;
    // One rule evaluation armed per execution, waiting an hour.
    wait_pending(&t, before + 2).await;

    c.override_stage_condition()
        .pipeline_name(&names[0])
        .stage_name("Build")
        .pipeline_execution_id(&ids[0])
        .condition_type(ConditionType::BeforeEntry)
        .send()
        .await
        .unwrap();
    wait_status(c, &names[0], &ids[0], PipelineExecutionStatus::Succeeded).await;
    assert_eq!(pending_timers(&t).await, before + 1);

    c.stop_pipeline_execution()
        .pipeline_name(&names[1])
        .pipeline_execution_id(&ids[1])
        .abandon(true)
        .send()
        .await
        .unwrap();
    wait_status(c, &names[1], &ids[1], PipelineExecutionStatus::Stopped).await;
    assert_eq!(pending_timers(&t).await, before);
}

#[tokio::test]
async fn poll_for_jobs_hands_out_exactly_its_type_among_thousands_of_others() {
    const FOREIGN: usize = 2_000;
    const WANTED: usize = 30;
    let mut config = worker_config();
    config.max_pipelines = FOREIGN + WANTED;
    let t = start_with(config).await;
    let c = &t.client;
    let before = pending_timers(&t).await;
    let foreign = names("deploy", FOREIGN);
    let wanted = names("build", WANTED);
    let (half, rest) = foreign.split_at(FOREIGN / 2);
    create_and_start(c, half, deploy_pipeline).await;
    create_and_start(c, &wanted, two_stage_pipeline).await;
    create_and_start(c, rest, deploy_pipeline).await;
    // Every job is queued once its timeout is armed.
    wait_pending(&t, before + (FOREIGN + WANTED) as u64).await;

    let builds = poll_all(c, &codebuild_type()).await;
    assert_eq!(job_pipelines(&builds), wanted.iter().cloned().collect());
    for job in &builds {
        let data = job.data().unwrap();
        assert_eq!(data.action_type_id(), Some(&codebuild_type()));
        assert_eq!(
            data.pipeline_context()
                .and_then(|p| p.stage())
                .and_then(|s| s.name()),
            Some("Build")
        );
    }
    // A ThirdParty poller of the same provider gets none of them.
    let third_party = c
        .poll_for_third_party_jobs()
        .action_type_id(type_id(
            ActionCategory::Build,
            ActionOwner::ThirdParty,
            "CodeBuild",
        ))
        .send()
        .await
        .unwrap();
    assert!(third_party.jobs().is_empty());

    let deploys = poll_all(c, &codedeploy_type()).await;
    assert_eq!(job_pipelines(&deploys), foreign.iter().cloned().collect());
}

#[tokio::test]
async fn the_job_queues_are_rebuilt_after_a_restart_and_an_import() {
    let dir = std::env::temp_dir().join(format!("cpl-job-index-{}", uuid::Uuid::new_v4()));
    let config = Config {
        data_dir: Some(dir.clone()),
        ..worker_config()
    };
    let foreign = names("deploy", 20);
    let wanted = names("build", 5);
    {
        let t = start_with(config.clone()).await;
        create_and_start(&t.client, &foreign, deploy_pipeline).await;
        create_and_start(&t.client, &wanted, two_stage_pipeline).await;
        wait_pending(&t, 25).await;
        t.server.shutdown().await.unwrap();
    }
    let t = start_with(config).await;
    let c = &t.client;
    // Loaded from disk: each job is still queued for its own type.
    let builds = poll_all(c, &codebuild_type()).await;
    assert_eq!(job_pipelines(&builds), wanted.iter().cloned().collect());

    // Exported, reset and imported: the queue is derived from the jobs again.
    let export = t.get(&format!("{ADMIN}/state")).await;
    assert_eq!(export.status, 200);
    let http = reqwest::Client::new();
    let reset = http
        .post(format!("{}{ADMIN}/reset", t.url))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status().as_u16(), 200);
    assert!(poll_all(c, &codedeploy_type()).await.is_empty());
    let import = http
        .put(format!("{}{ADMIN}/state", t.url))
        .header("content-type", "application/json")
        .body(export.body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(import.status().as_u16(), 200);
    let deploys = poll_all(c, &codedeploy_type()).await;
    assert_eq!(job_pipelines(&deploys), foreign.iter().cloned().collect());
    assert!(poll_all(c, &codebuild_type()).await.is_empty());
    t.server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
