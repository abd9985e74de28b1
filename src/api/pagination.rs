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

/// Decodes an optional token that carries a position (a sequence number or an index).
pub fn decode_position<T: std::str::FromStr>(token: Option<&str>) -> Result<Option<T>, ApiError> {
    token
        .map(|t| {
            decode_token(t)?
                .parse::<T>()
                .map_err(|_| ApiError::invalid_next_token())
        })
        .transpose()
}

/// One page of a listing, newest first, over records keyed by sequence number (`sequences`,
/// sorted): the records before `before` that `keep` turns into items, at most `size` of them,
/// and the token of the next page when there is one.
pub fn newest_first<O>(
    sequences: &[u64],
    before: Option<u64>,
    size: usize,
    mut keep: impl FnMut(u64) -> Option<O>,
) -> (Vec<O>, Option<String>) {
    let end = match before {
        Some(seq) => sequences.partition_point(|s| *s < seq),
        None => sequences.len(),
    };
    let mut items = Vec::new();
    let mut last = None;
    for seq in sequences[..end].iter().rev() {
        let Some(item) = keep(*seq) else {
            continue;
        };
        if items.len() == size {
            return (items, last.map(|s: u64| encode_token(&s.to_string())));
        }
        items.push(item);
        last = Some(*seq);
    }
    (items, None)
}

/// Page size from an optional `maxResults`, bounded by the model already.
pub fn page_size(max_results: Option<i64>, default: usize) -> usize {
    max_results.map(|m| m.max(1) as usize).unwrap_or(default)
}

/// The `filter` of ListActionExecutions and ListRuleExecutions: one pipeline execution, and
/// with `latestInPipelineExecution` + `startTimeRange: Latest` only the latest run of each
/// action (or rule).
pub struct ExecutionFilter {
    execution: Option<String>,
    latest_only: bool,
}

impl ExecutionFilter {
    pub fn new(
        execution: Option<String>,
        latest: Option<crate::model::LatestInPipelineExecutionFilter>,
    ) -> Self {
        match latest {
            Some(latest) => ExecutionFilter {
                execution: Some(latest.pipeline_execution_id),
                latest_only: latest.start_time_range == crate::model::StartTimeRange::Latest,
            },
            None => ExecutionFilter {
                execution,
                latest_only: false,
            },
        }
    }

    /// The named execution must exist (`PipelineExecutionNotFoundException`).
    pub fn check(
        &self,
        record: &crate::store::PipelineRecord,
        pipeline: &str,
    ) -> Result<(), ApiError> {
        if let Some(id) = &self.execution {
            super::lookup::find_execution(record, pipeline, id)?;
        }
        Ok(())
    }

    /// The sequence numbers to list, sorted: those of the filtered execution (`of` picks its
    /// action or rule sequences), or `all`.
    pub fn sequences(
        &self,
        runtime: &crate::store::runtime::PipelineRuntime,
        of: impl Fn(&crate::store::runtime::PipelineExecutionRecord) -> &Vec<u64>,
        all: Vec<u64>,
    ) -> Vec<u64> {
        let Some(execution) = self
            .execution
            .as_deref()
            .and_then(|id| runtime.execution(id))
        else {
            return all;
        };
        let mut sequences = of(&execution).clone();
        sequences.sort_unstable();
        sequences
    }

    /// Whether a run of `stage/name` in `execution` is listed (`seen` tracks latest runs).
    pub fn keeps(
        &self,
        execution: &str,
        stage: &str,
        name: &str,
        seen: &mut std::collections::HashSet<(String, String)>,
    ) -> bool {
        if self.execution.as_deref().is_some_and(|id| id != execution) {
            return false;
        }
        !self.latest_only || seen.insert((stage.to_string(), name.to_string()))
    }
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
