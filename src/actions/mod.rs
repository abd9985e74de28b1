//! Actions that do real work, when the configuration asks for it (everything else stays
//! simulated, see `engine::simulate`):
//!
//! - `artifacts`: the real artifact store, the pipeline's `artifactStore` bucket on an
//!   S3-compatible endpoint (`--s3-endpoint`), or a local directory without one, holding zip
//!   files under `PIPELINE/ARTIFACT/KEY`.
//! - `s3_source`, `s3_deploy`: the S3 source and deploy actions against that endpoint.
//! - `git_source`: git source actions of repositories mapped with `[[repositories]]`.
//! - `unpack`: unpacking an input artifact's zip within limits, refusing unsafe paths.
//! - `commands`: the local executor (`--enable-local-executor`) for Commands actions, running
//!   their shell in a process group of its own (`process`); `codebuild`: CodeBuild actions,
//!   the buildspec AWS would run (projects of `[[codebuild_projects]]` (`buildspec`), loaded
//!   templates or `--codebuild-endpoint`), on this host or in a container.
//! - `cloudformation`: CloudFormation deploy actions create, update and delete stacks and
//!   change sets on `--cloudformation-endpoint`.
//! - `lambda`: Lambda invoke actions hand their job to a function on `--lambda-endpoint`.
//! - `cloudformation`: CloudFormation deploy actions create, update and delete stacks and
//!   change sets on `--cloudformation-endpoint`.
//!
//! Real actions know nothing of the engine: `plan` says what an action does given the
//! configuration (the engine asks it through the runtime driver), and `run` turns a `Task` into
//! an `Outcome`. The runtime driver (`runtime::real`) builds the task when the engine
//! starts the action, spawns it under `running` (which supervises the tasks: panics and timeouts
//! fail the action, stop-and-abandon and shutdown stop them) and feeds the outcome back to the
//! engine.

pub mod artifacts;
pub mod buildspec;
pub mod cloudformation;
pub mod codebuild;
pub mod commands;
pub mod git;
pub mod git_source;
pub mod lambda;
pub mod process;
pub mod running;
pub mod s3_deploy;
pub mod s3_source;
pub mod unpack;

use crate::config::{CodeBuildProject, Config};
use crate::model::*;
use crate::protocol::Scope;
use crate::store::runtime::{GivenRevision, Outcome, RealWork};
use std::collections::BTreeMap;
use std::time::Duration;

pub use crate::store::runtime::Plan;

/// What an AWS action does given the configuration; `None`: the usual simulated behaviour.
pub fn plan(
    config: &Config,
    action: &ActionDeclaration,
    configuration: &Map<String>,
) -> Option<Plan> {
    let id = &action.action_type_id;
    // A git source of a mapped repository (`sources`): CodeStarSourceConnection, CodeCommit,
    // GitHub (version 1, a ThirdParty action).
    if git::repository_for(config, id, configuration).is_some() {
        return Some(Plan::Real(RealWork::GitSource));
    }
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
        // A known project, or a store the primary source may hold a buildspec.yml in (the
        // run decides; without either the action stays simulated, see `codebuild`).
        (ActionCategory::Build | ActionCategory::Test, "CodeBuild")
            if config.local_executor
                && (commands::project(config, configuration.get("ProjectName")?).is_some()
                    || config.codebuild_endpoint.is_some()
                    || artifacts::ArtifactStore::from_config(config).is_some()) =>
        {
            Some(Plan::Real(RealWork::CodeBuild))
        }
        (ActionCategory::Deploy, "CloudFormation") if config.cloudformation_endpoint.is_some() => {
            Some(Plan::Real(RealWork::CloudFormation))
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
    /// The revision of the source it came from (S3 version id, commit), when known.
    pub revision: Option<String>,
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
    pub configuration: Map<String>,
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
    /// The account and region of the pipeline.
    pub scope: Scope,
    /// CodeBuild: the output variables of the simulation, for a build with neither project
    /// nor buildspec (see `codebuild`).
    pub simulated: BTreeMap<String, String>,
    /// CodeBuild: the project of that name in a loaded template, if any (see `codebuild`).
    pub loaded_project: Option<CodeBuildProject>,
}

/// How long a real action may run when it has no `timeoutInMinutes`.
pub fn default_timeout(config: &Config, work: RealWork) -> Duration {
    match work {
        RealWork::Commands | RealWork::CodeBuild => config.local_executor_timeout,
        RealWork::S3Source
        | RealWork::S3Deploy
        | RealWork::GitSource
        | RealWork::CloudFormation => config.real_action_timeout,
    }
}

/// The external execution id and URL an action shows while it runs (the local executor's
/// build id and log file).
pub fn shown(config: &Config, task: &Task) -> (Option<String>, Option<String>) {
    match task.work {
        RealWork::Commands | RealWork::CodeBuild => {
            let (id, log) = commands::external_execution(config, task);
            (Some(id), Some(log))
        }
        RealWork::S3Source
        | RealWork::S3Deploy
        | RealWork::GitSource
        | RealWork::CloudFormation => (None, None),
    }
}

/// The outcome of an action that ran past its timeout (its work was dropped).
pub fn timed_out(config: &Config, task: &Task, build_id: String) -> Outcome {
    match task.work {
        RealWork::Commands | RealWork::CodeBuild => commands::timed_out(config, task, build_id),
        RealWork::S3Source
        | RealWork::S3Deploy
        | RealWork::GitSource
        | RealWork::CloudFormation => running::timed_out(task.timeout),
    }
}

/// Does the work of a task (`build_id`: the external execution id `shown` gave it).
pub async fn run(config: &Config, task: &Task, build_id: String) -> Outcome {
    let store = artifacts::ArtifactStore::from_config(config);
    match task.work {
        RealWork::S3Source => match store.as_ref().and_then(|s| s.s3()) {
            Some(s3) => s3_source::run(s3, task).await,
            None => Outcome::failed("JobFailed", artifacts::NO_STORE),
        },
        RealWork::GitSource => {
            let repository =
                git::repository_for(config, &task.action.action_type_id, &task.configuration);
            match (&store, repository) {
                (Some(store), Some(repository)) => {
                    git_source::run(config, store, repository, task).await
                }
                (None, _) => Outcome::failed("JobFailed", artifacts::NO_STORE),
                (_, None) => Outcome::failed(
                    "JobFailed",
                    "The source action's repository is no longer mapped",
                ),
            }
        }
        RealWork::S3Deploy => match &store {
            Some(store) => s3_deploy::run(store, task, unpack::Limits::of(config)).await,
            None => Outcome::failed("JobFailed", artifacts::NO_STORE),
        },
        RealWork::Commands => commands::run(config, store.as_ref(), task, build_id).await,
        RealWork::CodeBuild => codebuild::run(config, store.as_ref(), task, build_id).await,
        RealWork::CloudFormation => cloudformation::run(config, store.as_ref(), task).await,
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
