//! Bring your CloudFormation or CDK: pipelines, webhooks, custom action types and CodeBuild
//! projects read from templates, CDK cloud assemblies or pipeline JSON, and applied through the
//! same handlers as CreatePipeline/UpdatePipeline/PutWebhook/CreateCustomActionType.
//!
//! - `parse`: JSON and YAML (short-form tags) to JSON.
//! - `intrinsics`: `Ref`, `Fn::*`, conditions, pseudo parameters; `names`: physical ids, ARNs.
//! - `convert`: PascalCase properties to the API's shapes; `resources`: each resource type.
//! - `stack`: one template; `source`: files, cloud assemblies, pipeline JSON.
//! - `apply`: into an `App` (startup `--load`, the load endpoint, `validate`, `run`).
//! - `catalog`: what loaded stacks leave for the simulation (outputs, CodeBuild projects).

mod apply;
mod caller;
mod convert;
mod intrinsics;
mod names;
mod parse;
mod resources;
mod source;
mod stack;

pub use crate::runtime::stacks::{LoadedStack, LoadedStacks};
pub use apply::{apply, load_at_startup, prepare_startup, ApplyMode, StackReport};
pub use caller::Caller;
pub use names::StackId;
pub use source::{read_path, read_text, unknown_parameters, Exports, LoadOptions};
pub use stack::Stack;

use std::fmt;

/// A problem inside a template, at a JSON path (`Resources.P.Properties.Stages[0].Name`).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub path: String,
    /// CloudFormation's `ValidationError`, or the API's exception name.
    pub code: &'static str,
    pub message: String,
}

impl TemplateError {
    pub fn new(path: &str, message: impl Into<String>) -> Self {
        TemplateError {
            path: path.to_string(),
            code: "ValidationError",
            message: message.into(),
        }
    }
}

/// One problem of a load, printed `FILE: RESOURCE (PATH): CODE: MESSAGE`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    pub file: String,
    /// The logical id of the resource (or output); empty for the template as a whole.
    pub resource: String,
    pub path: String,
    pub code: String,
    pub message: String,
}

impl Problem {
    pub fn new(file: &str, resource: &str, error: TemplateError) -> Self {
        Problem {
            file: file.to_string(),
            resource: resource.to_string(),
            path: error.path,
            code: error.code.to_string(),
            message: error.message,
        }
    }

    /// A problem with the file itself (unreadable, not a template).
    pub fn file(file: &str, message: impl Into<String>) -> Self {
        Problem::new(file, "", TemplateError::new("", message))
    }

    pub(crate) fn is_missing_import(&self) -> bool {
        self.message.starts_with("No export named")
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file)?;
        match (self.resource.is_empty(), self.path.is_empty()) {
            (false, false) => write!(f, " {} ({}):", self.resource, self.path)?,
            (false, true) => write!(f, " {}:", self.resource)?,
            (true, false) => write!(f, " ({}):", self.path)?,
            (true, true) => {}
        }
        write!(f, " {}: {}", self.code, self.message)
    }
}

/// Problems, one per line.
pub fn describe(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
