//! A push to a mapped repository (a new commit on a branch, a new or moved tag), evaluated
//! against every pipeline of every account and region:
//!
//! - a V2 pipeline's triggers (`gitConfiguration.push`) are evaluated by the git-event filters
//!   (`webhooks::git::firing_triggers`: branch and tag globs, file paths against the files the
//!   pushed commits changed); a firing trigger starts an execution with trigger type
//!   `WebhookV2` (detail: the source action's `ConnectionArn`), as a connection push does;
//! - a source action mapped to the repository that no trigger names detects changes on its
//!   branch as AWS does: CodeStarSourceConnection unless `DetectChanges` is false (trigger
//!   `WebhookV2` in a V2 pipeline, `Webhook` in a V1 one; detail: the connection), CodeCommit
//!   (`PollForSourceChanges`, default true, else `CloudWatchEvent`, as the EventBridge rule AWS
//!   recommends would; detail: the repository ARN), GitHub version 1 unless
//!   `PollForSourceChanges` is false (`PollForSourceChanges`; with false AWS relies on a webhook:
//!   deliver to its URL);
//! - never two executions for one commit on one pipeline (`Started`); every decision is logged
//!   at info with its reason.

use crate::actions::git::{branch_of, repository_for, Repository};
use crate::app::App;
use crate::config::Config;
use crate::model::*;
use crate::protocol::Scope;
use crate::webhooks::git::{self, GitEvent};
pub use crate::webhooks::git_ref::event_of;
use crate::webhooks::start_for_git_event;
use parking_lot::Mutex;
use std::collections::HashSet;

/// Most (pipeline, commit) pairs remembered by the debounce.
const MAX_REMEMBERED: usize = 100_000;

/// The (account, region, pipeline, commit) of every execution a push started.
#[derive(Default)]
pub struct Started(Mutex<HashSet<(String, String, String, String)>>);

impl Started {
    /// Whether this is the first time; remembers it.
    fn first(&self, scope: &Scope, pipeline: &str, commit: &str) -> bool {
        let mut seen = self.0.lock();
        if seen.len() >= MAX_REMEMBERED {
            seen.clear();
        }
        seen.insert((
            scope.account.clone(),
            scope.region.clone(),
            pipeline.to_string(),
            commit.to_string(),
        ))
    }
}

/// What a push does to one pipeline.
#[derive(Debug, PartialEq)]
enum Decision {
    /// The pipeline has no source action of the repository, or change detection is off.
    Ignore,
    /// It has triggers for the repository, none of which fires.
    NoMatch,
    Start {
        actions: Vec<String>,
        trigger: (TriggerType, String),
        reason: String,
    },
}

/// Evaluates a push against every pipeline and starts the executions it calls for; returns
/// them as (pipeline, execution id).
pub fn dispatch(
    app: &App,
    repository: &Repository,
    event: &GitEvent,
    started: &Started,
) -> Vec<(String, String)> {
    let short: String = event.commit.chars().take(7).collect();
    let what = match (event.branch_name(), event.tag_name()) {
        (Some(branch), _) => format!("push to {branch} {short}"),
        (None, Some(tag)) => format!("tag {tag} {short}"),
        (None, None) => format!("push {short}"),
    };
    let mut executions = Vec::new();
    for region in app.store.regions() {
        let scope = region.scope.clone();
        let mut state = region.lock();
        let pipelines: Vec<(String, std::sync::Arc<PipelineDeclaration>)> = state
            .pipelines
            .iter()
            .map(|(name, record)| (name.clone(), record.current().clone()))
            .collect();
        for (name, declaration) in pipelines {
            match decide(&app.config, &scope, repository, &declaration, event) {
                Decision::Ignore => {}
                Decision::NoMatch => {
                    tracing::info!("pipeline {name}: {what} matched no trigger")
                }
                Decision::Start {
                    actions,
                    trigger,
                    reason,
                } => {
                    if !started.first(&scope, &name, &event.commit) {
                        tracing::info!(
                            "pipeline {name}: {what} {reason}, but an execution for this commit already started"
                        );
                        continue;
                    }
                    match start_for_git_event(
                        app, &scope, &mut state, &name, &actions, trigger, event,
                    ) {
                        Ok(id) => {
                            tracing::info!("pipeline {name}: {what} {reason}: execution {id}");
                            executions.push((name, id));
                        }
                        Err(e) => tracing::warn!(
                            "pipeline {name}: {what} {reason}, but the execution did not start: {}",
                            crate::protocol::ApiError::from(e).message
                        ),
                    }
                }
            }
        }
    }
    executions
}

fn decide(
    config: &Config,
    scope: &Scope,
    repository: &Repository,
    declaration: &PipelineDeclaration,
    event: &GitEvent,
) -> Decision {
    let Some(source) = declaration.stages.first() else {
        return Decision::Ignore;
    };
    let empty = crate::model::Map::new();
    let configuration = |a: &ActionDeclaration| a.configuration.as_ref().unwrap_or(&empty).clone();
    let mapped: Vec<&ActionDeclaration> = source
        .actions
        .iter()
        .filter(|a| {
            repository_for(config, &a.action_type_id, &configuration(a)) == Some(repository)
        })
        .collect();
    if mapped.is_empty() {
        return Decision::Ignore;
    }
    let triggers: Vec<&PipelineTriggerDeclaration> =
        declaration.triggers.iter().flat_map(|t| t.iter()).collect();
    let firing = git::firing_triggers(declaration, event);
    if let Some((index, action, filter)) = firing.first() {
        let mut actions: Vec<String> = Vec::new();
        for (_, name, _) in &firing {
            if !actions.contains(name) {
                actions.push(name.clone());
            }
        }
        let filter = triggers
            .get(*index)
            .and_then(|t| t.git_configuration.push.as_ref()?.get(*filter))
            .map(git::describe_push_filter)
            .unwrap_or_default();
        return Decision::Start {
            trigger: (
                TriggerType::WebhookV2,
                git::connection_of(declaration, action).unwrap_or_default(),
            ),
            actions,
            reason: format!("matched trigger {index} ({filter})"),
        };
    }
    let has_trigger = |a: &ActionDeclaration| {
        triggers
            .iter()
            .any(|t| t.git_configuration.source_action_name == a.name)
    };
    let v2 = declaration.pipeline_type == Some(PipelineType::V2);
    let detecting: Vec<(&ActionDeclaration, (TriggerType, String))> = mapped
        .iter()
        .filter(|a| !has_trigger(a))
        .filter(|a| {
            event.branch_name() == Some(branch_of(&a.action_type_id, &configuration(a)).as_str())
        })
        .filter_map(|a| Some((*a, detection(scope, a, &configuration(a), v2)?)))
        .collect();
    match detecting.first() {
        Some((_, trigger)) => Decision::Start {
            actions: detecting.iter().map(|(a, _)| a.name.clone()).collect(),
            trigger: trigger.clone(),
            reason: format!(
                "detected by {}",
                detecting
                    .iter()
                    .map(|(a, _)| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        None if mapped.iter().any(|a| has_trigger(a)) => Decision::NoMatch,
        None => Decision::Ignore,
    }
}

/// How a source action without a trigger detects a change, if it does.
fn detection(
    scope: &Scope,
    action: &ActionDeclaration,
    configuration: &Map<String>,
    v2: bool,
) -> Option<(TriggerType, String)> {
    let off = |key: &str| {
        configuration
            .get(key)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
    };
    let value = |key: &str| configuration.get(key).cloned().unwrap_or_default();
    match action.action_type_id.provider.as_str() {
        "CodeStarSourceConnection" if !off("DetectChanges") => Some((
            if v2 {
                TriggerType::WebhookV2
            } else {
                TriggerType::Webhook
            },
            value("ConnectionArn"),
        )),
        "CodeCommit" => Some((
            if off("PollForSourceChanges") {
                TriggerType::CloudWatchEvent
            } else {
                TriggerType::PollForSourceChanges
            },
            format!(
                "arn:aws:codecommit:{}:{}:{}",
                scope.region,
                scope.account,
                value("RepositoryName")
            ),
        )),
        "GitHub" if !off("PollForSourceChanges") => Some((
            TriggerType::PollForSourceChanges,
            format!("{}/{}", value("Owner"), value("Repo")),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pipeline(
        kind: &str,
        owner: &str,
        provider: &str,
        configuration: serde_json::Value,
    ) -> PipelineDeclaration {
        serde_json::from_value(json!({
            "name": "p",
            "roleArn": "arn:aws:iam::123456789012:role/r",
            "pipelineType": kind,
            "stages": [{"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": owner, "provider": provider, "version": "1"},
                "configuration": configuration,
                "outputArtifacts": [{"name": "Out"}]
            }]}]
        }))
        .unwrap()
    }

    fn push(branch: &str) -> GitEvent {
        GitEvent {
            connection_arn: None,
            repository: "octo/app".into(),
            branch: Some(branch.into()),
            tag: None,
            commit: "3f2a1c9d".into(),
            message: None,
            files: vec!["src/a.rs".into()],
            pull_request: None,
            git_ref: None,
        }
    }

    fn trigger_of(decision: Decision) -> Option<(TriggerType, String)> {
        match decision {
            Decision::Start { trigger, .. } => Some(trigger),
            _ => None,
        }
    }

    #[test]
    fn change_detection_follows_each_providers_setting() {
        let repository = Repository {
            id: "octo/app".into(),
            path: "/nowhere".into(),
            connection_arn: None,
            provider_type: None,
        };
        let codecommit = Repository {
            id: "app".into(),
            ..repository.clone()
        };
        let config = Config {
            repositories: vec![repository.clone(), codecommit.clone()],
            ..Config::default()
        };
        let scope = Scope {
            account: "123456789012".into(),
            region: "eu-west-1".into(),
        };
        let decide = |r: &Repository, p: &PipelineDeclaration, branch: &str| {
            decide(&config, &scope, r, p, &push(branch))
        };
        let arn = "arn:aws:codeconnections:eu-west-1:123456789012:connection/x";
        let connection = |detect: &str| json!({"ConnectionArn": arn, "FullRepositoryId": "octo/app", "BranchName": "main", "DetectChanges": detect});
        let v1 = pipeline("V1", "AWS", "CodeStarSourceConnection", connection("true"));
        assert_eq!(
            trigger_of(decide(&repository, &v1, "main")),
            Some((TriggerType::Webhook, arn.to_string()))
        );
        let v2 = pipeline("V2", "AWS", "CodeStarSourceConnection", connection("true"));
        assert_eq!(
            trigger_of(decide(&repository, &v2, "main")),
            Some((TriggerType::WebhookV2, arn.to_string()))
        );
        assert_eq!(decide(&repository, &v1, "dev"), Decision::Ignore);
        let off = pipeline("V1", "AWS", "CodeStarSourceConnection", connection("false"));
        assert_eq!(decide(&repository, &off, "main"), Decision::Ignore);
        // Another repository's push concerns nobody here.
        assert_eq!(decide(&codecommit, &v1, "main"), Decision::Ignore);

        let cc = |poll: &str| {
            pipeline(
                "V1",
                "AWS",
                "CodeCommit",
                json!({"RepositoryName": "app", "BranchName": "main", "PollForSourceChanges": poll}),
            )
        };
        let repo_arn = "arn:aws:codecommit:eu-west-1:123456789012:app".to_string();
        assert_eq!(
            trigger_of(decide(&codecommit, &cc("true"), "main")),
            Some((TriggerType::PollForSourceChanges, repo_arn.clone()))
        );
        assert_eq!(
            trigger_of(decide(&codecommit, &cc("false"), "main")),
            Some((TriggerType::CloudWatchEvent, repo_arn))
        );

        let github = |poll: &str| {
            pipeline(
                "V1",
                "ThirdParty",
                "GitHub",
                json!({"Owner": "octo", "Repo": "app", "Branch": "main", "OAuthToken": "****", "PollForSourceChanges": poll}),
            )
        };
        assert_eq!(
            trigger_of(decide(&repository, &github("true"), "main")),
            Some((TriggerType::PollForSourceChanges, "octo/app".to_string()))
        );
        assert_eq!(
            decide(&repository, &github("false"), "main"),
            Decision::Ignore
        );
    }
}
