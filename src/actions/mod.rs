//! Actions that do real work, when the configuration asks for it (everything else stays
//! simulated, see `engine::simulate`):
//!
//! - `artifacts`: the real artifact store, the pipeline's `artifactStore` bucket on an
//!   S3-compatible endpoint (`--s3-endpoint`), holding zip files under `PIPELINE/ARTIFACT/KEY`.
//! - `s3_source`, `s3_deploy`: the S3 source and deploy actions against that endpoint.
//! - `unpack`: unpacking an input artifact's zip within limits, refusing unsafe paths.
//! - `commands`: the local executor (`--enable-local-executor`) for Commands actions and
//!   CodeBuild actions of projects given in `[[codebuild_projects]]` (`buildspec`), running
//!   their shell in a process group of its own (`process`).
//! - `lambda`: Lambda invoke actions hand their job to a function on `--lambda-endpoint`.
//! - `cloudformation`: CloudFormation deploy actions create, update and delete stacks and
//!   change sets on `--cloudformation-endpoint`.
//!
//! `engine::actions::start_action` asks `plan` what an action should do. It runs under the
//! region lock, so it only spawns (`start`): the task does its I/O without any lock, then locks
//! the region, finishes the action with an `Outcome` and advances the pipeline (`report`).
//! `running` supervises the tasks (panics and timeouts fail the action) and lets
//! stop-and-abandon and shutdown stop them.

pub mod artifacts;
pub mod buildspec;
pub mod cloudformation;
pub mod commands;
pub mod lambda;
pub mod process;
pub mod running;
pub mod s3_deploy;
pub mod s3_source;
pub mod unpack;

use crate::app::App;
use crate::config::Config;
use crate::engine::simulate::GivenRevision;
use crate::engine::{self, Cx, Outcome, PipelineExecutionRecord, RealWork};
use crate::model::*;
use crate::protocol::Scope;
use std::collections::BTreeMap;
use std::time::Duration;

/// What an action does instead of being simulated.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// The emulator does the work (`Runner::Real`).
    Real(RealWork),
    /// A job handed to the Lambda function (`Runner::Job`, see `lambda`).
    Lambda,
}

/// What an AWS action does given the configuration; `None`: the usual simulated behaviour.
pub fn plan(
    config: &Config,
    action: &ActionDeclaration,
    configuration: &BTreeMap<String, String>,
) -> Option<Plan> {
    let id = &action.action_type_id;
    if id.owner != ActionOwner::Aws {
        return None;
    }
    let s3 = config.s3_endpoint.is_some();
    match (id.category, id.provider.as_str()) {
        (ActionCategory::Source, "S3") if s3 => Some(Plan::Real(RealWork::S3Source)),
        (ActionCategory::Deploy, "S3") if s3 => Some(Plan::Real(RealWork::S3Deploy)),
        // Without the local executor, Commands is simulated like every AWS action.
        (ActionCategory::Compute, "Commands") if config.local_executor => {
            Some(Plan::Real(RealWork::Commands))
        }
        (ActionCategory::Build | ActionCategory::Test, "CodeBuild")
            if config.local_executor
                && commands::project(config, configuration.get("ProjectName")?).is_some() =>
        {
            Some(Plan::Real(RealWork::CodeBuild))
        }
        (ActionCategory::Invoke, "Lambda") if config.lambda_endpoint.is_some() => {
            Some(Plan::Lambda)
        }
        (ActionCategory::Deploy, "CloudFormation") if config.cloudformation_endpoint.is_some() => {
            Some(Plan::Real(RealWork::CloudFormation))
        }
        _ => None,
    }
}

/// An input artifact of an action: where an earlier action put it (if any did).
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub location: Option<(String, String)>,
}

/// An output artifact of an action: where it goes, and the files it holds (Commands).
#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub bucket: String,
    pub key: String,
    pub files: Vec<String>,
}

/// Everything a real action needs, copied out of the state when it starts.
#[derive(Debug, Clone)]
pub struct Task {
    pub work: RealWork,
    pub pipeline: String,
    pub pipeline_execution_id: String,
    pub action_execution_id: String,
    pub action: ActionDeclaration,
    /// The configuration with variables resolved.
    pub configuration: BTreeMap<String, String>,
    /// Pipeline-level variables (V2) with their values.
    pub variables: BTreeMap<String, String>,
    /// The action's `environmentVariables` (Commands), variables resolved.
    pub environment: Vec<(String, String)>,
    /// The action's `commands` (Commands), variables resolved.
    pub commands: Vec<String>,
    pub inputs: Vec<Input>,
    pub outputs: Vec<Output>,
    /// S3 source: a revision this execution must use (sourceRevisions override or
    /// PutActionRevision), not the object's latest version.
    pub revision: Option<GivenRevision>,
    /// How long the action may run: its `timeoutInMinutes`, else the configured default.
    pub timeout: Duration,
}

/// The parts of a starting action that `start` copies into a `Task`.
pub struct Starting<'a> {
    pub pipeline: &'a str,
    pub execution: &'a PipelineExecutionRecord,
    pub action: &'a ActionDeclaration,
    pub action_execution_id: &'a str,
    pub configuration: &'a BTreeMap<String, String>,
    pub output_artifacts: &'a [ArtifactDetail],
}

/// Builds the task of a starting action and spawns it. Returns the external execution id and
/// URL the action shows while it runs (the local executor's build id and log file).
pub fn start(cx: &Cx, work: RealWork, starting: Starting) -> (Option<String>, Option<String>) {
    let execution = starting.execution;
    let action = starting.action;
    let scope = engine::variables::VariableScope::of(execution);
    let variables: BTreeMap<String, String> = scope
        .pipeline_variables
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // References that do not resolve are left as they are (the shell sees them).
    let resolve = |text: &str| scope.resolve(text).unwrap_or_else(|_| text.to_string());
    let environment = action
        .environment_variables
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), resolve(&e.value)))
        .collect();
    let commands = action
        .commands
        .iter()
        .flatten()
        .map(|c| resolve(c))
        .collect();
    let inputs = action
        .input_artifacts
        .iter()
        .flatten()
        .map(|input| Input {
            name: input.name.clone(),
            location: execution
                .artifacts
                .get(&input.name)
                .map(|a| (a.bucket.clone(), a.key.clone())),
        })
        .collect();
    let outputs = starting
        .output_artifacts
        .iter()
        .filter_map(|detail| {
            let name = detail.name.clone()?;
            let location = detail.s3location.as_ref()?;
            let files = action
                .output_artifacts
                .iter()
                .flatten()
                .find(|o| o.name == name)
                .and_then(|o| o.files.clone())
                .unwrap_or_default();
            Some(Output {
                name,
                bucket: location.bucket.clone().unwrap_or_default(),
                key: location.key.clone().unwrap_or_default(),
                files,
            })
        })
        .collect();
    let config = &cx.app.config;
    let task = Task {
        work,
        pipeline: starting.pipeline.to_string(),
        pipeline_execution_id: execution.id.clone(),
        action_execution_id: starting.action_execution_id.to_string(),
        action: action.clone(),
        configuration: starting.configuration.clone(),
        variables,
        environment,
        commands,
        inputs,
        outputs,
        revision: engine::actions::requested_revision(execution, &action.name),
        timeout: engine::actions::action_timeout(action).unwrap_or(match work {
            RealWork::Commands | RealWork::CodeBuild => config.local_executor_timeout,
            RealWork::S3Source | RealWork::S3Deploy | RealWork::CloudFormation => {
                config.real_action_timeout
            }
        }),
    };
    let shown = match work {
        RealWork::Commands | RealWork::CodeBuild => {
            let (id, log) = commands::external_execution(config, &task);
            (Some(id), Some(log))
        }
        RealWork::S3Source | RealWork::S3Deploy | RealWork::CloudFormation => (None, None),
    };
    let app = cx.app.clone();
    let scope = cx.region.scope.clone();
    let build_id = shown.0.clone().unwrap_or_default();
    let id = task.action_execution_id.clone();
    let timeout = task.timeout;
    let work = {
        let (app, task, build_id) = (app.clone(), task.clone(), build_id.clone());
        async move { run(&app, &task, build_id).await }
    };
    let timed_out = {
        let app = app.clone();
        let task = task.clone();
        move || match task.work {
            RealWork::Commands | RealWork::CodeBuild => {
                commands::timed_out(&app.config, &task, build_id)
            }
            RealWork::S3Source | RealWork::S3Deploy | RealWork::CloudFormation => {
                running::timed_out(timeout)
            }
        }
    };
    let pipeline = task.pipeline;
    cx.app.running.spawn(&id, timeout, work, timed_out, {
        let id = id.clone();
        move |outcome| report(&app, &scope, &pipeline, &id, outcome)
    });
    shown
}

async fn run(app: &App, task: &Task, build_id: String) -> Outcome {
    let config = &app.config;
    let store = artifacts::ArtifactStore::from_config(config);
    match task.work {
        RealWork::S3Source => match &store {
            Some(store) => s3_source::run(store, task).await,
            None => Outcome::failed("JobFailed", artifacts::NO_STORE),
        },
        RealWork::S3Deploy => match &store {
            Some(store) => s3_deploy::run(store, task, unpack::Limits::of(config)).await,
            None => Outcome::failed("JobFailed", artifacts::NO_STORE),
        },
        RealWork::Commands | RealWork::CodeBuild => {
            commands::run(config, store.as_ref(), task, build_id).await
        }
        RealWork::CloudFormation => cloudformation::run(config, store.as_ref(), task).await,
    }
}

/// Finishes a real action with its outcome and moves the pipeline on (nothing happens when the
/// action already finished, e.g. its execution was stopped and abandoned it).
pub fn report(
    app: &App,
    scope: &Scope,
    pipeline: &str,
    action_execution_id: &str,
    outcome: Outcome,
) {
    let region = app.store.region(scope);
    let cx = Cx {
        app,
        region: &region,
    };
    let mut state = region.lock();
    if engine::finish_action_by_id(&cx, &mut state, pipeline, action_execution_id, outcome) {
        engine::advance(&cx, &mut state, pipeline);
    }
}

/// A succeeded outcome with these parts (the rest empty).
pub(crate) fn succeeded(
    summary: String,
    output_variables: BTreeMap<String, String>,
    external_execution_id: Option<String>,
    revision: Option<GivenRevision>,
) -> Outcome {
    Outcome::Succeeded {
        summary: Some(summary),
        output_variables,
        external_execution_id,
        external_execution_url: None,
        percent_complete: None,
        revision,
        updated_by: None,
    }
}
