//! Who is calling: the account and region of a request, read from the SigV4 `Authorization`
//! header's credential scope (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`). Signatures
//! are not verified. A 12-digit access key id is taken as the account id (a LocalStack
//! convention), any other key maps to the configured default account.

use axum::http::HeaderMap;

/// The (account, region) pair every piece of state is scoped by.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

/// The scope of a request, falling back to the configured defaults.
pub fn caller_scope(headers: &HeaderMap, default_account: &str, default_region: &str) -> Scope {
    let credential = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(credential_scope);
    let (access_key, region) = match credential {
        Some((key, region)) => (Some(key), Some(region)),
        None => (None, None),
    };
    let account = match access_key {
        Some(key) if key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()) => key.to_string(),
        _ => default_account.to_string(),
    };
    let region = match region {
        Some(r) if is_region_name(r) => r.to_string(),
        _ => default_region.to_string(),
    };
    Scope { account, region }
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/codepipeline/aws4_request, ...`
/// -> `("AKID", "us-east-1")`.
fn credential_scope(authorization: &str) -> Option<(&str, &str)> {
    let start = authorization.find("Credential=")? + "Credential=".len();
    let rest = &authorization[start..];
    let end = rest.find([',', ' ']).unwrap_or(rest.len());
    let mut parts = rest[..end].split('/');
    let key = parts.next()?;
    let _date = parts.next()?;
    let region = parts.next()?;
    Some((key, region))
}

fn is_region_name(region: &str) -> bool {
    (4..=30).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", auth.parse().unwrap());
        h
    }

    #[test]
    fn reads_region_and_numeric_access_key_as_account() {
        let h = headers("AWS4-HMAC-SHA256 Credential=111122223333/20240101/eu-west-1/codepipeline/aws4_request, SignedHeaders=host, Signature=abc");
        let scope = caller_scope(&h, "000000000000", "us-east-1");
        assert_eq!(scope.account, "111122223333");
        assert_eq!(scope.region, "eu-west-1");
    }

    #[test]
    fn other_keys_use_the_default_account() {
        let h = headers("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/ap-south-1/codepipeline/aws4_request, SignedHeaders=host, Signature=abc");
        let scope = caller_scope(&h, "000000000000", "us-east-1");
        assert_eq!(scope.account, "000000000000");
        assert_eq!(scope.region, "ap-south-1");
        let scope = caller_scope(&HeaderMap::new(), "000000000000", "us-east-1");
        assert_eq!(scope.region, "us-east-1");
    }
}
