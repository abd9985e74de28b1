//! The local executor (opt-in: `--enable-local-executor`; it runs shell commands on this host).
//!
//! Runs a Commands action's `commands`, or a CodeBuild project's phases from
//! `[[codebuild_projects]]`, as one `/bin/sh` script (CodeBuild runs a build's commands in one
//! shell: `cd` and variables carry over) in a temporary directory:
//!
//! - the primary input artifact (the first one, or CodeBuild's `PrimarySource`) is unpacked in
//!   `$CODEBUILD_SRC_DIR`, the working directory; every input artifact is also in
//!   `$CODEBUILD_SRC_DIR_<name>` (secondary ones in their own directories);
//! - the environment is the host's plus `CODEBUILD_SRC_DIR*`, `CODEBUILD_BUILD_ID`,
//!   `CODEBUILD_INITIATOR`, the pipeline's variables (V2, by name), the project's
//!   `env.variables`, CodeBuild's `EnvironmentVariables` configuration and the action's
//!   `environmentVariables`;
//! - the first failing command fails the action (`Error while executing command: ...`); the
//!   whole run is killed (its process group) after the timeout;
//! - output and errors go to a log file, shown as the action's external execution URL
//!   (`file://...`), and its last lines are the action's summary;
//! - the action's `outputVariables` (CodeBuild: `env.exported_variables`) are read from the
//!   shell after the last command and become the action's output variables;
//! - each output artifact is packed from the files its `files` globs select (CodeBuild: the
//!   project's `artifacts`, or `secondary_artifacts.<name>`) and uploaded to its location in
//!   the artifact store.
//!
//! A configured project, in TOML (buildspec names; phases are command lists):
//!
//! ```toml
//! [[codebuild_projects]]
//! name = "my-project"
//! [codebuild_projects.env]
//! variables = { STAGE = "test" }
//! exported_variables = ["VERSION"]
//! [codebuild_projects.phases]
//! install = ["npm ci"]
//! build = ["npm run build", "export VERSION=$(cat version.txt)"]
//! [codebuild_projects.artifacts]
//! files = ["**/*"]
//! base_directory = "dist"
//! ```

use super::artifacts::{unzip, walk, zip_files, ArtifactStore, NO_STORE};
use super::{Output, Task};
use crate::config::Config;
use crate::engine::{Outcome, RealWork};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A CodeBuild project the local executor runs: an inline buildspec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBuildProject {
    /// The `ProjectName` of the CodeBuild actions it serves.
    pub name: String,
    #[serde(default)]
    pub env: BuildspecEnv,
    #[serde(default)]
    pub phases: BuildspecPhases,
    /// The primary output artifact.
    #[serde(default)]
    pub artifacts: Option<BuildspecArtifacts>,
    /// Other output artifacts, by output artifact name.
    #[serde(default, alias = "secondary-artifacts")]
    pub secondary_artifacts: BTreeMap<String, BuildspecArtifacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildspecEnv {
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default, alias = "exported-variables")]
    pub exported_variables: Vec<String>,
}

/// Commands of each phase, run in this order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildspecPhases {
    #[serde(default)]
    pub install: Vec<String>,
    #[serde(default)]
    pub pre_build: Vec<String>,
    #[serde(default)]
    pub build: Vec<String>,
    #[serde(default)]
    pub post_build: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildspecArtifacts {
    /// Globs, relative to `base_directory` (default: the source directory).
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default, alias = "base-directory")]
    pub base_directory: Option<String>,
    /// Put every file at the archive's root.
    #[serde(default, alias = "discard-paths")]
    pub discard_paths: bool,
}

/// The configured project of that name.
pub fn project<'a>(config: &'a Config, name: &str) -> Option<&'a CodeBuildProject> {
    config.codebuild_projects.iter().find(|p| p.name == name)
}

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

/// What to pack into an output artifact.
#[derive(Debug, Clone)]
struct ArtifactSpec {
    files: Vec<String>,
    base_directory: Option<String>,
    discard_paths: bool,
}

impl Default for ArtifactSpec {
    fn default() -> Self {
        ArtifactSpec {
            files: vec!["**/*".to_string()],
            base_directory: None,
            discard_paths: false,
        }
    }
}

impl From<&BuildspecArtifacts> for ArtifactSpec {
    fn from(a: &BuildspecArtifacts) -> Self {
        ArtifactSpec {
            files: if a.files.is_empty() {
                ArtifactSpec::default().files
            } else {
                a.files.clone()
            },
            base_directory: a.base_directory.clone(),
            discard_paths: a.discard_paths,
        }
    }
}

/// An entry of CodeBuild's `EnvironmentVariables` configuration.
#[derive(Deserialize)]
struct ConfiguredVariable {
    name: String,
    value: String,
}

/// What a run does, from the action (Commands) or its project (CodeBuild).
struct Spec {
    commands: Vec<String>,
    exported: Vec<String>,
    env: Vec<(String, String)>,
    primary: Option<String>,
    outputs: Vec<(Output, ArtifactSpec)>,
}

impl Spec {
    fn of(config: &Config, task: &Task) -> Result<Spec, String> {
        let first_input = task.inputs.first().map(|i| i.name.clone());
        let spec = match task.work {
            RealWork::CodeBuild => {
                let name = task
                    .configuration
                    .get("ProjectName")
                    .cloned()
                    .unwrap_or_default();
                let project = project(config, &name).ok_or_else(|| {
                    format!("CodeBuild project '{name}' is not in [[codebuild_projects]]")
                })?;
                let phases = &project.phases;
                let mut env: Vec<(String, String)> = project
                    .env
                    .variables
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if let Some(json) = task.configuration.get("EnvironmentVariables") {
                    // Any type (PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER): the value as is.
                    let list: Vec<ConfiguredVariable> =
                        serde_json::from_str(json).map_err(|e| {
                            format!("EnvironmentVariables is not a JSON list of name/value/type objects: {e}")
                        })?;
                    env.extend(list.into_iter().map(|v| (v.name, v.value)));
                }
                let mut outputs = Vec::new();
                for (i, output) in task.outputs.iter().enumerate() {
                    let spec = if i == 0 {
                        project.artifacts.as_ref().map(ArtifactSpec::from)
                    } else {
                        Some(
                            project
                                .secondary_artifacts
                                .get(&output.name)
                                .map(ArtifactSpec::from)
                                .ok_or_else(|| {
                                    format!(
                                        "CodeBuild project '{name}' has no secondary_artifacts entry for output artifact '{}'",
                                        output.name
                                    )
                                })?,
                        )
                    };
                    outputs.push((output.clone(), spec.unwrap_or_default()));
                }
                Spec {
                    commands: [
                        &phases.install,
                        &phases.pre_build,
                        &phases.build,
                        &phases.post_build,
                    ]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect(),
                    exported: project.env.exported_variables.clone(),
                    env,
                    primary: task
                        .configuration
                        .get("PrimarySource")
                        .cloned()
                        .or(first_input),
                    outputs,
                }
            }
            _ => Spec {
                commands: task.commands.clone(),
                exported: task.action.output_variables.clone().unwrap_or_default(),
                env: task.environment.clone(),
                primary: first_input,
                outputs: task
                    .outputs
                    .iter()
                    .map(|o| {
                        let spec = if o.files.is_empty() {
                            ArtifactSpec::default()
                        } else {
                            ArtifactSpec {
                                files: o.files.clone(),
                                ..ArtifactSpec::default()
                            }
                        };
                        (o.clone(), spec)
                    })
                    .collect(),
            },
        };
        if let Some(bad) = spec.exported.iter().find(|n| !is_variable_name(n)) {
            return Err(format!(
                "Output variable '{bad}' is not a valid environment variable name"
            ));
        }
        Ok(spec)
    }
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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
    let spec = match Spec::of(config, task) {
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
            let bytes = match store
                .get_artifact(&input.name, input.location.as_ref())
                .await
            {
                Ok(bytes) => bytes,
                Err(message) => return fail(message, None),
            };
            let target = if spec.primary.as_deref() == Some(input.name.as_str()) {
                src.clone()
            } else {
                dir.path().join(format!("src{}", i + 1))
            };
            if let Err(e) = std::fs::create_dir_all(&target) {
                return fail(format!("Cannot create {}: {e}", target.display()), None);
            }
            if let Err(e) = unzip(&bytes, &target) {
                return fail(
                    format!("Input artifact '{}' cannot be extracted: {e}", input.name),
                    None,
                );
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
    let status = match execute(&script_path, &src, &env, &log, task.timeout).await {
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

/// Runs the script in its own process group with output to the log; returns its exit status.
/// After it ends (or times out), whatever it left running in its group is killed.
async fn execute(
    script: &Path,
    dir: &Path,
    env: &[(String, String)],
    log: &Path,
    timeout: std::time::Duration,
) -> Result<i32, String> {
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("Cannot create the log directory {}: {e}", parent.display()))?;
    }
    let out = std::fs::File::create(log)
        .map_err(|e| format!("Cannot create the log file {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new("/bin/sh");
    command
        .arg(script)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("Cannot start /bin/sh: {e}"))?;
    let pid = child.id();
    let waited = tokio::time::timeout(timeout, child.wait()).await;
    if let Some(pid) = pid {
        kill_group(pid);
    }
    match waited {
        Ok(Ok(status)) => Ok(status.code().unwrap_or(-1)),
        Ok(Err(e)) => Err(format!("Waiting for the commands failed: {e}")),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!(
                "The commands did not finish within {} seconds and were stopped",
                timeout.as_secs()
            ))
        }
    }
}

/// Kills a process group (the script and anything it started).
fn kill_group(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The files an output artifact holds: (name in the archive, path).
fn select(src: &Path, spec: &ArtifactSpec) -> Result<Vec<(String, PathBuf)>, String> {
    let root = match &spec.base_directory {
        Some(base) => src.join(base.trim_matches('/')),
        None => src.to_path_buf(),
    };
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in &spec.files {
        let pattern = pattern.trim_start_matches("./");
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("invalid file pattern '{pattern}': {e}"))?;
        builder.add(glob);
    }
    let set = builder.build().map_err(|e| e.to_string())?;
    let files: Vec<(String, PathBuf)> = walk(&root)
        .into_iter()
        .filter(|(name, _)| set.is_match(name))
        .map(|(name, path)| {
            let name = if spec.discard_paths {
                name.rsplit('/').next().unwrap_or(&name).to_string()
            } else {
                name
            };
            (name, path)
        })
        .collect();
    if files.is_empty() {
        return Err(format!(
            "no matching artifact paths found (files: {})",
            spec.files.join(", ")
        ));
    }
    Ok(files)
}

/// The last lines of a log, for the action's summary (at most 20 lines and 1500 bytes).
fn tail(log: &Path) -> String {
    use std::io::{Read, Seek, SeekFrom};
    const MAX: u64 = 1500;
    let Ok(mut file) = std::fs::File::open(log) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(MAX)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let start = lines.len().saturating_sub(20);
    let mut out = lines[start..].join("\n");
    if out.is_empty() {
        out = "The commands succeeded and printed nothing".to_string();
    }
    out
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
        let status = execute(
            &path,
            dir.path(),
            &env,
            &log,
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap();
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
        let status = execute(
            &path,
            dir.path(),
            &env,
            &log,
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(status, 3);
        assert_eq!(std::fs::read_to_string(&failed).unwrap(), "exit 3");
        assert!(!std::fs::read_to_string(&log).unwrap().contains("never"));
    }

    #[tokio::test]
    async fn a_run_past_its_timeout_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slow.sh");
        std::fs::write(&path, "sleep 30 & sleep 30\n").unwrap();
        let started = std::time::Instant::now();
        let err = execute(
            &path,
            dir.path(),
            &[],
            &dir.path().join("log"),
            std::time::Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        assert!(err.contains("did not finish within"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn output_files_are_selected_by_glob() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dist/css")).unwrap();
        std::fs::write(dir.path().join("dist/index.html"), "x").unwrap();
        std::fs::write(dir.path().join("dist/css/a.css"), "x").unwrap();
        std::fs::write(dir.path().join("README"), "x").unwrap();
        let names = |spec: &ArtifactSpec| {
            select(dir.path(), spec)
                .map(|files| files.into_iter().map(|(n, _)| n).collect::<Vec<_>>())
        };
        assert_eq!(
            names(&ArtifactSpec::default()).unwrap(),
            ["README", "dist/css/a.css", "dist/index.html"]
        );
        let dist = ArtifactSpec {
            base_directory: Some("dist".into()),
            ..ArtifactSpec::default()
        };
        assert_eq!(names(&dist).unwrap(), ["css/a.css", "index.html"]);
        let flat = ArtifactSpec {
            files: vec!["dist/**/*.css".into()],
            discard_paths: true,
            base_directory: None,
        };
        assert_eq!(names(&flat).unwrap(), ["a.css"]);
        let none = ArtifactSpec {
            files: vec!["*.exe".into()],
            ..ArtifactSpec::default()
        };
        assert!(names(&none)
            .unwrap_err()
            .contains("no matching artifact paths"));
    }
}
