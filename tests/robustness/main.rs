//! Robustness of the wire protocol against hostile input, over real HTTP: for every operation of
//! the service model, random and mutated JSON bodies (wrong types, ~1 MB strings, deep nesting,
//! invalid UTF-8, missing and extra fields, nulls, numbers out of range, arrays where objects
//! belong, truncated JSON). The server must never answer 5xx, never hang, always answer a client
//! error as an AWS error (`__type` equal to `x-amzn-ErrorType`) drawn from what the operation
//! may answer, and never change stored state on a request it rejected.
//!
//! Bodies come from proptest strategies built from the service model (`model::spec`), run with
//! a deterministic RNG so a failure reproduces; each operation gets a bounded number of cases.
//! `ROBUST_LIST_UNMODELLED=1 cargo test --test robustness -- --nocapture` prints error codes
//! outside an operation's allowed set instead of failing on the first.

#[path = "../common/mod.rs"]
mod common;

use codepipeline_local::model::spec::{spec, Shape};
use codepipeline_local::model::{ErrorCode, Operation};
use common::engine::manual_config;
use common::ROLE_ARN;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

mod answers;
mod bodies;
mod create_pipeline;
mod hostile;
mod random_bodies;
mod state;

// The helper modules, re-exported for the test modules (`use super::*`).
use answers::*;
use bodies::*;
use state::*;

/// Random cases per operation (each case is one request, plus state snapshots around it).
const CASES_PER_OPERATION: u32 = 32;

fn runner(seed_offset: u8) -> TestRunner {
    let mut seed = [7u8; 32];
    seed[0] = seed_offset;
    TestRunner::new_with_rng(
        ProptestConfig {
            cases: CASES_PER_OPERATION,
            failure_persistence: None,
            max_shrink_iters: 64,
            ..ProptestConfig::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
