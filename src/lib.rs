//! codepipeline-local: an AWS CodePipeline emulator.
//!
//! - `protocol`: AWS JSON 1.1 on the wire, request scoping, AWS errors.
//! - `model`: the API's types (generated from the AWS service model), validation, catalog.
//! - `store`: state per account and region, and the runtime state of pipelines.
//! - `engine`: pipeline executions, as a pure state machine (state + input -> state + effects).
//! - `actions`: actions that do real work when configured (S3 artifacts, S3 source/deploy,
//!   the local executor for Commands/CodeBuild, Lambda invoke).
//! - `api`: one handler per operation.
//! - `config`, `server`, `cli`: how it runs (serve, `validate`, `run`).
//! - `templates`: CloudFormation templates, CDK cloud assemblies and pipeline JSON, loaded.
//! - `runtime`: the engine's driver: applies inputs under the region lock and performs the
//!   effects (the timer wheel, real work, Lambda calls, events).
//! - `role_check`: the opt-in check of a pipeline's role against an IAM endpoint.
//! - `admin`: the admin API, event stream and dashboard under `/_codepipeline-local/`.
//! - `sources`: local git repositories as sources; their commits trigger pipelines.
//! - `forward`: state-change events sent on to EventBridge (`--events-endpoint`).

pub mod actions;
pub mod admin;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod engine;
pub mod events;
pub mod forward;
pub mod http;
pub mod jobs;
pub mod model;
pub mod protocol;
pub mod role_check;
pub mod runtime;
pub mod server;
pub mod sources;
pub mod store;
pub mod templates;
pub mod webhooks;

pub use app::App;
pub use config::Config;
pub use server::{start, RunningServer};
