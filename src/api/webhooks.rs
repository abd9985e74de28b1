//! PutWebhook, ListWebhooks, DeleteWebhook, RegisterWebhookWithThirdParty,
//! DeregisterWebhookWithThirdParty. Deliveries to a webhook's URL are served by
//! `crate::webhooks`.
//!
//! - PutWebhook creates or replaces by name. A replaced webhook keeps its URL, ARN, last
//!   trigger and registration; its tags are replaced only when the request gives tags.
//! - `targetAction` must be an action of the pipeline's first (source) stage, else
//!   `ValidationException` (the model lists no better error for PutWebhook).
//! - A `SecretToken` is never returned: it reads `****`.

use super::pagination::{decode_token, encode_token, page_size};
use super::pipelines::MASK;
use super::tags::check_new_tags;
use crate::app::App;
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::WebhookRecord;
use crate::webhooks::{auth, filters, webhook_url};

pub fn put_webhook(
    app: &App,
    ctx: &RequestContext,
    input: PutWebhookInput,
) -> Result<PutWebhookOutput, ApiError> {
    let definition = input.webhook;
    if let Some(tags) = &input.tags {
        check_new_tags(tags, app.config.max_tags)?;
    }
    filters::check_patterns(&definition.filters)?;
    auth::check_parameters(&definition)?;
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    let pipeline = state
        .pipelines
        .get(&definition.target_pipeline)
        .ok_or_else(|| {
            ApiError::pipeline_not_found(&definition.target_pipeline, &ctx.scope.account)
        })?;
    let is_source_action = pipeline
        .current()
        .stages
        .first()
        .is_some_and(|s| s.actions.iter().any(|a| a.name == definition.target_action));
    if !is_source_action {
        return Err(ApiError::validation(format!(
            "The target action '{}' is not an action of the source (first) stage of pipeline '{}'",
            definition.target_action, definition.target_pipeline
        )));
    }
    let name = definition.name.clone();
    let record = match state.webhooks.remove(&name) {
        Some(existing) => WebhookRecord {
            definition,
            tags: input.tags.unwrap_or(existing.tags),
            error_message: None,
            error_code: None,
            ..existing
        },
        None => {
            if state.webhooks.len() >= app.config.max_webhooks {
                return Err(ApiError::new(
                    ErrorCode::LimitExceededException,
                    format!(
                        "The maximum number of webhooks ({}) for account '{}' in region '{}' has been reached",
                        app.config.max_webhooks, ctx.scope.account, ctx.scope.region
                    ),
                ));
            }
            let id = uuid::Uuid::new_v4().simple().to_string();
            WebhookRecord {
                definition,
                arn: region.arn(&format!("webhook:{name}")),
                url: webhook_url(&app.config, ctx.host.as_deref(), &ctx.scope, &id),
                id,
                tags: input.tags.unwrap_or_default(),
                last_triggered: None,
                error_message: None,
                error_code: None,
                registered_with_third_party: false,
            }
        }
    };
    let item = listed(&record);
    state.dirty.webhooks.insert(name.clone());
    state.webhooks.insert(name, record);
    Ok(PutWebhookOutput {
        webhook: Some(item),
    })
}

pub fn list_webhooks(
    app: &App,
    ctx: &RequestContext,
    input: ListWebhooksInput,
) -> Result<ListWebhooksOutput, ApiError> {
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let size = page_size(input.max_results, 100);
    let region = app.store.read(&ctx.scope);
    let state = region.lock();
    let range = match &after {
        Some(last) => state
            .webhooks
            .range::<String, _>((std::ops::Bound::Excluded(last), std::ops::Bound::Unbounded)),
        None => state.webhooks.range::<String, _>(..),
    };
    let mut webhooks = Vec::new();
    let mut more = false;
    for (_, record) in range {
        if webhooks.len() == size {
            more = true;
            break;
        }
        webhooks.push(listed(record));
    }
    let next_token = if more {
        webhooks
            .last()
            .map(|w: &ListWebhookItem| encode_token(&w.definition.name))
    } else {
        None
    };
    Ok(ListWebhooksOutput {
        webhooks: Some(webhooks),
        next_token,
    })
}

pub fn delete_webhook(
    app: &App,
    ctx: &RequestContext,
    input: DeleteWebhookInput,
) -> Result<DeleteWebhookOutput, ApiError> {
    let region = app.store.region(&ctx.scope);
    // As in AWS, deleting a webhook that does not exist succeeds.
    let mut state = region.lock();
    if state.webhooks.remove(&input.name).is_some() {
        state.dirty.webhooks.insert(input.name.clone());
    }
    Ok(DeleteWebhookOutput {})
}

pub fn register_webhook_with_third_party(
    app: &App,
    ctx: &RequestContext,
    input: RegisterWebhookWithThirdPartyInput,
) -> Result<RegisterWebhookWithThirdPartyOutput, ApiError> {
    set_registration(app, ctx, input.webhook_name.as_deref(), true)?;
    Ok(RegisterWebhookWithThirdPartyOutput {})
}

pub fn deregister_webhook_with_third_party(
    app: &App,
    ctx: &RequestContext,
    input: DeregisterWebhookWithThirdPartyInput,
) -> Result<DeregisterWebhookWithThirdPartyOutput, ApiError> {
    set_registration(app, ctx, input.webhook_name.as_deref(), false)?;
    Ok(DeregisterWebhookWithThirdPartyOutput {})
}

/// Nothing is called on the third party's side: the registration is only recorded.
fn set_registration(
    app: &App,
    ctx: &RequestContext,
    name: Option<&str>,
    registered: bool,
) -> Result<(), ApiError> {
    let name = name.ok_or_else(|| ApiError::validation("webhookName is required"))?;
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    let record = state.webhooks.get_mut(name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::WebhookNotFoundException,
            format!(
                "Webhook '{name}' was not found in account '{}' and region '{}'",
                ctx.scope.account, ctx.scope.region
            ),
        )
    })?;
    record.registered_with_third_party = registered;
    state.dirty.webhooks.insert(name.to_string());
    Ok(())
}

/// The webhook as clients see it: the secret masked.
fn listed(record: &WebhookRecord) -> ListWebhookItem {
    let mut definition = record.definition.clone();
    if let Some(secret) = &mut definition.authentication_configuration.secret_token {
        *secret = MASK.to_string();
    }
    ListWebhookItem {
        definition,
        url: record.url.clone(),
        arn: Some(record.arn.clone()),
        error_message: record.error_message.clone(),
        error_code: record.error_code.clone(),
        last_triggered: record.last_triggered,
        tags: if record.tags.is_empty() {
            None
        } else {
            Some(record.tags.clone())
        },
    }
}
