//! Pipeline structure rules, checked on CreatePipeline and UpdatePipeline after the generic
//! model validation (see the CodePipeline user guide's pipeline structure reference):
//! - pipeline-level problems are `InvalidStructureException`,
//! - stage-level ones `InvalidStageDeclarationException`,
//! - action-level ones `InvalidActionDeclarationException`,
//! - quotas `LimitExceededException`.

use super::catalog;
use super::shapes::*;
use super::ApiError;
use crate::model::ErrorCode;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What validation needs to know about an action type.
#[derive(Debug, Clone)]
pub struct ActionTypeInfo {
    pub input: ArtifactDetails,
    pub output: ArtifactDetails,
    pub properties: Vec<ActionConfigurationProperty>,
    pub allowed_values: BTreeMap<String, Vec<String>>,
    pub v2_only: bool,
    /// Reject configuration keys the type does not declare (custom types declare all theirs).
    pub known_keys_only: bool,
}

/// Where a pipeline is validated.
pub struct StructureContext<'a> {
    pub region: &'a str,
    pub max_stages: usize,
    pub max_actions_per_stage: usize,
    /// Looks up a Custom (or registered ThirdParty) action type of this account and region.
    pub registered_action_type: &'a dyn Fn(&ActionTypeId) -> Option<ActionTypeInfo>,
}

/// Fills in what AWS fills in when a field is left out.
pub fn fill_defaults(pipeline: &mut PipelineDeclaration) {
    pipeline.pipeline_type.get_or_insert(PipelineType::V1);
    pipeline
        .execution_mode
        .get_or_insert(ExecutionMode::Superseded);
    for stage in &mut pipeline.stages {
        for action in &mut stage.actions {
            action.run_order.get_or_insert(1);
            action.input_artifacts.get_or_insert_with(Vec::new);
            action.output_artifacts.get_or_insert_with(Vec::new);
        }
    }
}

/// Checks every structure rule; the first broken rule is reported.
pub fn check_pipeline(
    pipeline: &PipelineDeclaration,
    ctx: &StructureContext,
) -> Result<(), ApiError> {
    let v2 = pipeline.pipeline_type == Some(PipelineType::V2);
    check_pipeline_type_features(pipeline, v2)?;
    check_artifact_stores(pipeline, ctx)?;
    check_stage_counts(pipeline, ctx)?;

    let mut stage_names = HashSet::new();
    let mut namespaces = HashSet::new();
    let mut produced: HashMap<&str, (usize, i64)> = HashMap::new();
    for (stage_index, stage) in pipeline.stages.iter().enumerate() {
        if !stage_names.insert(stage.name.as_str()) {
            return Err(stage_error(format!(
                "Pipeline '{}' has more than one stage named '{}'. Stage names must be unique within a pipeline",
                pipeline.name, stage.name
            )));
        }
        check_blockers(stage)?;
        check_conditions(stage, v2)?;
        let mut action_names = HashSet::new();
        for action in &stage.actions {
            if !action_names.insert(action.name.as_str()) {
                return Err(action_error(format!(
                    "Stage '{}' has more than one action named '{}'. Action names must be unique within a stage",
                    stage.name, action.name
                )));
            }
            let is_source = action.action_type_id.category == ActionCategory::Source;
            if stage_index == 0 && !is_source {
                return Err(structure_error(format!(
                    "Stage '{}' contains action '{}' of category {}: the first stage of a pipeline can only contain source actions",
                    stage.name, action.name, action.action_type_id.category
                )));
            }
            if stage_index > 0 && is_source {
                return Err(structure_error(format!(
                    "Action '{}' in stage '{}' is a source action: source actions can only be in the first stage of a pipeline",
                    action.name, stage.name
                )));
            }
            if let Some(namespace) = &action.namespace {
                if !namespaces.insert(namespace.as_str()) {
                    return Err(action_error(format!(
                        "Namespace '{namespace}' of action '{}' is already used by another action. Namespaces must be unique within a pipeline",
                        action.name
                    )));
                }
            }
            check_action(action, v2, ctx)?;
        }
        check_artifact_flow(stage, stage_index, &mut produced)?;
    }
    check_variables(pipeline)?;
    check_triggers(pipeline)?;
    Ok(())
}

fn check_pipeline_type_features(pipeline: &PipelineDeclaration, v2: bool) -> Result<(), ApiError> {
    if v2 {
        return Ok(());
    }
    if pipeline.variables.as_ref().is_some_and(|v| !v.is_empty()) {
        return Err(structure_error(
            "Pipeline-level variables are only supported in pipelines of type V2",
        ));
    }
    if pipeline.triggers.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(structure_error(
            "Triggers are only supported in pipelines of type V2",
        ));
    }
    match pipeline.execution_mode {
        Some(mode @ (ExecutionMode::Queued | ExecutionMode::Parallel)) => Err(structure_error(
            format!("Execution mode {mode} is only supported in pipelines of type V2"),
        )),
        _ => Ok(()),
    }
}

fn check_artifact_stores(
    pipeline: &PipelineDeclaration,
    ctx: &StructureContext,
) -> Result<(), ApiError> {
    match (&pipeline.artifact_store, &pipeline.artifact_stores) {
        (Some(_), Some(_)) => Err(structure_error(
            "Pipeline cannot have both artifactStore and artifactStores: use artifactStores for cross-region actions, artifactStore otherwise",
        )),
        (None, None) => Err(structure_error(
            "Pipeline must have either artifactStore or artifactStores",
        )),
        (None, Some(stores)) => {
            if !stores.contains_key(ctx.region) {
                return Err(structure_error(format!(
                    "artifactStores must contain an artifact store for the pipeline's region '{}'",
                    ctx.region
                )));
            }
            for stage in &pipeline.stages {
                for action in &stage.actions {
                    let region = action.region.as_deref().unwrap_or(ctx.region);
                    if !stores.contains_key(region) {
                        return Err(action_error(format!(
                            "Action '{}' in stage '{}' runs in region '{region}', which has no artifact store in artifactStores",
                            action.name, stage.name
                        )));
                    }
                }
            }
            Ok(())
        }
        (Some(_), None) => {
            for stage in &pipeline.stages {
                for action in &stage.actions {
                    if let Some(region) = action.region.as_deref() {
                        if region != ctx.region {
                            return Err(action_error(format!(
                                "Action '{}' in stage '{}' is in region '{region}': cross-region actions need artifactStores with a store in that region",
                                action.name, stage.name
                            )));
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

fn check_stage_counts(
    pipeline: &PipelineDeclaration,
    ctx: &StructureContext,
) -> Result<(), ApiError> {
    let count = pipeline.stages.len();
    if count < 2 {
        return Err(structure_error(format!(
            "Pipeline has only {count} stage(s). There should be a minimum of 2 stages in a pipeline"
        )));
    }
    if count > ctx.max_stages {
        return Err(ApiError::new(
            ErrorCode::LimitExceededException,
            format!(
                "Pipeline has {count} stages, more than the limit of {} stages per pipeline",
                ctx.max_stages
            ),
        ));
    }
    for stage in &pipeline.stages {
        if stage.actions.is_empty() {
            return Err(stage_error(format!(
                "Stage '{}' has no actions. A stage must contain at least one action",
                stage.name
            )));
        }
        if stage.actions.len() > ctx.max_actions_per_stage {
            return Err(ApiError::new(
                ErrorCode::LimitExceededException,
                format!(
                    "Stage '{}' has {} actions, more than the limit of {} actions per stage",
                    stage.name,
                    stage.actions.len(),
                    ctx.max_actions_per_stage
                ),
            ));
        }
    }
    if !pipeline.stages[0]
        .actions
        .iter()
        .any(|a| a.action_type_id.category == ActionCategory::Source)
    {
        return Err(structure_error(format!(
            "Stage '{}' must contain at least one source action: the first stage of a pipeline holds the source actions",
            pipeline.stages[0].name
        )));
    }
    Ok(())
}

fn check_blockers(stage: &StageDeclaration) -> Result<(), ApiError> {
    let mut names = HashSet::new();
    for blocker in stage.blockers.iter().flatten() {
        if !names.insert(blocker.name.as_str()) {
            return Err(ApiError::new(
                ErrorCode::InvalidBlockerDeclarationException,
                format!(
                    "Stage '{}' has more than one blocker named '{}'",
                    stage.name, blocker.name
                ),
            ));
        }
    }
    Ok(())
}

fn check_conditions(stage: &StageDeclaration, v2: bool) -> Result<(), ApiError> {
    let has_conditions =
        stage.before_entry.is_some() || stage.on_success.is_some() || stage.on_failure.is_some();
    if has_conditions && !v2 {
        return Err(stage_error(format!(
            "Stage '{}' declares conditions: stage conditions are only supported in pipelines of type V2",
            stage.name
        )));
    }
    // (kind, conditions, results allowed for that kind)
    let mut groups: Vec<(&str, &[Condition], &[ConditionResult])> = Vec::new();
    if let Some(before) = &stage.before_entry {
        groups.push((
            "beforeEntry",
            &before.conditions,
            &[ConditionResult::Fail, ConditionResult::Skip],
        ));
    }
    if let Some(success) = &stage.on_success {
        groups.push((
            "onSuccess",
            &success.conditions,
            &[ConditionResult::Rollback, ConditionResult::Fail],
        ));
    }
    if let Some(failure) = &stage.on_failure {
        if let Some(result) = failure.result {
            if ![
                ConditionResult::Rollback,
                ConditionResult::Retry,
                ConditionResult::Fail,
            ]
            .contains(&result)
            {
                return Err(stage_error(format!(
                    "Stage '{}': onFailure result {result} is not supported; use ROLLBACK, RETRY or FAIL",
                    stage.name
                )));
            }
            if result == ConditionResult::Retry && failure.retry_configuration.is_none() {
                return Err(stage_error(format!(
                    "Stage '{}': onFailure with result RETRY needs a retryConfiguration",
                    stage.name
                )));
            }
        }
        if failure.retry_configuration.is_some() && failure.result != Some(ConditionResult::Retry) {
            return Err(stage_error(format!(
                "Stage '{}': retryConfiguration is only allowed with onFailure result RETRY",
                stage.name
            )));
        }
        if let Some(conditions) = &failure.conditions {
            groups.push((
                "onFailure",
                conditions,
                &[
                    ConditionResult::Rollback,
                    ConditionResult::Retry,
                    ConditionResult::Fail,
                ],
            ));
        }
    }
    for (kind, conditions, allowed) in groups {
        for condition in conditions {
            if let Some(result) = condition.result {
                if !allowed.contains(&result) {
                    return Err(stage_error(format!(
                        "Stage '{}': result {result} is not supported for {kind} conditions",
                        stage.name
                    )));
                }
            }
            let mut names = HashSet::new();
            for rule in condition.rules.iter().flatten() {
                if !names.insert(rule.name.as_str()) {
                    return Err(stage_error(format!(
                        "Stage '{}': rule names must be unique within a condition, '{}' is repeated",
                        stage.name, rule.name
                    )));
                }
                let Some(known) = catalog::rule_type(&rule.rule_type_id) else {
                    return Err(stage_error(format!(
                        "Stage '{}': rule '{}' uses rule type (Category: '{}', Owner: '{}', Provider: '{}', Version: '{}'), which does not exist",
                        stage.name,
                        rule.name,
                        rule.rule_type_id.category,
                        rule.rule_type_id.owner.map(|o| o.as_str()).unwrap_or("AWS"),
                        rule.rule_type_id.provider,
                        rule.rule_type_id.version.as_deref().unwrap_or("1"),
                    )));
                };
                if condition.result == Some(ConditionResult::Skip) && !known.allows_skip {
                    return Err(stage_error(format!(
                        "Stage '{}': rule '{}' of type {} cannot be used with result SKIP (only LambdaInvoke and VariableCheck rules can)",
                        stage.name, rule.name, rule.rule_type_id.provider
                    )));
                }
                let configuration = rule.configuration.clone().unwrap_or_default();
                for property in known
                    .rule_type
                    .rule_configuration_properties
                    .iter()
                    .flatten()
                {
                    if property.required && !configuration.contains_key(&property.name) {
                        return Err(stage_error(format!(
                            "Stage '{}': rule '{}' is missing required configuration '{}'",
                            stage.name, rule.name, property.name
                        )));
                    }
                }
                check_allowed_values(&known.allowed_values, &configuration).map_err(|(key, value, allowed)| {
                    stage_error(format!(
                        "Stage '{}': rule '{}' has configuration {key} = '{value}', which is not one of [{}]",
                        stage.name,
                        rule.name,
                        allowed.join(", ")
                    ))
                })?;
            }
        }
    }
    Ok(())
}

fn check_action(
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
    let configuration = action.configuration.clone().unwrap_or_default();
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
    check_allowed_values(&info.allowed_values, &configuration).map_err(
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
                properties: known
                    .action_type
                    .action_configuration_properties
                    .clone()
                    .unwrap_or_default(),
                allowed_values: known.allowed_values.clone(),
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
            properties: Vec::new(),
            allowed_values: BTreeMap::new(),
            v2_only: false,
            known_keys_only: false,
        });
    }
    None
}

/// `Err((key, value, allowed))` for the first configuration value outside its allowed set;
/// values holding a variable reference are resolved at run time and not checked here.
fn check_allowed_values(
    allowed: &BTreeMap<String, Vec<String>>,
    configuration: &BTreeMap<String, String>,
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

/// Every input artifact must be the output of an action that runs earlier: in an earlier stage,
/// or in the same stage with a lower runOrder. Output artifact names are unique in the pipeline.
fn check_artifact_flow<'a>(
    stage: &'a StageDeclaration,
    stage_index: usize,
    produced: &mut HashMap<&'a str, (usize, i64)>,
) -> Result<(), ApiError> {
    for action in &stage.actions {
        let run_order = action.run_order.unwrap_or(1);
        for output in action.output_artifacts.iter().flatten() {
            if produced
                .insert(output.name.as_str(), (stage_index, run_order))
                .is_some()
            {
                return Err(structure_error(format!(
                    "Output artifact name '{}' of action '{}' is already used by another action. Output artifact names must be unique within a pipeline",
                    output.name, action.name
                )));
            }
        }
    }
    for action in &stage.actions {
        let run_order = action.run_order.unwrap_or(1);
        for input in action.input_artifacts.iter().flatten() {
            let earlier = match produced.get(input.name.as_str()) {
                Some(&(s, r)) => s < stage_index || (s == stage_index && r < run_order),
                None => false,
            };
            if !earlier {
                return Err(structure_error(format!(
                    "Input artifact '{}' of action '{}' in stage '{}' is not the output of an action that runs before it",
                    input.name, action.name, stage.name
                )));
            }
        }
    }
    Ok(())
}

fn check_variables(pipeline: &PipelineDeclaration) -> Result<(), ApiError> {
    let mut names = HashSet::new();
    for variable in pipeline.variables.iter().flatten() {
        if !names.insert(variable.name.as_str()) {
            return Err(structure_error(format!(
                "Pipeline variable '{}' is declared more than once",
                variable.name
            )));
        }
    }
    Ok(())
}

fn check_triggers(pipeline: &PipelineDeclaration) -> Result<(), ApiError> {
    let source_stage = &pipeline.stages[0];
    for trigger in pipeline.triggers.iter().flatten() {
        let name = &trigger.git_configuration.source_action_name;
        let Some(action) = source_stage.actions.iter().find(|a| &a.name == name) else {
            return Err(structure_error(format!(
                "Trigger source action '{name}' does not exist in the source stage '{}'",
                source_stage.name
            )));
        };
        if action.action_type_id.provider != "CodeStarSourceConnection" {
            return Err(structure_error(format!(
                "Trigger source action '{name}' must use the CodeStarSourceConnection provider, not {}",
                action.action_type_id.provider
            )));
        }
        let git = &trigger.git_configuration;
        if git.push.is_none() && git.pull_request.is_none() {
            return Err(structure_error(format!(
                "Trigger for source action '{name}' needs push or pullRequest filters"
            )));
        }
    }
    Ok(())
}

fn structure_error(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidStructureException, message)
}

fn stage_error(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidStageDeclarationException, message)
}

fn action_error(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidActionDeclarationException, message)
}
