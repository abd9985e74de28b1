//! PutApprovalResult: answers a manual approval action waiting for its token.

use crate::app::App;
use crate::engine::{self};
use crate::model::*;
use crate::protocol::{ApiError, RequestContext};

pub fn put_approval_result(
    app: &App,
    ctx: &RequestContext,
    input: PutApprovalResultInput,
) -> Result<PutApprovalResultOutput, ApiError> {
    let region = app.store.region(&ctx.scope);
    let mut state = region.lock();
    let approved_at =
        crate::runtime::with_engine_locked(app, &region.scope, &mut state, |cx, state| {
            engine::put_approval_result(
                cx,
                state,
                &input.pipeline_name,
                &input.stage_name,
                &input.action_name,
                &input.token,
                &input.result,
                &ctx.caller_arn(),
            )
        })?;
    Ok(PutApprovalResultOutput {
        approved_at: Some(approved_at),
    })
}
