//! The HTTP layer under the routes: connection handling (`serve`: timeouts, connection limit,
//! graceful shutdown with a deadline) and the request guards of a local dev server (`guard`:
//! Host, Origin and content-type checks, the admin token, CORS for the AWS API).

mod cors;
pub mod guard;
mod hosts;
pub mod serve;
mod socket;

pub use cors::layer as cors_layer;
pub use serve::{serve, HandOver, Limits};

/// Where the admin routes live: the guards treat this prefix as the admin API.
pub const ADMIN_PATH: &str = "/_codepipeline-local";
