//! ListDeployActionExecutionTargets: the targets a deploy action deployed to, with their
//! lifecycle events. Deploys are simulated, so targets are too: stable per action execution,
//! with statuses that follow the action's status.

use super::pagination::{decode_token, encode_token, page_size};
use crate::app::App;
use crate::engine::ActionExecutionRecord;
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};

pub fn list_deploy_action_execution_targets(
    app: &App,
    ctx: &RequestContext,
    input: ListDeployActionExecutionTargetsInput,
) -> Result<ListDeployActionExecutionTargetsOutput, ApiError> {
    let start = match input.next_token.as_deref() {
        Some(token) => decode_token(token)?
            .parse::<usize>()
            .map_err(|_| ApiError::invalid_next_token())?,
        None => 0,
    };
    let size = page_size(input.max_results, 100);
    let region = app.store.read(&ctx.scope);
    let state = region.lock();
    let action = match &input.pipeline_name {
        Some(name) => state
            .pipelines
            .get(name)
            .ok_or_else(|| ApiError::pipeline_not_found(name, &ctx.scope.account))?
            .runtime
            .action_execution(&input.action_execution_id),
        None => state
            .pipelines
            .values()
            .find_map(|p| p.runtime.action_execution(&input.action_execution_id)),
    }
    .ok_or_else(|| {
        ApiError::new(
            ErrorCode::ActionExecutionNotFoundException,
            format!(
                "Action execution '{}' was not found",
                input.action_execution_id
            ),
        )
    })?;
    let wanted: Vec<String> = input
        .filters
        .iter()
        .flatten()
        .filter(|f| f.name == Some(TargetFilterName::TargetStatus))
        .flat_map(|f| f.values.clone().unwrap_or_default())
        .collect();
    let targets: Vec<DeployActionExecutionTarget> = simulated_targets(&action)
        .into_iter()
        .filter(|t| wanted.is_empty() || t.status.as_ref().is_some_and(|s| wanted.contains(s)))
        .collect();
    if start > targets.len() {
        return Err(ApiError::invalid_next_token());
    }
    let page: Vec<_> = targets.iter().skip(start).take(size).cloned().collect();
    let end = start + page.len();
    Ok(ListDeployActionExecutionTargetsOutput {
        targets: Some(page),
        next_token: (end < targets.len()).then(|| encode_token(&end.to_string())),
    })
}

/// Two targets per deploy to instances or services, with lifecycle events.
fn simulated_targets(action: &ActionExecutionRecord) -> Vec<DeployActionExecutionTarget> {
    let Some(type_id) = &action.input.action_type_id else {
        return Vec::new();
    };
    if type_id.category != ActionCategory::Deploy {
        return Vec::new();
    }
    let (target_type, events): (&str, &[&str]) = match type_id.provider.as_str() {
        "CodeDeploy" => (
            "EC2/OnPremises",
            &[
                "ApplicationStop",
                "DownloadBundle",
                "BeforeInstall",
                "Install",
                "AfterInstall",
                "ApplicationStart",
                "ValidateService",
            ],
        ),
        "EC2" => (
            "AWS::EC2::Instance",
            &["DownloadBundle", "RunScript", "ValidateService"],
        ),
        "ECS" | "CodeDeployToECS" => (
            "ECS",
            &[
                "RegisterTaskDefinition",
                "UpdateService",
                "WaitForStability",
            ],
        ),
        "EKS" => ("EKS", &["Apply", "WaitForRollout"]),
        _ => return Vec::new(),
    };
    let seed = fnv(&action.id);
    (0..2u64)
        .map(|n| {
            let target_id = match target_type {
                "ECS" => format!("service-{:08x}", (seed.wrapping_add(n)) & 0xffff_ffff),
                "EKS" => format!("deployment-{:08x}", (seed.wrapping_add(n)) & 0xffff_ffff),
                _ => format!(
                    "i-{:017x}",
                    (seed.wrapping_mul(n + 1)) & 0x0fff_ffff_ffff_ffff
                ),
            };
            let (status, event_statuses) = statuses(action.status, events.len());
            DeployActionExecutionTarget {
                target_id: Some(target_id),
                target_type: Some(target_type.to_string()),
                status: Some(status.to_string()),
                start_time: Some(action.start_time),
                end_time: action.is_finished().then_some(action.last_update_time),
                events: Some(
                    events
                        .iter()
                        .zip(event_statuses)
                        .map(|(name, status)| DeployTargetEvent {
                            name: Some(name.to_string()),
                            status: Some(status.to_string()),
                            start_time: (status != "Pending").then_some(action.start_time),
                            end_time: matches!(status, "Succeeded" | "Failed" | "Skipped")
                                .then_some(action.last_update_time),
                            context: (status == "Failed").then(|| DeployTargetEventContext {
                                ssm_command_id: None,
                                message: action
                                    .error_details
                                    .as_ref()
                                    .and_then(|d| d.message.clone()),
                            }),
                        })
                        .collect(),
                ),
            }
        })
        .collect()
}

/// A target's status and its lifecycle events' statuses for an action status.
fn statuses(action: ActionExecutionStatus, events: usize) -> (&'static str, Vec<&'static str>) {
    match action {
        ActionExecutionStatus::Succeeded => ("Succeeded", vec!["Succeeded"; events]),
        ActionExecutionStatus::InProgress => {
            let mut v = vec!["Pending"; events];
            v[0] = "InProgress";
            ("InProgress", v)
        }
        ActionExecutionStatus::Failed | ActionExecutionStatus::Abandoned => {
            let mut v = vec!["Skipped"; events];
            v[0] = "Failed";
            ("Failed", v)
        }
    }
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}
