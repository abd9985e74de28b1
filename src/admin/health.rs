//! Health: `GET /_codepipeline-local/health` (the server's own counts, for tools and tests),
//! and `codepipeline-local --healthcheck [URL]`, a minimal HTTP GET for container health
//! checks, so the runtime image needs no curl.

use crate::app::App;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET /_codepipeline-local/health`: `timers.pending` counts the armed engine timers (each
/// is cancelled when what it guards finishes, so the count returns to its level once the work
/// is done). `eventbridge` counts the state-change events sent to `--events-endpoint` and
/// those that could not be delivered; `eventStreams` the event stream subscribers and how far
/// behind the slowest is (`events::fanout::Hub::health`).
pub async fn status(State(app): State<App>) -> Json<Value> {
    Json(json!({
        "status": "running",
        "version": env!("CARGO_PKG_VERSION"),
        "timers": { "pending": app.timers.pending().await },
        "eventbridge": app.eventbridge.health(app.config.events_endpoint.as_deref()),
        "eventStreams": app.events.stream_health(),
    }))
}

/// The health URL of a server listening on `listen`: a wildcard address becomes loopback.
pub fn default_health_url(listen: &str) -> String {
    let local = if let Some(port) = listen.strip_prefix("0.0.0.0:") {
        format!("127.0.0.1:{port}")
    } else if let Some(port) = listen.strip_prefix("[::]:") {
        format!("[::1]:{port}")
    } else {
        listen.to_string()
    };
    format!("http://{local}/health")
}

/// GETs `url` (plain `http://` only) and succeeds on a 200 answer within `timeout`.
pub async fn check(url: &str, timeout: Duration) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs are supported, got '{url}'"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(format!("no host in '{url}'"));
    }
    let address = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let request = async {
        let mut stream = TcpStream::connect(&address)
            .await
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: codepipeline-local-healthcheck\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(|e| format!("cannot send the request: {e}"))?;
        let mut answer = Vec::new();
        let mut buffer = [0u8; 512];
        while !answer.windows(2).any(|w| w == b"\r\n") {
            let n = stream
                .read(&mut buffer)
                .await
                .map_err(|e| format!("cannot read the answer: {e}"))?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
        }
        let text = String::from_utf8_lossy(&answer);
        let status_line = text.lines().next().unwrap_or_default().to_string();
        match status_line.split_whitespace().nth(1) {
            Some("200") => Ok(()),
            _ => Err(format!("{url} answered '{status_line}'")),
        }
    };
    tokio::time::timeout(timeout, request)
        .await
        .map_err(|_| format!("{url} did not answer within {timeout:?}"))?
}

#[cfg(test)]
mod tests {
    use super::default_health_url;

    #[test]
    fn wildcard_listen_addresses_are_checked_on_loopback() {
        assert_eq!(
            default_health_url("0.0.0.0:4566"),
            "http://127.0.0.1:4566/health"
        );
        assert_eq!(default_health_url("[::]:80"), "http://[::1]:80/health");
        assert_eq!(
            default_health_url("127.0.0.1:9000"),
            "http://127.0.0.1:9000/health"
        );
    }
}
