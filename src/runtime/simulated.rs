//! What a CodeBuild action would export if it were simulated: a real build with neither project
//! nor buildspec falls back to it (see `actions::codebuild`), so the runtime hands it over in
//! the task.

use crate::actions::commands;
use crate::app::App;
use crate::engine::{dynamic_outputs, simulate};
use crate::model::*;
use crate::protocol::Scope;
use std::collections::BTreeMap;

/// The output variables of the simulated action: the provider's, and those the project
/// declares or later actions read.
pub fn codebuild_variables(
    app: &App,
    scope: &Scope,
    declaration: &PipelineDeclaration,
    action: &ActionDeclaration,
    configuration: &Map<String>,
    action_execution_id: &str,
) -> BTreeMap<String, String> {
    let mut variables = simulate::action_outputs(&simulate::Simulated {
        type_id: &action.action_type_id,
        configuration,
        action_execution_id,
        scope,
    });
    let declared = dynamic_outputs::declared(
        &action.action_type_id,
        configuration,
        |stack| app.stacks.outputs(scope, stack),
        |project| {
            app.stacks
                .codebuild_project(scope, project)
                .or_else(|| commands::project(&app.config, project).cloned())
                .map(|p| p.env.exported_variables)
        },
    );
    let stage = declaration
        .stages
        .iter()
        .find(|s| s.actions.iter().any(|a| a == action));
    variables.extend(declared.unwrap_or_else(|| match stage {
        Some(stage) => dynamic_outputs::placeholders(declaration, (&stage.name, &action.name)),
        None => BTreeMap::new(),
    }));
    variables
}
