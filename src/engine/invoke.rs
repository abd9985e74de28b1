//! The CodePipeline invoke action (category Invoke, provider CodePipeline): when it finishes it
//! starts an execution of the pipeline named by `PipelineName`, in the same account and region,
//! with the `Variables` and `SourceRevisions` of its configuration (JSON arrays, as the CLI
//! takes them), and reports the started execution's id as its external execution id.

use super::{start_execution, Cx, StartRequest};
use crate::model::*;
use crate::store::runtime::Outcome;
use crate::store::runtime::Runner;
use crate::store::RegionState;

/// True for the CodePipeline invoke action type.
pub fn is_invoke(id: &ActionTypeId) -> bool {
    id.owner == ActionOwner::Aws
        && id.category == ActionCategory::Invoke
        && id.provider == "CodePipeline"
}

/// When the simulated action `action_execution_id` of `pipeline` is a CodePipeline invoke
/// action that is due to succeed, starts its target and says how the action ends.
pub fn invoke_target(
    cx: &Cx,
    state: &mut RegionState,
    pipeline: &str,
    action_execution_id: &str,
) -> Option<Outcome> {
    let runtime = &state.pipelines.get(pipeline)?.runtime;
    let record = runtime
        .action_executions
        .get(runtime.action_execution_ids.get(action_execution_id)?)?;
    let due = matches!(
        &record.runner,
        Runner::Simulated {
            fail_message: None,
            ..
        }
    );
    if record.is_finished() || !due || !is_invoke(record.input.action_type_id.as_ref()?) {
        return None;
    }
    let configuration = record
        .input
        .resolved_configuration
        .clone()
        .unwrap_or_default();
    let trigger_detail = record.input.role_arn.clone();
    let target = configuration
        .get("PipelineName")
        .cloned()
        .unwrap_or_default();
    let request = match start_request(&configuration, trigger_detail) {
        Ok(request) => request,
        Err(message) => return Some(Outcome::failed("JobFailed", message)),
    };
    Some(match start_execution(cx, state, &target, request) {
        Ok(id) => Outcome::Succeeded {
            summary: Some(format!("Started pipeline execution {id} of {target}")),
            output_variables: Default::default(),
            external_execution_url: Some(format!(
                "https://console.aws.amazon.com/codesuite/codepipeline/pipelines/{target}/executions/{id}/timeline?region={}",
                cx.scope.region
            )),
            external_execution_id: Some(id),
            percent_complete: None,
            revision: None,
            updated_by: None,
        },
        Err(error) => Outcome::failed("JobFailed", error.message()),
    })
}

/// The StartPipelineExecution request the action's configuration describes.
fn start_request(
    configuration: &Map<String>,
    trigger_detail: Option<String>,
) -> Result<StartRequest, String> {
    let variables = match configuration.get("Variables") {
        Some(json) => serde_json::from_str::<Vec<PipelineVariable>>(json).map_err(|e| {
            format!("Variables must be a JSON array of {{\"name\", \"value\"}} objects: {e}")
        })?,
        None => Vec::new(),
    };
    let source_overrides = match configuration.get("SourceRevisions") {
        Some(json) => serde_json::from_str::<Vec<SourceRevisionOverride>>(json).map_err(|e| {
            format!("SourceRevisions must be a JSON array of {{\"actionName\", \"revisionType\", \"revisionValue\"}} objects: {e}")
        })?,
        None => Vec::new(),
    };
    Ok(StartRequest {
        trigger_type: Some(TriggerType::StartPipelineExecution),
        trigger_detail,
        variables,
        source_overrides,
        ..Default::default()
    })
}
