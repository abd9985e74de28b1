//! What loaded stacks leave behind for pipelines to use, per account and region (`templates`
//! fills it when it loads a template; the engine's surroundings and later loads read it):
//!
//! - `outputs(scope, stack)`: a stack's `Outputs`: a simulated CloudFormation deploy action
//!   whose `StackName` is a loaded stack can export exactly those names as its variables;
//! - `codebuild_project(scope, name)`: a loaded `AWS::CodeBuild::Project` (buildspec, env
//!   variables, `exported-variables`): a simulated CodeBuild action can export exactly those
//!   variables. Projects loaded at startup are also added to the configuration's
//!   `[[codebuild_projects]]`, so the local executor runs them.
//! - `exports(scope)`: what `Fn::ImportValue` of a later load reads.

use crate::config::CodeBuildProject;
use crate::protocol::Scope;
use parking_lot::RwLock;
use serde::Serialize;
use std::collections::BTreeMap;

/// Exports by (account, region): what `Fn::ImportValue` can read.
pub type Exports = BTreeMap<(String, String), BTreeMap<String, String>>;

/// One loaded stack.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadedStack {
    pub file: String,
    pub outputs: BTreeMap<String, String>,
    pub exports: BTreeMap<String, String>,
    pub codebuild_projects: Vec<CodeBuildProject>,
    /// (logical id, pipeline name).
    pub pipelines: Vec<(String, String)>,
}

/// Every loaded stack, by account, region and stack name.
#[derive(Debug, Default)]
pub struct LoadedStacks {
    stacks: RwLock<BTreeMap<(Scope, String), LoadedStack>>,
}

impl LoadedStacks {
    /// Records a stack (a load of the same stack again replaces it).
    pub fn insert(&self, scope: Scope, name: String, stack: LoadedStack) {
        self.stacks.write().insert((scope, name), stack);
    }

    /// The `Outputs` of a loaded stack.
    pub fn outputs(&self, scope: &Scope, stack_name: &str) -> Option<BTreeMap<String, String>> {
        self.stacks
            .read()
            .get(&(scope.clone(), stack_name.to_string()))
            .map(|s| s.outputs.clone())
    }

    /// A loaded CodeBuild project of this account and region.
    pub fn codebuild_project(&self, scope: &Scope, name: &str) -> Option<CodeBuildProject> {
        self.stacks
            .read()
            .iter()
            .filter(|((s, _), _)| s == scope)
            .flat_map(|(_, stack)| stack.codebuild_projects.iter())
            .find(|p| p.name == name)
            .cloned()
    }

    /// The loaded pipelines of files whose path starts with `file_prefix` (a template, or the
    /// directory of a cloud assembly): account and region, logical id and name.
    pub fn pipelines(&self, file_prefix: &str) -> Vec<(Scope, String, String)> {
        self.stacks
            .read()
            .iter()
            .filter(|(_, stack)| stack.file.starts_with(file_prefix))
            .flat_map(|((scope, _), stack)| {
                stack
                    .pipelines
                    .iter()
                    .map(|(logical_id, name)| (scope.clone(), logical_id.clone(), name.clone()))
            })
            .collect()
    }

    /// Every export, by account and region.
    pub fn exports(&self) -> Exports {
        let mut exports = Exports::new();
        for ((scope, _), stack) in self.stacks.read().iter() {
            exports
                .entry((scope.account.clone(), scope.region.clone()))
                .or_default()
                .extend(stack.exports.clone());
        }
        exports
    }
}
