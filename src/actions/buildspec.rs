//! What the local executor runs: the CodeBuild projects of `[[codebuild_projects]]` (an inline
//! buildspec), and the `Spec` of a run taken from the action (Commands) or its project
//! (CodeBuild): commands, exported variables, environment, primary input, and the output
//! artifacts with the files each one packs (`select`).

use super::artifacts::walk;
use super::{Output, Task};
use crate::config::Config;
use crate::store::runtime::RealWork;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// What to pack into an output artifact.
#[derive(Debug, Clone)]
pub(super) struct ArtifactSpec {
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
pub(super) struct Spec {
    pub commands: Vec<String>,
    pub exported: Vec<String>,
    pub env: Vec<(String, String)>,
    pub primary: Option<String>,
    pub outputs: Vec<(Output, ArtifactSpec)>,
}

impl Spec {
    pub fn of(config: &Config, task: &Task) -> Result<Spec, String> {
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

/// The files an output artifact holds: (name in the archive, path).
pub(super) fn select(src: &Path, spec: &ArtifactSpec) -> Result<Vec<(String, PathBuf)>, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
