//! Why the engine refuses a command, in its own terms; `api` maps each to the AWS error.

use std::fmt;

/// A refused command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    PipelineNotFound {
        pipeline: String,
        account: String,
    },
    StageNotFound {
        stage: String,
        pipeline: String,
    },
    ActionNotFound {
        action: String,
        stage: String,
        pipeline: String,
    },
    /// The request is not valid (ValidationException).
    Invalid(String),
    /// The request is valid but the state does not allow it.
    Refused {
        reason: Refusal,
        message: String,
    },
}

/// Why a valid command cannot be applied now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many executions in progress (QUEUED and PARALLEL modes).
    ConcurrencyLimit,
    ExecutionNotFound,
    /// A rollback target ran an older version of the pipeline.
    ExecutionOutdated,
    /// The stage is busy.
    Conflict,
    InvalidApprovalToken,
    ApprovalAlreadyCompleted,
    ConditionNotOverridable,
    NotStoppable,
    DuplicatedStop,
    NotLatestExecution,
    StageNotRetryable,
    UnableToRollback,
    JobNotFound,
    InvalidJobState,
    OutputVariablesTooLarge,
}

impl EngineError {
    pub fn refused(reason: Refusal, message: impl Into<String>) -> Self {
        EngineError::Refused {
            reason,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        EngineError::Invalid(message.into())
    }

    pub fn stage_not_found(stage: &str, pipeline: &str) -> Self {
        EngineError::StageNotFound {
            stage: stage.to_string(),
            pipeline: pipeline.to_string(),
        }
    }

    pub fn action_not_found(action: &str, stage: &str, pipeline: &str) -> Self {
        EngineError::ActionNotFound {
            action: action.to_string(),
            stage: stage.to_string(),
            pipeline: pipeline.to_string(),
        }
    }

    /// The message AWS answers with.
    pub fn message(&self) -> String {
        match self {
            EngineError::PipelineNotFound { pipeline, account } => {
                format!("Account '{account}' does not have a pipeline with name '{pipeline}'")
            }
            EngineError::StageNotFound { stage, pipeline } => {
                format!("Stage '{stage}' does not exist in pipeline '{pipeline}'")
            }
            EngineError::ActionNotFound {
                action,
                stage,
                pipeline,
            } => format!(
                "Action '{action}' does not exist in stage '{stage}' of pipeline '{pipeline}'"
            ),
            EngineError::Invalid(message) | EngineError::Refused { message, .. } => message.clone(),
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for EngineError {}
