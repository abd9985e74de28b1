//! How a webhook delivery proves where it comes from (`authentication` of the definition):
//!
//! - `GITHUB_HMAC`: GitHub's signature of the raw body with the webhook's `SecretToken`, in
//!   `X-Hub-Signature-256: sha256=HEX` (HMAC-SHA256) or, for older senders,
//!   `X-Hub-Signature: sha1=HEX` (HMAC-SHA1). The SHA-256 header wins when both are sent.
//!   Signatures are compared in constant time.
//! - `IP`: the TCP peer address must lie in `AllowedIPRange` (a CIDR such as `10.0.0.0/8`, or a
//!   single address). Forwarding headers are not trusted.
//! - `UNAUTHENTICATED`: anyone may call.

use crate::model::*;
use crate::protocol::ApiError;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use ipnet::IpNet;
use sha1::Sha1;
use sha2::Sha256;
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// PutWebhook's check of the authentication parameters.
pub fn check_parameters(definition: &WebhookDefinition) -> Result<(), ApiError> {
    let invalid = |message: String| {
        ApiError::new(
            ErrorCode::InvalidWebhookAuthenticationParametersException,
            message,
        )
    };
    let configuration = &definition.authentication_configuration;
    match definition.authentication {
        WebhookAuthenticationType::GithubHmac => {
            if configuration.secret_token.as_deref().is_none_or(str::is_empty) {
                return Err(invalid(
                    "Authentication GITHUB_HMAC needs a SecretToken in authenticationConfiguration".into(),
                ));
            }
        }
        WebhookAuthenticationType::Ip => match configuration.allowed_ip_range.as_deref() {
            None | Some("") => {
                return Err(invalid(
                    "Authentication IP needs an AllowedIPRange (a CIDR block) in authenticationConfiguration"
                        .into(),
                ))
            }
            Some(range) if parse_ip_range(range).is_none() => {
                return Err(invalid(format!(
                    "AllowedIPRange '{range}' is not a valid CIDR block (e.g. 10.0.0.0/8) or IP address"
                )))
            }
            Some(_) => {}
        },
        WebhookAuthenticationType::Unauthenticated => {}
    }
    Ok(())
}

/// A CIDR block, or a single address standing for its own /32 (/128).
pub fn parse_ip_range(range: &str) -> Option<IpNet> {
    let range = range.trim();
    range
        .parse::<IpNet>()
        .ok()
        .or_else(|| range.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Checks one delivery; the error says why it was refused (sent back to the caller).
pub fn authenticate(
    definition: &WebhookDefinition,
    headers: &HeaderMap,
    body: &[u8],
    peer: Option<IpAddr>,
) -> Result<(), String> {
    let configuration = &definition.authentication_configuration;
    match definition.authentication {
        WebhookAuthenticationType::Unauthenticated => Ok(()),
        WebhookAuthenticationType::GithubHmac => {
            let secret = configuration.secret_token.as_deref().unwrap_or_default();
            check_signature(secret.as_bytes(), headers, body)
        }
        WebhookAuthenticationType::Ip => {
            let range = configuration
                .allowed_ip_range
                .as_deref()
                .and_then(parse_ip_range)
                .ok_or("The webhook has no valid AllowedIPRange")?;
            let peer = peer.ok_or("The caller's address is unknown")?;
            let peer = match peer {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(peer),
                v4 => v4,
            };
            if range.contains(&peer) {
                Ok(())
            } else {
                Err(format!(
                    "The caller's address {peer} is not in the allowed range {range}"
                ))
            }
        }
    }
}

fn check_signature(secret: &[u8], headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (given, expected) = if let Some(value) = header("x-hub-signature-256") {
        let hex_digest = value
            .strip_prefix("sha256=")
            .ok_or("X-Hub-Signature-256 must be 'sha256=HEX'")?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| e.to_string())?;
        mac.update(body);
        (hex_digest, mac.finalize().into_bytes().to_vec())
    } else if let Some(value) = header("x-hub-signature") {
        let hex_digest = value
            .strip_prefix("sha1=")
            .ok_or("X-Hub-Signature must be 'sha1=HEX'")?;
        let mut mac = Hmac::<Sha1>::new_from_slice(secret).map_err(|e| e.to_string())?;
        mac.update(body);
        (hex_digest, mac.finalize().into_bytes().to_vec())
    } else {
        return Err(
            "The request is not signed: X-Hub-Signature-256 (or X-Hub-Signature) is missing".into(),
        );
    };
    let given =
        hex::decode(given.trim()).map_err(|_| "The signature is not hexadecimal".to_string())?;
    if given.len() == expected.len() && bool::from(given.ct_eq(&expected)) {
        Ok(())
    } else {
        Err("The signature does not match the payload and the webhook's secret".into())
    }
}

/// `sha256=HEX` of a body signed with a secret, as GitHub sends it (for clients and tests).
pub fn github_signature_256(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(
        authentication: WebhookAuthenticationType,
        secret: Option<&str>,
        range: Option<&str>,
    ) -> WebhookDefinition {
        WebhookDefinition {
            authentication,
            authentication_configuration: WebhookAuthConfiguration {
                secret_token: secret.map(str::to_string),
                allowed_ip_range: range.map(str::to_string),
            },
            ..WebhookDefinition::default()
        }
    }

    #[test]
    fn github_signatures_are_checked() {
        let d = definition(WebhookAuthenticationType::GithubHmac, Some("s3cret"), None);
        let body = br#"{"ref":"refs/heads/main"}"#;
        let mut headers = HeaderMap::new();
        assert!(authenticate(&d, &headers, body, None).is_err());
        headers.insert(
            "x-hub-signature-256",
            github_signature_256(b"s3cret", body).parse().unwrap(),
        );
        assert!(authenticate(&d, &headers, body, None).is_ok());
        assert!(authenticate(&d, &headers, b"{}", None).is_err());
        headers.insert(
            "x-hub-signature-256",
            github_signature_256(b"other", body).parse().unwrap(),
        );
        assert!(authenticate(&d, &headers, body, None).is_err());

        let mut sha1 = HeaderMap::new();
        let mut mac = Hmac::<Sha1>::new_from_slice(b"s3cret").unwrap();
        mac.update(body);
        let value = format!("sha1={}", hex::encode(mac.finalize().into_bytes()));
        sha1.insert("x-hub-signature", value.parse().unwrap());
        assert!(authenticate(&d, &sha1, body, None).is_ok());
    }

    #[test]
    fn ip_ranges_are_cidr_blocks_or_addresses() {
        assert!(parse_ip_range("10.0.0.0/8").is_some());
        assert!(parse_ip_range("127.0.0.1").is_some());
        assert!(parse_ip_range("::1/128").is_some());
        assert!(parse_ip_range("10.0.0.0/33").is_none());
        assert!(parse_ip_range("localhost").is_none());
        let d = definition(WebhookAuthenticationType::Ip, None, Some("127.0.0.1/32"));
        let headers = HeaderMap::new();
        assert!(authenticate(&d, &headers, b"", Some("127.0.0.1".parse().unwrap())).is_ok());
        assert!(authenticate(&d, &headers, b"", Some("::ffff:127.0.0.1".parse().unwrap())).is_ok());
        assert!(authenticate(&d, &headers, b"", Some("127.0.0.2".parse().unwrap())).is_err());
        assert!(authenticate(&d, &headers, b"", None).is_err());
    }

    #[test]
    fn parameters_are_checked_per_authentication_type() {
        use WebhookAuthenticationType::*;
        assert!(check_parameters(&definition(GithubHmac, Some("x"), None)).is_ok());
        assert!(check_parameters(&definition(GithubHmac, None, None)).is_err());
        assert!(check_parameters(&definition(Ip, None, Some("10.0.0.0/8"))).is_ok());
        assert!(check_parameters(&definition(Ip, None, Some("nope"))).is_err());
        assert!(check_parameters(&definition(Ip, Some("x"), None)).is_err());
        assert!(check_parameters(&definition(Unauthenticated, None, None)).is_ok());
    }
}
