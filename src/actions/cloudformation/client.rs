//! The CloudFormation client of `--cloudformation-endpoint` (the static credentials of
//! `--s3-access-key-id`/`--s3-secret-access-key`), and CloudFormation's errors as messages.

use crate::config::Config;
use aws_sdk_cloudformation::config::{BehaviorVersion, Region};
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::Client;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// (endpoint, region, access key, secret) -> client; clients are kept so their connection
/// pools are reused.
type ClientCache = Mutex<HashMap<(String, String, String, String), Client>>;

/// The client of the configured endpoint for `region`; `None` without an endpoint.
pub fn client(config: &Config, region: &str) -> Option<Client> {
    let endpoint = config.cloudformation_endpoint.clone()?;
    static CLIENTS: OnceLock<ClientCache> = OnceLock::new();
    let key = (
        endpoint.clone(),
        region.to_string(),
        config.s3_access_key_id.clone(),
        config.s3_secret_access_key.clone(),
    );
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let client = clients.entry(key).or_insert_with(|| {
        let conf = aws_sdk_cloudformation::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(Region::new(region.to_string()))
            .credentials_provider(crate::actions::artifacts::credentials(config))
            .build();
        Client::from_conf(conf)
    });
    Some(client.clone())
}

/// A CloudFormation call that failed: its error code (when CloudFormation answered) and
/// message.
#[derive(Debug, Clone)]
pub struct CfnError {
    pub code: Option<String>,
    pub message: String,
}

impl CfnError {
    pub fn from_sdk<E, R>(err: SdkError<E, R>) -> CfnError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match err.as_service_error() {
            Some(service) => CfnError {
                code: service.code().map(str::to_string),
                message: service
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| service.to_string()),
            },
            None => CfnError {
                code: None,
                message: format!("{}", DisplayErrorContext(&err)),
            },
        }
    }

    /// `ValidationError: Stack with id NAME does not exist`.
    pub fn no_stack(&self) -> bool {
        self.code.as_deref() == Some("ValidationError") && self.message.contains("does not exist")
    }

    /// `ValidationError: No updates are to be performed.` (AWS: the action succeeds).
    pub fn no_updates(&self) -> bool {
        self.message.contains("No updates are to be performed")
    }
}

impl std::fmt::Display for CfnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
