//! The outcome of a simulated action: its summary, output variables (the provider's, the
//! placeholders the pipeline reads, or what a loaded template declares) and, for a source
//! action, the revision it reports.

use super::actions::given_revision;
use super::simulate::{self, GivenRevision};
use super::{Cx, Outcome};
use crate::model::*;
use crate::store::runtime::*;

/// The outcome of a simulated action, computed when its timer fires.
pub fn simulated_outcome(
    cx: &Cx,
    runtime: &PipelineRuntime,
    record: &ActionExecutionRecord,
) -> Outcome {
    let Runner::Simulated {
        fail_message,
        summary,
        output_variables,
        ..
    } = &record.runner
    else {
        return Outcome::failed("JobFailed", "Action is not simulated");
    };
    if let Some(message) = fail_message {
        return Outcome::Failed {
            code: "JobFailed".into(),
            message: message.clone(),
            summary: summary.clone(),
            external_execution_id: record.external_execution_id.clone(),
            updated_by: None,
        };
    }
    let type_id = record.input.action_type_id.clone().unwrap_or_default();
    let configuration = record
        .input
        .resolved_configuration
        .clone()
        .unwrap_or_default();
    let scope = &cx.scope;
    let execution = runtime.execution(&record.pipeline_execution_id);
    let mut revision = None;
    let mut external_execution_id = record.external_execution_id.clone();
    let mut external_execution_url = record.external_execution_url.clone();
    let mut variables = if type_id.category == ActionCategory::Source {
        let given = execution
            .as_deref()
            .and_then(|e| given_revision(runtime, e, &record.stage, &record.action));
        let (pick, vars) =
            simulate::source_outputs(&type_id, &configuration, given.as_ref(), scope);
        if simulate::is_git_source(&type_id) {
            // AWS reports the commit as the external execution (ListActionExecutions).
            external_execution_id = Some(pick.revision_id.clone());
            external_execution_url = pick.url.clone();
        }
        revision = Some(GivenRevision {
            kind: None,
            value: pick.revision_id.clone(),
            change_id: Some(pick.change_id.clone()),
            summary: Some(pick.summary.clone()),
            url: pick.url.clone(),
            branch: given.as_ref().and_then(|g| g.branch.clone()),
        });
        vars
    } else {
        simulate::action_outputs(&simulate::Simulated {
            type_id: &type_id,
            configuration: &configuration,
            action_execution_id: &record.id,
            scope,
        })
    };
    if let Some(e) = execution {
        let names = (record.stage.as_str(), record.action.as_str());
        let declared = super::dynamic_outputs::declared(
            &type_id,
            &configuration,
            |stack| cx.world.stack_outputs(stack),
            |project| cx.world.project_exports(project),
        );
        variables.extend(
            declared.unwrap_or_else(|| super::dynamic_outputs::placeholders(&e.declaration, names)),
        );
    }
    variables.extend(output_variables.clone());
    Outcome::Succeeded {
        summary: summary
            .clone()
            .or_else(|| revision.as_ref().and_then(|r| r.summary.clone()))
            .or_else(|| simulate::success_summary(&type_id)),
        output_variables: variables,
        external_execution_id,
        external_execution_url,
        percent_complete: None,
        revision,
        updated_by: None,
    }
}
