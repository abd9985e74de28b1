//! The runtime: what performs the engine's effects, in time.
//!
//! The engine (`engine`) is a pure state machine; `driver` applies an input to it under
//! the region's lock (`with_engine`), then performs the effects the step asked for: timers on
//! the one timer wheel (`timers`), real work (`real`), Lambda invocations (`lambda`), events.
//! Results come back as inputs: a due timer (`fire`), an action's outcome (`report`), a Lambda
//! function that failed. `stacks` is what loaded templates left for the engine's surroundings
//! (stack outputs, CodeBuild projects) and for later loads (exports).

pub mod driver;
pub mod lambda;
pub mod real;
pub mod simulated;
pub mod stacks;
pub mod timers;

pub use driver::{
    cancel_all, cancel_pipeline, cancel_scope, fire, report, resume, start_execution,
    stop_real_work, stop_real_work_of_scope, with_engine, with_engine_locked, Due, TimerKey,
};
