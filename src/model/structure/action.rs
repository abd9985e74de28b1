//! Action-level rules: the action type must be available (the AWS catalog or a registered
//! custom type), V2-only providers, the commands field, artifact counts, and required, known
//! and allowed configuration values.

use super::*;

pub(super) fn check_action(
    action: &ActionDeclaration,
    v2: bool,
    ctx: &StructureContext,
) -> Result<(), ApiError> {
    let id = &action.action_type_id;
    let info = action_type_info(id, ctx).ok_or_else(|| {
        action_error(format!(
            "ActionType (Category: '{}', Provider: '{}', Owner: '{}', Version: '{}') in action '{}' is not available in region '{}'",
            id.category, id.provider, id.owner, id.version, action.name, ctx.region
        ))
    })?;
    let is_commands = id.owner == ActionOwner::Aws && id.provider == "Commands";
    if info.v2_only && !v2 {
        return Err(action_error(format!(
            "Action '{}' uses provider {}, which is only supported in pipelines of type V2",
            action.name, id.provider
        )));
    }
    if action.commands.is_some() && !is_commands {
        return Err(action_error(format!(
            "The following action cannot contain a commands field: {}. To use the commands field, use a compute action.",
            action.name
        )));
    }
    if is_commands && action.commands.as_ref().is_none_or(|c| c.is_empty()) {
        return Err(action_error(format!(
            "Action '{}' of provider Commands must declare commands",
            action.name
        )));
    }
    let inputs = action.input_artifacts.as_ref().map_or(0, Vec::len) as i64;
    let outputs = action.output_artifacts.as_ref().map_or(0, Vec::len) as i64;
    for (kind, count, bounds) in [
        ("input", inputs, &info.input),
        ("output", outputs, &info.output),
    ] {
        if count < bounds.minimum_count {
            return Err(action_error(format!(
                "Action {} declares {count} {kind} artifacts which is less than the minimum count ({})",
                action.name, bounds.minimum_count
            )));
        }
        if count > bounds.maximum_count {
            return Err(action_error(format!(
                "Action {} declares {count} {kind} artifacts which is greater than the maximum count ({})",
                action.name, bounds.maximum_count
            )));
        }
    }
    let no_configuration = crate::model::Map::default();
    let configuration = action.configuration.as_ref().unwrap_or(&no_configuration);
    for key in catalog::required_keys(&info.properties) {
        if !configuration.contains_key(key) {
            return Err(action_error(format!(
                "Action configuration for action '{}' is missing required configuration '{key}'",
                action.name
            )));
        }
    }
    if info.known_keys_only {
        for key in configuration.keys() {
            if !info.properties.iter().any(|p| &p.name == key) {
                return Err(action_error(format!(
                    "Action configuration for action '{}' contains unknown configuration '{key}'",
                    action.name
                )));
            }
        }
    }
    check_allowed_values(&info.allowed_values, configuration).map_err(
        |(key, value, allowed)| {
            action_error(format!(
            "Action configuration for action '{}' has {key} = '{value}', which is not one of [{}]",
            action.name,
            allowed.join(", ")
        ))
        },
    )?;
    Ok(())
}

/// What validation knows of an action type: the AWS catalog, a registered custom type, or for
/// ThirdParty providers AWS does not run, no constraints (partners are registered by AWS).
pub fn action_type_info(id: &ActionTypeId, ctx: &StructureContext) -> Option<ActionTypeInfo> {
    if id.owner != ActionOwner::Custom {
        if let Some(known) = catalog::action_type(id) {
            return Some(ActionTypeInfo {
                input: known.action_type.input_artifact_details.clone(),
                output: known.action_type.output_artifact_details.clone(),
                properties: Cow::Borrowed(
                    known
                        .action_type
                        .action_configuration_properties
                        .as_deref()
                        .unwrap_or_default(),
                ),
                allowed_values: Cow::Borrowed(&known.allowed_values),
                v2_only: known.v2_only,
                known_keys_only: false,
            });
        }
    }
    if let Some(registered) = (ctx.registered_action_type)(id) {
        return Some(registered);
    }
    if id.owner == ActionOwner::ThirdParty {
        return Some(ActionTypeInfo {
            input: ArtifactDetails {
                minimum_count: 0,
                maximum_count: 5,
            },
            output: ArtifactDetails {
                minimum_count: 0,
                maximum_count: 5,
            },
            properties: Cow::Borrowed(&[]),
            allowed_values: Cow::Owned(BTreeMap::new()),
            v2_only: false,
            known_keys_only: false,
        });
    }
    None
}

/// `Err((key, value, allowed))` for the first configuration value outside its allowed set;
/// values holding a variable reference are resolved at run time and not checked here.
pub(super) fn check_allowed_values(
    allowed: &BTreeMap<String, Vec<String>>,
    configuration: &crate::model::Map<String>,
) -> std::result::Result<(), (String, String, Vec<String>)> {
    for (key, values) in allowed {
        if let Some(value) = configuration.get(key) {
            if value.contains("#{") {
                continue;
            }
            let ok = if key == "Capabilities" || key == "AlarmStates" {
                value
                    .split(',')
                    .map(str::trim)
                    .all(|v| values.iter().any(|a| a == v))
            } else {
                values.iter().any(|a| a == value)
            };
            if !ok {
                return Err((key.clone(), value.clone(), values.clone()));
            }
        }
    }
    Ok(())
}
