//! What is read from a local repository, with libgit2 (`git2`): blocking calls, run on the
//! blocking pool by their callers.

use git2::{BranchType, Commit, ObjectType, Oid, Repository, Sort, TreeWalkMode, TreeWalkResult};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Write};
use std::path::Path;

/// Most commits of one push whose changed files are read.
const MAX_PUSH_COMMITS: usize = 1000;

/// Opens a repository (bare or not); the error says that the path is not one.
pub fn open(path: &Path) -> Result<Repository, String> {
    Repository::open(path).map_err(|e| {
        format!(
            "{} is not a git repository ({})",
            path.display(),
            e.message()
        )
    })
}

/// A commit as source actions report it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitInfo {
    pub id: String,
    /// The whole message, without its trailing newline.
    pub message: String,
    /// ISO-8601, UTC.
    pub author_date: String,
    pub committer_date: String,
}

pub fn commit_info(commit: &Commit) -> CommitInfo {
    let date = |time: git2::Time| {
        chrono::DateTime::from_timestamp(time.seconds(), 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    CommitInfo {
        id: commit.id().to_string(),
        message: String::from_utf8_lossy(commit.message_bytes())
            .trim_end()
            .to_string(),
        author_date: date(commit.author().when()),
        committer_date: date(commit.committer().when()),
    }
}

/// Why a revision does not resolve.
#[derive(Debug, Clone, PartialEq)]
pub enum Missing {
    Branch,
    Commit,
}

/// The head commit of `branch`, or the commit `wanted` (a full or abbreviated id).
pub fn resolve<'r>(
    repo: &'r Repository,
    branch: &str,
    wanted: Option<&str>,
) -> Result<Commit<'r>, Missing> {
    if let Some(wanted) = wanted {
        return repo
            .revparse_single(wanted)
            .and_then(|o| o.peel_to_commit())
            .map_err(|_| Missing::Commit);
    }
    let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
    repo.find_branch(branch, BranchType::Local)
        .and_then(|b| b.get().peel_to_commit())
        .map_err(|_| Missing::Branch)
}

/// The tree of a commit as a zip archive (file modes kept, symbolic links as links,
/// submodules left out).
pub fn zip_tree(repo: &Repository, commit: &Commit) -> Result<Vec<u8>, String> {
    use zip::write::SimpleFileOptions;
    let tree = commit.tree().map_err(|e| e.message().to_string())?;
    let mut entries = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |root, entry| {
        if entry.kind() == Some(ObjectType::Blob) {
            if let Ok(name) = entry.name() {
                entries.push((format!("{root}{name}"), entry.id(), entry.filemode()));
            }
        }
        TreeWalkResult::Ok
    })
    .map_err(|e| e.message().to_string())?;
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, id, mode) in entries {
        let blob = repo.find_blob(id).map_err(|e| e.message().to_string())?;
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        if mode == 0o120000 {
            let target = String::from_utf8_lossy(blob.content()).into_owned();
            writer
                .add_symlink(name.as_str(), target.as_str(), options)
                .map_err(|e| e.to_string())?;
            continue;
        }
        let permissions = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
        writer
            .start_file(name.as_str(), options.unix_permissions(permissions))
            .map_err(|e| e.to_string())?;
        writer
            .write_all(blob.content())
            .map_err(|e| e.to_string())?;
    }
    let cursor = writer.finish().map_err(|e| e.to_string())?;
    Ok(cursor.into_inner())
}

/// The files the commits of a push changed: every commit reachable from `new` and not from
/// `old`, each compared with its first parent (a new branch or tag: its commit alone).
pub fn changed_files(repo: &Repository, old: Option<Oid>, new: Oid) -> Vec<String> {
    let mut files = BTreeSet::new();
    let commits: Vec<Oid> = match old {
        Some(old) => {
            let walk = repo.revwalk().and_then(|mut walk| {
                walk.set_sorting(Sort::TOPOLOGICAL)?;
                walk.push(new)?;
                walk.hide(old)?;
                Ok(walk.flatten().take(MAX_PUSH_COMMITS).collect())
            });
            walk.unwrap_or_else(|_| vec![new])
        }
        None => vec![new],
    };
    for id in commits {
        let Ok(commit) = repo.find_commit(id) else {
            continue;
        };
        let Ok(tree) = commit.tree() else {
            continue;
        };
        let parent = commit.parent(0).ok().and_then(|p| p.tree().ok());
        let Ok(diff) = repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), None) else {
            continue;
        };
        for delta in diff.deltas() {
            for file in [delta.old_file(), delta.new_file()] {
                if let Some(path) = file.path() {
                    files.insert(path.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    files.into_iter().collect()
}

/// The branch heads and tags of a repository (`refs/heads/...`, `refs/tags/...`), each with
/// the commit it points to.
pub fn refs(repo: &Repository) -> BTreeMap<String, Oid> {
    let mut refs = BTreeMap::new();
    let Ok(references) = repo.references() else {
        return refs;
    };
    for reference in references.flatten() {
        let Ok(name) = reference.name() else {
            continue;
        };
        if !name.starts_with("refs/heads/") && !name.starts_with("refs/tags/") {
            continue;
        }
        if let Ok(commit) = reference.peel_to_commit() {
            refs.insert(name.to_string(), commit.id());
        }
    }
    refs
}

/// Clones the repository at `source` into the empty directory `dir` and checks out `commit`
/// on a local branch named `branch` (detached when there is none): what CodeBuild's full clone
/// gives a build. With a `depth` (CodeBuild's `GitCloneDepth`, 0 meaning all), the clone is
/// shallow: `shallow_copy`.
pub fn clone_at(
    source: &Path,
    commit: &str,
    branch: Option<&str>,
    depth: Option<u32>,
    dir: &Path,
) -> Result<(), String> {
    let error = |e: git2::Error| {
        format!(
            "Could not clone {} at {commit}: {}",
            source.display(),
            e.message()
        )
    };
    let url = source.to_string_lossy().into_owned();
    let oid = Oid::from_str(commit).map_err(error)?;
    let repo = match depth.filter(|d| *d > 0) {
        Some(depth) => shallow_copy(source, oid, depth, dir).map_err(error)?,
        None => git2::build::RepoBuilder::new()
            .clone(&url, dir)
            .map_err(error)?,
    };
    let target = repo.find_commit(oid).map_err(error)?;
    // Detached first: the clone's HEAD may be the branch that is about to move.
    repo.set_head_detached(oid).map_err(error)?;
    if let Some(branch) = branch.filter(|b| !b.is_empty()) {
        repo.branch(branch, &target, true).map_err(error)?;
        repo.set_head(&format!("refs/heads/{branch}"))
            .map_err(error)?;
    }
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .map_err(error)
}

/// A shallow clone of `source` in `dir`: the commits less than `depth` parents away from `tip`
/// with their trees, the boundary written to `.git/shallow`, `origin` naming the source. (The
/// local transport of libgit2 does not fetch shallow; this writes what `git clone --depth`
/// would have.)
fn shallow_copy(
    source: &Path,
    tip: Oid,
    depth: u32,
    dir: &Path,
) -> Result<Repository, git2::Error> {
    let from = Repository::open(source)?;
    let to = Repository::init(dir)?;
    to.remote("origin", &source.to_string_lossy())?;
    let boundary = copy_history(&from, &to, tip, depth)?;
    if !boundary.is_empty() {
        let mut text = boundary.join("\n");
        text.push('\n');
        std::fs::write(to.path().join("shallow"), text)
            .map_err(|e| git2::Error::from_str(&e.to_string()))?;
    }
    Ok(to)
}

/// Copies the commits less than `depth` parents away from `tip`, and their trees, from one
/// repository to the other; returns the boundary (copied commits whose parents were not).
fn copy_history(
    from: &Repository,
    to: &Repository,
    tip: Oid,
    depth: u32,
) -> Result<Vec<String>, git2::Error> {
    let (from_odb, to_odb) = (from.odb()?, to.odb()?);
    let copy = |id: Oid| -> Result<(), git2::Error> {
        if !to_odb.exists(id) {
            let object = from_odb.read(id)?;
            to_odb.write(object.kind(), object.data())?;
        }
        Ok(())
    };
    let mut seen = std::collections::HashSet::new();
    let mut boundary = Vec::new();
    let mut level = vec![tip];
    for distance in 0..depth {
        let mut parents = Vec::new();
        for id in level {
            if !seen.insert(id) {
                continue;
            }
            let commit = from.find_commit(id)?;
            copy(id)?;
            let tree = commit.tree()?;
            copy(tree.id())?;
            let mut failed = None;
            tree.walk(TreeWalkMode::PreOrder, |_, entry| {
                // Submodules (commits) are not part of the repository's objects.
                if matches!(entry.kind(), Some(ObjectType::Blob | ObjectType::Tree)) {
                    if let Err(e) = copy(entry.id()) {
                        failed = Some(e);
                        return TreeWalkResult::Abort;
                    }
                }
                TreeWalkResult::Ok
            })
            .or_else(|e| if failed.is_some() { Ok(()) } else { Err(e) })?;
            if let Some(e) = failed {
                return Err(e);
            }
            if distance + 1 == depth {
                if commit.parent_count() > 0 {
                    boundary.push(id.to_string());
                }
            } else {
                parents.extend(commit.parent_ids());
            }
        }
        level = parents;
    }
    Ok(boundary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(repo: &Repository, files: &[(&str, &str)], message: &str) -> Oid {
        let workdir = repo.workdir().unwrap().to_path_buf();
        let mut index = repo.index().unwrap();
        for (name, contents) in files {
            let path = workdir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, contents).unwrap();
            index.add_path(Path::new(name)).unwrap();
        }
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let signature = git2::Signature::now("Dev", "dev@example.com").unwrap();
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&Commit> = parent.iter().collect();
        repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &parents,
        )
        .unwrap()
    }

    #[test]
    fn a_commit_resolves_zips_and_lists_its_changes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let first = commit(&repo, &[("README.md", "hi"), ("src/a.rs", "a")], "first\n");
        let second = commit(&repo, &[("src/b.rs", "b")], "second");
        let branch = repo.head().unwrap().shorthand().unwrap().to_string();

        let head = resolve(&repo, &branch, None).unwrap();
        assert_eq!(head.id(), second);
        let info = commit_info(&head);
        assert_eq!(info.message, "second");
        assert!(info.author_date.ends_with('Z'), "{}", info.author_date);
        assert_eq!(
            resolve(&repo, &branch, Some(&first.to_string()))
                .unwrap()
                .id(),
            first
        );
        assert_eq!(resolve(&repo, "nope", None).err(), Some(Missing::Branch));
        assert_eq!(
            resolve(
                &repo,
                &branch,
                Some("0123456789abcdef0123456789abcdef01234567")
            )
            .err(),
            Some(Missing::Commit)
        );

        let zip = zip_tree(&repo, &head).unwrap();
        let entries = crate::actions::artifacts::zip_entries(&zip).unwrap();
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["README.md", "src/a.rs", "src/b.rs"]);

        assert_eq!(changed_files(&repo, Some(first), second), ["src/b.rs"]);
        assert_eq!(changed_files(&repo, None, first), ["README.md", "src/a.rs"]);
        let refs = refs(&repo);
        assert_eq!(refs.get(&format!("refs/heads/{branch}")), Some(&second));

        let clone = tempfile::tempdir().unwrap();
        clone_at(
            dir.path(),
            &first.to_string(),
            Some("work"),
            None,
            clone.path(),
        )
        .unwrap();
        assert!(clone.path().join("src/a.rs").exists());
        assert!(!clone.path().join("src/b.rs").exists());

        // Shallow: the tip alone, its parent named as the boundary and absent.
        let shallow = tempfile::tempdir().unwrap();
        clone_at(
            dir.path(),
            &second.to_string(),
            Some("work"),
            Some(1),
            shallow.path(),
        )
        .unwrap();
        let copy = Repository::open(shallow.path()).unwrap();
        assert!(copy.is_shallow());
        assert!(copy.find_commit(second).is_ok());
        assert!(copy.find_commit(first).is_err());
        assert!(shallow.path().join("src/b.rs").exists());
        let text = std::fs::read_to_string(shallow.path().join(".git/shallow")).unwrap();
        assert_eq!(text.trim(), second.to_string());
    }
}
