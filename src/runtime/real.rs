//! Starting the real work of an action the engine started (`Effect::StartReal`): the task is
//! built from the state (`actions::Task`), spawned under `actions::running`, and its outcome fed
//! back to the engine (`driver::report`).

use crate::actions::{self, Input, Output, Task};
use crate::app::App;
use crate::engine::actions::{action_timeout, requested_revision};
use crate::engine::variables::VariableScope;
use crate::model::*;
use crate::protocol::Scope;
use crate::store::runtime::{ActionExecutionRecord, PipelineExecutionRecord, RealWork};
use crate::store::RegionState;
use std::collections::BTreeMap;

/// Builds the task of a just-started action, spawns it, and shows its external execution id and
/// URL on the action execution (the local executor's build id and log file).
pub fn start(
    app: &App,
    scope: &Scope,
    state: &mut RegionState,
    pipeline: &str,
    action_execution_id: &str,
    work: RealWork,
) {
    let Some(record) = state.pipelines.get_mut(pipeline) else {
        return;
    };
    let runtime = &mut record.runtime;
    let Some(action) = runtime.action_execution(action_execution_id) else {
        return;
    };
    if action.is_finished() {
        return;
    }
    let Some(execution) = runtime.execution(&action.pipeline_execution_id) else {
        return;
    };
    let Some(task) = task(app, scope, pipeline, &execution, &action, work) else {
        // The record was made from this declaration: not reachable.
        tracing::error!(
            pipeline,
            action_execution_id,
            "bug: a real action whose declaration is missing"
        );
        return;
    };
    let shown = actions::shown(&app.config, &task);
    if let Some(action) = runtime.action_execution_mut(action_execution_id) {
        action.external_execution_id = shown.0.clone();
        action.external_execution_url = shown.1;
    }
    spawn(app, scope, task, shown.0.unwrap_or_default());
}

/// Everything a real action needs, copied out of the state.
fn task(
    app: &App,
    scope_of_pipeline: &Scope,
    pipeline: &str,
    execution: &PipelineExecutionRecord,
    record: &ActionExecutionRecord,
    work: RealWork,
) -> Option<Task> {
    let action = execution
        .declaration
        .stages
        .iter()
        .find(|s| s.name == record.stage)?
        .actions
        .iter()
        .find(|a| a.name == record.action)?;
    let scope = VariableScope::of(execution);
    let variables: BTreeMap<String, String> = scope
        .pipeline_variables
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // References that do not resolve are left as they are (the shell sees them).
    let resolve = |text: &str| scope.resolve(text).unwrap_or_else(|_| text.to_string());
    let environment = action
        .environment_variables
        .iter()
        .flat_map(|v| v.iter())
        .map(|e| (e.name.clone(), resolve(&e.value)))
        .collect();
    let commands = action
        .commands
        .iter()
        .flat_map(|c| c.iter())
        .map(|c| resolve(c))
        .collect();
    let inputs = action
        .input_artifacts
        .iter()
        .flatten()
        .map(|input| Input {
            name: input.name.clone(),
            location: execution
                .artifacts
                .get(&input.name)
                .map(|a| (a.bucket.clone(), a.key.clone())),
            revision: execution
                .artifacts
                .get(&input.name)
                .and_then(|a| a.revision.clone()),
        })
        .collect();
    let outputs = record
        .output_artifacts
        .iter()
        .filter_map(|detail| output(action, detail))
        .collect();
    let configuration = record
        .input
        .resolved_configuration
        .clone()
        .unwrap_or_default();
    let codebuild = work == RealWork::CodeBuild;
    let simulated = match codebuild {
        true => super::simulated::codebuild_variables(
            app,
            scope_of_pipeline,
            &execution.declaration,
            action,
            &configuration,
            &record.id,
        ),
        false => BTreeMap::new(),
    };
    let loaded_project = configuration
        .get("ProjectName")
        .filter(|_| codebuild)
        .and_then(|name| app.stacks.codebuild_project(scope_of_pipeline, name));
    Some(Task {
        work,
        pipeline: pipeline.to_string(),
        pipeline_execution_id: execution.id.clone(),
        action_execution_id: record.id.clone(),
        action: action.clone(),
        configuration,
        variables,
        environment,
        commands,
        inputs,
        outputs,
        revision: requested_revision(execution, &action.name),
        timeout: action_timeout(action)
            .unwrap_or_else(|| actions::default_timeout(&app.config, work)),
        scope: scope_of_pipeline.clone(),
        simulated,
        loaded_project,
    })
}

fn output(action: &ActionDeclaration, detail: &ArtifactDetail) -> Option<Output> {
    let name = detail.name.clone()?;
    let location = detail.s3location.as_ref()?;
    let files = action
        .output_artifacts
        .iter()
        .flatten()
        .find(|o| o.name == name)
        .and_then(|o| o.files.clone())
        .unwrap_or_default();
    Some(Output {
        name,
        bucket: location.bucket.clone().unwrap_or_default(),
        key: location.key.clone().unwrap_or_default(),
        files,
    })
}

/// Runs the task under supervision; its outcome goes back to the engine.
fn spawn(app: &App, scope: &Scope, task: Task, build_id: String) {
    let id = task.action_execution_id.clone();
    let timeout = task.timeout;
    let work = {
        let (app, task, build_id) = (app.clone(), task.clone(), build_id.clone());
        async move { actions::run(&app.config, &task, build_id).await }
    };
    let timed_out = {
        let (app, task) = (app.clone(), task.clone());
        move || actions::timed_out(&app.config, &task, build_id)
    };
    let (app_for_report, scope, pipeline) = (app.clone(), scope.clone(), task.pipeline);
    app.running.spawn(&id, timeout, work, timed_out, {
        let id = id.clone();
        move |outcome| super::driver::report(&app_for_report, &scope, &pipeline, &id, outcome)
    });
}
