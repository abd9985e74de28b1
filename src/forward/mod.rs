//! Forwarding the engine's state-change events (`events::EventBus`) to services outside:
//!
//! - `eventbridge`: with `--events-endpoint`, every event goes to the default event bus with
//!   `PutEvents`, batched and retried, without ever holding up the engine.

pub mod eventbridge;
