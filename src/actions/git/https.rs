//! `https://` repository URLs without OpenSSL: a libgit2 smart subtransport (the shape of the
//! `git2-curl` crate's) over reqwest's blocking client with rustls, the aws-lc-rs provider and
//! the system's certificate authorities (`rustls-native-certs`: the platform's store, or the
//! bundle `SSL_CERT_FILE` names) — the TLS stack the AWS SDK clients already link.
//!
//! Smart HTTP, fetch only: `UploadPackLs` is a GET of `{url}/info/refs?service=git-upload-pack`
//! (a redirect moves the base URL of the requests that follow, as git does; never to plain
//! http), `UploadPack` a POST of what libgit2 writes to `{url}/git-upload-pack`; the response
//! bodies are what libgit2 reads. Credentials: the URL's user and password as HTTP Basic, else,
//! when the server answers 401, the git credential helpers of the user's configuration.
//! Connecting gives up after 15 s, a server that sends nothing for 120 s fails the fetch (the
//! timeouts `remote` gives libgit2's own transports).

use parking_lot::Mutex;
use reqwest::blocking::{Client, RequestBuilder, Response};
use std::io::{self, Read, Write};
use std::sync::{Arc, LazyLock, Once};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const READ_TIMEOUT: Duration = Duration::from_secs(120);
const MAX_REDIRECTS: usize = 10;

static REGISTER: Once = Once::new();

/// One client for the process (its connection pool and runtime thread), built at the first
/// https fetch.
static CLIENT: LazyLock<Result<Client, String>> = LazyLock::new(client);

/// Makes libgit2 fetch `https://` URLs through this transport. Called by `server::start`
/// before the server does anything with git; later calls do nothing.
pub fn register() {
    REGISTER.call_once(|| {
        // SAFETY: `git2::transport::register` must not race with libgit2 creating a transport
        // (it appends to a global list that transport creation reads without a lock). It runs
        // once per process, inside `call_once` (a concurrent caller waits for it to finish),
        // before the server that calls it starts any git operation; nothing else in this crate
        // creates git transports outside a started server.
        let registered = unsafe {
            git2::transport::register("https", |remote| {
                git2::transport::Transport::smart(remote, true, Https::default())
            })
        };
        if let Err(e) = registered {
            tracing::warn!("https:// repository URLs are unavailable: {}", e.message());
        }
    });
}

fn client() -> Result<Client, String> {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!("certificate authorities: {error}");
    }
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        tracing::warn!("no certificate authority found: https:// repository URLs will fail");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.url().scheme() != "https" {
            attempt.error("redirected away from https")
        } else if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    });
    Client::builder()
        .use_preconfigured_tls(tls)
        .user_agent(concat!(
            "git/2.0 (codepipeline-local ",
            env!("CARGO_PKG_VERSION"),
            ")"
        ))
        .connect_timeout(CONNECT_TIMEOUT)
        // The blocking client's timeout bounds the wait for the response and each read of its
        // body: a read timeout.
        .timeout(READ_TIMEOUT)
        .redirect(redirects)
        .no_proxy()
        .build()
        .map_err(|e| message(&e))
}

/// A user name and password for HTTP Basic.
type Credentials = (String, Option<String>);

/// One connection of libgit2 to a remote: where its requests go (the URL without user
/// information, moved by a redirect of the first request) and the credentials they carry.
#[derive(Default)]
struct Https {
    state: Arc<Mutex<Option<Target>>>,
}

#[derive(Clone)]
struct Target {
    base: String,
    credentials: Option<Credentials>,
}

impl git2::transport::SmartSubtransport for Https {
    fn action(
        &self,
        url: &str,
        action: git2::transport::Service,
    ) -> Result<Box<dyn git2::transport::SmartSubtransportStream>, git2::Error> {
        use git2::transport::Service;
        let client = CLIENT
            .as_ref()
            .map_err(|e| git2::Error::from_str(e))?
            .clone();
        match action {
            Service::UploadPackLs => {
                let (target, response) = advertise(&client, url)?;
                *self.state.lock() = Some(target);
                Ok(Box::new(Stream::Response(response)))
            }
            Service::UploadPack => {
                let target = self.state.lock().clone();
                let target = match target {
                    Some(target) => target,
                    None => Target::of(url)?,
                };
                Ok(Box::new(Stream::Request {
                    client,
                    target,
                    body: Vec::new(),
                }))
            }
            Service::ReceivePackLs | Service::ReceivePack => Err(git2::Error::from_str(
                "pushing over https is not supported (the emulator only fetches)",
            )),
        }
    }

    fn close(&self) -> Result<(), git2::Error> {
        Ok(())
    }
}

impl Target {
    /// The URL without its user information, and that information decoded.
    fn of(url: &str) -> Result<Target, git2::Error> {
        let mut parsed = reqwest::Url::parse(url)
            .map_err(|e| git2::Error::from_str(&format!("not a valid URL: {e}")))?;
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = (!parsed.username().is_empty())
            .then(|| (decode(parsed.username()), parsed.password().map(decode)));
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        Ok(Target {
            base: parsed.as_str().trim_end_matches('/').to_string(),
            credentials,
        })
    }

    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.credentials {
            Some((user, password)) => request.basic_auth(user, password.as_deref()),
            None => request,
        }
    }
}

/// The GET of the refs' advertisement, asking the git credential helpers when the server
/// wants credentials the URL does not bring; where the requests that follow go.
fn advertise(client: &Client, url: &str) -> Result<(Target, Response), git2::Error> {
    let mut target = Target::of(url)?;
    let get = |target: &Target| {
        let request = client
            .get(format!("{}/info/refs?service=git-upload-pack", target.base))
            .header("accept", "*/*")
            .header("pragma", "no-cache");
        target.authorize(request).send().map_err(|e| failure(&e))
    };
    let mut response = get(&target)?;
    let has_password = target.credentials.as_ref().is_some_and(|c| c.1.is_some());
    if response.status() == reqwest::StatusCode::UNAUTHORIZED && !has_password {
        if let Some(credentials) = helper_credentials(&target) {
            target.credentials = Some((credentials.0, Some(credentials.1)));
            response = get(&target)?;
        }
    }
    check(&response, "application/x-git-upload-pack-advertisement")?;
    // A redirect moves the base of the requests that follow.
    let landed = response.url().as_str();
    if let Some(i) = landed.find("/info/refs") {
        target.base = landed[..i].to_string();
    }
    Ok((target, response))
}

/// The user name and password the git credential helpers of the user's configuration give.
fn helper_credentials(target: &Target) -> Option<(String, String)> {
    let config = git2::Config::open_default().ok()?;
    let user = target.credentials.as_ref().map(|c| c.0.as_str());
    git2::CredentialHelper::new(&target.base)
        .config(&config)
        .username(user)
        .execute()
}

/// A response that is not a git smart HTTP answer fails the fetch, saying why.
fn check(response: &Response, content_type: &str) -> Result<(), git2::Error> {
    let status = response.status();
    let error = |text: String| Err(git2::Error::from_str(&text));
    match status.as_u16() {
        200 => {}
        401 => return error("authentication required (HTTP 401)".into()),
        403 => return error("access denied (HTTP 403)".into()),
        404 => return error("repository not found (HTTP 404)".into()),
        _ => return error(format!("unexpected HTTP status {status}")),
    }
    let given = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if given != content_type {
        return error(format!(
            "not a smart HTTP git server (content-type '{given}', expected '{content_type}')"
        ));
    }
    Ok(())
}

/// What libgit2 reads from and writes to: the advertisement's response, or an upload-pack
/// request whose body is what libgit2 writes, sent at its first read.
enum Stream {
    Response(Response),
    Request {
        client: Client,
        target: Target,
        body: Vec<u8>,
    },
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Stream::Request {
            client,
            target,
            body,
        } = self
        {
            let request = client
                .post(format!("{}/git-upload-pack", target.base))
                .header("content-type", "application/x-git-upload-pack-request")
                .header("accept", "application/x-git-upload-pack-result")
                .body(std::mem::take(body));
            let response = target
                .authorize(request)
                .send()
                .map_err(|e| io::Error::other(message(&e)))?;
            check(&response, "application/x-git-upload-pack-result")
                .map_err(|e| io::Error::other(e.message().to_string()))?;
            *self = Stream::Response(response);
        }
        match self {
            Stream::Response(response) => response.read(buf).map_err(|e| {
                let text = io_message(&e);
                io::Error::new(e.kind(), text)
            }),
            Stream::Request { .. } => Ok(0),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Request { body, .. } => {
                body.extend_from_slice(data);
                Ok(data.len())
            }
            Stream::Response(_) => Err(io::Error::other("the request was already sent")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn failure(error: &reqwest::Error) -> git2::Error {
    git2::Error::from_str(&message(error))
}

/// What went wrong with a request, without its URL (messages show the URL once, redacted):
/// an untrusted certificate says so; otherwise what failed and the chain of causes.
fn message(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!(
            "the server did not answer within {} s",
            READ_TIMEOUT.as_secs()
        );
    }
    let what = if error.is_connect() {
        "could not connect"
    } else if error.is_redirect() {
        "redirect failed"
    } else if error.is_body() || error.is_decode() {
        "could not read the response"
    } else {
        "request failed"
    };
    let mut parts = vec![what.to_string()];
    let mut next = std::error::Error::source(error);
    while let Some(e) = next {
        if let Some(tls) = rustls_error(e) {
            return tls_message(tls);
        }
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// A failed read of a response body: reqwest's error inside an `io::Error`.
fn io_message(error: &io::Error) -> String {
    match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<reqwest::Error>())
    {
        Some(e) => message(e),
        None => error.to_string(),
    }
}

/// rustls's error, directly or inside (nested) `io::Error`s, whose `source` skips what they
/// wrap.
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = e.downcast_ref::<io::Error>()?.get_ref()?;
    rustls_error(inner)
}

fn tls_message(error: &rustls::Error) -> String {
    use rustls::{CertificateError, Error};
    match error {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => "the server's TLS certificate is not trusted: no certificate authority of this system signed it (add its authority to the system's store, or name a bundle with SSL_CERT_FILE)".to_string(),
        Error::InvalidCertificate(reason) => {
            format!("the server's TLS certificate is not trusted: {reason}")
        }
        other => format!("TLS handshake failed: {other}"),
    }
}
