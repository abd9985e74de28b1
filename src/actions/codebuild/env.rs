//! A build's environment variables, lowest precedence first (a later one wins, as in
//! CodeBuild: the action's over the project's over the buildspec's): the pipeline's variables
//! (V2, by name), the buildspec's `env` (`variables`, `parameter-store`, `secrets-manager`),
//! the project's environment variables, the action's `EnvironmentVariables` configuration
//! (PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER), then CodeBuild's own `CODEBUILD_*`.

use super::project::Variable;
use super::secrets;
use super::spec::Buildspec;
use crate::actions::Task;
use crate::config::Config;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

/// An entry of the action's `EnvironmentVariables` configuration.
#[derive(Deserialize)]
struct ConfiguredVariable {
    name: String,
    value: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// The action's `EnvironmentVariables` (a JSON list of name/value/type objects).
pub fn configured(task: &Task) -> Result<Vec<Variable>, String> {
    let Some(json) = task.configuration.get("EnvironmentVariables") else {
        return Ok(Vec::new());
    };
    let list: Vec<ConfiguredVariable> = serde_json::from_str(json).map_err(|e| {
        format!("EnvironmentVariables is not a JSON list of name/value/type objects: {e}")
    })?;
    Ok(list
        .into_iter()
        .map(|v| Variable {
            name: v.name,
            value: v.value,
            kind: v.kind.unwrap_or_else(|| "PLAINTEXT".to_string()),
        })
        .collect())
}

/// The value of a typed variable.
async fn value(config: &Config, variable: &Variable) -> Result<String, String> {
    match variable.kind.as_str() {
        "PLAINTEXT" => Ok(variable.value.clone()),
        "PARAMETER_STORE" => secrets::parameter(config, &variable.name, &variable.value).await,
        "SECRETS_MANAGER" => secrets::secret(config, &variable.name, &variable.value).await,
        other => Err(format!(
            "Environment variable {} has type {other}: the types are PLAINTEXT, PARAMETER_STORE and SECRETS_MANAGER",
            variable.name
        )),
    }
}

/// The build's variables (CodeBuild's `codebuild` ones last).
pub async fn variables(
    config: &Config,
    task: &Task,
    spec: &Buildspec,
    project: &[Variable],
    action: &[Variable],
    codebuild: Vec<(String, String)>,
) -> Result<BTreeMap<String, String>, String> {
    let mut env: BTreeMap<String, String> = task.variables.clone();
    for (name, value) in &spec.env.variables {
        env.insert(name.clone(), value.to_string());
    }
    for (name, parameter) in &spec.env.parameter_store {
        env.insert(
            name.clone(),
            secrets::parameter(config, name, parameter).await?,
        );
    }
    for (name, reference) in &spec.env.secrets_manager {
        env.insert(
            name.clone(),
            secrets::secret(config, name, reference).await?,
        );
    }
    for variable in project.iter().chain(action) {
        env.insert(variable.name.clone(), value(config, variable).await?);
    }
    env.extend(codebuild);
    Ok(env)
}

/// The next build number of a project (counted from 1 per server process).
pub fn build_number(project: &str) -> u64 {
    static NUMBERS: OnceLock<Mutex<HashMap<String, u64>>> = OnceLock::new();
    let mut numbers = NUMBERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let number = numbers.entry(project.to_string()).or_insert(0);
    *number += 1;
    *number
}
