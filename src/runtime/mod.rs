//! The runtime side of the engine: what performs effects in time. Today the timer wheel; the
//! engine-core issue moves the rest of the driver here.

pub mod timers;
