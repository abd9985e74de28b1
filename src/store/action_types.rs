//! Action types registered in an account and region: custom action types
//! (CreateCustomActionType) and ThirdParty action type declarations (UpdateActionType).

use crate::model::catalog;
use crate::model::structure::ActionTypeInfo;
use crate::model::*;
use serde::{Deserialize, Serialize};

use super::RegionState;

/// `Custom/Build/MyProvider/1`: the key of an action type in the registry and in its ARN.
pub fn action_type_key(id: &ActionTypeId) -> String {
    format!(
        "{}/{}/{}/{}",
        id.owner, id.category, id.provider, id.version
    )
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisteredActionType {
    pub arn: String,
    /// The type as ListActionTypes returns it.
    pub action_type: ActionType,
    /// The type as GetActionType returns it (set by UpdateActionType, derived otherwise).
    pub declaration: Option<ActionTypeDeclaration>,
    pub tags: Vec<Tag>,
}

impl RegisteredActionType {
    pub fn info(&self) -> ActionTypeInfo {
        ActionTypeInfo {
            input: self.action_type.input_artifact_details.clone(),
            output: self.action_type.output_artifact_details.clone(),
            properties: self
                .action_type
                .action_configuration_properties
                .clone()
                .unwrap_or_default()
                .into(),
            allowed_values: Default::default(),
            v2_only: false,
            known_keys_only: true,
        }
    }
}

impl RegionState {
    /// A registered (Custom or ThirdParty) action type usable in pipelines.
    pub fn registered_action_type(&self, id: &ActionTypeId) -> Option<ActionTypeInfo> {
        self.registered(id).map(RegisteredActionType::info)
    }

    fn registered(&self, id: &ActionTypeId) -> Option<&RegisteredActionType> {
        if self.action_types.is_empty() {
            return None;
        }
        self.action_types.get(&action_type_key(id))
    }

    /// Whether one of these action types is registered here.
    pub fn registers_any<'a>(&self, mut ids: impl Iterator<Item = &'a ActionTypeId>) -> bool {
        !self.action_types.is_empty() && ids.any(|id| self.registered(id).is_some())
    }

    /// Configuration keys whose values are secret for an action type.
    pub fn secret_configuration_keys(&self, id: &ActionTypeId) -> Vec<String> {
        match self.registered(id) {
            Some(registered) => secret_keys(
                registered
                    .action_type
                    .action_configuration_properties
                    .as_deref(),
            ),
            None => catalog_secret_keys(id),
        }
    }
}

/// Configuration keys whose values are secret for an action type of the catalog (none for
/// a type it does not know).
pub fn catalog_secret_keys(id: &ActionTypeId) -> Vec<String> {
    secret_keys(
        catalog::action_type(id)
            .and_then(|t| t.action_type.action_configuration_properties.as_deref()),
    )
}

fn secret_keys(properties: Option<&[ActionConfigurationProperty]>) -> Vec<String> {
    properties
        .unwrap_or_default()
        .iter()
        .filter(|p| p.secret)
        .map(|p| p.name.clone())
        .collect()
}
