//! Pipeline CRUD through the AWS SDK for Rust: CreatePipeline, GetPipeline, UpdatePipeline,
//! DeletePipeline, ListPipelines, with account/region scoping and quotas.

mod common;

use aws_sdk_codepipeline::types::{ExecutionMode, PipelineType, PipelineVariableDeclaration, Tag};
use codepipeline_local::Config;
use common::*;
use std::time::Duration;

#[tokio::test]
async fn create_returns_the_declaration_with_version_1() {
    let t = start().await;
    let created = t
        .client
        .create_pipeline()
        .pipeline(two_stage_pipeline("app"))
        .tags(Tag::builder().key("team").value("web").build().unwrap())
        .send()
        .await
        .expect("create");
    let pipeline = created.pipeline().expect("pipeline in the answer");
    assert_eq!(pipeline.name(), "app");
    assert_eq!(pipeline.version(), Some(1));
    assert_eq!(pipeline.role_arn(), ROLE_ARN);
    assert_eq!(pipeline.stages().len(), 2);
    assert_eq!(pipeline.stages()[1].actions()[0].name(), "Build");
    assert_eq!(created.tags().len(), 1);
    assert_eq!(created.tags()[0].key(), "team");
}

#[tokio::test]
async fn defaults_are_filled_in() {
    let t = start().await;
    let created = t
        .client
        .create_pipeline()
        .pipeline(two_stage_pipeline("defaults"))
        .send()
        .await
        .expect("create");
    let check = |p: &aws_sdk_codepipeline::types::PipelineDeclaration| {
        assert_eq!(p.pipeline_type(), Some(&PipelineType::V1));
        assert_eq!(p.execution_mode(), Some(&ExecutionMode::Superseded));
        for stage in p.stages() {
            for action in stage.actions() {
                assert_eq!(action.run_order(), Some(1), "runOrder of {}", action.name());
            }
        }
    };
    check(created.pipeline().unwrap());
    let got = t
        .client
        .get_pipeline()
        .name("defaults")
        .send()
        .await
        .expect("get");
    check(got.pipeline().unwrap());
}

#[tokio::test]
async fn get_returns_the_pipeline_and_its_metadata() {
    let t = start().await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("meta"))
        .send()
        .await
        .expect("create");
    let got = t
        .client
        .get_pipeline()
        .name("meta")
        .send()
        .await
        .expect("get");
    let pipeline = got.pipeline().unwrap();
    assert_eq!(pipeline.name(), "meta");
    assert_eq!(pipeline.version(), Some(1));
    assert_eq!(
        pipeline.artifact_store().unwrap().location(),
        "artifact-bucket"
    );
    let metadata = got.metadata().unwrap();
    assert_eq!(
        metadata.pipeline_arn(),
        Some("arn:aws:codepipeline:us-east-1:000000000000:meta")
    );
    let created = metadata.created().expect("created");
    assert_eq!(metadata.updated(), Some(created));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (created.secs() - now).abs() < 60,
        "created {created:?} is now"
    );
}

#[tokio::test]
async fn get_by_version_and_missing_versions() {
    let t = start().await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("versions"))
        .send()
        .await
        .expect("create");
    let got = t
        .client
        .get_pipeline()
        .name("versions")
        .version(1)
        .send()
        .await
        .expect("get version 1");
    assert_eq!(got.pipeline().unwrap().version(), Some(1));
    let code = error_code(
        t.client
            .get_pipeline()
            .name("versions")
            .version(2)
            .send()
            .await,
    );
    assert_eq!(code, "PipelineVersionNotFoundException");
    let code = error_code(t.client.get_pipeline().name("nope").send().await);
    assert_eq!(code, "PipelineNotFoundException");
}

#[tokio::test]
async fn update_makes_version_2_and_keeps_version_1() {
    let t = start().await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("evolving"))
        .send()
        .await
        .expect("create");
    let before = t
        .client
        .get_pipeline()
        .name("evolving")
        .send()
        .await
        .expect("get");
    let created = *before.metadata().unwrap().created().unwrap();
    // Timestamps have millisecond precision: make sure the update lands on a later one.
    tokio::time::sleep(Duration::from_millis(5)).await;

    let changed = pipeline("evolving")
        .stages(stage("Source", vec![s3_source("Source", "SourceOutput")]))
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &["BuildOutput"])],
        ))
        .stages(stage("Approve", vec![manual_approval("Approve")]))
        // A stale version in the request is ignored: the update becomes the next version.
        .version(7)
        .build()
        .unwrap();
    let updated = t
        .client
        .update_pipeline()
        .pipeline(changed)
        .send()
        .await
        .expect("update");
    assert_eq!(updated.pipeline().unwrap().version(), Some(2));
    assert_eq!(updated.pipeline().unwrap().stages().len(), 3);

    let latest = t
        .client
        .get_pipeline()
        .name("evolving")
        .send()
        .await
        .expect("get");
    assert_eq!(latest.pipeline().unwrap().version(), Some(2));
    assert_eq!(latest.pipeline().unwrap().stages().len(), 3);
    let metadata = latest.metadata().unwrap();
    assert_eq!(metadata.created(), Some(&created), "created does not move");
    assert!(
        metadata.updated().unwrap().to_millis().unwrap() > created.to_millis().unwrap(),
        "updated {:?} is after created {created:?}",
        metadata.updated()
    );

    let first = t
        .client
        .get_pipeline()
        .name("evolving")
        .version(1)
        .send()
        .await
        .expect("version 1");
    assert_eq!(first.pipeline().unwrap().version(), Some(1));
    assert_eq!(first.pipeline().unwrap().stages().len(), 2);

    let summary = t.client.list_pipelines().send().await.expect("list");
    assert_eq!(summary.pipelines()[0].version(), Some(2));
}

#[tokio::test]
async fn update_of_an_unknown_pipeline_is_not_found() {
    let t = start().await;
    let code = error_code(
        t.client
            .update_pipeline()
            .pipeline(two_stage_pipeline("ghost"))
            .send()
            .await,
    );
    assert_eq!(code, "PipelineNotFoundException");
}

#[tokio::test]
async fn an_invalid_update_leaves_the_pipeline_unchanged() {
    let t = start().await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("stable"))
        .send()
        .await
        .expect("create");
    let broken = pipeline("stable")
        .stages(stage("Source", vec![s3_source("Source", "SourceOutput")]))
        .build()
        .unwrap();
    let code = error_code(t.client.update_pipeline().pipeline(broken).send().await);
    assert_eq!(code, "InvalidStructureException");
    let got = t
        .client
        .get_pipeline()
        .name("stable")
        .send()
        .await
        .expect("get");
    assert_eq!(got.pipeline().unwrap().version(), Some(1));
    assert_eq!(got.pipeline().unwrap().stages().len(), 2);
}

#[tokio::test]
async fn delete_removes_the_pipeline_and_deleting_again_succeeds() {
    let t = start().await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("doomed"))
        .send()
        .await
        .expect("create");
    t.client
        .delete_pipeline()
        .name("doomed")
        .send()
        .await
        .expect("delete");
    let code = error_code(t.client.get_pipeline().name("doomed").send().await);
    assert_eq!(code, "PipelineNotFoundException");
    let listed = t.client.list_pipelines().send().await.expect("list");
    assert!(listed.pipelines().is_empty());
    // AWS answers a delete of a missing pipeline with success.
    t.client
        .delete_pipeline()
        .name("doomed")
        .send()
        .await
        .expect("delete again");
    // The name is free again, and the new pipeline starts over at version 1.
    let created = t
        .client
        .create_pipeline()
        .pipeline(two_stage_pipeline("doomed"))
        .send()
        .await
        .expect("create again");
    assert_eq!(created.pipeline().unwrap().version(), Some(1));
}

#[tokio::test]
async fn list_paginates_in_name_order() {
    let t = start().await;
    let names = [
        "golf", "alpha", "echo", "charlie", "bravo", "foxtrot", "delta",
    ];
    for name in names {
        t.client
            .create_pipeline()
            .pipeline(two_stage_pipeline(name))
            .send()
            .await
            .expect("create");
    }
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = t
            .client
            .list_pipelines()
            .max_results(3)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("list");
        pages.push(
            page.pipelines()
                .iter()
                .map(|p| p.name().unwrap().to_string())
                .collect::<Vec<_>>(),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
        assert!(pages.len() < 5, "pagination ends");
    }
    assert_eq!(
        pages,
        vec![
            vec!["alpha", "bravo", "charlie"],
            vec!["delta", "echo", "foxtrot"],
            vec!["golf"],
        ]
    );

    let all = t.client.list_pipelines().send().await.expect("list all");
    assert_eq!(all.pipelines().len(), 7);
    assert!(all.next_token().is_none());
    let first = &all.pipelines()[0];
    assert_eq!(first.version(), Some(1));
    assert_eq!(first.pipeline_type(), Some(&PipelineType::V1));
    assert_eq!(first.execution_mode(), Some(&ExecutionMode::Superseded));
    assert!(first.created().is_some() && first.updated().is_some());

    let code = error_code(
        t.client
            .list_pipelines()
            .next_token("not-a-token-we-issued")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidNextTokenException");
}

#[tokio::test]
async fn v2_pipelines_keep_variables_and_execution_mode() {
    let t = start().await;
    let declaration = pipeline("modern")
        .pipeline_type(PipelineType::V2)
        .execution_mode(ExecutionMode::Queued)
        .variables(
            PipelineVariableDeclaration::builder()
                .name("Environment")
                .default_value("staging")
                .description("where to deploy")
                .build()
                .unwrap(),
        )
        .stages(stage("Source", vec![s3_source("Source", "SourceOutput")]))
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &[])],
        ))
        .build()
        .unwrap();
    t.client
        .create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .expect("create V2");
    let got = t
        .client
        .get_pipeline()
        .name("modern")
        .send()
        .await
        .expect("get");
    let pipeline = got.pipeline().unwrap();
    assert_eq!(pipeline.pipeline_type(), Some(&PipelineType::V2));
    assert_eq!(pipeline.execution_mode(), Some(&ExecutionMode::Queued));
    assert_eq!(pipeline.variables().len(), 1);
    assert_eq!(pipeline.variables()[0].name(), "Environment");
    assert_eq!(pipeline.variables()[0].default_value(), Some("staging"));
    assert_eq!(
        pipeline.variables()[0].description(),
        Some("where to deploy")
    );

    let listed = t.client.list_pipelines().send().await.expect("list");
    assert_eq!(
        listed.pipelines()[0].pipeline_type(),
        Some(&PipelineType::V2)
    );
    assert_eq!(
        listed.pipelines()[0].execution_mode(),
        Some(&ExecutionMode::Queued)
    );
}

#[tokio::test]
async fn v1_pipelines_may_be_declared_explicitly() {
    let t = start().await;
    let declaration = pipeline("classic")
        .pipeline_type(PipelineType::V1)
        .stages(stage("Source", vec![s3_source("Source", "SourceOutput")]))
        .stages(stage(
            "Build",
            vec![codebuild("Build", "SourceOutput", &[])],
        ))
        .build()
        .unwrap();
    let created = t
        .client
        .create_pipeline()
        .pipeline(declaration)
        .send()
        .await
        .expect("create V1");
    assert_eq!(
        created.pipeline().unwrap().pipeline_type(),
        Some(&PipelineType::V1)
    );
    assert!(created.pipeline().unwrap().variables().is_empty());
}

#[tokio::test]
async fn a_taken_name_is_pipeline_name_in_use() {
    let t = start().await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("taken"))
        .send()
        .await
        .expect("create");
    let code = error_code(
        t.client
            .create_pipeline()
            .pipeline(two_stage_pipeline("taken"))
            .send()
            .await,
    );
    assert_eq!(code, "PipelineNameInUseException");
}

#[tokio::test]
async fn the_same_name_in_two_regions_is_two_pipelines() {
    let t = start().await;
    let europe = t.client_for("test", "eu-west-1");
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("shared"))
        .send()
        .await
        .expect("create in us-east-1");
    europe
        .create_pipeline()
        .pipeline(two_stage_pipeline("shared"))
        .send()
        .await
        .expect("create in eu-west-1");

    let us = t
        .client
        .get_pipeline()
        .name("shared")
        .send()
        .await
        .expect("get us");
    let eu = europe
        .get_pipeline()
        .name("shared")
        .send()
        .await
        .expect("get eu");
    assert_eq!(
        us.metadata().unwrap().pipeline_arn(),
        Some("arn:aws:codepipeline:us-east-1:000000000000:shared")
    );
    assert_eq!(
        eu.metadata().unwrap().pipeline_arn(),
        Some("arn:aws:codepipeline:eu-west-1:000000000000:shared")
    );

    // Changing one leaves the other alone.
    europe
        .delete_pipeline()
        .name("shared")
        .send()
        .await
        .expect("delete eu");
    t.client
        .get_pipeline()
        .name("shared")
        .send()
        .await
        .expect("us pipeline still there");
    let code = error_code(europe.get_pipeline().name("shared").send().await);
    assert_eq!(code, "PipelineNotFoundException");
}

#[tokio::test]
async fn a_12_digit_access_key_is_the_account() {
    let t = start().await;
    let other_account = t.client_for("111122223333", "us-east-1");
    other_account
        .create_pipeline()
        .pipeline(two_stage_pipeline("owned"))
        .send()
        .await
        .expect("create");
    let got = other_account
        .get_pipeline()
        .name("owned")
        .send()
        .await
        .expect("get");
    assert_eq!(
        got.metadata().unwrap().pipeline_arn(),
        Some("arn:aws:codepipeline:us-east-1:111122223333:owned")
    );
    // The default account does not see it.
    let code = error_code(t.client.get_pipeline().name("owned").send().await);
    assert_eq!(code, "PipelineNotFoundException");
    let listed = t.client.list_pipelines().send().await.expect("list");
    assert!(listed.pipelines().is_empty());
}

#[tokio::test]
async fn the_pipeline_quota_is_enforced_per_account_and_region() {
    let t = start_with(Config {
        max_pipelines: 2,
        ..test_config()
    })
    .await;
    for name in ["one", "two"] {
        t.client
            .create_pipeline()
            .pipeline(two_stage_pipeline(name))
            .send()
            .await
            .expect("create");
    }
    let code = error_code(
        t.client
            .create_pipeline()
            .pipeline(two_stage_pipeline("three"))
            .send()
            .await,
    );
    assert_eq!(code, "LimitExceededException");
    // Another region has its own quota.
    t.client_for("test", "eu-west-1")
        .create_pipeline()
        .pipeline(two_stage_pipeline("three"))
        .send()
        .await
        .expect("create in another region");
    // Deleting one frees a slot.
    t.client
        .delete_pipeline()
        .name("one")
        .send()
        .await
        .expect("delete");
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("three"))
        .send()
        .await
        .expect("create after delete");
}

#[tokio::test]
async fn invalid_names_are_validation_errors() {
    let t = start().await;
    let (code, message) = service_error(t.client.get_pipeline().name("a b").send().await);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+"
    );
}
