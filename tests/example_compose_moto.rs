//! `examples/compose-moto/`: its demo script (the aws CLI) runs against this server wired to
//! moto's S3, CloudFormation and EventBridge as the compose file wires the containers
//! (`CODEPIPELINE_LOCAL_S3_ENDPOINT`, `_CLOUDFORMATION_ENDPOINT`, `_EVENTS_ENDPOINT`, no
//! auto-start): buckets, a source zip, an EventBridge rule with an SQS target, one execution to
//! Succeeded (a stack creates the site bucket), the deployed page read back, the stack and the
//! pipeline's events checked in moto.

mod common;

use codepipeline_local::Config;
use common::real::Moto;
use std::path::Path;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn the_compose_moto_demo_deploys_a_site_into_moto() {
    let moto = Moto::start().await;
    let t = common::start_with(Config {
        s3_endpoint: Some(moto.url.clone()),
        cloudformation_endpoint: Some(moto.url.clone()),
        events_endpoint: Some(moto.url.clone()),
        ..common::engine::manual_config()
    })
    .await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/compose-moto/demo.sh");
    let mut command = tokio::process::Command::new("bash");
    command
        .arg(&script)
        .env("CODEPIPELINE_ENDPOINT", &t.url)
        .env("S3_ENDPOINT", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("demo.sh finishes within 2 minutes")
        .expect("bash runs (the aws CLI: run scripts/test-prereqs.sh)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo.sh failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("site-live/index.html is deployed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("stack site-infra is CREATE_COMPLETE"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the pipeline's state changes reached EventBridge"),
        "{stdout}"
    );
}
