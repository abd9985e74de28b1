//! Request guards of a local dev server, as Jupyter and webpack-dev-server have them: a web page
//! the developer visits must not reach the emulator's state.
//!
//! | Requests | Host checked | Same origin only | JSON bodies only | Admin token |
//! |---|---|---|---|---|
//! | AWS API (`/`) and everything not below | yes | no (SDKs send no `Origin`; CORS decides for browsers) | no | no |
//! | `/health`, `/_localstack/health`, webhook URLs | no | no | no | no |
//! | dashboard files (`/_codepipeline-local/ui/`) | yes | no | no | no |
//! | events stream, git events | yes | yes | yes | no |
//! | the rest of `/_codepipeline-local/` (reset, state, config) | yes | yes | yes | when `--admin-token` is set |
//!
//! Webhook URLs are exempt: a source host calls them through tunnels under any name, and they
//! carry their own authentication (secret or IP range) and an unguessable id.

use super::hosts::HostPolicy;
use super::ADMIN_PATH;
use crate::config::Config;
use crate::model::ErrorCode;
use crate::protocol::{error_response, ApiError};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The admin token's own header (`Authorization: Bearer TOKEN` works too).
pub const ADMIN_TOKEN_HEADER: &str = "x-codepipeline-local-admin-token";

/// What the guards check, built once from the configuration.
#[derive(Debug, Clone)]
pub struct Guard {
    hosts: HostPolicy,
    admin_token: Option<String>,
}

impl Guard {
    pub fn new(config: &Config) -> Arc<Self> {
        Arc::new(Guard {
            hosts: HostPolicy::new(config),
            admin_token: config.admin_token.clone(),
        })
    }
}

/// The kinds of request of the table above.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Aws,
    Open,
    Dashboard,
    Local,
    Admin,
}

fn kind(path: &str) -> Kind {
    let Some(rest) = path.strip_prefix(ADMIN_PATH) else {
        return match path {
            "/health" | "/_localstack/health" => Kind::Open,
            _ => Kind::Aws,
        };
    };
    let first = rest.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "webhooks" => Kind::Open,
        "ui" => Kind::Dashboard,
        "events" | "git-events" => Kind::Local,
        _ => Kind::Admin,
    }
}

/// The middleware: answers 403 (400 with an AWS error on the AWS API), 401 or 415 for a request
/// a guard refuses, else passes it on.
pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let kind = kind(request.uri().path());
    if kind == Kind::Open {
        return next.run(request).await;
    }
    let headers = request.headers();
    if let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
        if !guard.hosts.allows(host) {
            let text = format!(
                "Host '{host}' is not allowed: start codepipeline-local with --allowed-hosts {} (or '*' to allow any)",
                super::hosts::host_of(host)
            );
            tracing::warn!(host, "request refused: host not allowed");
            return match kind {
                Kind::Aws => aws_refusal(text),
                _ => refusal(StatusCode::FORBIDDEN, "Forbidden", text),
            };
        }
    }
    if matches!(kind, Kind::Local | Kind::Admin) {
        if let Err(text) = same_origin(headers) {
            tracing::warn!(reason = %text, "admin request refused");
            return refusal(StatusCode::FORBIDDEN, "Forbidden", text);
        }
        if matches!(*request.method(), Method::POST | Method::PUT) {
            if let Err(text) = json_body(headers) {
                return refusal(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UnsupportedMediaType",
                    text,
                );
            }
        }
    }
    if kind == Kind::Admin {
        if let Some(token) = &guard.admin_token {
            if !has_token(headers, token) {
                return refusal(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    format!("The admin API needs the admin token: send it in {ADMIN_TOKEN_HEADER} or Authorization: Bearer"),
                );
            }
        }
    }
    next.run(request).await
}

/// Refuses what a browser says comes from another origin: `Sec-Fetch-Site` other than
/// `same-origin` or `none` (typed by the user), an `Origin` whose host differs from `Host`.
fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return Err(format!(
                "Cross-site requests are refused (Sec-Fetch-Site: {site})"
            ));
        }
    }
    if let Some(origin) = value("origin") {
        let authority = origin
            .split_once("://")
            .map(|(_, rest)| rest.to_ascii_lowercase());
        if authority.is_none() || authority != value("host").map(str::to_ascii_lowercase) {
            return Err(format!(
                "Cross-origin requests are refused (Origin: {origin})"
            ));
        }
    }
    Ok(())
}

/// A body must be declared JSON (or YAML, for a template sent to the load endpoint): HTML forms
/// and `text/plain` fetches (which a page may send to any site without asking) are refused; a
/// browser asks before sending any other type, and this server never says yes. A POST without
/// body and without type passes.
fn json_body(headers: &HeaderMap) -> Result<(), String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("").to_ascii_lowercase());
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|n| n.trim() != "0");
    match content_type {
        Some(ct) => {
            let essence = ct.split(';').next().unwrap_or("").trim();
            let json = essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"));
            let yaml = matches!(
                essence,
                "application/yaml" | "application/x-yaml" | "text/yaml"
            );
            if json || yaml {
                Ok(())
            } else {
                Err(format!(
                    "The body must be JSON: send Content-Type: application/json (application/yaml for a template) (got '{essence}')"
                ))
            }
        }
        None if has_body => {
            Err("The body must be JSON: send Content-Type: application/json".to_string())
        }
        None => Ok(()),
    }
}

fn has_token(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(ADMIN_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        });
    given.is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.as_bytes())))
}

fn refusal(status: StatusCode, error: &str, message: String) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": error, "message": message })),
    )
        .into_response()
}

fn aws_refusal(message: String) -> Response {
    let error = ApiError::new(ErrorCode::AccessDeniedException, message);
    error_response(&uuid::Uuid::new_v4().to_string(), &error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_sorted_into_their_kinds() {
        assert_eq!(kind("/"), Kind::Aws);
        assert_eq!(kind("/health"), Kind::Open);
        assert_eq!(
            kind("/_codepipeline-local/webhooks/us-east-1/1/x"),
            Kind::Open
        );
        assert_eq!(kind("/_codepipeline-local/ui/app.js"), Kind::Dashboard);
        assert_eq!(kind("/_codepipeline-local/events"), Kind::Local);
        assert_eq!(kind("/_codepipeline-local/git-events"), Kind::Local);
        assert_eq!(kind("/_codepipeline-local/reset"), Kind::Admin);
        assert_eq!(kind("/_codepipeline-local/state"), Kind::Admin);
        assert_eq!(kind("/_codepipeline-local"), Kind::Admin);
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn bodies_must_be_declared_json() {
        assert!(json_body(&headers(&[])).is_ok());
        assert!(json_body(&headers(&[("content-length", "0")])).is_ok());
        assert!(json_body(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )]))
        .is_ok());
        assert!(json_body(&headers(&[("content-type", "application/vnd.x+json")])).is_ok());
        assert!(json_body(&headers(&[("content-type", "text/plain")])).is_err());
        assert!(json_body(&headers(&[("content-type", "application/yaml")])).is_ok());
        assert!(json_body(&headers(&[(
            "content-type",
            "application/x-www-form-urlencoded"
        )]))
        .is_err());
        assert!(json_body(&headers(&[("content-length", "2")])).is_err());
    }

    #[test]
    fn only_same_origin_browser_requests_pass() {
        assert!(same_origin(&headers(&[])).is_ok());
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(same_origin(&headers(&[("sec-fetch-site", "none")])).is_ok());
        assert!(same_origin(&headers(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-site")])).is_err());
        let same = [
            ("origin", "http://localhost:4566"),
            ("host", "localhost:4566"),
        ];
        assert!(same_origin(&headers(&same)).is_ok());
        let other = [
            ("origin", "http://evil.example"),
            ("host", "localhost:4566"),
        ];
        assert!(same_origin(&headers(&other)).is_err());
        assert!(same_origin(&headers(&[("origin", "null"), ("host", "localhost:4566")])).is_err());
    }
}
