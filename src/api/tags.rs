//! TagResource, UntagResource, ListTagsForResource, for the three taggable resources:
//! pipelines (`arn:aws:codepipeline:R:A:NAME`), custom action types
//! (`...:actiontype:Custom/CATEGORY/PROVIDER/VERSION`) and webhooks (`...:webhook:NAME`).

use super::pagination::{decode_token, encode_token, page_size};
use crate::app::App;
use crate::model::*;
use crate::protocol::{ApiError, RequestContext, Scope};
use crate::store::{Region, RegionState};
use std::collections::HashSet;

/// A taggable resource named by an ARN.
#[derive(Debug, PartialEq)]
enum TaggedResource {
    Pipeline(String),
    ActionType(String),
    Webhook(String),
}

pub fn tag_resource(
    app: &App,
    ctx: &RequestContext,
    input: TagResourceInput,
) -> Result<TagResourceOutput, ApiError> {
    let resource = parse_arn(&input.resource_arn)?;
    check_tag_keys(input.tags.iter().map(|t| t.key.as_str()))?;
    let mut seen = HashSet::new();
    if let Some(tag) = input.tags.iter().find(|t| !seen.insert(t.key.as_str())) {
        return Err(ApiError::new(
            ErrorCode::InvalidTagsException,
            format!("Duplicate tag key '{}' in the request", tag.key),
        ));
    }
    let region = app.store.region(&ctx.scope);
    check_scope(&input.resource_arn, &region, &ctx.scope, &resource)?;
    let mut state = region.lock();
    let tags = tags_mut(&mut state, &resource)
        .ok_or_else(|| not_found(&input.resource_arn, &ctx.scope, &resource))?;
    let mut merged = tags.clone();
    for tag in input.tags {
        match merged.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value,
            None => merged.push(tag),
        }
    }
    if merged.len() > app.config.max_tags {
        return Err(too_many_tags(app.config.max_tags));
    }
    *tags = merged;
    Ok(TagResourceOutput {})
}

pub fn untag_resource(
    app: &App,
    ctx: &RequestContext,
    input: UntagResourceInput,
) -> Result<UntagResourceOutput, ApiError> {
    let resource = parse_arn(&input.resource_arn)?;
    check_tag_keys(input.tag_keys.iter().map(String::as_str))?;
    let region = app.store.region(&ctx.scope);
    check_scope(&input.resource_arn, &region, &ctx.scope, &resource)?;
    let mut state = region.lock();
    let tags = tags_mut(&mut state, &resource)
        .ok_or_else(|| not_found(&input.resource_arn, &ctx.scope, &resource))?;
    tags.retain(|t| !input.tag_keys.contains(&t.key));
    Ok(UntagResourceOutput {})
}

pub fn list_tags_for_resource(
    app: &App,
    ctx: &RequestContext,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, ApiError> {
    let resource = parse_arn(&input.resource_arn)?;
    let start = match input.next_token.as_deref() {
        Some(token) => decode_token(token)?
            .parse::<usize>()
            .map_err(|_| ApiError::invalid_next_token())?,
        None => 0,
    };
    let size = page_size(input.max_results, 50);
    let region = app.store.read(&ctx.scope);
    check_scope(&input.resource_arn, &region, &ctx.scope, &resource)?;
    let mut state = region.lock();
    let tags = tags_mut(&mut state, &resource)
        .ok_or_else(|| not_found(&input.resource_arn, &ctx.scope, &resource))?;
    let page: Vec<Tag> = tags.iter().skip(start).take(size).cloned().collect();
    let next_token =
        (start + page.len() < tags.len()).then(|| encode_token(&(start + page.len()).to_string()));
    Ok(ListTagsForResourceOutput {
        tags: Some(page),
        next_token,
    })
}

/// Tags given when a resource is created: the same rules as TagResource.
pub fn check_new_tags(tags: &[Tag], max: usize) -> Result<(), ApiError> {
    check_tag_keys(tags.iter().map(|t| t.key.as_str()))?;
    let mut seen = HashSet::new();
    if let Some(tag) = tags.iter().find(|t| !seen.insert(t.key.as_str())) {
        return Err(ApiError::new(
            ErrorCode::InvalidTagsException,
            format!("Duplicate tag key '{}' in the request", tag.key),
        ));
    }
    if tags.len() > max {
        return Err(too_many_tags(max));
    }
    Ok(())
}

/// Keys starting with `aws:` are reserved for AWS.
fn check_tag_keys<'a>(mut keys: impl Iterator<Item = &'a str>) -> Result<(), ApiError> {
    match keys.find(|k| k.to_ascii_lowercase().starts_with("aws:")) {
        Some(key) => Err(ApiError::new(
            ErrorCode::InvalidTagsException,
            format!("Tag key '{key}' is not valid: the prefix 'aws:' is reserved for AWS use"),
        )),
        None => Ok(()),
    }
}

fn too_many_tags(max: usize) -> ApiError {
    ApiError::new(
        ErrorCode::TooManyTagsException,
        format!("The resource would have more than {max} tags, the maximum per resource"),
    )
}

/// `arn:PARTITION:codepipeline:REGION:ACCOUNT:RESOURCE` -> the resource it names.
fn parse_arn(arn: &str) -> Result<TaggedResource, ApiError> {
    let invalid = || {
        ApiError::new(
            ErrorCode::InvalidArnException,
            format!("The ARN '{arn}' is not a valid CodePipeline resource ARN"),
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "codepipeline" {
        return Err(invalid());
    }
    let resource = parts[5];
    if let Some(type_key) = resource.strip_prefix("actiontype:") {
        let segments: Vec<&str> = type_key.split('/').collect();
        if segments.len() != 4 || segments.iter().any(|s| s.is_empty()) {
            return Err(invalid());
        }
        return Ok(TaggedResource::ActionType(type_key.to_string()));
    }
    if let Some(name) = resource.strip_prefix("webhook:") {
        if name.is_empty() || name.contains([':', '/']) {
            return Err(invalid());
        }
        return Ok(TaggedResource::Webhook(name.to_string()));
    }
    if resource.is_empty() || resource.contains([':', '/']) {
        return Err(invalid());
    }
    Ok(TaggedResource::Pipeline(resource.to_string()))
}

/// An ARN of another account, region or partition names nothing the caller can see: the
/// resource is looked up only when the ARN is exactly the one this scope would give it.
fn check_scope(
    arn: &str,
    region: &Region,
    scope: &Scope,
    resource: &TaggedResource,
) -> Result<(), ApiError> {
    let resource_part = arn.splitn(6, ':').nth(5).unwrap_or_default();
    if region.arn(resource_part) == arn {
        Ok(())
    } else {
        Err(not_found(arn, scope, resource))
    }
}

fn tags_mut<'a>(state: &'a mut RegionState, resource: &TaggedResource) -> Option<&'a mut Vec<Tag>> {
    match resource {
        TaggedResource::Pipeline(name) => state.touch_pipeline(name),
        TaggedResource::ActionType(key) => {
            state.dirty.action_types.insert(key.clone());
        }
        TaggedResource::Webhook(name) => {
            state.dirty.webhooks.insert(name.clone());
        }
    }
    match resource {
        TaggedResource::Pipeline(name) => state.pipelines.get_mut(name).map(|p| &mut p.tags),
        TaggedResource::ActionType(key) => state.action_types.get_mut(key).map(|t| &mut t.tags),
        TaggedResource::Webhook(name) => state.webhooks.get_mut(name).map(|w| &mut w.tags),
    }
}

fn not_found(arn: &str, scope: &Scope, resource: &TaggedResource) -> ApiError {
    let what = match resource {
        TaggedResource::Pipeline(_) => "pipeline",
        TaggedResource::ActionType(_) => "action type",
        TaggedResource::Webhook(_) => "webhook",
    };
    ApiError::new(
        ErrorCode::ResourceNotFoundException,
        format!(
            "The {what} with ARN '{arn}' was not found in account '{}' and region '{}'",
            scope.account, scope.region
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_their_resource() {
        assert_eq!(
            parse_arn("arn:aws:codepipeline:us-east-1:111111111111:my-pipe").unwrap(),
            TaggedResource::Pipeline("my-pipe".into())
        );
        assert_eq!(
            parse_arn(
                "arn:aws:codepipeline:us-east-1:111111111111:actiontype:Custom/Build/Jenkins/1"
            )
            .unwrap(),
            TaggedResource::ActionType("Custom/Build/Jenkins/1".into())
        );
        assert_eq!(
            parse_arn("arn:aws:codepipeline:us-east-1:111111111111:webhook:hook").unwrap(),
            TaggedResource::Webhook("hook".into())
        );
        assert!(
            parse_arn("arn:aws:codepipeline:us-east-1:111111111111:actiontype:Custom/Build")
                .is_err()
        );
        assert!(parse_arn("arn:aws:codepipeline:us-east-1:111111111111:a/b").is_err());
    }
}
