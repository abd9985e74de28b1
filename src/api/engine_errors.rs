//! The AWS error for each refusal of the engine.

use crate::engine::{EngineError, Refusal};
use crate::model::ErrorCode;
use crate::protocol::ApiError;

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        let message = error.message();
        let code = match error {
            EngineError::PipelineNotFound { .. } => ErrorCode::PipelineNotFoundException,
            EngineError::StageNotFound { .. } => ErrorCode::StageNotFoundException,
            EngineError::ActionNotFound { .. } => ErrorCode::ActionNotFoundException,
            EngineError::Invalid(_) => ErrorCode::ValidationException,
            EngineError::Refused { reason, .. } => code_of(reason),
        };
        ApiError::new(code, message)
    }
}

fn code_of(reason: Refusal) -> ErrorCode {
    match reason {
        Refusal::ConcurrencyLimit => ErrorCode::ConcurrentPipelineExecutionsLimitExceededException,
        Refusal::ExecutionNotFound => ErrorCode::PipelineExecutionNotFoundException,
        Refusal::ExecutionOutdated => ErrorCode::PipelineExecutionOutdatedException,
        Refusal::Conflict => ErrorCode::ConflictException,
        Refusal::InvalidApprovalToken => ErrorCode::InvalidApprovalTokenException,
        Refusal::ApprovalAlreadyCompleted => ErrorCode::ApprovalAlreadyCompletedException,
        Refusal::ConditionNotOverridable => ErrorCode::ConditionNotOverridableException,
        Refusal::NotStoppable => ErrorCode::PipelineExecutionNotStoppableException,
        Refusal::DuplicatedStop => ErrorCode::DuplicatedStopRequestException,
        Refusal::NotLatestExecution => ErrorCode::NotLatestPipelineExecutionException,
        Refusal::StageNotRetryable => ErrorCode::StageNotRetryableException,
        Refusal::UnableToRollback => ErrorCode::UnableToRollbackStageException,
        Refusal::JobNotFound => ErrorCode::JobNotFoundException,
        Refusal::InvalidJobState => ErrorCode::InvalidJobStateException,
        Refusal::OutputVariablesTooLarge => ErrorCode::OutputVariablesSizeExceededException,
    }
}
