//! The execution engine: runs pipeline executions stage by stage as CodePipeline does.

pub mod behavior;

use serde::{Deserialize, Serialize};

/// The runtime state of one pipeline: its executions and everything they produced.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PipelineRuntime {}
