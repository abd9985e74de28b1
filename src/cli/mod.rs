//! The command line: serve (the default), `validate` and `run`.

mod banner;
mod run;
mod validate;

use crate::config::{parse_key_value, Flags};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub use banner::banner;
pub use run::run;
pub use validate::validate;

// `codepipeline-local [server flags]`, `codepipeline-local validate ...`,
// `codepipeline-local run ...`.
#[derive(Debug, Parser)]
#[command(
    name = "codepipeline-local",
    version,
    about = "A local AWS CodePipeline emulator: the whole API over AWS JSON 1.1, with pipelines that really run.",
    after_help = "Once serving (default http://127.0.0.1:4566):\n  AWS API      POST /   (aws --endpoint-url http://localhost:4566 codepipeline list-pipelines)\n  dashboard    /_codepipeline-local/ui/\n  events       /_codepipeline-local/events   (Server-Sent Events)\n  admin API    /_codepipeline-local/{reset,state,config,health,load,logs/ID}\n  health       /health",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(flatten)]
    pub flags: Flags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the pipelines of templates, CDK cloud assemblies or pipeline JSON offline, with the
    /// server's rules; one line per problem, exit 1 when there is any
    Validate(ValidateArgs),
    /// Load a template, CDK cloud assembly or pipeline JSON, run one execution and show it;
    /// exit 0 when it Succeeded, 1 when it Failed or was Stopped, 2 on a load error
    Run(Box<RunArgs>),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Templates (JSON/YAML), cdk.out directories or pipeline JSON files
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// A template parameter value (repeatable)
    #[arg(long = "parameter", value_name = "NAME=VALUE", value_parser = parse_key_value)]
    pub parameters: Vec<(String, String)>,
    /// Account of stacks that do not name theirs [default: 000000000000]
    #[arg(long = "account-id", env = "CODEPIPELINE_LOCAL_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// Region of stacks that do not name theirs [default: us-east-1]
    #[arg(long, env = "CODEPIPELINE_LOCAL_REGION")]
    pub region: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A template (JSON/YAML), cdk.out directory or pipeline JSON file
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// The pipeline to run (its name, or the logical id of its resource), when PATH defines several
    #[arg(long)]
    pub pipeline: Option<String>,
    /// A pipeline variable of the execution (repeatable)
    #[arg(long = "variable", value_name = "NAME=VALUE", value_parser = parse_key_value)]
    pub variables: Vec<(String, String)>,
    /// Approve every manual approval
    #[arg(long, conflicts_with = "reject")]
    pub approve: bool,
    /// Reject every manual approval
    #[arg(long)]
    pub reject: bool,
    #[command(flatten)]
    pub server: Flags,
}
