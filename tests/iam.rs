//! The opt-in role check (`--iam-endpoint`) against moto's IAM (`python3 -m moto.server`):
//! CreatePipeline and UpdatePipeline accept a role that exists and trusts CodePipeline, and
//! answer InvalidStructureException otherwise. Without the flag, no check.

mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use common::engine::manual_config;
use common::moto::Moto;
use common::*;

const TRUSTS_CODEPIPELINE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codepipeline.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const TRUSTS_CODEBUILD: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn iam(moto: &Moto) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&moto.url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// Creates a role in moto's IAM and returns its ARN.
async fn role(iam: &aws_sdk_iam::Client, name: &str, trust: &str) -> String {
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn
}

fn declaration(name: &str, role_arn: &str) -> aws_sdk_codepipeline::types::PipelineDeclaration {
    let mut declaration = two_stage_pipeline(name);
    declaration.role_arn = role_arn.to_string();
    declaration
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_iam_endpoint_the_pipeline_role_must_trust_codepipeline() {
    let moto = Moto::start().await;
    let iam = iam(&moto);
    let trusted = role(&iam, "pipeline-role", TRUSTS_CODEPIPELINE).await;
    let other = role(&iam, "build-role", TRUSTS_CODEBUILD).await;
    let account = trusted.split(':').nth(4).unwrap().to_string();
    let missing = format!("arn:aws:iam::{account}:role/no-such-role");

    let mut config = manual_config();
    config.iam_endpoint = Some(moto.url.clone());
    let t = start_with(config).await;
    let c = &t.client;

    c.create_pipeline()
        .pipeline(declaration("trusted", &trusted))
        .send()
        .await
        .unwrap();
    for role_arn in [&other, &missing] {
        let err = c
            .create_pipeline()
            .pipeline(declaration("refused", role_arn))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidStructureException"));
        assert_eq!(
            err.message(),
            Some(
                format!("CodePipeline is not authorized to perform AssumeRole on role {role_arn}")
                    .as_str()
            )
        );
    }
    let err = c
        .update_pipeline()
        .pipeline(declaration("trusted", &other))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidStructureException"));
    let listed = c.list_pipelines().send().await.unwrap();
    assert_eq!(
        listed.pipelines().len(),
        1,
        "a refused pipeline is not created"
    );
    let got = c.get_pipeline().name("trusted").send().await.unwrap();
    assert_eq!(
        got.pipeline().unwrap().role_arn(),
        trusted,
        "a refused update changes nothing"
    );
}

#[tokio::test]
async fn without_an_iam_endpoint_any_role_is_accepted() {
    let t = start_with(manual_config()).await;
    t.client
        .create_pipeline()
        .pipeline(declaration(
            "unchecked",
            "arn:aws:iam::000000000000:role/does-not-exist",
        ))
        .send()
        .await
        .unwrap();
}
