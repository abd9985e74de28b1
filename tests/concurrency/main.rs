//! Many concurrent SDK clients on overlapping resources: creates, updates, deletes, tags,
//! executions and job workers racing each other. Afterwards every invariant holds: versions are
//! dense and each update is readable at the version it was given (no lost update), no duplicate
//! pipeline, every execution reaches a final status, tags are exactly what the successful calls
//! imply, and no job is handed to two workers. Bounded: a few hundred calls per test.

#[path = "../common/mod.rs"]
mod common;

use aws_sdk_codepipeline::types::*;
use aws_sdk_codepipeline::Client;
use common::engine::*;
use common::*;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod executions;
mod pipelines;

const TASKS: usize = 16;

/// A small deterministic generator per task (no shared RNG between tasks).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// Source -> Build, the build's ProjectName carrying `marker` (to recognise each version).
fn marked_pipeline(name: &str, marker: &str) -> PipelineDeclaration {
    pipeline(name)
        .stages(stage("Source", vec![s3_source("Source", "SourceOutput")]))
        .stages(stage(
            "Build",
            vec![action(
                "Build",
                type_id(ActionCategory::Build, ActionOwner::Aws, "CodeBuild"),
                &["SourceOutput"],
                &[],
            )
            .configuration("ProjectName", marker)
            .build()
            .unwrap()],
        ))
        .build()
        .unwrap()
}

fn marker_of(declaration: &PipelineDeclaration) -> String {
    declaration.stages()[1].actions()[0]
        .configuration()
        .and_then(|c| c.get("ProjectName"))
        .cloned()
        .unwrap_or_default()
}
