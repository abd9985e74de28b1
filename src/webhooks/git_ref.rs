//! A git event of the `repository` + `ref` + `commit` form, completed from the repository
//! mapped with `[[repositories]]` (the branch or tag, the commit's message, the files it
//! changed); the repository watcher (`sources`) builds its pushes the same way.

use super::git::GitEvent;
use crate::actions::git::{repo, Repository};
use crate::config::Config;

/// The push as a git event: the branch or tag, the commit, its message and the changed files.
pub fn event_of(
    git: &git2::Repository,
    repository: &Repository,
    reference: &str,
    old: Option<git2::Oid>,
    new: git2::Oid,
) -> Option<GitEvent> {
    let commit = git.find_commit(new).ok()?;
    let (branch, tag) = if let Some(branch) = reference.strip_prefix("refs/heads/") {
        (Some(branch.to_string()), None)
    } else {
        (
            None,
            Some(reference.strip_prefix("refs/tags/")?.to_string()),
        )
    };
    Some(GitEvent {
        connection_arn: repository.connection_arn.clone(),
        repository: repository.id.clone(),
        branch,
        tag,
        commit: new.to_string(),
        message: Some(repo::commit_info(&commit).message),
        files: repo::changed_files(git, old, new),
        pull_request: None,
        git_ref: Some(reference.to_string()),
    })
}

/// Completes a git event of the `repository` + `ref` + `commit` form from the mapped
/// repository: the branch or tag, the commit's message and the files it changed (a pull
/// request's: the files its commits changed since the merge base with its destination branch).
pub async fn complete(config: &Config, event: GitEvent) -> Result<GitEvent, String> {
    let reference = event.git_ref.clone().unwrap_or_default();
    if !reference.starts_with("refs/heads/") && !reference.starts_with("refs/tags/") {
        return Err(format!(
            "ref must be refs/heads/BRANCH or refs/tags/TAG, got '{reference}'"
        ));
    }
    let repository = config
        .repositories
        .iter()
        .find(|r| {
            r.id.eq_ignore_ascii_case(event.repository.trim())
                && (event.connection_arn.is_none() || r.connection_arn == event.connection_arn)
        })
        .cloned()
        .ok_or_else(|| {
            format!(
                "repository '{}' is not mapped to a local repository (--repository ID=PATH)",
                event.repository
            )
        })?;
    let git_dir = repository.git_dir(config);
    let completed = tokio::task::spawn_blocking(move || {
        // A repository mapped by URL: its mirror first learns the commit.
        repository.fetch(&git_dir)?;
        let git = repo::open(&git_dir)?;
        let commit = git
            .revparse_single(&event.commit)
            .and_then(|o| o.peel_to_commit())
            .map_err(|_| {
                format!(
                    "commit '{}' is not in repository '{}'",
                    event.commit, repository.id
                )
            })?;
        // A pull request's files: what its commits changed since the destination branch.
        let since = event.pull_request.as_ref().and_then(|pr| {
            let destination = pr.destination_branch.trim_start_matches("refs/heads/");
            let head = git
                .find_branch(destination, git2::BranchType::Local)
                .ok()?
                .get()
                .peel_to_commit()
                .ok()?;
            git.merge_base(head.id(), commit.id()).ok()
        });
        let mut completed = event_of(&git, &repository, &reference, since, commit.id())
            .ok_or_else(|| format!("cannot read commit '{}'", event.commit))?;
        completed.connection_arn = event.connection_arn.or(completed.connection_arn);
        completed.pull_request = event.pull_request;
        Ok::<_, String>(completed)
    })
    .await;
    completed.map_err(|e| format!("reading the repository failed: {e}"))?
}
