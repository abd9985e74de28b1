//! V2 pipeline triggers (`triggers[].gitConfiguration`) evaluated against a git event, as
//! CodePipeline does for CodeStarSourceConnection sources:
//!
//! - a trigger applies when its source action is a CodeStarSourceConnection action whose
//!   `FullRepositoryId` is the event's repository (and whose `ConnectionArn` is the event's, when
//!   the event names one);
//! - push filters: `tags` match a tag push, `branches` a branch push, `filePaths` the changed
//!   files; pull-request filters: `events` (all events when absent), `branches` (matched against
//!   the pull request's destination branch) and `filePaths`;
//! - a criterion (branches, tags or file paths) matches a value when no `excludes` pattern
//!   matches it and, if `includes` are given, one of them does; excludes win. File paths match
//!   when some changed file does. A filter without a criterion of a kind does not constrain on
//!   that kind; every criterion a filter has must match; any matching filter fires the trigger.
//!
//! Patterns are globs as AWS documents them: `*` stays within a path segment, `**` crosses
//! segments, `?`, `[...]`, `{a,b}` and `\` escapes work as usual.

use crate::model::*;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

/// A git event delivered to `POST /_codepipeline-local/git-events`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitEvent {
    /// Only actions using this connection are considered, when given.
    #[serde(default)]
    pub connection_arn: Option<String>,
    /// `owner/repo`, compared with the source action's `FullRepositoryId` (case-insensitively).
    pub repository: String,
    /// A push to a branch (`main` or `refs/heads/main`).
    #[serde(default)]
    pub branch: Option<String>,
    /// A push of a tag (`v1.0` or `refs/tags/v1.0`).
    #[serde(default)]
    pub tag: Option<String>,
    /// The commit the execution runs.
    pub commit: String,
    /// Its message: the source revision's summary.
    #[serde(default)]
    pub message: Option<String>,
    /// Paths changed by the push or the pull request.
    #[serde(default)]
    pub files: Vec<String>,
    /// Present for a pull-request event (then `branch` and `tag` are ignored).
    #[serde(default)]
    pub pull_request: Option<PullRequestEvent>,
    /// `refs/heads/B` or `refs/tags/T` of a repository mapped with `[[repositories]]`: the
    /// branch or tag, the message and the changed files are read from the repository
    /// (`webhooks::git_ref::complete`).
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PullRequestEvent {
    pub event: GitPullRequestEventType,
    #[serde(default)]
    pub source_branch: Option<String>,
    pub destination_branch: String,
    #[serde(default)]
    pub id: Option<String>,
}

impl GitEvent {
    /// The branch whose head the event's commit is: the pushed branch, or a pull request's
    /// source branch.
    pub fn source_branch(&self) -> Option<String> {
        self.branch
            .as_deref()
            .map(|b| b.strip_prefix("refs/heads/").unwrap_or(b).to_string())
            .or_else(|| {
                self.pull_request
                    .as_ref()
                    .and_then(|p| p.source_branch.clone())
            })
    }

    /// Checks the event's shape; the error is for the caller.
    pub fn check(&self) -> Result<(), String> {
        if self.repository.trim().is_empty() {
            return Err("repository must name the repository (owner/repo)".into());
        }
        if self.commit.trim().is_empty() {
            return Err("commit must name the commit to run".into());
        }
        if self.pull_request.is_none() {
            match (&self.branch, &self.tag) {
                (Some(_), Some(_)) => return Err("a push names a branch or a tag, not both".into()),
                (None, None) => {
                    return Err("a push event needs a branch or a tag (or give pullRequest)".into())
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub fn branch_name(&self) -> Option<&str> {
        self.branch
            .as_deref()
            .map(|b| b.strip_prefix("refs/heads/").unwrap_or(b))
    }

    pub fn tag_name(&self) -> Option<&str> {
        self.tag
            .as_deref()
            .map(|t| t.strip_prefix("refs/tags/").unwrap_or(t))
    }

    /// One line saying what happened (the response and the logs).
    pub fn describe(&self) -> String {
        match (&self.pull_request, self.branch_name(), self.tag_name()) {
            (Some(pr), _, _) => format!(
                "pull request {}{} {} -> {} of {} at {}",
                pr.event.as_str(),
                pr.id
                    .as_deref()
                    .map(|id| format!(" #{id}"))
                    .unwrap_or_default(),
                pr.source_branch.as_deref().unwrap_or("?"),
                strip_heads(&pr.destination_branch),
                self.repository,
                self.commit
            ),
            (None, Some(branch), _) => {
                format!(
                    "push to branch {branch} of {} at {}",
                    self.repository, self.commit
                )
            }
            (None, None, Some(tag)) => format!(
                "push of tag {tag} of {} at {}",
                self.repository, self.commit
            ),
            (None, None, None) => format!("push to {} at {}", self.repository, self.commit),
        }
    }
}

fn strip_heads(branch: &str) -> &str {
    branch.strip_prefix("refs/heads/").unwrap_or(branch)
}

/// The source actions of a pipeline whose triggers fire for the event.
pub fn matching_source_actions(pipeline: &PipelineDeclaration, event: &GitEvent) -> Vec<String> {
    let mut actions = Vec::new();
    for (_, action, _) in firing_triggers(pipeline, event) {
        if !actions.contains(&action) {
            actions.push(action);
        }
    }
    actions
}

/// The triggers of a pipeline that fire for the event: (index of the trigger, its source
/// action, the index of the filter that matched).
pub fn firing_triggers(
    pipeline: &PipelineDeclaration,
    event: &GitEvent,
) -> Vec<(usize, String, usize)> {
    let Some(source_stage) = pipeline.stages.first() else {
        return Vec::new();
    };
    let mut firing = Vec::new();
    for (index, trigger) in pipeline.triggers.iter().flat_map(|t| t.iter()).enumerate() {
        let git = &trigger.git_configuration;
        let Some(action) = source_stage
            .actions
            .iter()
            .find(|a| a.name == git.source_action_name)
        else {
            continue;
        };
        if action.action_type_id.provider != "CodeStarSourceConnection"
            || !same_repository(action, event)
        {
            continue;
        }
        let filter = match &event.pull_request {
            Some(pr) => git
                .pull_request
                .iter()
                .flatten()
                .position(|f| pull_request_filter_matches(f, pr, &event.files)),
            None => git
                .push
                .iter()
                .flatten()
                .position(|f| push_filter_matches(f, event)),
        };
        if let Some(filter) = filter {
            firing.push((index, action.name.clone(), filter));
        }
    }
    firing
}

/// A push filter in a few words, for logs: `branches main; filePaths src/**`.
pub fn describe_push_filter(filter: &GitPushFilter) -> String {
    let part = |name: &str, includes: &Option<Vec<String>>, excludes: &Option<Vec<String>>| {
        let mut text = name.to_string();
        if let Some(i) = includes.as_ref().filter(|i| !i.is_empty()) {
            text.push_str(&format!(" {}", i.join(",")));
        }
        if let Some(e) = excludes.as_ref().filter(|e| !e.is_empty()) {
            text.push_str(&format!(" excluding {}", e.join(",")));
        }
        text
    };
    let mut parts = Vec::new();
    if let Some(b) = &filter.branches {
        parts.push(part("branches", &b.includes, &b.excludes));
    }
    if let Some(t) = &filter.tags {
        parts.push(part("tags", &t.includes, &t.excludes));
    }
    if let Some(f) = &filter.file_paths {
        parts.push(part("filePaths", &f.includes, &f.excludes));
    }
    if parts.is_empty() {
        "any push".to_string()
    } else {
        parts.join("; ")
    }
}

/// The `ConnectionArn` of a source action of the pipeline.
pub fn connection_of(pipeline: &PipelineDeclaration, action: &str) -> Option<String> {
    pipeline
        .stages
        .first()?
        .actions
        .iter()
        .find(|a| a.name == action)?
        .configuration
        .as_ref()?
        .get("ConnectionArn")
        .cloned()
}

fn same_repository(action: &ActionDeclaration, event: &GitEvent) -> bool {
    let configuration = action.configuration.as_ref();
    let value = |key: &str| configuration.and_then(|c| c.get(key)).map(String::as_str);
    let repository_matches =
        value("FullRepositoryId").is_some_and(|r| r.eq_ignore_ascii_case(event.repository.trim()));
    let connection_matches = match &event.connection_arn {
        Some(arn) => value("ConnectionArn") == Some(arn.as_str()),
        None => true,
    };
    repository_matches && connection_matches
}

pub fn push_filter_matches(filter: &GitPushFilter, event: &GitEvent) -> bool {
    if let Some(tags) = &filter.tags {
        let Some(tag) = event.tag_name() else {
            return false;
        };
        if !criterion_matches(tags.includes.as_deref(), tags.excludes.as_deref(), tag) {
            return false;
        }
    }
    if let Some(branches) = &filter.branches {
        let Some(branch) = event.branch_name() else {
            return false;
        };
        if !criterion_matches(
            branches.includes.as_deref(),
            branches.excludes.as_deref(),
            branch,
        ) {
            return false;
        }
    }
    match &filter.file_paths {
        Some(paths) => files_match(paths, &event.files),
        None => true,
    }
}

pub fn pull_request_filter_matches(
    filter: &GitPullRequestFilter,
    pr: &PullRequestEvent,
    files: &[String],
) -> bool {
    if let Some(events) = &filter.events {
        if !events.is_empty() && !events.contains(&pr.event) {
            return false;
        }
    }
    if let Some(branches) = &filter.branches {
        let destination = strip_heads(&pr.destination_branch);
        if !criterion_matches(
            branches.includes.as_deref(),
            branches.excludes.as_deref(),
            destination,
        ) {
            return false;
        }
    }
    match &filter.file_paths {
        Some(paths) => files_match(paths, files),
        None => true,
    }
}

fn files_match(criterion: &GitFilePathFilterCriteria, files: &[String]) -> bool {
    let includes = criterion.includes.as_deref();
    let excludes = criterion.excludes.as_deref();
    let (Some(includes), Some(excludes)) = (
        globs(includes.unwrap_or_default()),
        globs(excludes.unwrap_or_default()),
    ) else {
        return false;
    };
    let has_includes = criterion.includes.as_ref().is_some_and(|i| !i.is_empty());
    files.iter().any(|file| {
        let file = file.trim_start_matches('/');
        !excludes.is_match(file) && (!has_includes || includes.is_match(file))
    })
}

/// Excludes win; with includes, one must match; without, anything not excluded matches.
pub fn criterion_matches(
    includes: Option<&[String]>,
    excludes: Option<&[String]>,
    value: &str,
) -> bool {
    let (Some(include_set), Some(exclude_set)) = (
        globs(includes.unwrap_or_default()),
        globs(excludes.unwrap_or_default()),
    ) else {
        return false;
    };
    if exclude_set.is_match(value) {
        return false;
    }
    includes.is_none_or(<[String]>::is_empty) || include_set.is_match(value)
}

/// The patterns as one set; None when one does not parse (then the criterion matches nothing).
fn globs(patterns: &[String]) -> Option<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        match GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
        {
            Ok(glob) => {
                builder.add(glob);
            }
            Err(e) => {
                tracing::warn!(pattern, error = %e, "trigger filter pattern is not a valid glob");
                return None;
            }
        }
    }
    builder.build().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    fn push(branch: Option<&str>, tag: Option<&str>, files: &[&str]) -> GitEvent {
        GitEvent {
            connection_arn: None,
            repository: "octo/app".into(),
            branch: branch.map(str::to_string),
            tag: tag.map(str::to_string),
            commit: "c0ffee".into(),
            message: None,
            files: files.iter().map(|s| s.to_string()).collect(),
            pull_request: None,
            git_ref: None,
        }
    }

    #[test]
    fn globs_follow_aws_rules() {
        let matches = |pattern: &str, value: &str| {
            criterion_matches(list(&[pattern]).as_deref(), None, value)
        };
        assert!(matches("main", "main"));
        assert!(!matches("main", "mainline"));
        assert!(matches("feature/**", "feature/a/b"));
        assert!(matches("feature/*", "feature/a"));
        assert!(!matches("feature/*", "feature/a/b"));
        assert!(matches("release-v{1,2}", "release-v2"));
        assert!(matches("*.java", "A.java"));
        assert!(!matches("*.java", "src/A.java"));
        assert!(matches("**/*.java", "src/A.java"));
        // Excludes win over includes; excludes alone exclude only what they name.
        assert!(!criterion_matches(
            list(&["**"]).as_deref(),
            list(&["main"]).as_deref(),
            "main"
        ));
        assert!(criterion_matches(None, list(&["main"]).as_deref(), "dev"));
        assert!(!criterion_matches(list(&["[bad"]).as_deref(), None, "x"));
    }

    #[test]
    fn push_filters_check_branches_tags_and_files() {
        let filter = GitPushFilter {
            branches: Some(GitBranchFilterCriteria {
                includes: list(&["main", "release/**"]),
                excludes: list(&["release/old"]),
            }),
            file_paths: Some(GitFilePathFilterCriteria {
                includes: list(&["src/**"]),
                excludes: list(&["**/*.md"]),
            }),
            tags: None,
        };
        assert!(push_filter_matches(
            &filter,
            &push(Some("main"), None, &["src/a.rs"])
        ));
        assert!(push_filter_matches(
            &filter,
            &push(
                Some("refs/heads/release/1"),
                None,
                &["README.md", "src/a.rs"]
            )
        ));
        assert!(!push_filter_matches(
            &filter,
            &push(Some("release/old"), None, &["src/a.rs"])
        ));
        assert!(!push_filter_matches(
            &filter,
            &push(Some("dev"), None, &["src/a.rs"])
        ));
        assert!(!push_filter_matches(
            &filter,
            &push(Some("main"), None, &["src/notes.md"])
        ));
        assert!(!push_filter_matches(
            &filter,
            &push(Some("main"), None, &["docs/a.rs"])
        ));
        assert!(!push_filter_matches(
            &filter,
            &push(Some("main"), None, &[])
        ));
        assert!(!push_filter_matches(
            &filter,
            &push(None, Some("v1"), &["src/a.rs"])
        ));

        let tags = GitPushFilter {
            tags: Some(GitTagFilterCriteria {
                includes: list(&["v*"]),
                excludes: list(&["v0*"]),
            }),
            ..GitPushFilter::default()
        };
        assert!(push_filter_matches(
            &tags,
            &push(None, Some("refs/tags/v1.0"), &[])
        ));
        assert!(!push_filter_matches(&tags, &push(None, Some("v0.9"), &[])));
        assert!(!push_filter_matches(&tags, &push(Some("main"), None, &[])));
        assert!(push_filter_matches(
            &GitPushFilter::default(),
            &push(Some("any"), None, &[])
        ));
    }

    #[test]
    fn pull_request_filters_check_events_and_destination_branch() {
        let filter = GitPullRequestFilter {
            events: Some(vec![
                GitPullRequestEventType::Open,
                GitPullRequestEventType::Updated,
            ]),
            branches: Some(GitBranchFilterCriteria {
                includes: list(&["main"]),
                excludes: None,
            }),
            file_paths: None,
        };
        let pr = |event, destination: &str| PullRequestEvent {
            event,
            source_branch: Some("feature/x".into()),
            destination_branch: destination.into(),
            id: None,
        };
        assert!(pull_request_filter_matches(
            &filter,
            &pr(GitPullRequestEventType::Open, "main"),
            &[]
        ));
        assert!(!pull_request_filter_matches(
            &filter,
            &pr(GitPullRequestEventType::Closed, "main"),
            &[]
        ));
        assert!(!pull_request_filter_matches(
            &filter,
            &pr(GitPullRequestEventType::Open, "dev"),
            &[]
        ));
        let any_event = GitPullRequestFilter::default();
        assert!(pull_request_filter_matches(
            &any_event,
            &pr(GitPullRequestEventType::Closed, "dev"),
            &[]
        ));
    }
}
