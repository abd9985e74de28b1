//! The local executor (opt-in: `--enable-local-executor`; it runs shell commands on this host)
//! for Commands actions (CodeBuild actions: `codebuild`, which shares `log_path` and
//! `external_execution`).
//!
//! Runs a Commands action's `commands` as one `/bin/sh` script (as CodeBuild runs a build's
//! commands in one shell: `cd` and variables carry over) in a temporary directory:
//!
//! - the first input artifact is unpacked in `$CODEBUILD_SRC_DIR`, the working directory; every
//!   input artifact is also in `$CODEBUILD_SRC_DIR_<name>`;
//! - the environment is the host's plus `CODEBUILD_SRC_DIR*`, `CODEBUILD_BUILD_ID`,
//!   `CODEBUILD_INITIATOR`, the pipeline's variables (V2, by name) and the action's
//!   `environmentVariables`;
//! - the first failing command fails the action (`Error while executing command: ...`); the
//!   script runs in a process group of its own, killed whole when the script ends, after the
//!   timeout, on stop-and-abandon and on shutdown (see `process` and `running`);
//! - output and errors go to a log file, shown as the action's external execution URL
//!   (`file://...`), and its last lines are the action's summary;
//! - the action's `outputVariables` are read from the shell after the last command and become
//!   the action's output variables;
//! - each output artifact is packed from the files its `files` globs select and uploaded to its
//!   location in the artifact store.

use super::artifacts::{unpack_input, zip_files, ArtifactStore, NO_STORE};
use super::buildspec::{select, Spec};
use super::process::{execute, tail};
use super::unpack::Limits;
use super::Task;
use crate::config::Config;
use crate::store::runtime::{Outcome, RealWork};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use super::buildspec::{project, CodeBuildProject};

/// Where the log of an action execution goes: `DATA_DIR/logs`, or the temporary directory.
pub fn log_path(config: &Config, action_execution_id: &str) -> PathBuf {
    let dir = match &config.data_dir {
        Some(dir) => dir.join("logs"),
        None => std::env::temp_dir().join("codepipeline-local-logs"),
    };
    dir.join(format!("{action_execution_id}.log"))
}

/// The build id (`PROJECT:UUID`) and the log's `file://` URL of a starting action.
pub fn external_execution(config: &Config, task: &Task) -> (String, String) {
    let name = match task.work {
        RealWork::CodeBuild => task
            .configuration
            .get("ProjectName")
            .cloned()
            .unwrap_or_default(),
        _ => format!("{}-{}", task.pipeline, task.action.name),
    };
    let id = format!("{name}:{}", uuid::Uuid::new_v4());
    let url = format!(
        "file://{}",
        log_path(config, &task.action_execution_id).display()
    );
    (id, url)
}

/// Single-quotes a string for `/bin/sh`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The script: the commands in one shell, stopping at the first failure; on exit, either the
/// exported variables (one file each in `exports`) or the failed command (in `failed`).
fn script(commands: &[String], exported: &[String], exports: &Path, failed: &Path) -> String {
    let mut s = String::from(
        "set -e\ncpl_finish() {\n  cpl_status=$?\n  if [ \"$cpl_status\" -eq 0 ]; then\n    :\n",
    );
    for name in exported {
        s.push_str(&format!(
            "    if [ -n \"${{{name}+x}}\" ]; then printf '%s' \"${name}\" > {}; fi\n",
            quote(&exports.join(name).to_string_lossy())
        ));
    }
    s.push_str(&format!(
        "  else\n    printf '%s' \"$cpl_command\" > {}\n  fi\n  exit \"$cpl_status\"\n}}\ntrap cpl_finish EXIT\ncd \"$CODEBUILD_SRC_DIR\"\n",
        quote(&failed.to_string_lossy())
    ));
    for command in commands {
        let quoted = quote(command);
        s.push_str(&format!(
            "cpl_command={quoted}\nprintf '[Container] Running command %s\\n' {quoted}\n{command}\n"
        ));
    }
    s
}

/// Runs the task; the outcome carries the build id, the log's tail as summary, and the exported
/// variables.
pub async fn run(
    config: &Config,
    store: Option<&ArtifactStore>,
    task: &Task,
    build_id: String,
) -> Outcome {
    let log = log_path(config, &task.action_execution_id);
    let fail = |message: String, summary: Option<String>| Outcome::Failed {
        code: "JobFailed".into(),
        message,
        summary,
        external_execution_id: Some(build_id.clone()),
        updated_by: None,
    };
    let spec = match Spec::of(task) {
        Ok(spec) => spec,
        Err(message) => return fail(message, None),
    };
    let needs_store = !task.inputs.is_empty() || !task.outputs.is_empty();
    let store = match store {
        Some(store) => Some(store),
        None if needs_store => return fail(NO_STORE.to_string(), None),
        None => None,
    };
    let dir = match tempfile::Builder::new()
        .prefix("codepipeline-local-")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(e) => return fail(format!("Cannot create a working directory: {e}"), None),
    };
    let src = dir.path().join("src");
    let exports = dir.path().join("exports");
    let failed_path = dir.path().join("failed-command");
    for path in [&src, &exports] {
        if let Err(e) = std::fs::create_dir_all(path) {
            return fail(format!("Cannot create {}: {e}", path.display()), None);
        }
    }

    let mut env: Vec<(String, String)> = vec![
        (
            "CODEBUILD_SRC_DIR".into(),
            src.to_string_lossy().into_owned(),
        ),
        ("CODEBUILD_BUILD_ID".into(), build_id.clone()),
        (
            "CODEBUILD_INITIATOR".into(),
            format!("codepipeline/{}", task.pipeline),
        ),
    ];
    if let Some(store) = store {
        for (i, input) in task.inputs.iter().enumerate() {
            let target = if spec.primary.as_deref() == Some(input.name.as_str()) {
                src.clone()
            } else {
                dir.path().join(format!("src{}", i + 1))
            };
            if let Err(e) = std::fs::create_dir_all(&target) {
                return fail(format!("Cannot create {}: {e}", target.display()), None);
            }
            if let Err(message) = unpack_input(store, input, &target, Limits::of(config)).await {
                return fail(message, None);
            }
            env.push((
                format!("CODEBUILD_SRC_DIR_{}", input.name),
                target.to_string_lossy().into_owned(),
            ));
        }
    }
    env.extend(task.variables.clone());
    env.extend(spec.env.iter().cloned());

    let script_path = dir.path().join("script.sh");
    let text = script(&spec.commands, &spec.exported, &exports, &failed_path);
    if let Err(e) = std::fs::write(&script_path, text) {
        return fail(format!("Cannot write the script: {e}"), None);
    }
    let status = match execute(&script_path, &src, &env, &log).await {
        Ok(status) => status,
        Err(message) => return fail(message, Some(tail(&log))),
    };
    if status != 0 {
        let command = std::fs::read_to_string(&failed_path).unwrap_or_default();
        let message = if command.is_empty() {
            format!("The commands failed. Reason: exit status {status}")
        } else {
            format!("Error while executing command: {command}. Reason: exit status {status}")
        };
        return fail(message, Some(tail(&log)));
    }

    let mut variables = BTreeMap::new();
    for name in &spec.exported {
        if let Ok(value) = std::fs::read_to_string(exports.join(name)) {
            variables.insert(name.clone(), value);
        }
    }
    for (output, artifact) in &spec.outputs {
        let files = match select(&src, artifact) {
            Ok(files) => files,
            Err(message) => {
                return fail(
                    format!("Output artifact '{}': {message}", output.name),
                    Some(tail(&log)),
                )
            }
        };
        let bytes = match zip_files(&files) {
            Ok(bytes) => bytes,
            Err(message) => return fail(message, Some(tail(&log))),
        };
        let Some(store) = store else {
            return fail(NO_STORE.to_string(), None);
        };
        if let Err(message) = store
            .put_artifact(&output.name, &output.bucket, &output.key, bytes)
            .await
        {
            return fail(message, Some(tail(&log)));
        }
    }
    super::succeeded(tail(&log), variables, Some(build_id), None)
}

/// The failure of a run past its timeout (its processes are already killed).
pub fn timed_out(config: &Config, task: &Task, build_id: String) -> Outcome {
    let log = log_path(config, &task.action_execution_id);
    Outcome::Failed {
        code: "JobFailed".into(),
        message: format!(
            "The commands did not finish within {} seconds and were stopped",
            task.timeout.as_secs()
        ),
        summary: Some(tail(&log)),
        external_execution_id: Some(build_id),
        updated_by: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_script_stops_at_the_first_failure_and_exports_variables() {
        let dir = tempfile::tempdir().unwrap();
        let exports = dir.path().join("exports");
        std::fs::create_dir_all(&exports).unwrap();
        let failed = dir.path().join("failed");
        let log = dir.path().join("log");
        let commands = vec![
            "VERSION=1.2.3".to_string(),
            "echo \"it's $VERSION\"".to_string(),
        ];
        let text = script(
            &commands,
            &["VERSION".into(), "UNSET".into()],
            &exports,
            &failed,
        );
        let path = dir.path().join("ok.sh");
        std::fs::write(&path, text).unwrap();
        let env = vec![(
            "CODEBUILD_SRC_DIR".to_string(),
            dir.path().to_string_lossy().into_owned(),
        )];
        let status = execute(&path, dir.path(), &env, &log).await.unwrap();
        assert_eq!(status, 0);
        assert_eq!(
            std::fs::read_to_string(exports.join("VERSION")).unwrap(),
            "1.2.3"
        );
        assert!(!exports.join("UNSET").exists());
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(
            logged.contains("[Container] Running command echo"),
            "{logged}"
        );
        assert!(logged.contains("it's 1.2.3"), "{logged}");

        let commands = vec![
            "true".to_string(),
            "exit 3".to_string(),
            "echo never".into(),
        ];
        let path = dir.path().join("fail.sh");
        std::fs::write(&path, script(&commands, &[], &exports, &failed)).unwrap();
        let status = execute(&path, dir.path(), &env, &log).await.unwrap();
        assert_eq!(status, 3);
        assert_eq!(std::fs::read_to_string(&failed).unwrap(), "exit 3");
        assert!(!std::fs::read_to_string(&log).unwrap().contains("never"));
    }
}
