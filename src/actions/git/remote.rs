//! Repositories mapped by URL (`path = "https://host/owner/repo.git"`): libgit2 clones them as
//! bare mirrors (every branch and tag, `+refs/heads/*` and `+refs/tags/*`) into a cache under
//! `--data-dir` (`DATA_DIR/repositories`, else a temporary directory) and fetches them before a
//! source action reads them and at every polling interval (`sources::watch`). Everything else
//! reads the mirror as it reads a local repository.
//!
//! Transports: `file://`, `git://`, `http://` (built into libgit2) and `https://` (`https`:
//! rustls and the system's certificate authorities, registered at startup). SSH (`ssh://`,
//! `git@host:path`) is refused at startup: this build of libgit2 has no SSH transport.
//! Credentials: a user name and password in an http(s) URL (`https://user:token@host/...`),
//! else the git credential helpers of the user's git configuration (`credential.helper`); URLs
//! are shown with their password hidden.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Once};

/// The schemes this build fetches from.
const SCHEMES: [&str; 4] = ["file://", "git://", "http://", "https://"];

/// Connecting to a remote gives up after this long (libgit2's default is the system's).
const CONNECT_TIMEOUT_MS: i32 = 15_000;
/// A remote that sends nothing for this long fails the fetch (libgit2 waits forever).
const SERVER_TIMEOUT_MS: i32 = 120_000;

/// One fetch at a time per mirror (libgit2 locks refs one by one, not the whole fetch).
static LOCKS: LazyLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = LazyLock::new(Default::default);

static TIMEOUTS: Once = Once::new();

/// The URL a repository's `path` is, when it is one (`scheme://...` or scp-like
/// `user@host:path`).
pub fn url_of(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    if text.contains("://") {
        return Some(text.to_string());
    }
    // scp-like: `[user@]host:path`, the colon before any slash, and not a local file.
    let (host, _) = text.split_once(':')?;
    let scp = !host.is_empty() && !host.contains('/') && host.contains('@') && !path.exists();
    scp.then(|| text.to_string())
}

/// Whether the URL can be fetched by this build; the error says why not.
pub fn check_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    if SCHEMES.iter().any(|s| lower.starts_with(s)) {
        if url.len() <= url.find("://").map_or(0, |i| i + 3) {
            return Err(format!("'{}' is not a repository URL", redact(url)));
        }
        return Ok(());
    }
    if lower.starts_with("ssh://") || lower.contains("+ssh://") || !lower.contains("://") {
        return Err(format!(
            "'{}': SSH is not supported (this build of libgit2 has no SSH transport); use an https:// or git:// URL, or clone the repository and map the clone's path",
            redact(url)
        ));
    }
    Err(format!(
        "'{}': unsupported URL scheme (file://, git://, http:// and https:// are)",
        redact(url)
    ))
}

/// The URL with the password of its user information hidden, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i) else {
        return url.to_string();
    };
    match url[start..at].split_once(':') {
        Some((user, _)) => format!("{}{user}:***{}", &url[..start], &url[at..]),
        None => url.to_string(),
    }
}

/// The cache of mirrors: `DATA_DIR/repositories`, else a directory of this process under the
/// system's temporary directory.
pub fn cache_dir(data_dir: Option<&Path>) -> PathBuf {
    match data_dir {
        Some(dir) => dir.join("repositories"),
        None => std::env::temp_dir().join(format!(
            "codepipeline-local-repositories-{}",
            std::process::id()
        )),
    }
}

/// The mirror of a URL: `ID-HASH.git` (the id's letters and digits, a hash of the URL).
pub fn mirror_dir(data_dir: Option<&Path>, id: &str, url: &str) -> PathBuf {
    use sha2::Digest;
    let name: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let hash = hex::encode(&sha2::Sha256::digest(url.as_bytes())[..6]);
    cache_dir(data_dir).join(format!("{name}-{hash}.git"))
}

/// Fetches every branch and tag of `url` into the bare mirror `dir` (created when missing),
/// pruning what the remote deleted. Blocking.
pub fn fetch(url: &str, dir: &Path) -> Result<(), String> {
    set_timeouts();
    let lock = LOCKS.lock().entry(dir.to_path_buf()).or_default().clone();
    let _held = lock.lock();
    let failed = |e: git2::Error| format!("Could not fetch {}: {}", redact(url), e.message());
    let repo = match git2::Repository::open_bare(dir) {
        Ok(repo) => repo,
        Err(_) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("Cannot create {}: {e}", dir.display()))?;
            git2::Repository::init_bare(dir).map_err(failed)?
        }
    };
    let mut remote = repo.remote_anonymous(url).map_err(failed)?;
    let mut options = git2::FetchOptions::new();
    options
        .remote_callbacks(callbacks())
        .prune(git2::FetchPrune::On)
        .download_tags(git2::AutotagOption::None);
    remote
        .fetch(
            &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
            Some(&mut options),
            None,
        )
        .map_err(failed)
}

/// Credentials: the URL's own (libgit2 uses them first), then the git credential helpers;
/// asked once per fetch, so that refused credentials end it.
fn callbacks() -> git2::RemoteCallbacks<'static> {
    let mut asked = false;
    let mut callbacks = git2::RemoteCallbacks::new();
    callbacks.credentials(move |url, username, allowed| {
        if asked || !allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
            return Err(git2::Error::from_str("authentication required"));
        }
        asked = true;
        let config = git2::Config::open_default()?;
        git2::Cred::credential_helper(&config, url, username)
    });
    callbacks
}

fn set_timeouts() {
    TIMEOUTS.call_once(|| {
        // SAFETY: libgit2's global options are plain integers read when a connection opens;
        // they are set once, before the first fetch of this process.
        unsafe {
            let _ = git2::opts::set_server_connect_timeout_in_milliseconds(CONNECT_TIMEOUT_MS);
            let _ = git2::opts::set_server_timeout_in_milliseconds(SERVER_TIMEOUT_MS);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths_checked_and_redacted() {
        assert_eq!(
            url_of(Path::new("https://example.com/o/r.git")).as_deref(),
            Some("https://example.com/o/r.git")
        );
        assert!(url_of(Path::new("git@github.com:o/r.git")).is_some());
        assert!(url_of(Path::new("/srv/repo")).is_none());
        assert!(url_of(Path::new("relative/dir:with-colon")).is_none());

        assert!(check_url("git://localhost:9418/app.git").is_ok());
        assert!(check_url("FILE:///srv/app.git").is_ok());
        let ssh = check_url("git@github.com:o/r.git").unwrap_err();
        assert!(ssh.contains("SSH is not supported"), "{ssh}");
        assert!(check_url("ssh://git@host/r.git").is_err());
        assert!(check_url("ftp://host/r.git")
            .unwrap_err()
            .contains("unsupported"));
        assert!(check_url("http://").is_err());
        assert!(check_url("HTTPS://host/o/r.git").is_ok());

        assert_eq!(
            redact("https://me:s3cret@host/o/r.git"),
            "https://me:***@host/o/r.git"
        );
        assert_eq!(redact("https://me@host/r"), "https://me@host/r");
        assert_eq!(redact("https://host/a@b"), "https://host/a@b");

        let dir = mirror_dir(Some(Path::new("/data")), "octo/app", "git://h/app.git");
        assert!(dir.starts_with("/data/repositories"), "{}", dir.display());
        let name = dir.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("octo-app-") && name.ends_with(".git"),
            "{name}"
        );
    }
}
