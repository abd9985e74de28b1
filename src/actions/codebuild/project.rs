//! Which CodeBuild project a CodeBuild action runs, and where its buildspec comes from, as
//! CodeBuild resolves them: the project is the one of `[[codebuild_projects]]`, else a loaded
//! `AWS::CodeBuild::Project` (templates), else the one `--codebuild-endpoint` answers with
//! (`BatchGetProjects`); its buildspec is the project's inline one, else the file it names in
//! the primary source, else `buildspec.yml` at the root of the primary source.

use super::spec::{self, Buildspec};
use crate::actions::artifacts::credentials;
use crate::config::{CodeBuildProject, Config};
use crate::protocol::Scope;
use aws_sdk_codebuild::config::{BehaviorVersion, Region};
use std::path::{Component, Path};

/// Where a project's buildspec is.
#[derive(Debug, Clone)]
pub enum Source {
    /// Already read (the configuration's own form).
    Given(Box<Buildspec>),
    /// Inline buildspec text.
    Inline(String),
    /// A file of the primary source.
    File(String),
}

/// A project environment variable and its type (PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER).
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub value: String,
    pub kind: String,
}

/// A resolved project.
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub source: Source,
    pub variables: Vec<Variable>,
    pub image: Option<String>,
    /// `Source.GitCloneDepth`: the commits of history a clone reference is checked out with
    /// (`None` or 0: all).
    pub git_clone_depth: Option<u32>,
    /// Where the project was found, for the log.
    pub origin: &'static str,
}

/// The default buildspec file, at the root of the primary source.
pub const DEFAULT_FILE: &str = "buildspec.yml";

/// A buildspec field's value: inline YAML/JSON, or a file name.
pub fn source_of(buildspec: &str) -> Source {
    let text = buildspec.trim();
    if text.is_empty() {
        Source::File(DEFAULT_FILE.to_string())
    } else if text.contains('\n') || text.starts_with('{') || text.starts_with("version") {
        Source::Inline(buildspec.to_string())
    } else {
        Source::File(text.to_string())
    }
}

/// The project named by the action: configuration, loaded templates, then the CodeBuild
/// endpoint; `Ok(None)` when none knows it.
pub async fn resolve(
    config: &Config,
    loaded: Option<&CodeBuildProject>,
    scope: &Scope,
    name: &str,
) -> Result<Option<Project>, String> {
    let configured = config
        .codebuild_projects
        .iter()
        .find(|p| p.name == name)
        .cloned()
        .map(|p| (p, "[[codebuild_projects]]"));
    let loaded = || {
        loaded
            .filter(|p| p.name == name)
            .cloned()
            .map(|p| (p, "a loaded template"))
    };
    if let Some((project, origin)) = configured.or_else(loaded) {
        let source = match &project.buildspec {
            Some(text) => source_of(text),
            None if project.phases == Default::default()
                && project.artifacts.is_none()
                && project.secondary_artifacts.is_empty() =>
            {
                Source::File(DEFAULT_FILE.to_string())
            }
            None => Source::Given(Box::new(spec::of_config(&project))),
        };
        // With a buildspec of its own, the entry's `env` is the project's environment.
        let variables = match &source {
            Source::Given(_) => Vec::new(),
            _ => project_variables(&project.env),
        };
        return Ok(Some(Project {
            name: project.name.clone(),
            source,
            variables,
            image: project.image.clone(),
            git_clone_depth: project.git_clone_depth,
            origin,
        }));
    }
    match &config.codebuild_endpoint {
        Some(endpoint) => fetch(config, endpoint, scope, name).await,
        None => Ok(None),
    }
}

/// A project's environment variables in the configuration's form, with their types.
fn project_variables(env: &crate::actions::buildspec::BuildspecEnv) -> Vec<Variable> {
    let typed = |map: &std::collections::BTreeMap<String, String>, kind: &str| {
        map.iter()
            .map(|(name, value)| Variable {
                name: name.clone(),
                value: value.clone(),
                kind: kind.to_string(),
            })
            .collect::<Vec<_>>()
    };
    let mut variables: Vec<Variable> = typed(&env.variables, "PLAINTEXT")
        .into_iter()
        .filter(|v| {
            !env.parameter_store.contains_key(&v.name) && !env.secrets_manager.contains_key(&v.name)
        })
        .collect();
    variables.extend(typed(&env.parameter_store, "PARAMETER_STORE"));
    variables.extend(typed(&env.secrets_manager, "SECRETS_MANAGER"));
    variables
}

/// The client of the CodeBuild endpoint.
fn client(config: &Config, endpoint: &str) -> aws_sdk_codebuild::Client {
    let conf = aws_sdk_codebuild::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(config.s3_region().to_string()))
        .credentials_provider(credentials(config))
        .build();
    aws_sdk_codebuild::Client::from_conf(conf)
}

/// `BatchGetProjects` on the CodeBuild endpoint.
async fn fetch(
    config: &Config,
    endpoint: &str,
    scope: &Scope,
    name: &str,
) -> Result<Option<Project>, String> {
    let answer = client(config, endpoint)
        .batch_get_projects()
        .names(name)
        .send()
        .await
        .map_err(|e| {
            format!(
                "Error calling BatchGetProjects on {endpoint}: {}",
                aws_sdk_codebuild::error::DisplayErrorContext(&e)
            )
        })?;
    let Some(project) = answer.projects().iter().find(|p| p.name() == Some(name)) else {
        return Err(format!(
            "Error calling startBuild: Project cannot be found: arn:aws:codebuild:{}:{}:project/{name}",
            scope.region, scope.account
        ));
    };
    let source = match project.source().and_then(|s| s.buildspec()) {
        Some(text) => source_of(text),
        None => Source::File(DEFAULT_FILE.to_string()),
    };
    let environment = project.environment();
    let variables = environment
        .map(|e| e.environment_variables())
        .unwrap_or_default()
        .iter()
        .map(|v| Variable {
            name: v.name().to_string(),
            value: v.value().to_string(),
            kind: v
                .r#type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "PLAINTEXT".to_string()),
        })
        .collect();
    Ok(Some(Project {
        name: name.to_string(),
        source,
        variables,
        image: environment.map(|e| e.image().to_string()),
        git_clone_depth: project
            .source()
            .and_then(|s| s.git_clone_depth())
            .and_then(|d| u32::try_from(d).ok()),
        origin: "the CodeBuild endpoint",
    }))
}

/// Reads and parses the buildspec of a project (`Source::File` from the primary source).
pub fn load(source: &Source, src: &Path) -> Result<Buildspec, String> {
    match source {
        Source::Given(spec) => Ok((**spec).clone()),
        Source::Inline(text) => spec::parse(text, "the inline buildspec"),
        Source::File(name) => {
            let relative = Path::new(name);
            let inside = relative
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
            if !inside || name.starts_with("arn:") {
                return Err(format!(
                    "YAML_FILE_ERROR: the buildspec '{name}' must be a path inside the primary source"
                ));
            }
            let path = src.join(relative);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "YAML_FILE_ERROR Message: stat {}: {}",
                    path.display(),
                    if e.kind() == std::io::ErrorKind::NotFound {
                        "no such file or directory".to_string()
                    } else {
                        e.to_string()
                    }
                )
            })?;
            spec::parse(&text, name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buildspec_field_is_inline_text_or_a_file_name() {
        assert!(matches!(source_of("ci/build.yml"), Source::File(f) if f == "ci/build.yml"));
        assert!(matches!(
            source_of("version: 0.2\nphases: {}"),
            Source::Inline(_)
        ));
        assert!(matches!(source_of(""), Source::File(f) if f == DEFAULT_FILE));
        let dir = tempfile::tempdir().unwrap();
        let err = load(&Source::File("../etc/passwd".into()), dir.path()).unwrap_err();
        assert!(err.contains("inside the primary source"), "{err}");
        let err = load(&Source::File(DEFAULT_FILE.into()), dir.path()).unwrap_err();
        assert!(err.contains("no such file or directory"), "{err}");
    }
}
