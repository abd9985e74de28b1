//! The buildspec (version 0.2) as CodeBuild documents it: `env` (`shell`, `variables`,
//! `parameter-store`, `secrets-manager`, `exported-variables`), `phases` (`install`,
//! `pre_build`, `build`, `post_build`, each with `commands`, `finally`, `on-failure`,
//! `runtime-versions`), `artifacts` (with `secondary-artifacts`); `reports`, `cache`, `proxy`,
//! `batch` and `run-as` are accepted (the run notes what it does not do with them).

use crate::actions::buildspec::{BuildspecArtifacts, CodeBuildProject};
use serde::Deserialize;
use serde_norway::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Buildspec {
    #[serde(default)]
    pub version: Option<Value>,
    #[serde(default)]
    pub run_as: Option<String>,
    #[serde(default)]
    pub env: Env,
    #[serde(default)]
    pub phases: Phases,
    #[serde(default)]
    pub artifacts: Option<Artifacts>,
    #[serde(default)]
    pub reports: Option<Value>,
    #[serde(default)]
    pub cache: Option<Value>,
    #[serde(default)]
    pub proxy: Option<Value>,
    #[serde(default)]
    pub batch: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Env {
    #[serde(default)]
    pub shell: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub parameter_store: BTreeMap<String, String>,
    #[serde(default)]
    pub secrets_manager: BTreeMap<String, String>,
    #[serde(default)]
    pub exported_variables: Vec<String>,
    #[serde(default)]
    pub git_credential_helper: Option<Value>,
}

/// A YAML scalar read as the text CodeBuild gives the shell.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Bool(bool),
    Number(serde_norway::Number),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Text(s) => f.write_str(s),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Number(n) => write!(f, "{n}"),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Phases {
    #[serde(default)]
    pub install: Option<Phase>,
    #[serde(default)]
    pub pre_build: Option<Phase>,
    #[serde(default)]
    pub build: Option<Phase>,
    #[serde(default)]
    pub post_build: Option<Phase>,
}

impl Phases {
    /// The phases in the order they run, with their names as CodeBuild logs them.
    pub fn in_order(&self) -> [(&'static str, Option<&Phase>); 4] {
        [
            ("INSTALL", self.install.as_ref()),
            ("PRE_BUILD", self.pre_build.as_ref()),
            ("BUILD", self.build.as_ref()),
            ("POST_BUILD", self.post_build.as_ref()),
        ]
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Phase {
    #[serde(default)]
    pub run_as: Option<String>,
    #[serde(default)]
    pub on_failure: Option<OnFailure>,
    #[serde(default)]
    pub runtime_versions: Option<Value>,
    #[serde(default)]
    pub commands: Vec<String>,
    #[serde(default)]
    pub finally: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum OnFailure {
    #[serde(rename = "ABORT")]
    Abort,
    #[serde(rename = "CONTINUE")]
    Continue,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Artifacts {
    #[serde(default, deserialize_with = "one_or_many")]
    pub files: Vec<String>,
    #[serde(default)]
    pub name: Option<Scalar>,
    #[serde(default)]
    pub discard_paths: Option<YesNo>,
    #[serde(default)]
    pub base_directory: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub exclude_paths: Vec<String>,
    #[serde(default)]
    pub enable_symlinks: Option<YesNo>,
    #[serde(default)]
    pub s3_prefix: Option<String>,
    #[serde(default)]
    pub secondary_artifacts: BTreeMap<String, Artifacts>,
}

/// `yes`/`no` (or a YAML boolean).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum YesNo {
    Bool(bool),
    Word(Word),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Word {
    Yes,
    No,
}

impl YesNo {
    pub fn is_yes(self) -> bool {
        matches!(self, YesNo::Bool(true) | YesNo::Word(Word::Yes))
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
        Nothing(()),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
        OneOrMany::Nothing(()) => Vec::new(),
    })
}

/// Parses a buildspec; the error names the file, the line and the reason, as CodeBuild's
/// `YAML_FILE_ERROR` does.
pub fn parse(text: &str, file: &str) -> Result<Buildspec, String> {
    let spec: Buildspec = serde_norway::from_str(text).map_err(|e| {
        let line = e
            .location()
            .map(|l| format!(" at line {}", l.line()))
            .unwrap_or_default();
        format!("YAML_FILE_ERROR: {file} is not a valid buildspec{line}: {e}")
    })?;
    let version = match &spec.version {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        None => {
            return Err(format!(
                "YAML_FILE_ERROR: {file}: missing buildspec version"
            ))
        }
        Some(other) => format!("{other:?}"),
    };
    if version != "0.2" && version != "0.1" {
        return Err(format!(
            "YAML_FILE_ERROR: {file}: invalid buildspec version '{version}' (0.1 and 0.2 are supported)"
        ));
    }
    if let Some(bad) = spec
        .env
        .exported_variables
        .iter()
        .find(|n| !is_variable_name(n))
    {
        return Err(format!(
            "YAML_FILE_ERROR: {file}: exported variable '{bad}' is not a valid environment variable name"
        ));
    }
    Ok(spec)
}

pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The buildspec of a `[[codebuild_projects]]` entry written in the configuration's own form
/// (phases as command lists).
pub fn of_config(project: &CodeBuildProject) -> Buildspec {
    let phase = |commands: &Vec<String>| {
        (!commands.is_empty()).then(|| Phase {
            commands: commands.clone(),
            ..Phase::default()
        })
    };
    let artifacts = |a: &BuildspecArtifacts| Artifacts {
        files: a.files.clone(),
        base_directory: a.base_directory.clone(),
        discard_paths: Some(YesNo::Bool(a.discard_paths)),
        ..Artifacts::default()
    };
    let mut primary = project.artifacts.as_ref().map(artifacts);
    if !project.secondary_artifacts.is_empty() {
        primary
            .get_or_insert_with(Artifacts::default)
            .secondary_artifacts = project
            .secondary_artifacts
            .iter()
            .map(|(k, v)| (k.clone(), artifacts(v)))
            .collect();
    }
    Buildspec {
        version: Some(Value::String("0.2".into())),
        env: Env {
            variables: project
                .env
                .variables
                .iter()
                .map(|(k, v)| (k.clone(), Scalar::Text(v.clone())))
                .collect(),
            parameter_store: project.env.parameter_store.clone(),
            secrets_manager: project.env.secrets_manager.clone(),
            exported_variables: project.env.exported_variables.clone(),
            ..Env::default()
        },
        phases: Phases {
            install: phase(&project.phases.install),
            pre_build: phase(&project.phases.pre_build),
            build: phase(&project.phases.build),
            post_build: phase(&project.phases.post_build),
        },
        artifacts: primary,
        ..Buildspec::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_buildspec_parses() {
        let spec = parse(
            r#"
version: 0.2
env:
  shell: bash
  variables:
    STAGE: test
    COUNT: 3
  parameter-store:
    TOKEN: /app/token
  exported-variables: [VERSION]
phases:
  install:
    runtime-versions:
      nodejs: 20
    commands:
      - echo install
  build:
    on-failure: CONTINUE
    commands:
      - make
    finally:
      - echo done
artifacts:
  files: '**/*'
  discard-paths: yes
  exclude-paths: ['*.tmp']
  secondary-artifacts:
    Docs:
      files:
        - docs/**/*
reports:
  r: {files: ['x.xml']}
cache:
  paths: ['/root/.m2/**/*']
"#,
            "buildspec.yml",
        )
        .unwrap();
        assert_eq!(spec.env.variables["COUNT"].to_string(), "3");
        assert_eq!(spec.env.parameter_store["TOKEN"], "/app/token");
        let build = spec.phases.build.unwrap();
        assert_eq!(build.on_failure, Some(OnFailure::Continue));
        assert_eq!(build.finally, ["echo done"]);
        let artifacts = spec.artifacts.unwrap();
        assert_eq!(artifacts.files, ["**/*"]);
        assert!(artifacts.discard_paths.unwrap().is_yes());
        assert_eq!(artifacts.secondary_artifacts["Docs"].files, ["docs/**/*"]);
    }

    #[test]
    fn a_broken_buildspec_names_the_line_and_the_reason() {
        let err = parse(
            "version: 0.2\nphases:\n  build:\n    commands: make\n",
            "buildspec.yml",
        )
        .unwrap_err();
        assert!(err.contains("line 4"), "{err}");
        assert!(err.contains("phases.build.commands"), "{err}");
        let err = parse("version: 0.2\nenv:\n  variables: {A: [\n", "buildspec.yml").unwrap_err();
        assert!(err.starts_with("YAML_FILE_ERROR: buildspec.yml"), "{err}");
        assert!(err.contains(" at line "), "{err}");
        let err = parse("version: 0.3\n", "buildspec.yml").unwrap_err();
        assert!(err.contains("invalid buildspec version '0.3'"), "{err}");
        let err = parse(
            "version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n",
            "b.yml",
        )
        .unwrap_err();
        assert!(err.contains("line 4"), "{err}");
    }
}
