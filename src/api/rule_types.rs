//! ListRuleTypes: the AWS rule types usable in stage conditions.

use crate::app::App;
use crate::model::catalog;
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};

pub fn list_rule_types(
    _app: &App,
    _ctx: &RequestContext,
    input: ListRuleTypesInput,
) -> Result<ListRuleTypesOutput, ApiError> {
    let rule_types = catalog::rule_types()
        .iter()
        .map(|r| r.rule_type.clone())
        .filter(|r| {
            input
                .rule_owner_filter
                .is_none_or(|o| r.id.owner == Some(o))
        })
        .collect();
    Ok(ListRuleTypesOutput { rule_types })
}
