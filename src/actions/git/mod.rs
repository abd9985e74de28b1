//! Local git repositories as the sources of pipelines (`[[repositories]]`, `--repository
//! ID=PATH`): which source actions a repository stands for (`repository_for`): a
//! CodeStarSourceConnection action whose `FullRepositoryId` is the repository's `id` (and whose
//! `ConnectionArn` is its `connection_arn`, when one is given), a CodeCommit action whose
//! `RepositoryName` is the `id`, a GitHub (version 1) action whose `Owner/Repo` is the `id`;
//! such an action runs for real (`actions::git_source`), the others stay simulated. `repo` is
//! what is read from a repository with libgit2 (commits, trees as zip files, the files a push
//! changed, refs, clones); `remote` mirrors the repositories mapped by URL, fetching `https://`
//! ones through `https` (rustls). The watcher and the
//! executions a push starts are `sources`.

pub mod https;
pub mod remote;
pub mod repo;

use crate::config::Config;
use crate::model::{ActionCategory, ActionOwner, ActionTypeId, Map};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A repository that source actions map to.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Repository {
    /// What the source action names: `owner/repo` (CodeStarSourceConnection `FullRepositoryId`,
    /// GitHub version 1 `Owner/Repo`) or a CodeCommit `RepositoryName`.
    pub id: String,
    /// A local repository (bare or not), or a URL (`file://`, `git://`, `http(s)://`) that is
    /// mirrored (`remote`).
    pub path: PathBuf,
    /// Only CodeStarSourceConnection actions of this connection map to the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_arn: Option<String>,
    /// The provider a connection stands for, in revision summaries and messages
    /// (`GitHub`, `GitHubEnterpriseServer`, `GitLab`, `Bitbucket`) [default: GitHub].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_type: Option<String>,
}

impl Repository {
    pub fn provider_type(&self) -> &str {
        self.provider_type.as_deref().unwrap_or("GitHub")
    }

    /// The URL the repository is fetched from, when its `path` is one.
    pub fn url(&self) -> Option<String> {
        remote::url_of(&self.path)
    }

    /// Where the repository is read: its path, or the mirror of its URL.
    pub fn git_dir(&self, config: &Config) -> PathBuf {
        match self.url() {
            Some(url) => remote::mirror_dir(config.data_dir.as_deref(), &self.id, &url),
            None => self.path.clone(),
        }
    }

    /// Its path or URL (password hidden), for messages and logs.
    pub fn location(&self) -> String {
        match self.url() {
            Some(url) => remote::redact(&url),
            None => self.path.display().to_string(),
        }
    }

    /// Brings the mirror of a URL (`git_dir`) up to date; nothing for a local path. Blocking.
    pub fn fetch(&self, git_dir: &Path) -> Result<(), String> {
        match self.url() {
            Some(url) => remote::fetch(&url, git_dir),
            None => Ok(()),
        }
    }
}

/// `--repository ID=PATH`.
pub fn parse_flag(text: &str) -> Result<Repository, String> {
    match text.split_once('=') {
        Some((id, path)) if !id.is_empty() && !path.is_empty() => Ok(Repository {
            id: id.to_string(),
            path: PathBuf::from(path),
            connection_arn: None,
            provider_type: None,
        }),
        _ => Err(format!(
            "expected ID=PATH (owner/repo=/path/to/repo), got '{text}'"
        )),
    }
}

/// Checks every repository at startup: its id is unique and its path is a git repository or a
/// URL this build can fetch (whether it answers is the watcher's concern: a remote may come up
/// later).
pub fn check(repositories: &[Repository]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for r in repositories {
        if r.id.trim().is_empty() {
            return Err("a repository needs an id (owner/repo)".into());
        }
        if !seen.insert((r.id.to_ascii_lowercase(), r.connection_arn.clone())) {
            return Err(format!("repository '{}' is mapped twice", r.id));
        }
        match r.url() {
            Some(url) => remote::check_url(&url),
            None => repo::open(&r.path).map(drop),
        }
        .map_err(|e| format!("repository '{}': {e}", r.id))?;
    }
    Ok(())
}

/// The repository a source action stands for, when one is mapped.
pub fn repository_for<'a>(
    config: &'a Config,
    type_id: &ActionTypeId,
    configuration: &Map<String>,
) -> Option<&'a Repository> {
    if type_id.category != ActionCategory::Source {
        return None;
    }
    let value = |key: &str| configuration.get(key).map(|v| v.trim());
    config
        .repositories
        .iter()
        .find(|r| match (type_id.owner, type_id.provider.as_str()) {
            (ActionOwner::Aws, "CodeStarSourceConnection") => {
                value("FullRepositoryId").is_some_and(|id| id.eq_ignore_ascii_case(&r.id))
                    && r.connection_arn
                        .as_deref()
                        .is_none_or(|arn| value("ConnectionArn") == Some(arn))
            }
            (ActionOwner::Aws, "CodeCommit") => value("RepositoryName") == Some(r.id.as_str()),
            (ActionOwner::ThirdParty, "GitHub") => match (value("Owner"), value("Repo")) {
                (Some(owner), Some(name)) => format!("{owner}/{name}").eq_ignore_ascii_case(&r.id),
                _ => false,
            },
            _ => false,
        })
}

/// The branch a git source action follows.
pub fn branch_of(type_id: &ActionTypeId, configuration: &Map<String>) -> String {
    let key = if type_id.provider == "GitHub" {
        "Branch"
    } else {
        "BranchName"
    };
    configuration.get(key).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_is_id_equals_path() {
        let r = parse_flag("octo/app=/tmp/a=b").unwrap();
        assert_eq!(r.id, "octo/app");
        assert_eq!(r.path, PathBuf::from("/tmp/a=b"));
        let r = parse_flag("octo/app=/src/app").unwrap();
        assert_eq!(
            (r.id.as_str(), r.path.to_str()),
            ("octo/app", Some("/src/app"))
        );
        assert!(parse_flag("octo/app").is_err());
        assert!(parse_flag("=/src").is_err());
    }
}
