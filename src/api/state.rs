//! GetPipelineState: per stage, the transition into it, the executions waiting at it, its
//! latest execution, and the latest execution of each of its actions.

use super::lookup::pipeline;
use crate::app::App;
use crate::engine::{ActionExecutionRecord, ConditionRun, PipelineRuntime, Position, Runner};
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::{action_type_key, RegionState};

pub fn get_pipeline_state(
    app: &App,
    ctx: &RequestContext,
    input: GetPipelineStateInput,
) -> Result<GetPipelineStateOutput, ApiError> {
    let region = app.store.read(&ctx.scope);
    let state = region.lock();
    let record = pipeline(&state.pipelines, &input.name, ctx)?;
    let runtime = &record.runtime;
    let declaration = record.current();
    let stage_states = declaration
        .stages
        .iter()
        .map(|stage| stage_state(&state, runtime, stage, &ctx.scope.region))
        .collect();
    Ok(GetPipelineStateOutput {
        pipeline_name: Some(input.name.clone()),
        pipeline_version: Some(record.version()),
        stage_states: Some(stage_states),
        created: Some(record.created),
        updated: Some(record.updated),
    })
}

fn stage_state(
    state: &RegionState,
    runtime: &PipelineRuntime,
    stage: &StageDeclaration,
    region: &str,
) -> StageState {
    let transition = runtime.transition(&stage.name, StageTransitionType::Inbound);
    let inbound_transition_state = TransitionState {
        enabled: Some(transition.is_none_or(|t| t.enabled)),
        last_changed_by: transition.and_then(|t| t.last_changed_by.clone()),
        last_changed_at: transition.map(|t| t.last_changed_at),
        disabled_reason: transition.and_then(|t| t.disabled_reason.clone()),
    };
    let waiting: Vec<StageExecution> = runtime
        .active_executions()
        .map(|(_, e)| e)
        .filter(|e| match e.position {
            Position::Waiting { stage: i } => e
                .declaration
                .stages
                .get(i)
                .is_some_and(|s| s.name == stage.name),
            _ => false,
        })
        .map(|e| StageExecution {
            pipeline_execution_id: e.id.clone(),
            status: StageExecutionStatus::InProgress,
            r#type: Some(e.execution_type),
        })
        .collect();
    let latest_record = runtime.latest_in_stage(&stage.name);
    let latest = latest_record
        .as_deref()
        .and_then(|e| e.stages.get(&stage.name).map(|run| (e, run)));
    let latest_execution = latest.map(|(e, run)| StageExecution {
        pipeline_execution_id: e.id.clone(),
        status: run.status,
        r#type: Some(run.execution_type),
    });
    let condition_state = |kind: &str| {
        latest
            .and_then(|(_, run)| run.conditions.get(kind))
            .map(|c| condition_state(runtime, c))
    };
    let retry_stage_metadata = latest.and_then(|(_, run)| {
        run.latest_retry_trigger.map(|trigger| RetryStageMetadata {
            auto_stage_retry_attempt: Some(run.auto_retries).filter(|n| *n > 0),
            manual_stage_retry_attempt: Some(run.manual_retries).filter(|n| *n > 0),
            latest_retry_trigger: Some(trigger),
        })
    });
    let action_states = stage
        .actions
        .iter()
        .map(|action| ActionState {
            action_name: Some(action.name.clone()),
            current_revision: runtime
                .current_revisions
                .get(&crate::engine::action_key(&stage.name, &action.name))
                .map(|r| ActionRevision {
                    revision_id: r.revision_id.clone(),
                    revision_change_id: r.revision_change_id.clone(),
                    created: r.created,
                }),
            latest_execution: runtime
                .latest_action_execution(&stage.name, &action.name)
                .map(|a| action_execution(&a)),
            entity_url: entity_url(state, action, region),
            revision_url: None,
        })
        .collect();
    StageState {
        stage_name: Some(stage.name.clone()),
        inbound_execution: waiting.last().cloned(),
        inbound_executions: Some(waiting).filter(|w| !w.is_empty()),
        inbound_transition_state: Some(inbound_transition_state),
        action_states: Some(action_states),
        latest_execution,
        before_entry_condition_state: condition_state("BEFORE_ENTRY"),
        on_success_condition_state: condition_state("ON_SUCCESS"),
        on_failure_condition_state: condition_state("ON_FAILURE"),
        retry_stage_metadata,
    }
}

/// The console page of the resource an action works on, as AWS links it: a custom or ThirdParty
/// type's `entityUrlTemplate` with `{Config:Key}` filled in, or the provider's console page.
fn entity_url(state: &RegionState, action: &ActionDeclaration, region: &str) -> Option<String> {
    let id = &action.action_type_id;
    let empty = crate::model::Map::new();
    let config = action.configuration.as_ref().unwrap_or(&empty);
    if id.owner != ActionOwner::Aws {
        let template = state
            .action_types
            .get(&action_type_key(id))?
            .action_type
            .settings
            .as_ref()?
            .entity_url_template
            .clone()?;
        return Some(fill_template(&template, config));
    }
    let value = |key: &str| config.get(key).map(String::as_str).unwrap_or_default();
    Some(match (id.category, id.provider.as_str()) {
        (ActionCategory::Source | ActionCategory::Deploy, "S3") => {
            "https://console.aws.amazon.com/s3/home?#".to_string()
        }
        (ActionCategory::Deploy, "CodeDeploy") => format!(
            "https://console.aws.amazon.com/codedeploy/home?#/applications/{}/deployment-groups/{}",
            value("ApplicationName"),
            value("DeploymentGroupName")
        ),
        (ActionCategory::Source, "CodeCommit") => format!(
            "https://console.aws.amazon.com/codecommit/home?region={region}#/repository/{}/browse/{}/--/",
            value("RepositoryName"),
            value("BranchName")
        ),
        (ActionCategory::Build | ActionCategory::Test, "CodeBuild") => format!(
            "https://console.aws.amazon.com/codebuild/home?region={region}#/projects/{}/view",
            value("ProjectName")
        ),
        (ActionCategory::Source, "GitHub") => format!(
            "https://github.com/{}/{}/tree/{}",
            value("Owner"),
            value("Repo"),
            value("Branch")
        ),
        _ => return None,
    })
}

/// `{Config:Key}` placeholders of an action type's URL template, from the configuration.
fn fill_template(template: &str, configuration: &Map<String>) -> String {
    configuration
        .iter()
        .fold(template.to_string(), |url, (key, value)| {
            url.replace(&format!("{{Config:{key}}}"), value)
        })
}

/// An action execution as GetPipelineState shows it.
fn action_execution(record: &ActionExecutionRecord) -> ActionExecution {
    let pending_approval = record.runner == Runner::Approval && !record.is_finished();
    ActionExecution {
        action_execution_id: Some(record.id.clone()),
        status: Some(record.status),
        summary: record.summary.clone(),
        last_status_change: Some(record.last_update_time),
        token: if pending_approval {
            record.token.clone()
        } else {
            None
        },
        last_updated_by: record.updated_by.clone(),
        external_execution_id: record.external_execution_id.clone(),
        external_execution_url: record.external_execution_url.clone(),
        percent_complete: record.percent_complete,
        error_details: record.error_details.clone(),
        log_stream_arn: None,
    }
}

fn condition_state(runtime: &PipelineRuntime, condition: &ConditionRun) -> StageConditionState {
    StageConditionState {
        latest_execution: Some(StageConditionsExecution {
            status: Some(condition.status),
            summary: condition.summary.clone(),
        }),
        condition_states: Some(vec![ConditionState {
            latest_execution: Some(ConditionExecution {
                status: Some(condition.status),
                summary: condition.summary.clone(),
                last_status_change: Some(condition.last_status_change),
            }),
            rule_states: Some(
                condition
                    .rules
                    .iter()
                    .filter_map(|seq| runtime.rule_at(*seq))
                    .map(|rule| RuleState {
                        rule_name: Some(rule.rule.clone()),
                        current_revision: None,
                        latest_execution: Some(RuleExecution {
                            rule_execution_id: Some(rule.id.clone()),
                            status: Some(rule.status),
                            summary: rule.summary.clone(),
                            last_status_change: Some(rule.last_update_time),
                            token: None,
                            last_updated_by: None,
                            external_execution_id: rule.external_execution_id.clone(),
                            external_execution_url: None,
                            error_details: rule.error_details.clone(),
                        }),
                        entity_url: None,
                        revision_url: None,
                    })
                    .collect(),
            ),
        }]),
    }
}
