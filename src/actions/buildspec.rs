//! What the local executor runs: the CodeBuild projects of `[[codebuild_projects]]` (the
//! configuration's form of a buildspec, or a `buildspec` as CodeBuild takes it; see
//! `codebuild`), and the `Spec` of a Commands action: commands, exported variables,
//! environment, primary input, and the output artifacts with the files each one packs
//! (`select`, also used by CodeBuild).

use super::artifacts::walk;
use super::{Output, Task};
use crate::config::Config;
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
    /// A buildspec as CodeBuild takes it: inline YAML, or the path of a file in the primary
    /// source (used instead of `env`, `phases` and `artifacts` above when given).
    #[serde(default)]
    pub buildspec: Option<String>,
    /// The project's image (`--executor container`).
    #[serde(default)]
    pub image: Option<String>,
    /// `Source.GitCloneDepth`: the commits of history a clone reference (`CODEBUILD_CLONE_REF`)
    /// is checked out with (absent or 0: all).
    #[serde(
        default,
        alias = "git-clone-depth",
        skip_serializing_if = "Option::is_none"
    )]
    pub git_clone_depth: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildspecEnv {
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default, alias = "exported-variables")]
    pub exported_variables: Vec<String>,
    /// Variable -> SSM parameter name (`--ssm-endpoint`).
    #[serde(default, alias = "parameter-store")]
    pub parameter_store: BTreeMap<String, String>,
    /// Variable -> `secret-id:json-key:version-stage:version-id` (`--secretsmanager-endpoint`).
    #[serde(default, alias = "secrets-manager")]
    pub secrets_manager: BTreeMap<String, String>,
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
pub(crate) struct ArtifactSpec {
    pub files: Vec<String>,
    pub base_directory: Option<String>,
    pub discard_paths: bool,
    /// Globs of files left out (relative to the base directory).
    pub exclude: Vec<String>,
}

impl Default for ArtifactSpec {
    fn default() -> Self {
        ArtifactSpec {
            files: vec!["**/*".to_string()],
            base_directory: None,
            discard_paths: false,
            exclude: Vec::new(),
        }
    }
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
    pub fn of(task: &Task) -> Result<Spec, String> {
        let first_input = task.inputs.first().map(|i| i.name.clone());
        let spec = Spec {
            commands: task.commands.clone(),
            exported: task
                .action
                .output_variables
                .as_deref()
                .cloned()
                .unwrap_or_default(),
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
pub(crate) fn select(src: &Path, spec: &ArtifactSpec) -> Result<Vec<(String, PathBuf)>, String> {
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
    let mut excluded = globset::GlobSetBuilder::new();
    for pattern in &spec.exclude {
        let pattern = pattern.trim_start_matches("./");
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("invalid exclude pattern '{pattern}': {e}"))?;
        excluded.add(glob);
    }
    let excluded = excluded.build().map_err(|e| e.to_string())?;
    let files: Vec<(String, PathBuf)> = walk(&root)
        .into_iter()
        .filter(|(name, _)| set.is_match(name) && !excluded.is_match(name))
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
            exclude: Vec::new(),
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
