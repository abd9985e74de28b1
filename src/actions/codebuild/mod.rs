//! CodeBuild actions run by the local executor (`--enable-local-executor`): the buildspec that
//! AWS would run, on this host (`--executor host`, the default) or in a container of the
//! project's image (`--executor container`).
//!
//! - `project`: which project (`[[codebuild_projects]]`, a loaded template,
//!   `--codebuild-endpoint`) and where its buildspec is (inline, a file of the primary source,
//!   `buildspec.yml`). With no known project, a primary source holding `buildspec.yml` still
//!   runs it; otherwise the action ends as the simulation would (`Task::simulated`).
//! - `spec`: the buildspec 0.2; `script`: its phases as one shell script; `env`: the
//!   variables (`secrets`: Parameter Store and Secrets Manager); `container`: the container.
//!
//! The primary source (`PrimarySource`, else the first input artifact) is unpacked in
//! `$CODEBUILD_SRC_DIR`, the others in directories of their own (`$CODEBUILD_SRC_DIR_<name>`).
//! Output goes to the action's log file (`commands::log_path`), whose tail is the action's
//! summary. After a successful build the exported variables become the action's output
//! variables and each output artifact is packed from `artifacts` (the first output, unless a
//! `secondary-artifacts` entry has its name) or `secondary-artifacts.<output name>`.

pub mod container;
pub mod env;
pub mod project;
pub mod script;
pub mod secrets;
pub mod spec;

use super::artifacts::{unpack_input_at_depth, zip_files, ArtifactStore, NO_STORE};
use super::buildspec::{select, ArtifactSpec};
use super::commands::log_path;
use super::process::{execute_program, tail};
use super::unpack::Limits;
use super::Task;
use crate::config::Config;
use crate::store::runtime::Outcome;
use project::{Project, Source};
use spec::{Artifacts, Buildspec};
use std::collections::BTreeMap;
use std::path::Path;

/// Runs a CodeBuild action's build; the outcome carries the build id, the log's tail as
/// summary and the exported variables.
pub async fn run(
    config: &Config,
    store: Option<&ArtifactStore>,
    task: &Task,
    build_id: String,
) -> Outcome {
    let log = log_path(config, &task.action_execution_id);
    // A failure before the build runs is written to the log too (the dashboard shows it).
    let fail = |message: String, summary: Option<String>| {
        if summary.is_none() {
            if let Some(parent) = log.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::write(&log, format!("{message}\n"));
        }
        Outcome::Failed {
            code: "JobFailed".into(),
            message,
            summary,
            external_execution_id: Some(build_id.clone()),
            updated_by: None,
        }
    };
    let name = task
        .configuration
        .get("ProjectName")
        .cloned()
        .unwrap_or_default();
    let project =
        match project::resolve(config, task.loaded_project.as_ref(), &task.scope, &name).await {
            Ok(project) => project,
            Err(message) => return fail(message, None),
        };
    if project.is_none() && store.is_none() {
        return simulated(task, &name);
    }
    let needs_store = !task.inputs.is_empty() || !task.outputs.is_empty();
    if store.is_none() && needs_store {
        return fail(NO_STORE.to_string(), None);
    }
    let dir = match tempfile::Builder::new()
        .prefix("codepipeline-local-")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(e) => return fail(format!("Cannot create a working directory: {e}"), None),
    };
    let src = dir.path().join("src");
    let exports = dir.path().join("exports");
    let failed = dir.path().join("failed");
    for path in [&src, &exports] {
        if let Err(e) = std::fs::create_dir_all(path) {
            return fail(format!("Cannot create {}: {e}", path.display()), None);
        }
    }
    let primary = task
        .configuration
        .get("PrimarySource")
        .cloned()
        .or_else(|| task.inputs.first().map(|i| i.name.clone()));
    let mut source_dirs = Vec::new();
    if let Some(store) = store {
        for (i, input) in task.inputs.iter().enumerate() {
            let is_primary = primary.as_deref() == Some(input.name.as_str());
            let target = if is_primary {
                src.clone()
            } else {
                dir.path().join(format!("src{}", i + 1))
            };
            // The project's GitCloneDepth is its (primary) source's: a clone reference is
            // checked out with that much history.
            let depth = project
                .as_ref()
                .filter(|_| is_primary)
                .and_then(|p| p.git_clone_depth);
            if let Err(e) = std::fs::create_dir_all(&target) {
                return fail(format!("Cannot create {}: {e}", target.display()), None);
            }
            let unpacked =
                unpack_input_at_depth(store, input, &target, Limits::of(config), depth).await;
            if let Err(message) = unpacked {
                // With no known project, an input that cannot be read (e.g. a simulated
                // source's) holds no buildspec.yml: the action stays simulated.
                if project.is_none() {
                    return simulated(task, &name);
                }
                return fail(message, None);
            }
            source_dirs.push((
                format!("CODEBUILD_SRC_DIR_{}", input.name),
                target.to_string_lossy().into_owned(),
            ));
        }
    }
    let project = match project {
        Some(project) => project,
        None if src.join(project::DEFAULT_FILE).is_file() => Project {
            name: name.clone(),
            source: Source::File(project::DEFAULT_FILE.to_string()),
            variables: Vec::new(),
            image: None,
            git_clone_depth: None,
            origin: "nowhere (the primary source's buildspec.yml runs)",
        },
        None => return simulated(task, &name),
    };
    let spec = match project::load(&project.source, &src) {
        Ok(spec) => spec,
        Err(message) => return fail(message, None),
    };
    let action_variables = match env::configured(task) {
        Ok(variables) => variables,
        Err(message) => return fail(message, None),
    };
    let primary_input = task
        .inputs
        .iter()
        .find(|i| primary.as_deref() == Some(i.name.as_str()));
    let mut codebuild = vec![
        ("CODEBUILD_BUILD_ID".to_string(), build_id.clone()),
        (
            "CODEBUILD_BUILD_ARN".to_string(),
            format!(
                "arn:aws:codebuild:{}:{}:build/{build_id}",
                task.scope.region, task.scope.account
            ),
        ),
        (
            "CODEBUILD_BUILD_NUMBER".to_string(),
            env::build_number(&project.name).to_string(),
        ),
        (
            "CODEBUILD_SRC_DIR".to_string(),
            src.to_string_lossy().into_owned(),
        ),
        (
            "CODEBUILD_INITIATOR".to_string(),
            format!("codepipeline/{}", task.pipeline),
        ),
        (
            "CODEBUILD_BUILD_IMAGE".to_string(),
            project.image.clone().unwrap_or_default(),
        ),
        (
            "CODEBUILD_START_TIME".to_string(),
            chrono::Utc::now().timestamp_millis().to_string(),
        ),
        (
            "CODEBUILD_LOG_PATH".to_string(),
            build_id.rsplit(':').next().unwrap_or_default().to_string(),
        ),
        ("AWS_REGION".to_string(), task.scope.region.clone()),
        ("AWS_DEFAULT_REGION".to_string(), task.scope.region.clone()),
    ];
    if let Some(input) = primary_input {
        if let Some(revision) = &input.revision {
            codebuild.push((
                "CODEBUILD_RESOLVED_SOURCE_VERSION".to_string(),
                revision.clone(),
            ));
        }
        if let Some((bucket, key)) = &input.location {
            codebuild.push((
                "CODEBUILD_SOURCE_VERSION".to_string(),
                format!("arn:aws:s3:::{bucket}/{key}"),
            ));
        }
    }
    codebuild.extend(source_dirs);
    let variables = match env::variables(
        config,
        task,
        &spec,
        &project.variables,
        &action_variables,
        codebuild,
    )
    .await
    {
        Ok(variables) => variables.into_iter().collect::<Vec<_>>(),
        Err(message) => return fail(message, None),
    };

    let container = config.executor == "container";
    let shell = match (spec.env.shell.as_deref(), container) {
        (None | Some("sh"), false) => "/bin/sh",
        (None | Some("sh"), true) => "sh",
        (Some("bash"), _) => "bash",
        (Some(other), _) => {
            return fail(
                format!("YAML_FILE_ERROR: shell '{other}' is not supported here (sh, bash)"),
                None,
            )
        }
    };
    let script_path = dir.path().join("script.sh");
    let text = script::script(
        &spec,
        &notes(&project, &spec, container),
        &script::Reports {
            exports: &exports,
            failed: &failed,
            open_up: container.then_some(dir.path()),
        },
    );
    if let Err(e) = std::fs::write(&script_path, text) {
        return fail(format!("Cannot write the script: {e}"), None);
    }
    let script_arg = vec![script_path.to_string_lossy().into_owned()];
    let status = if container {
        let image = match container::local_image(config, project.image.as_deref()) {
            Ok(image) => image,
            Err(message) => return fail(message, None),
        };
        let engine = match container::engine(config) {
            Ok(engine) => engine,
            Err(message) => return fail(message, None),
        };
        let name = container::name(&task.action_execution_id);
        let _removal = container::Removal {
            engine: engine.clone(),
            name: name.clone(),
        };
        let args = container::run_args(
            &name,
            &image,
            dir.path(),
            &src,
            &variables,
            shell,
            &script_path,
        );
        execute_program(&engine, &args, &src, &variables, &log).await
    } else {
        execute_program(shell, &script_arg, &src, &variables, &log).await
    };
    let status = match status {
        Ok(status) => status,
        Err(message) => return fail(message, Some(tail(&log))),
    };
    if status != 0 {
        let message = match script::failure(&failed) {
            Some((phase, code, command)) => format!(
                "Build terminated with state: FAILED. Phase: {phase}, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: {command}. Reason: exit status {code}"
            ),
            None => format!("Build terminated with state: FAILED. Reason: exit status {status}"),
        };
        return fail(message, Some(tail(&log)));
    }

    let mut output_variables = BTreeMap::new();
    for name in &spec.env.exported_variables {
        if let Ok(value) = std::fs::read_to_string(exports.join(name)) {
            output_variables.insert(name.clone(), value);
        }
    }
    if let Err(message) = pack_outputs(store, task, &spec, &src).await {
        return fail(message, Some(tail(&log)));
    }
    super::succeeded(tail(&log), output_variables, Some(build_id), None)
}

/// Packs and uploads each output artifact.
async fn pack_outputs(
    store: Option<&ArtifactStore>,
    task: &Task,
    spec: &Buildspec,
    src: &Path,
) -> Result<(), String> {
    let secondary = spec.artifacts.as_ref().map(|a| &a.secondary_artifacts);
    for (i, output) in task.outputs.iter().enumerate() {
        let artifacts = match secondary.and_then(|s| s.get(&output.name)) {
            Some(artifacts) => Some(artifacts),
            None if i == 0 => spec.artifacts.as_ref(),
            None => {
                return Err(format!(
                    "CLIENT_ERROR: no definition for secondary artifact {} in buildspec",
                    output.name
                ))
            }
        };
        let selection = artifacts.map(artifact_spec).unwrap_or_default();
        let files = select(src, &selection).map_err(|message| {
            format!("CLIENT_ERROR: {message} (output artifact {})", output.name)
        })?;
        let bytes = zip_files(&files)?;
        let store = store.ok_or_else(|| NO_STORE.to_string())?;
        store
            .put_artifact(&output.name, &output.bucket, &output.key, bytes)
            .await?;
    }
    Ok(())
}

fn artifact_spec(a: &Artifacts) -> ArtifactSpec {
    ArtifactSpec {
        files: if a.files.is_empty() {
            ArtifactSpec::default().files
        } else {
            a.files.clone()
        },
        base_directory: a.base_directory.clone(),
        discard_paths: a.discard_paths.is_some_and(|d| d.is_yes()),
        exclude: a.exclude_paths.clone(),
    }
}

/// What the log says first: where the project and buildspec came from, and what of the
/// buildspec the local executor accepts without doing.
fn notes(project: &Project, spec: &Buildspec, container: bool) -> Vec<String> {
    let mut notes = vec![format!(
        "codepipeline-local: project {} from {}, buildspec {}, on {}",
        project.name,
        project.origin,
        match &project.source {
            Source::Given(_) => "from the configuration".to_string(),
            Source::Inline(_) => "inline".to_string(),
            Source::File(file) => format!("{file} of the primary source"),
        },
        if container {
            "a container"
        } else {
            "this host"
        }
    )];
    for (name, phase) in spec.phases.in_order() {
        if let Some(versions) = phase.and_then(|p| p.runtime_versions.as_ref()) {
            let text = serde_norway::to_string(versions).unwrap_or_default();
            notes.push(format!(
                "{name}: runtime-versions noted and skipped (the build uses what is installed): {}",
                text.trim().replace('\n', ", ")
            ));
        }
        if let Some(user) = phase.and_then(|p| p.run_as.as_ref()) {
            notes.push(format!("{name}: run-as {user} ignored"));
        }
    }
    let accepted = [
        (
            "reports",
            spec.reports.is_some(),
            "test reports are not uploaded",
        ),
        (
            "cache",
            spec.cache.is_some(),
            "nothing is cached between builds",
        ),
        ("proxy", spec.proxy.is_some(), "no proxy is set up"),
        (
            "batch",
            spec.batch.is_some(),
            "batch builds run as one build",
        ),
        (
            "run-as",
            spec.run_as.is_some(),
            "the build runs as the executor's user",
        ),
        (
            "git-credential-helper",
            spec.env.git_credential_helper.is_some(),
            "no credential helper is set up",
        ),
    ];
    for (key, given, what) in accepted {
        if given {
            notes.push(format!("{key} accepted: {what}"));
        }
    }
    if let Some(name) = spec.artifacts.as_ref().and_then(|a| a.name.as_ref()) {
        notes.push(format!(
            "artifacts name {name} noted: CodePipeline names its output artifacts"
        ));
    }
    notes
}

/// The outcome of a CodeBuild action with no known project and no `buildspec.yml`: what the
/// simulation would have given.
fn simulated(task: &Task, project: &str) -> Outcome {
    super::succeeded(
        format!("Simulated: no CodeBuild project {project} is known and the primary source has no buildspec.yml"),
        task.simulated.clone(),
        None,
        None,
    )
}
