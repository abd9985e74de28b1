//! Git source actions for real, on a repository mapped with `[[repositories]]` (`sources`):
//! CodeStarSourceConnection, CodeCommit and GitHub (version 1).
//!
//! A repository mapped by URL is fetched into its mirror first (`git::remote`); a fetch that
//! fails fails the action (a stale mirror is not built silently). The action resolves its revision (the commit the execution was started for: a
//! sourceRevisions override, PutActionRevision, a trigger; else the head of its branch) and
//! writes its output artifact to the artifact store: `CODE_ZIP` (the default), a zip of the
//! tree at the commit; `CODEBUILD_CLONE_REF`, a clone reference (`CloneRef`) that
//! `artifacts::unpack_input` turns into a clone of the repository at the commit. It reports
//! the provider's output variables, the commit as its revision (summary: the commit message,
//! as JSON with the provider type for connections; URL: the provider's commit page) and as its
//! external execution. A missing branch or commit fails it with the provider's wording.

use super::artifacts::ArtifactStore;
use super::git::repo::{self, CommitInfo, Missing};
use super::git::Repository;
use super::Task;
use crate::model::SourceRevisionType;
use crate::store::runtime::{GivenRevision, Outcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest clone reference read (a zip artifact is never taken for one).
const MAX_CLONE_REF_BYTES: u64 = 64 * 1024;

/// What a `CODEBUILD_CLONE_REF` artifact holds: where to clone from and what to check out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloneRef {
    /// The repository's id (`owner/repo`).
    pub repository_id: String,
    /// Its local path (the mirror of a repository mapped by URL).
    pub path: PathBuf,
    pub commit: String,
    pub branch: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloneRefFile {
    codepipeline_local_clone_ref: CloneRef,
}

impl CloneRef {
    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "codepipelineLocalCloneRef": self }))
            .unwrap_or_default()
    }

    /// The clone reference a downloaded artifact is, if it is one.
    pub fn read(path: &Path) -> Option<CloneRef> {
        if std::fs::metadata(path).ok()?.len() > MAX_CLONE_REF_BYTES {
            return None;
        }
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice::<CloneRefFile>(&bytes)
            .ok()
            .map(|f| f.codepipeline_local_clone_ref)
    }

    /// Clones the repository into `dir` at the commit, with `depth` commits of history (the
    /// CodeBuild project's `GitCloneDepth`; `None` or 0: all of it); only a mapped repository
    /// (`allowed`) may be named.
    pub async fn check_out(
        self,
        allowed: &[PathBuf],
        artifact: &str,
        dir: &Path,
        depth: Option<u32>,
    ) -> Result<super::unpack::Unpacked, String> {
        let canonical = |p: &Path| std::fs::canonicalize(p).ok();
        let target = canonical(&self.path);
        if target.is_none() || !allowed.iter().any(|a| canonical(a) == target) {
            return Err(format!(
                "Input artifact '{artifact}' is a clone reference to {}, which is not a mapped repository",
                self.path.display()
            ));
        }
        let dir = dir.to_path_buf();
        let cloned = tokio::task::spawn_blocking(move || {
            repo::clone_at(
                &self.path,
                &self.commit,
                self.branch.as_deref(),
                depth,
                &dir,
            )?;
            Ok::<_, String>(super::artifacts::walk(&dir).len())
        })
        .await
        .map_err(|e| format!("Input artifact '{artifact}' could not be cloned: {e}"))??;
        Ok(super::unpack::Unpacked {
            files: cloned,
            bytes: 0,
        })
    }
}

/// What was read from the repository.
struct Read {
    commit: CommitInfo,
    /// The zip (CODE_ZIP), or the clone reference.
    artifact: Vec<u8>,
}

pub async fn run(
    config: &crate::config::Config,
    store: &ArtifactStore,
    repository: &Repository,
    task: &Task,
) -> Outcome {
    let value = |key: &str| task.configuration.get(key).cloned().unwrap_or_default();
    let provider = task.action.action_type_id.provider.clone();
    let given = task.revision.as_ref().filter(|g| {
        matches!(g.kind, None | Some(SourceRevisionType::CommitId)) && !g.value.is_empty()
    });
    let branch = given
        .and_then(|g| g.branch.clone())
        .unwrap_or_else(|| super::git::branch_of(&task.action.action_type_id, &task.configuration));
    let clone_ref = value("OutputArtifactFormat") == "CODEBUILD_CLONE_REF";

    let read = {
        let repository = repository.clone();
        let git_dir = repository.git_dir(config);
        let branch = branch.clone();
        let wanted = given.map(|g| g.value.clone());
        tokio::task::spawn_blocking(move || -> Result<Read, ReadError> {
            repository.fetch(&git_dir).map_err(ReadError::Other)?;
            let git = repo::open(&git_dir).map_err(ReadError::Other)?;
            let commit =
                repo::resolve(&git, &branch, wanted.as_deref()).map_err(ReadError::Missing)?;
            let info = repo::commit_info(&commit);
            let artifact = if clone_ref {
                CloneRef {
                    repository_id: repository.id.clone(),
                    path: git_dir.clone(),
                    commit: info.id.clone(),
                    branch: Some(branch.clone()),
                }
                .to_bytes()
            } else {
                repo::zip_tree(&git, &commit).map_err(ReadError::Other)?
            };
            Ok(Read {
                commit: info,
                artifact,
            })
        })
        .await
    };
    let read = match read {
        Ok(Ok(read)) => read,
        Ok(Err(ReadError::Missing(missing))) => {
            let wanted = given.map(|g| g.value.as_str()).unwrap_or_default();
            return Outcome::failed(
                "JobFailed",
                missing_message(&provider, repository, task, &branch, wanted, missing),
            );
        }
        Ok(Err(ReadError::Other(message))) => return Outcome::failed("JobFailed", message),
        Err(e) => {
            return Outcome::failed("JobFailed", format!("Reading the repository failed: {e}"))
        }
    };

    for output in &task.outputs {
        if let Err(message) = store
            .put_artifact(
                &output.name,
                &output.bucket,
                &output.key,
                read.artifact.clone(),
            )
            .await
        {
            return Outcome::failed("JobFailed", message);
        }
    }

    let commit = read.commit;
    let region = task
        .action
        .region
        .as_deref()
        .cloned()
        .or_else(|| value("ConnectionArn").split(':').nth(3).map(str::to_string))
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| config.region.clone());
    let mut variables = BTreeMap::new();
    variables.insert("CommitId".to_string(), commit.id.clone());
    variables.insert("CommitMessage".to_string(), commit.message.clone());
    variables.insert("BranchName".to_string(), branch.clone());
    variables.insert("AuthorDate".to_string(), commit.author_date.clone());
    let (summary, url) = match provider.as_str() {
        "CodeStarSourceConnection" => {
            let arn = value("ConnectionArn");
            let full = value("FullRepositoryId");
            variables.insert("ConnectionArn".into(), arn.clone());
            variables.insert("FullRepositoryName".into(), full.clone());
            let summary = serde_json::json!({
                "ProviderType": repository.provider_type(),
                "CommitMessage": commit.message,
            })
            .to_string();
            let url = format!(
                "https://{region}.console.aws.amazon.com/codesuite/settings/connections/redirect?connectionArn={arn}&referenceType=COMMIT&FullRepositoryId={full}&Commit={}",
                commit.id
            );
            (summary, url)
        }
        "CodeCommit" => {
            let name = value("RepositoryName");
            variables.insert("RepositoryName".into(), name.clone());
            variables.insert("CommitterDate".into(), commit.committer_date.clone());
            let url = format!(
                "https://{region}.console.aws.amazon.com/codesuite/codecommit/repositories/{name}/commit/{}?region={region}",
                commit.id
            );
            (commit.message.clone(), url)
        }
        _ => {
            let url = format!(
                "https://github.com/{}/{}/commit/{}",
                value("Owner"),
                value("Repo"),
                commit.id
            );
            variables.insert("RepositoryName".into(), value("Repo"));
            variables.insert("CommitterDate".into(), commit.committer_date.clone());
            variables.insert("CommitUrl".into(), url.clone());
            (commit.message.clone(), url)
        }
    };
    let revision = GivenRevision {
        kind: None,
        value: commit.id.clone(),
        change_id: Some(commit.id.clone()),
        summary: Some(summary.clone()),
        url: Some(url.clone()),
        branch: Some(branch),
    };
    Outcome::Succeeded {
        summary: Some(summary),
        output_variables: variables,
        external_execution_id: Some(commit.id),
        external_execution_url: Some(url),
        percent_complete: None,
        revision: Some(revision),
        updated_by: None,
    }
}

enum ReadError {
    Missing(Missing),
    Other(String),
}

/// The provider's message for a branch or commit that is not there.
fn missing_message(
    provider: &str,
    repository: &Repository,
    task: &Task,
    branch: &str,
    commit: &str,
    missing: Missing,
) -> String {
    let value = |key: &str| task.configuration.get(key).cloned().unwrap_or_default();
    match (provider, missing) {
        ("CodeStarSourceConnection", Missing::Branch) => format!(
            "[{}] No Branch [{branch}] found for FullRepositoryName [{}]",
            repository.provider_type(),
            value("FullRepositoryId")
        ),
        ("CodeStarSourceConnection", Missing::Commit) => format!(
            "[{}] No Commit [{commit}] found for FullRepositoryName [{}]",
            repository.provider_type(),
            value("FullRepositoryId")
        ),
        ("CodeCommit", Missing::Branch) => format!(
            "The action failed because no branch named {branch} was found in the selected AWS CodeCommit repository {}. Make sure you are using the correct branch name, and then try again.",
            value("RepositoryName")
        ),
        ("CodeCommit", Missing::Commit) => format!(
            "The action failed because no commit {commit} was found in the selected AWS CodeCommit repository {}. Make sure you are using the correct commit ID, and then try again.",
            value("RepositoryName")
        ),
        (_, Missing::Branch) => format!(
            "The GitHub repository \"{}/{}\" or branch \"{branch}\" does not exist.",
            value("Owner"),
            value("Repo")
        ),
        (_, Missing::Commit) => format!(
            "The GitHub repository \"{}/{}\" has no commit \"{commit}\".",
            value("Owner"),
            value("Repo")
        ),
    }
}
