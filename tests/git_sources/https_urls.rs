//! `https://` repository URLs in the default build: `git http-backend` behind a loopback TLS
//! server whose self-signed certificate the test makes. The real binary, trusting that
//! certificate through `SSL_CERT_FILE`, mirrors the remote and follows its pushes; a server
//! that does not trust it fails the source, saying the certificate is not trusted.

use super::remote_urls::{a_failed_source, follows_the_remote, http_backend, url_server, Remote};
use super::*;
use common::data_dir::{free_port, Killed};
use std::sync::Arc;

/// A certificate for 127.0.0.1 and localhost, signed by its own key: the PEM of the
/// certificate (what a client trusts) and the TLS configuration of a server presenting it.
fn self_signed() -> (String, Arc<rustls::ServerConfig>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    (certified.cert.pem(), Arc::new(config))
}

/// Smart HTTP over TLS: `git http-backend` for the repositories under `root`, to requests
/// that bring the basic `authorization`; its base URL.
async fn serve_https(
    root: PathBuf,
    authorization: &'static str,
    tls: Arc<rustls::ServerConfig>,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let root = root.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake.
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |request| {
                    let root = root.clone();
                    async move {
                        let request = request.map(axum::body::Body::new);
                        let given = request.headers().get("authorization");
                        if given.and_then(|v| v.to_str().ok()) != Some(authorization) {
                            return Ok::<_, std::convert::Infallible>(
                                axum::http::Response::builder()
                                    .status(401)
                                    .header("www-authenticate", "Basic realm=\"git\"")
                                    .body(axum::body::Body::empty())
                                    .unwrap(),
                            );
                        }
                        Ok(http_backend(&root, request).await)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("https://{addr}")
}

/// The server binary with `SSL_CERT_FILE` naming `ca` (and nothing else trusted), mapping
/// `octo/app` to `url`, fetching every 200 ms; its base URL.
async fn spawn_trusting(ca: &Path, url: &str, data: &Path) -> (Killed, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_codepipeline-local"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--no-auto-start"])
        .arg("--data-dir")
        .arg(data)
        .args(["--repository", &format!("octo/app={url}")])
        .args(["--repository-poll-interval-ms", "200"])
        .env("SSL_CERT_FILE", ca)
        .env_remove("SSL_CERT_DIR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the server binary");
    let killed = Killed(child);
    let base = format!("http://127.0.0.1:{port}");
    let health = format!("{base}/health");
    wait_for("the binary to answer", || async {
        reqwest::get(&health)
            .await
            .ok()
            .filter(|r| r.status().is_success())
            .map(|_| ())
    })
    .await;
    (killed, base)
}

#[tokio::test]
async fn an_https_url_with_credentials_is_mirrored_built_and_watched_without_openssl() {
    let remote = Remote::new();
    let (pem, tls) = self_signed();
    let certs = tempfile::tempdir().unwrap();
    let ca = certs.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    // me:s3cret
    let base = serve_https(
        remote.served.path().to_path_buf(),
        "Basic bWU6czNjcmV0",
        tls,
    )
    .await;
    let url = format!("{base}/remote.git").replace("https://", "https://me:s3cret@");
    let data = tempfile::tempdir().unwrap();
    let (_server, endpoint) = spawn_trusting(&ca, &url, data.path()).await;
    let c = client(&endpoint, "test", "us-east-1");
    follows_the_remote(&c, data.path(), &url, &remote).await;
}

#[tokio::test]
async fn an_https_url_with_an_untrusted_certificate_fails_the_source_saying_so() {
    let remote = Remote::new();
    let (_, tls) = self_signed();
    let base = serve_https(
        remote.served.path().to_path_buf(),
        "Basic bWU6czNjcmV0",
        tls,
    )
    .await;
    let url = format!("{base}/remote.git").replace("https://", "https://me:s3cret@");
    let data = tempfile::tempdir().unwrap();
    let t = url_server(&url, data.path()).await;
    let message = a_failed_source(&t.client).await;
    let shown = format!("{base}/remote.git").replace("https://", "https://me:***@");
    assert!(
        message.starts_with(&format!(
            "Could not fetch {shown}: the server's TLS certificate is not trusted"
        )),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
}
