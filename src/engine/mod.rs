//! The execution engine: runs pipeline executions stage by stage as CodePipeline does.
//!
//! A pure, synchronous state machine. Every input — a command from the API (`start`,
//! `commands`), an action's outcome, a job result (`jobs`), a timer that fell due (`inputs`) —
//! is applied to the region's state (`store::RegionState`, whose runtime types live in
//! `store::runtime`) and followed by `advance`, which moves every execution of the
//! pipeline as far as the rules allow (`progress`). What must happen outside the state (timers,
//! real work, Lambda calls, events) is recorded as `Effect`s in the step's `Cx`; the runtime
//! driver (`runtime`) performs them and feeds their results back as inputs. The engine
//! imports the model and the store's state types only; its errors are `EngineError`s.

pub mod actions;
mod advance;
pub mod behavior;
mod commands;
pub mod conditions;
mod cx;
pub mod dynamic_outputs;
mod error;
pub mod inputs;
pub mod invoke;
pub mod jobs;
mod launch;
mod outcome;
mod progress;
mod resume;
pub mod simulate;
mod start;
pub mod timers;
pub mod variables;

#[cfg(test)]
mod tests;

pub use crate::store::runtime::Outcome;
pub use crate::store::runtime::*;
pub use advance::{advance, finish_action_by_id};
pub use commands::{
    override_stage_condition, put_approval_result, retry_stage, rollback_stage, set_transition,
    stop_execution,
};
pub use cx::{Cx, Effect, EventKind, Nothing, Settings, Surroundings};
pub use error::{EngineError, Refusal};
pub use progress::run_order_groups;
pub use resume::resume;
pub use start::{put_action_revision, start_execution, StartRequest};
pub use timers::{Subject, Timer};
