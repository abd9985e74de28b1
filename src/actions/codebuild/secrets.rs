//! A build's `PARAMETER_STORE` and `SECRETS_MANAGER` variables (buildspec `env.parameter-store`
//! and `env.secrets-manager`, project and action environment variables of those types), read
//! from `--ssm-endpoint` and `--secretsmanager-endpoint` (LocalStack, moto). Without the
//! endpoint, or when the value cannot be read, the build fails naming the variable.

use crate::actions::artifacts::credentials;
use crate::config::Config;
use aws_sdk_ssm::config::{BehaviorVersion, Region};

/// The value of SSM parameter `parameter` for variable `variable`.
pub async fn parameter(config: &Config, variable: &str, parameter: &str) -> Result<String, String> {
    let Some(endpoint) = &config.ssm_endpoint else {
        return Err(format!(
            "Decrypted Variables Error: variable {variable} reads parameter {parameter} from the Parameter Store: start codepipeline-local with --ssm-endpoint"
        ));
    };
    let conf = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(config.s3_region().to_string()))
        .credentials_provider(credentials(config))
        .build();
    let answer = aws_sdk_ssm::Client::from_conf(conf)
        .get_parameter()
        .name(parameter)
        .with_decryption(true)
        .send()
        .await;
    match answer {
        Ok(answer) => answer
            .parameter()
            .and_then(|p| p.value())
            .map(str::to_string)
            .ok_or_else(|| format!("Decrypted Variables Error: parameter {parameter} has no value (variable {variable})")),
        Err(e) => {
            let missing = e
                .as_service_error()
                .is_some_and(|s| s.is_parameter_not_found());
            Err(if missing {
                format!("Decrypted Variables Error: parameter does not exist: {parameter} (variable {variable})")
            } else {
                format!(
                    "Decrypted Variables Error: cannot read parameter {parameter} (variable {variable}): {}",
                    aws_sdk_ssm::error::DisplayErrorContext(&e)
                )
            })
        }
    }
}

/// A `secrets-manager` reference: `secret-id[:json-key[:version-stage[:version-id]]]` (the
/// secret id may be an ARN, which has colons of its own).
fn reference(text: &str) -> (String, Option<String>, Option<String>, Option<String>) {
    let (id, rest) = if text.starts_with("arn:") {
        // arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME then the fields.
        let parts: Vec<&str> = text.splitn(8, ':').collect();
        let id = parts.iter().take(7).copied().collect::<Vec<_>>().join(":");
        (id, parts.get(7).copied().unwrap_or(""))
    } else {
        match text.split_once(':') {
            Some((id, rest)) => (id.to_string(), rest),
            None => (text.to_string(), ""),
        }
    };
    let mut fields = rest.splitn(3, ':').map(|f| {
        let f = f.trim();
        (!f.is_empty()).then(|| f.to_string())
    });
    let key = fields.next().flatten();
    let stage = fields.next().flatten();
    let version = fields.next().flatten();
    (id, key, stage, version)
}

/// The value of a Secrets Manager reference for variable `variable`.
pub async fn secret(config: &Config, variable: &str, text: &str) -> Result<String, String> {
    let Some(endpoint) = &config.secretsmanager_endpoint else {
        return Err(format!(
            "Secrets Manager Error: variable {variable} reads secret {text} from Secrets Manager: start codepipeline-local with --secretsmanager-endpoint"
        ));
    };
    let (id, key, stage, version) = reference(text);
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_secretsmanager::config::Region::new(
            config.s3_region().to_string(),
        ))
        .credentials_provider(credentials(config))
        .build();
    let answer = aws_sdk_secretsmanager::Client::from_conf(conf)
        .get_secret_value()
        .secret_id(&id)
        .set_version_stage(stage)
        .set_version_id(version)
        .send()
        .await
        .map_err(|e| {
            format!(
                "Secrets Manager Error: cannot read secret {id} (variable {variable}): {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            )
        })?;
    let value = answer.secret_string().unwrap_or_default().to_string();
    let Some(key) = key else {
        return Ok(value);
    };
    let json: serde_json::Value = serde_json::from_str(&value).map_err(|_| {
        format!("Secrets Manager Error: secret {id} is not JSON, so it has no key {key} (variable {variable})")
    })?;
    match json.get(&key) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(format!(
            "Secrets Manager Error: secret {id} has no key {key} (variable {variable})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::reference;

    #[test]
    fn secret_references_split_into_their_fields() {
        assert_eq!(
            reference("prod/db:password"),
            ("prod/db".into(), Some("password".into()), None, None)
        );
        assert_eq!(reference("plain"), ("plain".into(), None, None, None));
        let arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf";
        assert_eq!(
            reference(&format!("{arn}:user::v1")),
            (arn.into(), Some("user".into()), None, Some("v1".into()))
        );
    }
}
