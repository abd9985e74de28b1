//! `codepipeline-local run PATH`: serves like the server (job workers can connect), loads
//! PATH, starts one execution of its pipeline and shows it live: one line per stage and action
//! with status, duration and summary (with a spinner when stdout is a terminal). Manual
//! approvals are answered as `--approve` / `--reject` say, asked for on a terminal, or left to
//! a PutApprovalResult. Exit status: 0 Succeeded, 1 Failed or Stopped, 2 a load error.

use super::RunArgs;
use crate::config::{is_explicit, Config};
use crate::model::Operation;
use crate::protocol::Scope;
use crate::templates::Caller;
use clap::ArgMatches;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::time::Duration;

const POLL: Duration = Duration::from_millis(200);

/// Runs the command; `init_logging` sets up logs once the configuration is known.
pub async fn run(args: RunArgs, matches: &ArgMatches, init_logging: fn(&Config)) -> i32 {
    let quiet = !is_explicit(matches, "log_level");
    let mut config = match Config::load(&args.server, matches) {
        Ok(config) => config,
        Err(e) => return fail(2, &e),
    };
    if quiet {
        // Only the execution on stdout; --log-level brings the server's logs back.
        config.log_level = "warn".to_string();
    }
    // One execution, the one started below.
    config.auto_start = false;
    config.load.push(args.path.clone());
    init_logging(&config);
    let server = match crate::start(config).await {
        Ok(server) => server,
        Err(e) => return fail(2, &e.to_string()),
    };
    println!(
        "codepipeline-local serving on {} (job workers can connect)",
        server.url()
    );
    let app = server.app.clone();
    // The pipelines of PATH (not those of other --load paths); a cloud assembly's templates
    // are in the directory of its manifest.
    let prefix = match args.path.file_name() {
        Some(name) if name == "manifest.json" => args.path.parent().unwrap_or(&args.path),
        _ => args.path.as_path(),
    };
    let (scope, pipeline) = match choose_pipeline(
        &app.stacks.pipelines(&prefix.display().to_string()),
        args.pipeline.as_deref(),
        &args.path.display().to_string(),
    ) {
        Ok(choice) => choice,
        Err(e) => {
            let _ = server.shutdown().await;
            return fail(2, &e);
        }
    };
    let answer = match (args.approve, args.reject) {
        (true, _) => Some("Approved"),
        (_, true) => Some("Rejected"),
        _ => None,
    };
    let caller = Caller::new(&app, &scope, None);
    let variables: Vec<Value> = args
        .variables
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    let mut input = json!({ "name": pipeline });
    if !variables.is_empty() {
        input["variables"] = Value::Array(variables);
    }
    let code = match caller.call(Operation::StartPipelineExecution, input).await {
        Ok(started) => {
            let id = started["pipelineExecutionId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            println!("{pipeline}: execution {id} started");
            watch(&caller, &pipeline, &id, answer).await
        }
        Err(e) => fail(2, &format!("{}: {}", e.code.as_str(), e.message)),
    };
    let _ = server.shutdown().await;
    code
}

fn fail(code: i32, message: &str) -> i32 {
    eprintln!("codepipeline-local: {message}");
    code
}

/// The pipeline to run: the one named, or the only one loaded.
fn choose_pipeline(
    loaded: &[(Scope, String, String)],
    wanted: Option<&str>,
    path: &str,
) -> Result<(Scope, String), String> {
    let chosen: Vec<&(Scope, String, String)> = match wanted {
        // A pipeline name, or the logical id of a pipeline resource.
        Some(wanted) => match loaded.iter().find(|(_, _, name)| name == wanted) {
            Some(found) => vec![found],
            None => loaded.iter().filter(|(_, id, _)| id == wanted).collect(),
        },
        None => loaded.iter().collect(),
    };
    match (chosen.as_slice(), wanted) {
        ([(scope, _, name)], _) => Ok((scope.clone(), name.clone())),
        ([], None) => Err(format!("{path} defines no pipeline")),
        ([], Some(wanted)) => Err(format!(
            "{path} defines no pipeline named '{wanted}' (it defines: {})",
            names(loaded)
        )),
        (_, _) => Err(format!(
            "{path} defines several pipelines ({}): choose one with --pipeline",
            names(loaded)
        )),
    }
}

fn names(loaded: &[(Scope, String, String)]) -> String {
    loaded
        .iter()
        .map(|(_, _, name)| name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lines above a spinner on a terminal, plain lines otherwise.
struct Output {
    spinner: Option<ProgressBar>,
}

impl Output {
    fn new() -> Self {
        let spinner = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Output { spinner }
    }

    fn line(&self, text: &str) {
        match &self.spinner {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }

    fn running(&self, what: &str) {
        if let Some(bar) = &self.spinner {
            bar.set_message(what.to_string());
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.spinner {
            bar.finish_and_clear();
        }
    }
}

/// Follows the execution until it ends; answers approvals. The exit status.
async fn watch(caller: &Caller<'_>, pipeline: &str, id: &str, answer: Option<&str>) -> i32 {
    let output = Output::new();
    let mut stages: HashMap<String, String> = HashMap::new();
    let mut actions: HashMap<String, String> = HashMap::new();
    let mut answered: HashSet<String> = HashSet::new();
    let mut waiting_noted: HashSet<String> = HashSet::new();
    loop {
        // The status first: once it is final, the states read after it are final too.
        let execution = caller
            .call(
                Operation::GetPipelineExecution,
                json!({ "pipelineName": pipeline, "pipelineExecutionId": id }),
            )
            .await;
        let status = execution
            .as_ref()
            .ok()
            .and_then(|e| e["pipelineExecution"]["status"].as_str())
            .unwrap_or("InProgress")
            .to_string();
        let state = caller
            .call(Operation::GetPipelineState, json!({ "name": pipeline }))
            .await
            .unwrap_or_default();
        let listed = caller
            .call(Operation::ListActionExecutions, json!({ "pipelineName": pipeline, "filter": { "pipelineExecutionId": id }, "maxResults": 100 }))
            .await
            .unwrap_or_default();
        // Oldest first (the API lists the newest first).
        let mut details: Vec<&Value> = listed["actionExecutionDetails"]
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .collect();
        details.sort_by(|a, b| {
            a["startTime"]
                .as_f64()
                .partial_cmp(&b["startTime"].as_f64())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut running = Vec::new();
        for stage in state["stageStates"].as_array().into_iter().flatten() {
            let name = stage["stageName"].as_str().unwrap_or_default();
            let latest = &stage["latestExecution"];
            let ours = latest["pipelineExecutionId"].as_str() == Some(id);
            if ours {
                let status = latest["status"].as_str().unwrap_or_default();
                if stages
                    .insert(name.to_string(), status.to_string())
                    .as_deref()
                    != Some(status)
                {
                    output.line(&format!("{name}: {status}"));
                }
            }
            for detail in details.iter().filter(|d| d["stageName"] == name) {
                let key = detail["actionExecutionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let label = format!(
                    "{name}/{}",
                    detail["actionName"].as_str().unwrap_or_default()
                );
                let status = detail["status"].as_str().unwrap_or_default().to_string();
                if status == "InProgress" {
                    running.push(label.clone());
                }
                if actions.insert(key, status.clone()).as_deref() != Some(status.as_str()) {
                    output.line(&action_line(&label, &status, detail));
                }
            }
            if !ours {
                continue;
            }
            for action in stage["actionStates"].as_array().into_iter().flatten() {
                let Some(token) = action["latestExecution"]["token"].as_str() else {
                    continue;
                };
                if action["latestExecution"]["status"] != "InProgress" || answered.contains(token) {
                    continue;
                }
                let action_name = action["actionName"].as_str().unwrap_or_default();
                let decision = match answer {
                    Some(a) => Some(a.to_string()),
                    None if std::io::stdin().is_terminal() => ask(&output, name, action_name).await,
                    None => None,
                };
                match decision {
                    Some(status) => {
                        let input = json!({
                            "pipelineName": pipeline, "stageName": name, "actionName": action_name, "token": token,
                            "result": { "status": status, "summary": format!("{status} by codepipeline-local run") },
                        });
                        if let Err(e) = caller.call(Operation::PutApprovalResult, input).await {
                            output.line(&format!(
                                "  {name}/{action_name}: could not answer the approval: {}",
                                e.message
                            ));
                        }
                        answered.insert(token.to_string());
                    }
                    None => {
                        if waiting_noted.insert(token.to_string()) {
                            output.line(&format!("  {name}/{action_name}: waiting for approval (PutApprovalResult, or run with --approve/--reject)"));
                        }
                    }
                }
            }
        }
        output.running(&running.join(", "));
        if !matches!(status.as_str(), "InProgress" | "Stopping") {
            output.finish();
            println!("{pipeline}: execution {id} {status}");
            return if status == "Succeeded" { 0 } else { 1 };
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `  Stage/Action: Succeeded (1.2s) summary`.
fn action_line(label: &str, status: &str, detail: &Value) -> String {
    if status == "InProgress" {
        return format!("  {label}: InProgress");
    }
    let seconds = match (
        detail["startTime"].as_f64(),
        detail["lastUpdateTime"].as_f64(),
    ) {
        (Some(start), Some(end)) if end >= start => format!(" ({:.1}s)", end - start),
        _ => String::new(),
    };
    let result = &detail["output"]["executionResult"];
    let summary = result["externalExecutionSummary"]
        .as_str()
        .or_else(|| result["errorDetails"]["message"].as_str())
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    format!("  {label}: {status}{seconds}{summary}")
}

/// Asks on the terminal: approve (y) or reject (n).
async fn ask(output: &Output, stage: &str, action: &str) -> Option<String> {
    output.line(&format!("  {stage}/{action}: approve? [y/n]"));
    let line = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await
    .ok()?
    .ok()?;
    match line.trim() {
        "y" | "Y" | "yes" => Some("Approved".to_string()),
        "n" | "N" | "no" => Some("Rejected".to_string()),
        _ => None,
    }
}
