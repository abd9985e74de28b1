//! TagResource, UntagResource and ListTagsForResource on pipelines, through the AWS SDK for Rust.

mod common;

use aws_sdk_codepipeline::types::Tag;
use aws_sdk_codepipeline::Client;
use common::*;
use std::collections::BTreeMap;

const ARN: &str = "arn:aws:codepipeline:us-east-1:000000000000:tagged";

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

async fn tags_of(client: &Client, arn: &str) -> BTreeMap<String, String> {
    let listed = client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("list tags");
    assert!(listed.next_token().is_none());
    listed
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn with_pipeline(tags: Vec<Tag>) -> TestServer {
    let t = start().await;
    t.client
        .create_pipeline()
        .pipeline(two_stage_pipeline("tagged"))
        .set_tags(Some(tags))
        .send()
        .await
        .expect("create");
    t
}

#[tokio::test]
async fn tags_given_at_create_are_listed() {
    let t = with_pipeline(vec![tag("team", "web"), tag("env", "dev")]).await;
    assert_eq!(
        tags_of(&t.client, ARN).await,
        map(&[("team", "web"), ("env", "dev")])
    );
}

#[tokio::test]
async fn tag_untag_and_list() {
    let t = with_pipeline(vec![tag("team", "web")]).await;
    t.client
        .tag_resource()
        .resource_arn(ARN)
        .tags(tag("env", "prod"))
        .tags(tag("team", "platform"))
        .send()
        .await
        .expect("tag");
    assert_eq!(
        tags_of(&t.client, ARN).await,
        map(&[("team", "platform"), ("env", "prod")]),
        "new keys are added and existing keys get the new value"
    );

    t.client
        .untag_resource()
        .resource_arn(ARN)
        .tag_keys("team")
        .tag_keys("not-there")
        .send()
        .await
        .expect("untag");
    assert_eq!(tags_of(&t.client, ARN).await, map(&[("env", "prod")]));

    t.client
        .untag_resource()
        .resource_arn(ARN)
        .tag_keys("env")
        .send()
        .await
        .expect("untag the last");
    assert!(tags_of(&t.client, ARN).await.is_empty());
}

#[tokio::test]
async fn list_tags_paginates() {
    let tags = (0..5).map(|i| tag(&format!("k{i}"), "v")).collect();
    let t = with_pipeline(tags).await;
    let mut keys = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = t
            .client
            .list_tags_for_resource()
            .resource_arn(ARN)
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .expect("list");
        pages += 1;
        assert!(page.tags().len() <= 2);
        keys.extend(page.tags().iter().map(|t| t.key().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
        assert!(pages < 10, "pagination ends");
    }
    assert_eq!(pages, 3);
    keys.sort();
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4"]);
}

#[tokio::test]
async fn more_than_50_tags_is_too_many() {
    let t = with_pipeline(vec![tag("first", "1")]).await;
    let mut request = t.client.tag_resource().resource_arn(ARN);
    for i in 0..50 {
        request = request.tags(tag(&format!("key{i}"), "v"));
    }
    let code = error_code(request.send().await);
    assert_eq!(code, "TooManyTagsException", "1 existing + 50 new");
    assert_eq!(tags_of(&t.client, ARN).await.len(), 1, "nothing was added");

    let mut request = t.client.tag_resource().resource_arn(ARN);
    for i in 0..49 {
        request = request.tags(tag(&format!("key{i}"), "v"));
    }
    request.send().await.expect("exactly 50 is fine");
    assert_eq!(tags_of(&t.client, ARN).await.len(), 50);

    // At create time too.
    let tags = (0..51).map(|i| tag(&format!("key{i}"), "v")).collect();
    let code = error_code(
        t.client
            .create_pipeline()
            .pipeline(two_stage_pipeline("crowded"))
            .set_tags(Some(tags))
            .send()
            .await,
    );
    assert_eq!(code, "TooManyTagsException");
}

#[tokio::test]
async fn aws_prefixed_keys_are_invalid() {
    let t = with_pipeline(vec![]).await;
    let code = error_code(
        t.client
            .tag_resource()
            .resource_arn(ARN)
            .tags(tag("aws:cloudformation:stack-name", "x"))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidTagsException");
    let code = error_code(
        t.client
            .untag_resource()
            .resource_arn(ARN)
            .tag_keys("aws:reserved")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidTagsException");
    let code = error_code(
        t.client
            .create_pipeline()
            .pipeline(two_stage_pipeline("reserved"))
            .tags(tag("aws:owner", "me"))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidTagsException");
}

#[tokio::test]
async fn unknown_pipelines_are_resource_not_found() {
    let t = start().await;
    let arn = "arn:aws:codepipeline:us-east-1:000000000000:nobody";
    let code = error_code(
        t.client
            .tag_resource()
            .resource_arn(arn)
            .tags(tag("k", "v"))
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    let code = error_code(
        t.client
            .untag_resource()
            .resource_arn(arn)
            .tag_keys("k")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    let code = error_code(
        t.client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn arns_of_another_account_or_region_are_not_found() {
    let t = with_pipeline(vec![tag("team", "web")]).await;
    for arn in [
        "arn:aws:codepipeline:eu-west-1:000000000000:tagged",
        "arn:aws:codepipeline:us-east-1:111122223333:tagged",
    ] {
        let code = error_code(
            t.client
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await,
        );
        assert_eq!(code, "ResourceNotFoundException", "{arn}");
        let code = error_code(
            t.client
                .tag_resource()
                .resource_arn(arn)
                .tags(tag("k", "v"))
                .send()
                .await,
        );
        assert_eq!(code, "ResourceNotFoundException", "{arn}");
    }
    assert_eq!(tags_of(&t.client, ARN).await, map(&[("team", "web")]));
    // The owner, calling from its own region, sees the tags.
    let owner = t.client_for("000000000000", "us-east-1");
    assert_eq!(tags_of(&owner, ARN).await, map(&[("team", "web")]));
}

#[tokio::test]
async fn malformed_arns_matching_the_model_pattern_are_invalid_arns() {
    let t = start().await;
    let arn = "arn:aws:codepipeline:us-east-1:123456789012:a/b";
    let code = error_code(
        t.client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidArnException");
    let code = error_code(
        t.client
            .tag_resource()
            .resource_arn(arn)
            .tags(tag("k", "v"))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidArnException");
    let code = error_code(
        t.client
            .untag_resource()
            .resource_arn(arn)
            .tag_keys("k")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidArnException");
}

#[tokio::test]
async fn arns_not_matching_the_model_pattern_are_validation_errors() {
    let t = start().await;
    for arn in [
        "not-an-arn",
        "arn:aws:s3:::bucket",
        "arn:aws:codepipeline:us-east-1:1234:p",
    ] {
        let (code, message) = service_error(
            t.client
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await,
        );
        assert_eq!(code, "ValidationException", "{arn}");
        assert!(message.contains("at 'resourceArn'"), "{message}");
    }
}
