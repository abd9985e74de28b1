//! The engine's timers: a simulated action's end, an approval or job timeout, a rule's
//! evaluation. Each is keyed by what it guards (`Subject`), so that whatever finishes its
//! subject — an answered approval, a finished job, a stop, a deleted pipeline, a reset —
//! cancels it (`Effect::CancelTimer`). The runtime driver arms them on its timer wheel and hands
//! them back when due (`inputs::on_timer`); a timer that fires after its subject is gone finds
//! nothing to do.

/// Something that happens later, reported back to the engine by the timer wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timer {
    /// A simulated action's duration has passed.
    FinishSimulated {
        pipeline: String,
        action_execution_id: String,
    },
    /// A manual approval was not answered in time.
    ApprovalTimeout {
        pipeline: String,
        action_execution_id: String,
    },
    /// A job was not finished in time.
    JobTimeout { pipeline: String, job_id: String },
    /// A stage-condition rule's evaluation is due.
    FinishRule {
        pipeline: String,
        rule_sequence: u64,
    },
}

/// What a timer guards: one per subject (arming it again replaces the timer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// An action execution (by id): a simulated action's end, an approval's timeout.
    Action(String),
    /// A job (by id): its timeout.
    Job(String),
    /// A rule execution (by sequence number in its pipeline): its evaluation.
    Rule(u64),
}

impl Timer {
    /// The pipeline and the subject the timer guards.
    pub fn guarded(&self) -> (&str, Subject) {
        match self {
            Timer::FinishSimulated {
                pipeline,
                action_execution_id,
            }
            | Timer::ApprovalTimeout {
                pipeline,
                action_execution_id,
            } => (pipeline, Subject::Action(action_execution_id.clone())),
            Timer::JobTimeout { pipeline, job_id } => (pipeline, Subject::Job(job_id.clone())),
            Timer::FinishRule {
                pipeline,
                rule_sequence,
            } => (pipeline, Subject::Rule(*rule_sequence)),
        }
    }
}
