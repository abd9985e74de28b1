//! Pipeline executions through the AWS SDK for Rust: start, run, fail, variables, revisions.

#[path = "../common/mod.rs"]
mod common;

use aws_sdk_codepipeline::error::ProvideErrorMetadata;
use aws_sdk_codepipeline::types::*;
use codepipeline_local::engine::behavior::Behavior;
use common::engine::*;
use common::*;

mod history;
mod running;
mod starting;
mod variables;
