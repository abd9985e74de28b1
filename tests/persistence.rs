//! Persistence (`--data-dir`): state survives a restart of the server, and a `kill -9` of the
//! real binary right after an acknowledged write loses nothing.

mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::*;
use common::data_dir::*;
use common::engine::*;
use common::*;

fn custom_type() -> ActionTypeId {
    ActionTypeId::builder()
        .category(ActionCategory::Build)
        .owner(ActionOwner::Custom)
        .provider("Builder")
        .version("1")
        .build()
        .unwrap()
}

#[tokio::test]
async fn all_state_survives_a_restart() {
    let dir = data_dir("restart");
    let (finished, waiting, working);
    {
        let t = start_with(persistent_config(&dir)).await;
        let c = &t.client;
        // A pipeline with two versions and tags, and a finished execution.
        c.create_pipeline()
            .pipeline(two_stage_pipeline("kept"))
            .tags(Tag::builder().key("team").value("a").build().unwrap())
            .send()
            .await
            .unwrap();
        let mut v2 = two_stage_pipeline("kept");
        v2.version = Some(1);
        c.update_pipeline().pipeline(v2).send().await.unwrap();
        finished = start_execution(c, "kept").await;
        wait_status(c, "kept", &finished, PipelineExecutionStatus::Succeeded).await;
        c.disable_stage_transition()
            .pipeline_name("kept")
            .stage_name("Build")
            .transition_type(StageTransitionType::Inbound)
            .reason("frozen")
            .send()
            .await
            .unwrap();
        // A pipeline waiting for an approval.
        let approval = pipeline("gate")
            .stages(stage("Source", vec![s3_source("Source", "Src")]))
            .stages(stage("Approve", vec![manual_approval("Approval")]))
            .build()
            .unwrap();
        c.create_pipeline().pipeline(approval).send().await.unwrap();
        waiting = start_execution(c, "gate").await;
        wait_approval_token(c, "gate", "Approve", "Approval").await;
        // A custom action whose job is queued.
        c.create_custom_action_type()
            .category(ActionCategory::Build)
            .provider("Builder")
            .version("1")
            .input_artifact_details(common::artifacts(1, 1))
            .output_artifact_details(common::artifacts(0, 0))
            .send()
            .await
            .unwrap();
        let worked = pipeline("worked")
            .stages(stage("Source", vec![s3_source("Source", "Src")]))
            .stages(stage(
                "Build",
                vec![action("Build", custom_type(), &["Src"], &[])
                    .build()
                    .unwrap()],
            ))
            .build()
            .unwrap();
        c.create_pipeline().pipeline(worked).send().await.unwrap();
        working = start_execution(c, "worked").await;
        wait_for("the build to start", || async {
            stage_state(c, "worked", "Build")
                .await
                .latest_execution()
                .map(|_| ())
        })
        .await;
        // A webhook.
        c.put_webhook()
            .webhook(
                WebhookDefinition::builder()
                    .name("hook")
                    .target_pipeline("kept")
                    .target_action("Source")
                    .filters(
                        WebhookFilterRule::builder()
                            .json_path("$.ref")
                            .match_equals("refs/heads/main")
                            .build()
                            .unwrap(),
                    )
                    .authentication(WebhookAuthenticationType::Unauthenticated)
                    .authentication_configuration(WebhookAuthConfiguration::builder().build())
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        t.server.shutdown().await.unwrap();
    }

    let t = start_with(persistent_config(&dir)).await;
    let c = &t.client;
    let names: Vec<_> = c
        .list_pipelines()
        .send()
        .await
        .unwrap()
        .pipelines()
        .iter()
        .map(|p| p.name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["gate", "kept", "worked"]);
    let kept = c.get_pipeline().name("kept").send().await.unwrap();
    assert_eq!(kept.pipeline().unwrap().version(), Some(2));
    assert_eq!(
        c.get_pipeline()
            .name("kept")
            .version(1)
            .send()
            .await
            .unwrap()
            .pipeline()
            .unwrap()
            .version(),
        Some(1)
    );
    let arn = kept.metadata().unwrap().pipeline_arn().unwrap();
    let tags = c
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].value(), "a");
    assert_eq!(
        execution(c, "kept", &finished).await.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
    assert_eq!(action_executions(c, "kept", &finished).await.len(), 2);
    let build = stage_state(c, "kept", "Build").await;
    assert_eq!(
        build.inbound_transition_state().unwrap().disabled_reason(),
        Some("frozen")
    );

    // The approval still waits, and can be approved after the restart.
    approve_waiting(c, "gate", "Approve", "Approval").await;
    wait_status(c, "gate", &waiting, PipelineExecutionStatus::Succeeded).await;

    // The queued job is still there for a worker.
    let job = c
        .poll_for_jobs()
        .action_type_id(custom_type())
        .send()
        .await
        .unwrap();
    let job = job.jobs()[0].clone();
    c.put_job_success_result()
        .job_id(job.id().unwrap())
        .send()
        .await
        .unwrap();
    wait_status(c, "worked", &working, PipelineExecutionStatus::Succeeded).await;

    let hooks = c.list_webhooks().send().await.unwrap();
    assert_eq!(hooks.webhooks()[0].definition().unwrap().name(), "hook");
    let types = c
        .list_action_types()
        .action_owner_filter(ActionOwner::Custom)
        .send()
        .await
        .unwrap();
    assert_eq!(types.action_types().len(), 1);

    // Deleting persists too.
    c.delete_pipeline().name("kept").send().await.unwrap();
    t.server.shutdown().await.unwrap();
    let t = start_with(persistent_config(&dir)).await;
    let err = t
        .client
        .get_pipeline()
        .name("kept")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PipelineNotFoundException"));
    assert_eq!(
        execution(&t.client, "gate", &waiting).await.status(),
        Some(&PipelineExecutionStatus::Succeeded)
    );
    t.server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_kill_9_right_after_an_acknowledged_write_loses_nothing() {
    let dir = data_dir("kill9");
    let (server, url) = spawn_binary(&dir).await;
    let c = client(&url, "test", "us-east-1");
    for i in 0..5 {
        c.create_pipeline()
            .pipeline(two_stage_pipeline(&format!("p{i}")))
            .send()
            .await
            .unwrap();
    }
    let id = c
        .start_pipeline_execution()
        .name("p4")
        .send()
        .await
        .unwrap()
        .pipeline_execution_id
        .unwrap();
    c.tag_resource()
        .resource_arn("arn:aws:codepipeline:us-east-1:000000000000:p3")
        .tags(Tag::builder().key("last").value("write").build().unwrap())
        .send()
        .await
        .unwrap();
    // SIGKILL: no graceful shutdown, no chance to flush anything.
    drop(server);

    let (_server, url) = spawn_binary(&dir).await;
    let c = client(&url, "test", "us-east-1");
    let listed = c.list_pipelines().send().await.unwrap();
    assert_eq!(listed.pipelines().len(), 5);
    let tags = c
        .list_tags_for_resource()
        .resource_arn("arn:aws:codepipeline:us-east-1:000000000000:p3")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), "last");
    // The execution was acknowledged: it is there, and it finishes after the restart.
    wait_status(&c, "p4", &id, PipelineExecutionStatus::Succeeded).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The ProjectName the Build action of an execution ran with (ListActionExecutions shows the
/// configuration of the declaration the execution ran).
async fn built_project(c: &aws_sdk_codepipeline::Client, execution_id: &str) -> String {
    action_executions(c, "versions", execution_id)
        .await
        .iter()
        .find(|a| a.action_name() == Some("Build"))
        .and_then(|a| a.input())
        .and_then(|i| i.configuration())
        .and_then(|c| c.get("ProjectName").cloned())
        .expect("the Build action execution with its ProjectName")
}

#[tokio::test]
async fn executions_keep_the_declaration_they_ran_across_a_restart() {
    let dir = data_dir("versions");
    let declaration = |project: &str| {
        pipeline("versions")
            .stages(stage("Source", vec![s3_source("Source", "Src")]))
            .stages(stage("Approve", vec![manual_approval("Approval")]))
            .stages(stage(
                "Build",
                vec![action(
                    "Build",
                    type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
                    &["Src"],
                    &[],
                )
                .configuration("ProjectName", project)
                .build()
                .unwrap()],
            ))
            .build()
            .unwrap()
    };
    let (before, across);
    {
        let t = start_with(persistent_config(&dir)).await;
        let c = &t.client;
        c.create_pipeline()
            .pipeline(declaration("one"))
            .send()
            .await
            .unwrap();
        // Finished on version 1 before the update: its row names version 1.
        before = start_execution(c, "versions").await;
        approve_waiting(c, "versions", "Approve", "Approval").await;
        wait_status(c, "versions", &before, PipelineExecutionStatus::Succeeded).await;
        // Waiting on version 1 while version 2 becomes the latest, then finished: its row
        // holds the declaration it ran.
        across = start_execution(c, "versions").await;
        let token = wait_approval_token(c, "versions", "Approve", "Approval").await;
        let mut v2 = declaration("two");
        v2.version = Some(1);
        c.update_pipeline().pipeline(v2).send().await.unwrap();
        approve_with(c, "versions", "Approve", "Approval", &token).await;
        wait_status(c, "versions", &across, PipelineExecutionStatus::Succeeded).await;
        assert_eq!(built_project(c, &across).await, "one");
        t.server.shutdown().await.unwrap();
    }
    let t = start_with(persistent_config(&dir)).await;
    let c = &t.client;
    assert_eq!(built_project(c, &before).await, "one");
    assert_eq!(built_project(c, &across).await, "one");
    // A new execution runs the latest version.
    let after = start_execution(c, "versions").await;
    approve_waiting(c, "versions", "Approve", "Approval").await;
    wait_status(c, "versions", &after, PipelineExecutionStatus::Succeeded).await;
    assert_eq!(built_project(c, &after).await, "two");
    t.server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Turns a database of this build into the layout of earlier builds: rows keyed by account,
/// region and pipeline name instead of pipeline row ids.
fn to_legacy_layout(dir: &std::path::Path) {
    let db = rusqlite::Connection::open(dir.join("codepipeline-local.sqlite3")).unwrap();
    db.execute_batch(
        "BEGIN;
        CREATE TABLE legacy_pipelines (
            account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (account, region, name));
        INSERT INTO legacy_pipelines SELECT account, region, name, data FROM pipelines;
        CREATE TABLE legacy_pipeline_versions (
            account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
            data TEXT NOT NULL, PRIMARY KEY (account, region, name, version));
        INSERT INTO legacy_pipeline_versions SELECT p.account, p.region, p.name, v.version, v.data
            FROM pipeline_versions v JOIN pipelines p ON p.id = v.pipeline;
        CREATE TABLE legacy_executions (
            account TEXT NOT NULL, region TEXT NOT NULL, pipeline TEXT NOT NULL, seq INTEGER NOT NULL,
            data TEXT NOT NULL, PRIMARY KEY (account, region, pipeline, seq));
        INSERT INTO legacy_executions SELECT p.account, p.region, p.name, e.seq, e.data
            FROM executions e JOIN pipelines p ON p.id = e.pipeline;
        DROP TABLE executions;
        DROP TABLE pipeline_versions;
        DROP TABLE pipelines;
        ALTER TABLE legacy_pipelines RENAME TO pipelines;
        ALTER TABLE legacy_pipeline_versions RENAME TO pipeline_versions;
        ALTER TABLE legacy_executions RENAME TO executions;
        COMMIT;",
    )
    .unwrap();
}

/// Names, versions and execution statuses of every pipeline of the default region.
async fn summary(c: &aws_sdk_codepipeline::Client) -> Vec<(String, i32, Vec<String>)> {
    let mut summary = Vec::new();
    for p in c.list_pipelines().send().await.unwrap().pipelines() {
        let name = p.name().unwrap().to_string();
        let executions = c
            .list_pipeline_executions()
            .pipeline_name(&name)
            .send()
            .await
            .unwrap()
            .pipeline_execution_summaries()
            .iter()
            .map(|e| format!("{}:{:?}", e.pipeline_execution_id().unwrap(), e.status()))
            .collect();
        summary.push((name, p.version().unwrap_or_default(), executions));
    }
    summary
}

/// Creates each pipeline and runs one execution of it to success, then gives `updated` a
/// second version.
async fn pipelines_with_executions(
    c: &aws_sdk_codepipeline::Client,
    names: &[&str],
    updated: &str,
) {
    for name in names {
        c.create_pipeline()
            .pipeline(two_stage_pipeline(name))
            .send()
            .await
            .unwrap();
        let id = start_execution(c, name).await;
        wait_status(c, name, &id, PipelineExecutionStatus::Succeeded).await;
    }
    let mut v2 = two_stage_pipeline(updated);
    v2.version = Some(1);
    c.update_pipeline().pipeline(v2).send().await.unwrap();
}

#[tokio::test]
async fn a_database_of_an_earlier_build_is_moved_to_the_current_tables_when_opened() {
    let dir = data_dir("legacy");
    let before;
    {
        let t = start_with(persistent_config(&dir)).await;
        let c = &t.client;
        pipelines_with_executions(c, &["b", "a", "c"], "a").await;
        before = summary(c).await;
        t.server.shutdown().await.unwrap();
    }
    to_legacy_layout(&dir);
    // Moved at the first start, read as it is at the next ones.
    for _ in 0..2 {
        let t = start_with(persistent_config(&dir)).await;
        let c = &t.client;
        assert_eq!(summary(c).await, before);
        let a = &before.iter().find(|p| p.0 == "a").unwrap().2[0];
        let id = a.split(':').next().unwrap();
        assert_eq!(action_executions(c, "a", id).await.len(), 2);
        t.server.shutdown().await.unwrap();
    }
    // Later writes go on from the moved rows.
    let t = start_with(persistent_config(&dir)).await;
    t.client.delete_pipeline().name("b").send().await.unwrap();
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("d"))
        .send()
        .await
        .unwrap();
    t.server.shutdown().await.unwrap();
    let t = start_with(persistent_config(&dir)).await;
    let names: Vec<_> = summary(&t.client).await.into_iter().map(|p| p.0).collect();
    assert_eq!(names, ["a", "c", "d"]);
    t.server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_earlier_build_s_database_whose_rows_do_not_fit_together_is_refused_and_kept() {
    let dir = data_dir("legacy-orphans");
    {
        let t = start_with(persistent_config(&dir)).await;
        t.client
            .create_pipeline()
            .pipeline(two_stage_pipeline("orphaned"))
            .send()
            .await
            .unwrap();
        t.server.shutdown().await.unwrap();
    }
    to_legacy_layout(&dir);
    let db = rusqlite::Connection::open(dir.join("codepipeline-local.sqlite3")).unwrap();
    db.execute("DELETE FROM pipelines", []).unwrap();
    drop(db);
    for _ in 0..2 {
        let err = codepipeline_local::start(persistent_config(&dir))
            .await
            .err()
            .expect("the load fails")
            .to_string();
        assert!(err.contains("inconsistent"), "{err}");
        assert!(err.contains("pipeline 'orphaned'"), "{err}");
    }
    // Nothing was moved or dropped: the earlier build's versions are still there.
    let db = rusqlite::Connection::open(dir.join("codepipeline-local.sqlite3")).unwrap();
    let versions: i64 = db
        .query_row(
            "SELECT count(*) FROM pipeline_versions WHERE name = 'orphaned'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(versions, 1);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_imported_state_is_what_a_restart_reads() {
    use common::admin::{admin, import};
    let dir = data_dir("imported");
    let exported;
    {
        let t = start_with(persistent_config(&dir)).await;
        let c = &t.client;
        pipelines_with_executions(c, &["kept", "updated", "deleted"], "updated").await;
        c.delete_pipeline().name("deleted").send().await.unwrap();
        let (status, state) = admin(&t, reqwest::Method::GET, "/state", None).await;
        assert_eq!(status, 200);
        exported = state;
        // Reset, then the export imported back: the region's rows are written anew.
        let (status, _) = admin(&t, reqwest::Method::POST, "/reset", Some("{}".into())).await;
        assert_eq!(status, 200);
        assert_eq!(import(&t, &exported).await.0, 200);
        t.server.shutdown().await.unwrap();
    }
    let t = start_with(persistent_config(&dir)).await;
    let (status, state) = admin(&t, reqwest::Method::GET, "/state", None).await;
    assert_eq!(status, 200);
    assert_eq!(state, exported);
    assert_eq!(
        summary(&t.client)
            .await
            .into_iter()
            .map(|p| (p.0, p.1))
            .collect::<Vec<_>>(),
        [("kept".to_string(), 1), ("updated".to_string(), 2)]
    );
    t.server.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
