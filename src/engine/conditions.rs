//! Stage conditions (V2): beforeEntry, onSuccess and onFailure rules.

use super::progress::{finish_stage, set_phase};
use super::state::*;
use super::Cx;
use crate::model::*;

/// Advances a stage that is evaluating one of its conditions.
#[allow(clippy::too_many_arguments)]
pub fn step(
    cx: &Cx,
    name: &str,
    arn: &str,
    runtime: &mut PipelineRuntime,
    seq: u64,
    index: usize,
    stage: &StageDeclaration,
    stopping: bool,
) -> bool {
    let Some(phase) = runtime.executions[&seq]
        .stages
        .get(&stage.name)
        .map(|r| r.phase)
    else {
        return false;
    };
    if stopping {
        finish_stage(
            cx,
            name,
            arn,
            runtime,
            seq,
            index,
            stage,
            StageExecutionStatus::Stopped,
        );
        return true;
    }
    match phase {
        StagePhase::BeforeEntry => {
            set_phase(runtime, seq, &stage.name, StagePhase::Actions { group: 0 })
        }
        StagePhase::OnSuccess => finish_stage(
            cx,
            name,
            arn,
            runtime,
            seq,
            index,
            stage,
            StageExecutionStatus::Succeeded,
        ),
        StagePhase::OnFailure => finish_stage(
            cx,
            name,
            arn,
            runtime,
            seq,
            index,
            stage,
            StageExecutionStatus::Failed,
        ),
        _ => return false,
    }
    true
}
