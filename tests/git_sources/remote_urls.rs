//! Repositories mapped by URL: a bare remote served as `file://`, by `git daemon` (`git://`)
//! and by `git http-backend` behind a loopback HTTP server (smart `http://`), each started by
//! the test. The server mirrors the remote: an execution builds the remote's commit, and a
//! commit pushed to the remote starts the pipeline; the git-events endpoint fetches first.

use super::*;
use std::net::TcpListener;
use std::process::{Child, Stdio};

/// A working repository and its bare remote (`remote.git` in `served`), with one commit.
pub(super) struct Remote {
    pub(super) work: tempfile::TempDir,
    pub(super) served: tempfile::TempDir,
}

impl Remote {
    pub(super) fn new() -> Remote {
        let work = repository();
        let served = tempfile::tempdir().unwrap();
        let bare = served.path().join("remote.git");
        git(
            work.path(),
            &["clone", "-q", "--bare", ".", bare.to_str().unwrap()],
        );
        Remote { work, served }
    }

    pub(super) fn bare(&self) -> PathBuf {
        self.served.path().join("remote.git")
    }

    /// Commits to the working repository and pushes main to the remote; the commit id.
    fn push(&self, files: &[(&str, &str)], message: &str) -> String {
        let sha = commit(self.work.path(), files, message);
        git(
            self.work.path(),
            &["push", "-q", self.bare().to_str().unwrap(), "main"],
        );
        sha
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `git daemon` serving a directory on a loopback port; killed when dropped.
struct Daemon(Child);

impl Daemon {
    fn start(base: &Path, port: u16) -> Daemon {
        let child = Command::new("git")
            .arg("daemon")
            .arg("--export-all")
            .arg("--reuseaddr")
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon runs");
        let daemon = Daemon(child);
        for _ in 0..400 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return daemon;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("git daemon did not listen on port {port}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Smart HTTP: a loopback HTTP server running `git http-backend` (CGI) for every request on
/// the repositories under `root` that brings the basic `authorization`; its base URL.
async fn serve_http(root: PathBuf, authorization: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let root = root.clone();
        async move {
            let given = request.headers().get("authorization");
            if given.and_then(|v| v.to_str().ok()) != Some(authorization) {
                return axum::http::Response::builder()
                    .status(401)
                    .header("www-authenticate", "Basic realm=\"git\"")
                    .body(axum::body::Body::empty())
                    .unwrap();
            }
            http_backend(&root, request).await
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// One request through `git http-backend`: CGI variables in, CGI headers and body out.
pub(super) async fn http_backend(
    root: &Path,
    request: axum::extract::Request,
) -> axum::response::Response {
    use tokio::io::AsyncWriteExt;
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut child = tokio::process::Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or_default())
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("HTTP_GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("git http-backend runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&body).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let out = output.stdout;
    let (head, body) = match out.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (&out[..i], &out[i + 4..]),
        None => match out.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (&out[..i], &out[i + 2..]),
            None => (&out[..0], &out[..]),
        },
    };
    let mut response = axum::http::Response::builder().status(200);
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split(' ').next().unwrap_or("500");
            response = response.status(code.parse::<u16>().unwrap_or(500));
        } else {
            response = response.header(name.trim(), value);
        }
    }
    response
        .body(axum::body::Body::from(body.to_vec()))
        .unwrap()
}

/// A server mapping `octo/app` to `url`, with its state and mirrors in `data`, fetching every
/// 200 ms.
pub(super) async fn url_server(url: &str, data: &Path) -> TestServer {
    url_server_every(url, data, 200).await
}

async fn url_server_every(url: &str, data: &Path, interval_ms: u64) -> TestServer {
    start_with(Config {
        data_dir: Some(data.to_path_buf()),
        repositories: vec![Repository {
            id: "octo/app".into(),
            path: PathBuf::from(url),
            connection_arn: None,
            provider_type: None,
        }],
        repository_poll_interval_ms: interval_ms,
        ..manual_config()
    })
    .await
}

/// Through the SDK: an execution builds the remote's head, a commit pushed to the remote starts
/// one (trigger Webhook) that builds the new tree.
async fn builds_and_follows_the_remote(url: &str, remote: &Remote) {
    let data = tempfile::tempdir().unwrap();
    let t = url_server(url, data.path()).await;
    follows_the_remote(&t.client, data.path(), url, remote).await;
}

/// `builds_and_follows_the_remote` against a running server with its data directory.
pub(super) async fn follows_the_remote(
    c: &aws_sdk_codepipeline::Client,
    data: &Path,
    url: &str,
    remote: &Remote,
) {
    create_connection_pipeline(c, "app", PipelineType::V1, vec![]).await;

    let head = git(remote.work.path(), &["rev-parse", "HEAD"]);
    let id = start_execution(c, "app").await;
    let first = wait_finished(c, "app", &id).await;
    let source = action_detail(c, "app", &id, "Source").await;
    assert_eq!(
        first.status(),
        Some(&PipelineExecutionStatus::Succeeded),
        "{url}: {}",
        error_message(&source)
    );
    assert_eq!(
        first.artifact_revisions()[0].revision_id(),
        Some(head.as_str())
    );
    // The mirror lives in the data directory.
    let mirrors: Vec<String> = std::fs::read_dir(data.join("repositories"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        mirrors.len() == 1 && mirrors[0].starts_with("octo-app-"),
        "{mirrors:?}"
    );

    let sha = remote.push(&[("src/app.py", "print('v2')\n")], "Ship v2");
    let id = execution_for(c, "app", &sha).await;
    let pushed = wait_finished(c, "app", &id).await;
    assert_eq!(pushed.status(), Some(&PipelineExecutionStatus::Succeeded));
    assert_eq!(
        pushed.trigger().unwrap().trigger_type(),
        Some(&TriggerType::Webhook)
    );
    assert_eq!(
        pushed.artifact_revisions()[0].revision_id(),
        Some(sha.as_str())
    );
    let source = action_detail(c, "app", &id, "Source").await;
    let files = artifact_files(data, &source);
    assert!(
        files.contains(&("src/app.py".to_string(), b"print('v2')\n".to_vec())),
        "{files:?}"
    );
    assert_eq!(executions(c, "app").await.len(), 2);
}

#[tokio::test]
async fn a_file_url_is_mirrored_built_and_watched() {
    let remote = Remote::new();
    let url = format!("file://{}", remote.bare().display());
    builds_and_follows_the_remote(&url, &remote).await;
}

#[tokio::test]
async fn a_git_daemon_url_is_mirrored_built_and_watched() {
    let remote = Remote::new();
    let port = free_port();
    let _daemon = Daemon::start(remote.served.path(), port);
    let url = format!("git://127.0.0.1:{port}/remote.git");
    builds_and_follows_the_remote(&url, &remote).await;
}

#[tokio::test]
async fn a_smart_http_url_with_credentials_is_mirrored_built_and_watched() {
    let remote = Remote::new();
    // me:s3cret
    let base = serve_http(remote.served.path().to_path_buf(), "Basic bWU6czNjcmV0").await;
    let url = format!("{base}/remote.git").replace("http://", "http://me:s3cret@");
    builds_and_follows_the_remote(&url, &remote).await;
}

/// Creates pipeline `app` with a connection source on main, runs it, and returns the error
/// message of its failed source action.
pub(super) async fn a_failed_source(c: &aws_sdk_codepipeline::Client) -> String {
    create_connection_pipeline(c, "app", PipelineType::V1, vec![]).await;
    let id = start_execution(c, "app").await;
    let failed = wait_finished(c, "app", &id).await;
    assert_eq!(failed.status(), Some(&PipelineExecutionStatus::Failed));
    let source = action_detail(c, "app", &id, "Source").await;
    error_message(&source)
}

#[tokio::test]
async fn an_unreachable_url_starts_the_server_and_fails_the_source_until_it_answers() {
    let remote = Remote::new();
    let port = free_port();
    let url = format!("git://127.0.0.1:{port}/remote.git");
    let data = tempfile::tempdir().unwrap();
    let t = url_server(&url, data.path()).await;
    let c = &t.client;
    let message = a_failed_source(c).await;
    assert!(
        message.starts_with(&format!("Could not fetch {url}: ")),
        "{message}"
    );

    // The remote comes up: the next execution fetches it.
    let _daemon = Daemon::start(remote.served.path(), port);
    let id = start_execution(c, "app").await;
    let built = wait_finished(c, "app", &id).await;
    assert_eq!(built.status(), Some(&PipelineExecutionStatus::Succeeded));
    let head = git(remote.work.path(), &["rev-parse", "HEAD"]);
    assert_eq!(
        built.artifact_revisions()[0].revision_id(),
        Some(head.as_str())
    );
}

#[test]
fn an_ssh_url_is_a_startup_error_and_a_password_is_never_shown() {
    let error =
        Config::from_args(["--repository", "octo/app=git@github.com:octo/app.git"]).unwrap_err();
    assert!(error.contains("SSH is not supported"), "{error}");
    let error =
        Config::from_args(["--repository", "octo/app=ftp://me:s3cret@host/app.git"]).unwrap_err();
    assert!(
        error.contains("ftp://me:***@host/app.git") && !error.contains("s3cret"),
        "{error}"
    );
}

#[tokio::test]
async fn the_git_events_endpoint_fetches_a_url_repository_before_reading_the_commit() {
    let remote = Remote::new();
    let url = format!("file://{}", remote.bare().display());
    let data = tempfile::tempdir().unwrap();
    // The watcher fetches at startup, then not for an hour: only the endpoint can learn the
    // pushed commit.
    let t = url_server_every(&url, data.path(), 3_600_000).await;
    let c = &t.client;
    create_connection_pipeline(c, "filtered", PipelineType::V2, vec![src_trigger()]).await;
    let sha = remote.push(&[("src/lib.py", "x = 1\n")], "Code");
    let response = reqwest::Client::new()
        .post(format!("{}/_codepipeline-local/git-events", t.url))
        .json(&json!({"repository": "octo/app", "ref": "refs/heads/main", "commit": sha}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["started"][0]["pipelineName"], "filtered", "{answer}");
    let id = answer["started"][0]["pipelineExecutionId"]
        .as_str()
        .unwrap();
    let finished = wait_finished(c, "filtered", id).await;
    assert_eq!(
        finished.artifact_revisions()[0].revision_id(),
        Some(sha.as_str())
    );
}
