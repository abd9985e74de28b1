//! The `aws` CLI (botocore) against a test server: needs `pip install awscli`.

use serde_json::Value;
use std::process::{Command, Output};

/// Runs `aws --endpoint-url URL codepipeline ARGS...` off the async runtime, isolated from any
/// local AWS configuration.
pub async fn aws(url: &str, args: &[&str]) -> Output {
    let mut command = Command::new("aws");
    command
        .arg("--endpoint-url")
        .arg(url)
        .arg("--output")
        .arg("json")
        .arg("codepipeline")
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL");
    let description = format!("aws codepipeline {}", args.join(" "));
    tokio::task::spawn_blocking(move || {
        command.output().unwrap_or_else(|e| {
            panic!("cannot run the aws CLI ({e}); install it with `pip install awscli`")
        })
    })
    .await
    .unwrap_or_else(|e| panic!("{description}: {e}"))
}

/// Runs a CLI command that must succeed and returns its JSON output (`null` when it prints
/// nothing).
pub async fn aws_ok(url: &str, args: &[&str]) -> Value {
    let output = aws(url, args).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "aws codepipeline {} failed ({}):\n{}\n{}",
        args.join(" "),
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("CLI output is not JSON ({e}): {stdout}"))
    }
}
