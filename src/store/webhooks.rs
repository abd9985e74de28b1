//! Webhooks as stored (PutWebhook): the definition, the URL this server serves for it, and what
//! happened when it was last called.

use crate::model::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookRecord {
    pub definition: WebhookDefinition,
    pub arn: String,
    /// The random id in the webhook's URL path.
    pub id: String,
    pub url: String,
    pub tags: Vec<Tag>,
    pub last_triggered: Option<Timestamp>,
    pub error_message: Option<String>,
    pub error_code: Option<String>,
    /// RegisterWebhookWithThirdParty was called (and not undone).
    pub registered_with_third_party: bool,
}
