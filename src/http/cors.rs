//! Optional CORS for the AWS API (`--cors-origins`), for the AWS SDK for JavaScript in a browser:
//! preflights answered, any request header allowed (the SDK sends `x-amz-*`, `amz-sdk-*`,
//! `authorization`), the AWS response headers exposed. Off by default.

use axum::http::{HeaderName, HeaderValue, Method};
use std::time::Duration;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// The layer for `origins` (`*` for any), or `None` when the list is empty.
pub fn layer(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o.trim().trim_end_matches('/'))
                    .map_err(|_| format!("'{o}' is not a valid CORS origin"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(values)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::POST, Method::GET])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers([
                HeaderName::from_static("x-amzn-requestid"),
                HeaderName::from_static("x-amzn-errortype"),
                HeaderName::from_static("x-amz-id-2"),
            ])
            .max_age(Duration::from_secs(3600)),
    ))
}
