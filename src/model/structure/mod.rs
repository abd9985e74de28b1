//! Pipeline structure rules, checked on CreatePipeline and UpdatePipeline after the generic
//! model validation (see the CodePipeline user guide's pipeline structure reference):
//! - pipeline-level problems are `InvalidStructureException`,
//! - stage-level ones `InvalidStageDeclarationException`,
//! - action-level ones `InvalidActionDeclarationException`,
//! - quotas `LimitExceededException`.
//!
//! Pipeline-level rules live here, stage-level ones in `stage`, action-level ones in `action`.

use super::catalog;
use super::shapes::*;
use super::ApiError;
use crate::model::ErrorCode;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

mod action;
mod stage;

pub use action::action_type_info;
use action::check_action;
use stage::{check_blockers, check_conditions};

/// What validation needs to know about an action type.
#[derive(Debug, Clone)]
pub struct ActionTypeInfo {
    pub input: ArtifactDetails,
    pub output: ArtifactDetails,
    /// Borrowed from the catalog for AWS's types (checking an action copies nothing).
    pub properties: Cow<'static, [ActionConfigurationProperty]>,
    pub allowed_values: Cow<'static, BTreeMap<String, Vec<String>>>,
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
                    let region = action.region.as_deref().map_or(ctx.region, String::as_str);
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
    for variable in pipeline.variables.iter().flat_map(|v| v.iter()) {
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
    for trigger in pipeline.triggers.iter().flat_map(|t| t.iter()) {
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
