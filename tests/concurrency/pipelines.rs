//! Racing pipeline calls: concurrent updates (dense versions, no lost update); overlapping creates,
//! updates, deletes, tags and starts; concurrent tagging of one pipeline.

use super::*;

/// 16 clients update two pipelines at once: every update gets its own version, versions are
/// 1..=N+1 without a gap, and each version holds exactly the declaration of the update that
/// was told that version.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_get_dense_versions_and_none_is_lost() {
    let t = start_with(manual_config()).await;
    let names = ["hot-a", "hot-b"];
    for name in names {
        t.client
            .create_pipeline()
            .pipeline(marked_pipeline(name, "initial"))
            .send()
            .await
            .unwrap();
    }
    let given: Arc<Mutex<BTreeMap<(String, i32), String>>> = Arc::default();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let client = client(&t.url, "test", "us-east-1");
        let given = given.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..8 {
                let name = names[(task + i) % names.len()];
                let marker = format!("task-{task}-update-{i}");
                let out = client
                    .update_pipeline()
                    .pipeline(marked_pipeline(name, &marker))
                    .send()
                    .await
                    .expect("an update of an existing pipeline succeeds");
                let version = out.pipeline().unwrap().version().unwrap();
                let previous = given
                    .lock()
                    .unwrap()
                    .insert((name.to_string(), version), marker);
                assert!(
                    previous.is_none(),
                    "version {version} of {name} given twice"
                );
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let given = given.lock().unwrap().clone();
    for name in names {
        let versions: Vec<i32> = given
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .collect();
        let updates = versions.len() as i32;
        assert_eq!(updates, (TASKS * 8 / names.len()) as i32);
        // Exactly 2..=N+1, each once.
        assert_eq!(versions, (2..=updates + 1).collect::<Vec<_>>());
        let current = t.client.get_pipeline().name(name).send().await.unwrap();
        assert_eq!(current.pipeline().unwrap().version(), Some(updates + 1));
        for version in 1..=updates + 1 {
            let got = t
                .client
                .get_pipeline()
                .name(name)
                .version(version)
                .send()
                .await
                .unwrap_or_else(|e| panic!("version {version} of {name}: {e:?}"));
            let declaration = got.pipeline().unwrap();
            assert_eq!(declaration.version(), Some(version));
            let expected = if version == 1 {
                "initial".to_string()
            } else {
                given[&(name.to_string(), version)].clone()
            };
            assert_eq!(marker_of(declaration), expected, "{name} v{version}");
        }
    }
}

#[derive(Default)]
struct Counts {
    created: usize,
    name_in_use: usize,
    deleted: usize,
    updated: usize,
    tagged: usize,
    started: Vec<(String, String)>,
    not_found: usize,
}

/// 16 clients create, update, delete, tag and start executions on four overlapping names. Each
/// call succeeds or fails with the error its race explains (name in use, not found); afterwards
/// the store is consistent: no duplicate, every listed pipeline readable with dense versions,
/// every started execution of a surviving pipeline finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_creates_deletes_tags_and_starts_stay_consistent() {
    let t = start_with(manual_config()).await;
    let names = ["race-0", "race-1", "race-2", "race-3"];
    let counts: Arc<Mutex<Counts>> = Arc::default();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let client = client(&t.url, "test", "us-east-1");
        let counts = counts.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Lcg(task as u64 + 1);
            for i in 0..20 {
                let name = names[rng.next(names.len())];
                let arn = format!("arn:aws:codepipeline:us-east-1:000000000000:{name}");
                match rng.next(6) {
                    0 | 1 => {
                        let result = client
                            .create_pipeline()
                            .pipeline(marked_pipeline(name, &format!("c-{task}-{i}")))
                            .tags(
                                Tag::builder()
                                    .key("owner")
                                    .value(format!("task-{task}"))
                                    .build()
                                    .unwrap(),
                            )
                            .send()
                            .await;
                        match result {
                            Ok(_) => counts.lock().unwrap().created += 1,
                            Err(e) => {
                                let code =
                                    aws_sdk_codepipeline::error::ProvideErrorMetadata::code(&e);
                                assert_eq!(code, Some("PipelineNameInUseException"), "{e:?}");
                                counts.lock().unwrap().name_in_use += 1;
                            }
                        }
                    }
                    2 => {
                        client
                            .delete_pipeline()
                            .name(name)
                            .send()
                            .await
                            .expect("delete");
                        counts.lock().unwrap().deleted += 1;
                    }
                    3 => {
                        let result = client
                            .update_pipeline()
                            .pipeline(marked_pipeline(name, &format!("u-{task}-{i}")))
                            .send()
                            .await;
                        match result {
                            Ok(_) => counts.lock().unwrap().updated += 1,
                            Err(e) => {
                                let code =
                                    aws_sdk_codepipeline::error::ProvideErrorMetadata::code(&e);
                                assert_eq!(code, Some("PipelineNotFoundException"), "{e:?}");
                                counts.lock().unwrap().not_found += 1;
                            }
                        }
                    }
                    4 => {
                        let result = client
                            .tag_resource()
                            .resource_arn(&arn)
                            .tags(
                                Tag::builder()
                                    .key(format!("t{task}"))
                                    .value(i.to_string())
                                    .build()
                                    .unwrap(),
                            )
                            .send()
                            .await;
                        match result {
                            Ok(_) => counts.lock().unwrap().tagged += 1,
                            Err(e) => {
                                let code =
                                    aws_sdk_codepipeline::error::ProvideErrorMetadata::code(&e);
                                assert_eq!(code, Some("ResourceNotFoundException"), "{e:?}");
                                counts.lock().unwrap().not_found += 1;
                            }
                        }
                    }
                    _ => {
                        let result = client.start_pipeline_execution().name(name).send().await;
                        match result {
                            Ok(out) => counts.lock().unwrap().started.push((
                                name.to_string(),
                                out.pipeline_execution_id().unwrap().to_string(),
                            )),
                            Err(e) => {
                                let code =
                                    aws_sdk_codepipeline::error::ProvideErrorMetadata::code(&e);
                                assert_eq!(code, Some("PipelineNotFoundException"), "{e:?}");
                                counts.lock().unwrap().not_found += 1;
                            }
                        }
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let counts = std::mem::take(&mut *counts.lock().unwrap());
    assert!(
        counts.created > 0 && counts.deleted > 0,
        "the races happened"
    );
    let total = counts.created
        + counts.name_in_use
        + counts.deleted
        + counts.updated
        + counts.tagged
        + counts.started.len()
        + counts.not_found;
    assert_eq!(total, TASKS * 20, "every call answered");

    let listed = t.client.list_pipelines().send().await.unwrap();
    let listed: Vec<String> = listed
        .pipelines()
        .iter()
        .map(|p| p.name().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "no duplicate: {listed:?}");
    for name in names {
        let got = t.client.get_pipeline().name(name).send().await;
        assert_eq!(
            got.is_ok(),
            listed.iter().any(|n| n == name),
            "{name}: listed iff readable"
        );
        let Ok(got) = got else { continue };
        let version = got.pipeline().unwrap().version().unwrap();
        for v in 1..=version {
            t.client
                .get_pipeline()
                .name(name)
                .version(v)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{name} v{v} of {version}: {e:?}"));
        }
        // Tags: the creator's `owner` tag plus `tN` keys, each with a value a task wrote.
        let arn = format!("arn:aws:codepipeline:us-east-1:000000000000:{name}");
        let tags = t
            .client
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .unwrap();
        let keys: Vec<&str> = tags.tags().iter().map(|t| t.key()).collect();
        assert!(keys.contains(&"owner"), "{name}: {keys:?}");
        for tag in tags.tags() {
            assert!(
                tag.key() == "owner" || tag.key().starts_with('t'),
                "{name}: {tag:?}"
            );
        }
        // Executions of the current incarnation all finish.
        let executions = t
            .client
            .list_pipeline_executions()
            .pipeline_name(name)
            .send()
            .await
            .unwrap();
        for summary in executions.pipeline_execution_summaries() {
            wait_finished(&t.client, name, summary.pipeline_execution_id().unwrap()).await;
        }
    }
    // Every execution that was started and whose pipeline survives: known and finished, or
    // gone with its pipeline (deleted and maybe re-created since).
    for (name, id) in &counts.started {
        let got = t
            .client
            .get_pipeline_execution()
            .pipeline_name(name)
            .pipeline_execution_id(id)
            .send()
            .await;
        match got {
            Ok(out) => {
                let status = out.pipeline_execution().unwrap().status().unwrap().clone();
                assert!(
                    !matches!(
                        status,
                        PipelineExecutionStatus::InProgress | PipelineExecutionStatus::Stopping
                    ),
                    "{name}/{id} is {status:?}"
                );
            }
            Err(e) => {
                let code = aws_sdk_codepipeline::error::ProvideErrorMetadata::code(&e);
                assert!(
                    matches!(
                        code,
                        Some("PipelineExecutionNotFoundException" | "PipelineNotFoundException")
                    ),
                    "{e:?}"
                );
            }
        }
    }
}

/// 16 clients add and remove their own tag keys on one pipeline at once: the final tags are
/// exactly what each client's last calls say.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tagging_keeps_every_clients_tags() {
    let t = start_with(manual_config()).await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("tagged"))
        .send()
        .await
        .unwrap();
    let arn = "arn:aws:codepipeline:us-east-1:000000000000:tagged";
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let client = client(&t.url, "test", "us-east-1");
        tasks.push(tokio::spawn(async move {
            // Tag three keys, overwrite one, remove another: keys a and c remain.
            for key in ["a", "b", "c"] {
                client
                    .tag_resource()
                    .resource_arn(arn)
                    .tags(
                        Tag::builder()
                            .key(format!("{task}-{key}"))
                            .value("1")
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
            client
                .tag_resource()
                .resource_arn(arn)
                .tags(
                    Tag::builder()
                        .key(format!("{task}-a"))
                        .value("2")
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
            client
                .untag_resource()
                .resource_arn(arn)
                .tag_keys(format!("{task}-b"))
                .send()
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let tags = t
        .client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    let got: BTreeMap<String, String> = tags
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let expected: BTreeMap<String, String> = (0..TASKS)
        .flat_map(|task| {
            [
                (format!("{task}-a"), "2".to_string()),
                (format!("{task}-c"), "1".to_string()),
            ]
        })
        .collect();
    assert_eq!(got, expected);
}
