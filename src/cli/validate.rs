//! `codepipeline-local validate PATH...`: reads every path and applies it to a throwaway,
//! in-memory emulator (no server) through the same handlers as CreatePipeline and friends,
//! so a pipeline is checked by exactly the rules the server applies. Prints one line per
//! problem, `FILE: RESOURCE (PATH): ExceptionName: message`.

use super::ValidateArgs;
use crate::app::App;
use crate::config::Config;
use crate::templates::{self, ApplyMode, Exports, LoadOptions, Problem};

/// The exit status: 0 when every path is clean, 1 otherwise.
pub async fn validate(args: ValidateArgs) -> i32 {
    let defaults = Config::default();
    let config = Config {
        account_id: args.account_id.unwrap_or(defaults.account_id.clone()),
        region: args.region.unwrap_or(defaults.region.clone()),
        auto_start: false,
        ..defaults
    };
    let options = LoadOptions {
        account: config.account_id.clone(),
        region: config.region.clone(),
        stack_name: None,
        parameters: args.parameters.into_iter().collect(),
        keep_going: true,
    };
    let app = match App::new(config, "validate (no server)") {
        Ok(app) => app,
        Err(e) => {
            eprintln!("codepipeline-local: {e}");
            return 1;
        }
    };
    let mut problems: Vec<Problem> = Vec::new();
    let mut exports = Exports::new();
    let mut pipelines = 0;
    let mut read = Vec::new();
    for path in &args.paths {
        match templates::read_path(path, &options, &mut exports) {
            Ok(stacks) => {
                pipelines += stacks.iter().map(|s| s.pipelines.len()).sum::<usize>();
                problems.extend(stacks.iter().flat_map(|s| s.problems.iter().cloned()));
                read.extend(stacks.iter().cloned());
                let (_, found) = templates::apply(&app, &stacks, ApplyMode::CollectAll, None).await;
                problems.extend(found);
            }
            Err(found) => problems.extend(found),
        }
    }
    if let Some(problem) = templates::unknown_parameters(&read, &options) {
        problems.push(problem);
    }
    for problem in &problems {
        println!("{problem}");
    }
    if problems.is_empty() {
        eprintln!("{pipelines} pipeline(s) checked: no problems");
        0
    } else {
        eprintln!("{} problem(s)", problems.len());
        1
    }
}
