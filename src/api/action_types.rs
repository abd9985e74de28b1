//! Action types: CreateCustomActionType, DeleteCustomActionType, ListActionTypes,
//! GetActionType, UpdateActionType.
//!
//! ListActionTypes returns the AWS catalog (AWS and AWS-run ThirdParty types) plus the types
//! registered in the account and region: custom types (CreateCustomActionType) and ThirdParty
//! declarations (UpdateActionType registers or updates one: a local user cannot ask AWS to
//! register a partner).

use super::pagination::{decode_token, encode_token};
use super::tags::check_new_tags;
use crate::app::App;
use crate::model::catalog;
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::{action_type_key, RegisteredActionType};

pub fn create_custom_action_type(
    app: &App,
    ctx: &RequestContext,
    input: CreateCustomActionTypeInput,
) -> Result<CreateCustomActionTypeOutput, ApiError> {
    let tags = input.tags.unwrap_or_default();
    check_new_tags(&tags, app.config.max_tags)?;
    let properties = input.configuration_properties.unwrap_or_default();
    check_properties(&properties)?;
    check_bounds("inputArtifactDetails", &input.input_artifact_details)?;
    check_bounds("outputArtifactDetails", &input.output_artifact_details)?;
    let id = ActionTypeId {
        category: input.category,
        owner: ActionOwner::Custom,
        provider: input.provider,
        version: input.version,
    };
    let key = action_type_key(&id);
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    if state.action_types.contains_key(&key) || state.retired_action_types.contains(&key) {
        let deleted = state.retired_action_types.contains(&key);
        return Err(ApiError::new(
            ErrorCode::ActionTypeAlreadyExistsException,
            if deleted {
                format!(
                    "Action type {key} was deleted and cannot be created again: use a new version"
                )
            } else {
                format!("Action type {key} already exists")
            },
        ));
    }
    let custom_count = state
        .action_types
        .keys()
        .filter(|k| k.starts_with("Custom/"))
        .count();
    if custom_count >= app.config.max_custom_action_types {
        return Err(ApiError::new(
            ErrorCode::LimitExceededException,
            format!(
                "The maximum number of custom action types ({}) has been reached in this account and region",
                app.config.max_custom_action_types
            ),
        ));
    }
    let action_type = ActionType {
        id,
        settings: input.settings,
        action_configuration_properties: Some(properties),
        input_artifact_details: input.input_artifact_details,
        output_artifact_details: input.output_artifact_details,
    };
    let arn = region.arn(&format!("actiontype:{key}"));
    state.dirty.action_types.insert(key.clone());
    state.action_types.insert(
        key,
        RegisteredActionType {
            arn,
            action_type: action_type.clone(),
            declaration: None,
            tags: tags.clone(),
        },
    );
    Ok(CreateCustomActionTypeOutput {
        action_type,
        tags: Some(tags).filter(|t| !t.is_empty()),
    })
}

pub fn delete_custom_action_type(
    app: &App,
    ctx: &RequestContext,
    input: DeleteCustomActionTypeInput,
) -> Result<Empty, ApiError> {
    let id = ActionTypeId {
        category: input.category,
        owner: ActionOwner::Custom,
        provider: input.provider,
        version: input.version,
    };
    let key = action_type_key(&id);
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    if state.action_types.remove(&key).is_none() {
        return Err(not_found(&key));
    }
    // A deleted custom action type can never be created again with the same id.
    state.dirty.action_types.insert(key.clone());
    state.retired_action_types.insert(key);
    Ok(Empty::default())
}

pub fn list_action_types(
    app: &App,
    ctx: &RequestContext,
    input: ListActionTypesInput,
) -> Result<ListActionTypesOutput, ApiError> {
    const PAGE: usize = 100;
    let start = match input.next_token.as_deref() {
        Some(token) => decode_token(token)?
            .parse::<usize>()
            .map_err(|_| ApiError::invalid_next_token())?,
        None => 0,
    };
    let region = app.store.read(&ctx.scope);
    let state = region.lock();
    let mut all: Vec<ActionType> = catalog::action_types()
        .iter()
        .map(|t| t.action_type.clone())
        .filter(|t| !state.action_types.contains_key(&action_type_key(&t.id)))
        .collect();
    all.extend(state.action_types.values().map(|r| r.action_type.clone()));
    if let Some(owner) = input.action_owner_filter {
        all.retain(|t| t.id.owner == owner);
    }
    if start > all.len() {
        return Err(ApiError::invalid_next_token());
    }
    let page: Vec<ActionType> = all.iter().skip(start).take(PAGE).cloned().collect();
    let end = start + page.len();
    Ok(ListActionTypesOutput {
        action_types: page,
        next_token: (end < all.len()).then(|| encode_token(&end.to_string())),
    })
}

pub fn get_action_type(
    app: &App,
    ctx: &RequestContext,
    input: GetActionTypeInput,
) -> Result<GetActionTypeOutput, ApiError> {
    let owner = match input.owner.as_str() {
        "AWS" => ActionOwner::Aws,
        _ => ActionOwner::ThirdParty,
    };
    let id = ActionTypeId {
        category: input.category,
        owner,
        provider: input.provider,
        version: input.version,
    };
    let key = action_type_key(&id);
    let region = app.store.read(&ctx.scope);
    let state = region.lock();
    if let Some(registered) = state.action_types.get(&key) {
        return Ok(GetActionTypeOutput {
            action_type: Some(
                registered
                    .declaration
                    .clone()
                    .unwrap_or_else(|| declaration_of(&registered.action_type, &ctx.scope.account)),
            ),
        });
    }
    let known = catalog::action_type(&id).ok_or_else(|| not_found(&key))?;
    Ok(GetActionTypeOutput {
        action_type: Some(declaration_of(&known.action_type, &ctx.scope.account)),
    })
}

pub fn update_action_type(
    app: &App,
    ctx: &RequestContext,
    input: UpdateActionTypeInput,
) -> Result<Empty, ApiError> {
    let declaration = input.action_type;
    let owner = match declaration.id.owner.as_str() {
        "AWS" => ActionOwner::Aws,
        _ => ActionOwner::ThirdParty,
    };
    let id = ActionTypeId {
        category: declaration.id.category,
        owner,
        provider: declaration.id.provider.clone(),
        version: declaration.id.version.clone(),
    };
    let key = action_type_key(&id);
    if owner == ActionOwner::Aws {
        return Err(ApiError::new(
            ErrorCode::RequestFailedException,
            format!("Action type {key} is owned by AWS and cannot be updated"),
        ));
    }
    check_bounds_declaration(&declaration)?;
    let properties: Vec<ActionConfigurationProperty> = declaration
        .properties
        .iter()
        .flatten()
        .map(|p| ActionConfigurationProperty {
            name: p.name.clone(),
            required: !p.optional,
            key: p.key,
            secret: p.no_echo,
            queryable: p.queryable,
            description: p.description.clone().map(|d| d.chars().take(160).collect()),
            r#type: None,
        })
        .collect();
    check_properties(&properties)?;
    let action_type = ActionType {
        id,
        settings: declaration.urls.as_ref().map(|u| ActionTypeSettings {
            third_party_configuration_url: u.configuration_url.clone(),
            entity_url_template: u.entity_url_template.clone(),
            execution_url_template: u.execution_url_template.clone(),
            revision_url_template: u.revision_url_template.clone(),
        }),
        action_configuration_properties: Some(properties),
        input_artifact_details: ArtifactDetails {
            minimum_count: declaration.input_artifact_details.minimum_count,
            maximum_count: declaration.input_artifact_details.maximum_count,
        },
        output_artifact_details: ArtifactDetails {
            minimum_count: declaration.output_artifact_details.minimum_count,
            maximum_count: declaration.output_artifact_details.maximum_count,
        },
    };
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    let arn = region.arn(&format!("actiontype:{key}"));
    // Only a type that exists can be updated (AWS creates third-party types on request; here
    // they are registered by importing state, see README).
    let Some(tags) = state.action_types.get(&key).map(|r| r.tags.clone()) else {
        return Err(not_found(&key));
    };
    state.dirty.action_types.insert(key.clone());
    state.action_types.insert(
        key,
        RegisteredActionType {
            arn,
            action_type,
            declaration: Some(declaration),
            tags,
        },
    );
    Ok(Empty::default())
}

/// The declaration GetActionType shows for a type registered without one: a job worker type.
fn declaration_of(action_type: &ActionType, account: &str) -> ActionTypeDeclaration {
    let settings = action_type.settings.clone().unwrap_or_default();
    ActionTypeDeclaration {
        description: None,
        executor: ActionTypeExecutor {
            configuration: ExecutorConfiguration {
                lambda_executor_configuration: None,
                job_worker_executor_configuration: Some(JobWorkerExecutorConfiguration {
                    polling_accounts: Some(vec![account.to_string()]),
                    polling_service_principals: None,
                }),
            },
            r#type: ExecutorType::JobWorker,
            policy_statements_template: None,
            job_timeout: None,
        },
        id: ActionTypeIdentifier {
            category: action_type.id.category,
            owner: action_type.id.owner.as_str().to_string(),
            provider: action_type.id.provider.clone(),
            version: action_type.id.version.clone(),
        },
        input_artifact_details: ActionTypeArtifactDetails {
            minimum_count: action_type.input_artifact_details.minimum_count,
            maximum_count: action_type.input_artifact_details.maximum_count,
        },
        output_artifact_details: ActionTypeArtifactDetails {
            minimum_count: action_type.output_artifact_details.minimum_count,
            maximum_count: action_type.output_artifact_details.maximum_count,
        },
        permissions: None,
        properties: Some(
            action_type
                .action_configuration_properties
                .iter()
                .flatten()
                .map(|p| ActionTypeProperty {
                    name: p.name.clone(),
                    optional: !p.required,
                    key: p.key,
                    no_echo: p.secret,
                    queryable: p.queryable,
                    description: p.description.clone(),
                })
                .collect(),
        ),
        urls: Some(ActionTypeUrls {
            configuration_url: settings.third_party_configuration_url,
            entity_url_template: settings.entity_url_template,
            execution_url_template: settings.execution_url_template,
            revision_url_template: settings.revision_url_template,
        }),
    }
}

/// Configuration property rules: unique names; at most one queryable property, which must be
/// required and not secret.
fn check_properties(properties: &[ActionConfigurationProperty]) -> Result<(), ApiError> {
    let mut names = std::collections::HashSet::new();
    for p in properties {
        if !names.insert(p.name.as_str()) {
            return Err(ApiError::validation(format!(
                "Configuration property '{}' is declared more than once",
                p.name
            )));
        }
        if p.queryable == Some(true) && (!p.required || p.secret) {
            return Err(ApiError::validation(format!(
                "Configuration property '{}' is queryable: a queryable property must be required and not secret",
                p.name
            )));
        }
    }
    if properties
        .iter()
        .filter(|p| p.queryable == Some(true))
        .count()
        > 1
    {
        return Err(ApiError::validation(
            "An action type can have at most one queryable configuration property",
        ));
    }
    Ok(())
}

fn check_bounds(what: &str, details: &ArtifactDetails) -> Result<(), ApiError> {
    if details.minimum_count > details.maximum_count {
        return Err(ApiError::validation(format!(
            "{what}: minimumCount ({}) is greater than maximumCount ({})",
            details.minimum_count, details.maximum_count
        )));
    }
    Ok(())
}

fn check_bounds_declaration(declaration: &ActionTypeDeclaration) -> Result<(), ApiError> {
    for (what, details) in [
        ("inputArtifactDetails", &declaration.input_artifact_details),
        (
            "outputArtifactDetails",
            &declaration.output_artifact_details,
        ),
    ] {
        check_bounds(
            what,
            &ArtifactDetails {
                minimum_count: details.minimum_count,
                maximum_count: details.maximum_count,
            },
        )?;
    }
    Ok(())
}

fn not_found(key: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ActionTypeNotFoundException,
        format!("Action type {key} was not found"),
    )
}
