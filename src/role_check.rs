//! The opt-in role check (`--iam-endpoint`): CreatePipeline and UpdatePipeline ask an IAM that
//! the user runs (LocalStack, moto) whether the pipeline's `roleArn` exists and its trust policy
//! lets `codepipeline.amazonaws.com` assume it, as AWS does before accepting a pipeline.

use crate::config::Config;
use crate::model::ErrorCode;
use crate::protocol::ApiError;
use aws_sdk_iam::config::timeout::TimeoutConfig;
use aws_sdk_iam::config::{BehaviorVersion, Region};
use serde_json::Value;
use std::time::Duration;

const SERVICE: &str = "codepipeline.amazonaws.com";

/// Checks `role_arn` when an IAM endpoint is configured; no endpoint, no check.
pub async fn check_role(config: &Config, role_arn: &str) -> Result<(), ApiError> {
    let Some(endpoint) = &config.iam_endpoint else {
        return Ok(());
    };
    // Boxed: the HTTP request's future takes about 5 KiB, which every request's future (they
    // are moved several times on their way through the server) would otherwise carry.
    match Box::pin(trusts_codepipeline(config, endpoint, role_arn)).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(not_authorized(role_arn)),
        Err(cause) => {
            tracing::warn!(role_arn, %cause, "the role check could not read the role from IAM");
            Err(not_authorized(role_arn))
        }
    }
}

fn not_authorized(role_arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidStructureException,
        format!("CodePipeline is not authorized to perform AssumeRole on role {role_arn}"),
    )
}

/// Whether the role exists (with exactly this ARN) and trusts CodePipeline; an error when IAM
/// could not answer.
async fn trusts_codepipeline(
    config: &Config,
    endpoint: &str,
    role_arn: &str,
) -> Result<bool, String> {
    // arn:aws:iam::ACCOUNT:role/PATH/NAME: GetRole takes the name alone.
    let Some(name) = role_arn
        .split_once(":role/")
        .and_then(|(_, path)| path.rsplit('/').next())
    else {
        return Ok(false);
    };
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(config.s3_region().to_string()))
        .credentials_provider(crate::actions::artifacts::credentials(config))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .build();
    let client = aws_sdk_iam::Client::from_conf(conf);
    let role = match client.get_role().role_name(name).send().await {
        Ok(output) => output.role,
        Err(e) => {
            let missing = e
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception());
            return if missing {
                Ok(false)
            } else {
                Err(aws_sdk_iam::error::DisplayErrorContext(&e).to_string())
            };
        }
    };
    let Some(role) = role else {
        return Ok(false);
    };
    if role.arn != role_arn {
        return Ok(false);
    }
    Ok(role
        .assume_role_policy_document
        .as_deref()
        .is_some_and(allows_codepipeline))
}

/// Whether a trust policy (JSON, URL-encoded as IAM returns it) has an Allow statement for
/// `sts:AssumeRole` whose principal is the CodePipeline service.
pub fn allows_codepipeline(document: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    let Ok(policy) = serde_json::from_str::<Value>(&decoded)
        .or_else(|_| serde_json::from_str::<Value>(document))
    else {
        return false;
    };
    one_or_many(&policy["Statement"]).iter().any(|statement| {
        statement["Effect"] == "Allow"
            && one_or_many(&statement["Action"])
                .iter()
                .any(|a| matches!(a.as_str(), Some("sts:AssumeRole" | "sts:*" | "*")))
            && (statement["Principal"] == "*"
                || one_or_many(&statement["Principal"]["Service"])
                    .iter()
                    .any(|s| s == SERVICE))
    })
}

fn one_or_many(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trust_policy_must_allow_codepipeline_to_assume_the_role() {
        let trusted = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","codepipeline.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
        assert!(allows_codepipeline(trusted));
        let encoded: String =
            percent_encoding::utf8_percent_encode(trusted, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert!(allows_codepipeline(&encoded));
        let other = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        assert!(!allows_codepipeline(other));
        let denied = r#"{"Statement":{"Effect":"Deny","Principal":{"Service":"codepipeline.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        assert!(!allows_codepipeline(denied));
        assert!(!allows_codepipeline("not json"));
    }
}
