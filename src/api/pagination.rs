//! Opaque pagination tokens. A token carries the key after which the next page starts; a token
//! this server did not issue is an `InvalidNextTokenException`, as in AWS.

use crate::protocol::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

const PREFIX: &str = "cpl1:";

/// Encodes the key of the last item of a page.
pub fn encode_token(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{last_key}"))
}

/// Decodes a token back into the key of the last item of the previous page.
pub fn decode_token(token: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(PREFIX).map(str::to_string))
        .ok_or_else(ApiError::invalid_next_token)
}

/// Page size from an optional `maxResults`, bounded by the model already.
pub fn page_size(max_results: Option<i64>, default: usize) -> usize {
    max_results.map(|m| m.max(1) as usize).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_tokens_are_rejected() {
        let token = encode_token("pipeline-42");
        assert_eq!(decode_token(&token).unwrap(), "pipeline-42");
        assert!(decode_token("not-a-token").is_err());
        assert!(decode_token(&URL_SAFE_NO_PAD.encode("other:x")).is_err());
    }
}
