//! Finding what a request names: its pipeline, an execution of it.

use crate::engine::PipelineExecutionRecord;
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};
use crate::store::PipelineRecord;

/// The pipeline of a request, or `PipelineNotFoundException`.
pub fn pipeline<'a>(
    pipelines: &'a std::collections::BTreeMap<String, Box<PipelineRecord>>,
    name: &str,
    ctx: &RequestContext,
) -> Result<&'a PipelineRecord, ApiError> {
    pipelines
        .get(name)
        .map(|record| &**record)
        .ok_or_else(|| ApiError::pipeline_not_found(name, &ctx.scope.account))
}

/// An execution of a pipeline, or `PipelineExecutionNotFoundException`.
pub fn find_execution<'a>(
    record: &'a PipelineRecord,
    pipeline: &str,
    id: &str,
) -> Result<std::borrow::Cow<'a, PipelineExecutionRecord>, ApiError> {
    record.runtime.execution(id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::PipelineExecutionNotFoundException,
            format!("Pipeline execution '{id}' was not found in pipeline '{pipeline}'"),
        )
    })
}
