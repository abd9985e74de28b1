//! One `Config`, from command-line flags, `CODEPIPELINE_LOCAL_*` environment variables and an
//! optional TOML or JSON file (`--config`). Precedence: flag or env > file > built-in default.
//!
//! Each setting is declared once, as a field of `Config`: its doc comment is the help, `arg`
//! names the flag, the environment variable and the default, and the field's `id`/serde name is
//! the config-file key, which is also what `GET /_codepipeline-local/config` shows, so its
//! output can be fed back with `--config`. Settings that only a file can hold (action rules,
//! CodeBuild projects) are `arg(skip)`. `load` layers the three sources (see there).

mod load;

pub use crate::actions::commands::CodeBuildProject;
pub use crate::actions::git::Repository;
use crate::engine::behavior::{ActionRule, ConditionRuleBehavior};
use clap::ArgAction;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

pub use load::{is_explicit, parse_file, parse_key_value, read_file};

/// The server's command line: the settings plus what is not a setting.
#[derive(Debug, Clone, clap::Args)]
pub struct Flags {
    /// Configuration file (TOML or JSON): any setting below (key: the flag's name in
    /// snake_case) plus action behaviours
    #[arg(long, env = "CODEPIPELINE_LOCAL_CONFIG")]
    pub config: Option<PathBuf>,

    /// Instead of serving: GET URL (default: http://LISTEN/health) and exit 0 if it answers 200,
    /// 1 otherwise (a Docker HEALTHCHECK that needs no curl)
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub healthcheck: Option<String>,

    #[command(flatten)]
    pub settings: Config,
}

/// The effective configuration (see the module's documentation).
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_LISTEN",
        default_value = "127.0.0.1:4566"
    )]
    pub listen: String,

    /// Keep all state in an SQLite database in this directory (default: in memory only)
    #[arg(long, env = "CODEPIPELINE_LOCAL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// With --data-dir: fsync every commit, so an acknowledged write survives a power loss or
    /// an OS crash; false survives a killed process only (a little faster)
    #[arg(long, env = "CODEPIPELINE_LOCAL_DATA_DIR_FULL_SYNC", action = ArgAction::Set,
          num_args = 0..=1, default_value = "true", default_missing_value = "true",
          value_name = "BOOL")]
    pub data_dir_full_sync: bool,

    /// With --data-dir: the largest the database may grow, in bytes; a write past it is
    /// refused with an error (default: no limit)
    #[arg(long, env = "CODEPIPELINE_LOCAL_DATA_DIR_MAX_BYTES")]
    pub data_dir_max_bytes: Option<u64>,

    /// Region used when a request carries no SigV4 credential scope
    #[arg(long, env = "CODEPIPELINE_LOCAL_REGION", default_value = "us-east-1")]
    pub region: String,

    /// Account id used when the access key is not a 12-digit account id
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_ACCOUNT_ID",
        default_value = "000000000000"
    )]
    pub account_id: String,

    /// Do not start an execution when a pipeline is created or updated
    #[arg(long = "no-auto-start", id = "no_auto_start", env = "CODEPIPELINE_LOCAL_NO_AUTO_START",
          action = ArgAction::Set, num_args = 0..=1, default_value = "false",
          default_missing_value = "true", value_name = "BOOL",
          value_parser = load::negated_bool)]
    #[serde(rename = "no_auto_start", with = "load::negated")]
    pub auto_start: bool,

    /// Largest accepted request body, in bytes
    #[arg(long, env = "CODEPIPELINE_LOCAL_MAX_BODY_BYTES", default_value_t = 6 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Most pipelines per account and region (LimitExceededException past it)
    #[arg(long, env = "CODEPIPELINE_LOCAL_MAX_PIPELINES", default_value_t = 1000)]
    pub max_pipelines: usize,

    /// Most stages in a pipeline
    #[arg(long, env = "CODEPIPELINE_LOCAL_MAX_STAGES", default_value_t = 50)]
    pub max_stages: usize,

    /// Most actions in a stage
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_MAX_ACTIONS_PER_STAGE",
        default_value_t = 50
    )]
    pub max_actions_per_stage: usize,

    /// Most custom action types per account and region
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_MAX_CUSTOM_ACTION_TYPES",
        default_value_t = 50
    )]
    pub max_custom_action_types: usize,

    /// Finished executions kept per pipeline; the oldest are dropped past it
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_MAX_EXECUTIONS_PER_PIPELINE",
        default_value_t = 1000
    )]
    pub max_executions_per_pipeline: usize,

    /// Tags per resource (AWS: 50; not a setting).
    #[arg(skip = 50usize)]
    #[serde(skip, default = "load::max_tags")]
    pub max_tags: usize,

    /// Seconds a manual approval waits before it fails (AWS: 7 days)
    #[arg(long = "approval-timeout-seconds", id = "approval_timeout_seconds",
          env = "CODEPIPELINE_LOCAL_APPROVAL_TIMEOUT_SECONDS", default_value = "604800",
          value_name = "SECONDS", value_parser = load::seconds_arg)]
    #[serde(rename = "approval_timeout_seconds", with = "load::seconds")]
    pub approval_timeout: Duration,

    /// Seconds a job may stay unfinished before its action fails (AWS: 24 hours for custom
    /// actions)
    #[arg(long = "job-timeout-seconds", id = "job_timeout_seconds",
          env = "CODEPIPELINE_LOCAL_JOB_TIMEOUT_SECONDS", default_value = "86400",
          value_name = "SECONDS", value_parser = load::seconds_arg)]
    #[serde(rename = "job_timeout_seconds", with = "load::seconds")]
    pub job_timeout: Duration,

    /// Most webhooks per account and region (AWS: 300)
    #[arg(long, env = "CODEPIPELINE_LOCAL_MAX_WEBHOOKS", default_value_t = 300)]
    pub max_webhooks: usize,

    /// Largest accepted webhook or git-event payload, in bytes (413 past it)
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_MAX_WEBHOOK_PAYLOAD_BYTES",
        default_value_t = 1024 * 1024
    )]
    pub max_webhook_payload_bytes: usize,

    /// Base URL of this server as clients see it, for webhook URLs (default: from the Host
    /// header)
    #[arg(long, env = "CODEPIPELINE_LOCAL_EXTERNAL_URL")]
    pub external_url: Option<String>,

    /// Log format: text or json
    #[arg(long, env = "CODEPIPELINE_LOCAL_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// Log filter, tracing-subscriber syntax
    #[arg(long, env = "CODEPIPELINE_LOCAL_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Action behaviour rules, first match wins (file only, `[[actions]]`; see
    /// `engine::behavior`).
    #[arg(skip)]
    #[serde(default, alias = "action", skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionRule>,

    /// Stage-condition rule behaviours, first match wins (file only, `[[rules]]`).
    #[arg(skip)]
    #[serde(default, alias = "rule", skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<ConditionRuleBehavior>,

    /// S3-compatible endpoint (e.g. http://127.0.0.1:9000, LocalStack, moto) holding real
    /// artifacts: S3 source and deploy actions then move real objects, and jobs carry working
    /// S3 locations and credentials (default: artifacts are simulated)
    #[arg(long, env = "CODEPIPELINE_LOCAL_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// Access key id for --s3-endpoint, --lambda-endpoint, --cloudformation-endpoint and
    /// --events-endpoint, handed to job workers as artifactCredentials
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_S3_ACCESS_KEY_ID",
        default_value = "test"
    )]
    pub s3_access_key_id: String,

    /// Secret access key for --s3-endpoint, --lambda-endpoint, --cloudformation-endpoint and
    /// --events-endpoint (shown as `****` by
    /// `/config` unless `?secrets=true`)
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_S3_SECRET_ACCESS_KEY",
        default_value = "test"
    )]
    pub s3_secret_access_key: String,

    /// Region to sign --s3-endpoint, --lambda-endpoint and --cloudformation-endpoint requests
    /// for (CloudFormation: unless the action names its region; --events-endpoint: the
    /// pipeline's region) (default: --region)
    #[arg(long, env = "CODEPIPELINE_LOCAL_S3_REGION")]
    pub s3_region: Option<String>,

    /// WARNING: runs shell commands on this host. Runs Commands actions (and CodeBuild actions
    /// of projects given in [[codebuild_projects]]) as local shell commands in a temporary
    /// directory; when off, Commands actions are simulated
    #[arg(long = "enable-local-executor", id = "enable_local_executor",
          env = "CODEPIPELINE_LOCAL_ENABLE_LOCAL_EXECUTOR", action = ArgAction::Set,
          num_args = 0..=1, default_value = "false", default_missing_value = "true",
          value_name = "BOOL")]
    #[serde(rename = "enable_local_executor")]
    pub local_executor: bool,

    /// Seconds a locally executed action may run before it is killed and fails, unless the
    /// action's timeoutInMinutes says otherwise
    #[arg(long = "local-executor-timeout-seconds", id = "local_executor_timeout_seconds",
          env = "CODEPIPELINE_LOCAL_LOCAL_EXECUTOR_TIMEOUT_SECONDS", default_value = "3600",
          value_name = "SECONDS", value_parser = load::seconds_arg)]
    #[serde(rename = "local_executor_timeout_seconds", with = "load::seconds")]
    pub local_executor_timeout: Duration,

    /// Seconds an S3 source, S3 deploy, git source or CloudFormation action may run before it
    /// fails, unless the action's timeoutInMinutes says otherwise
    #[arg(long = "real-action-timeout-seconds", id = "real_action_timeout_seconds",
          env = "CODEPIPELINE_LOCAL_REAL_ACTION_TIMEOUT_SECONDS", default_value = "3600",
          value_name = "SECONDS", value_parser = load::seconds_arg)]
    #[serde(rename = "real_action_timeout_seconds", with = "load::seconds")]
    pub real_action_timeout: Duration,

    /// Most files an input artifact may hold when it is unpacked (S3 deploy with Extract, the
    /// local executor)
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_ARTIFACT_MAX_ENTRIES",
        default_value_t = 100_000
    )]
    pub artifact_max_entries: usize,

    /// Most bytes an input artifact may unpack to
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_ARTIFACT_MAX_UNCOMPRESSED_BYTES",
        default_value_t = 1024 * 1024 * 1024
    )]
    pub artifact_max_uncompressed_bytes: u64,

    /// Most times its zip's size an input artifact may unpack to, past its first MiB (a zip
    /// bomb guard)
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_ARTIFACT_MAX_COMPRESSION_RATIO",
        default_value_t = 100
    )]
    pub artifact_max_compression_ratio: u64,

    /// Lambda endpoint (e.g. LocalStack) that Lambda invoke actions call with the job event;
    /// the function reports back with PutJobSuccessResult (default: simulated)
    #[arg(long, env = "CODEPIPELINE_LOCAL_LAMBDA_ENDPOINT")]
    pub lambda_endpoint: Option<String>,

    /// IAM endpoint (LocalStack, moto) that CreatePipeline and UpdatePipeline check the
    /// pipeline's roleArn against (default: no check)
    #[arg(long, env = "CODEPIPELINE_LOCAL_IAM_ENDPOINT")]
    pub iam_endpoint: Option<String>,

    /// CodeBuild projects the local executor runs (file only, `[[codebuild_projects]]`; see
    /// `actions::commands`).
    #[arg(skip)]
    #[serde(
        default,
        alias = "codebuild_project",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub codebuild_projects: Vec<CodeBuildProject>,

    /// Load a CloudFormation template (JSON/YAML), a CDK cloud assembly directory (cdk.out) or
    /// a pipeline JSON at startup, before serving (repeatable; the variable is comma-separated)
    #[arg(
        long,
        value_name = "PATH",
        env = "CODEPIPELINE_LOCAL_LOAD",
        value_delimiter = ','
    )]
    #[serde(default)]
    pub load: Vec<PathBuf>,

    /// A template parameter value for --load, NAME=VALUE (repeatable; the variable is
    /// semicolon-separated; in a file, a `[parameters]` table)
    #[arg(long = "parameter", id = "parameters", value_name = "NAME=VALUE",
          env = "CODEPIPELINE_LOCAL_PARAMETER", value_delimiter = ';',
          value_parser = parse_key_value)]
    #[serde(default, with = "load::pairs")]
    pub parameters: Vec<(String, String)>,

    /// Seconds a connection may take to send a request's headers, counted from when it opens
    /// or its previous response ends: also how long an idle keep-alive connection stays open
    #[arg(long = "header-read-timeout-seconds", id = "header_read_timeout_seconds",
          env = "CODEPIPELINE_LOCAL_HEADER_READ_TIMEOUT_SECONDS", default_value = "10",
          value_name = "SECONDS", value_parser = load::seconds_arg)]
    #[serde(rename = "header_read_timeout_seconds", with = "load::seconds")]
    pub header_read_timeout: Duration,

    /// Most open connections; past it new connections wait until one closes
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_MAX_CONNECTIONS",
        default_value_t = 512
    )]
    pub max_connections: usize,

    /// Seconds a shutdown waits for open requests before closing their connections
    #[arg(long = "shutdown-timeout-seconds", id = "shutdown_timeout_seconds",
          env = "CODEPIPELINE_LOCAL_SHUTDOWN_TIMEOUT_SECONDS", default_value = "10",
          value_name = "SECONDS", value_parser = load::seconds_arg)]
    #[serde(rename = "shutdown_timeout_seconds", with = "load::seconds")]
    pub shutdown_timeout: Duration,

    /// Host names accepted in the Host header besides localhost names, IP addresses and the
    /// listen host (comma-separated; `.example.com` also matches subdomains; `*` accepts any)
    #[arg(long, env = "CODEPIPELINE_LOCAL_ALLOWED_HOSTS", value_delimiter = ',')]
    #[serde(default)]
    pub allowed_hosts: Vec<String>,

    /// Token the admin API (reset, state, config) requires, in X-Codepipeline-Local-Admin-Token
    /// or Authorization: Bearer (default: none required)
    #[arg(long, env = "CODEPIPELINE_LOCAL_ADMIN_TOKEN")]
    pub admin_token: Option<String>,

    /// Browser origins allowed to call the AWS API through CORS (comma-separated, `*` for any;
    /// default: none)
    #[arg(long, env = "CODEPIPELINE_LOCAL_CORS_ORIGINS", value_delimiter = ',')]
    #[serde(default)]
    pub cors_origins: Vec<String>,

    /// A local git repository as the source of actions naming ID (CodeStarSourceConnection
    /// FullRepositoryId, CodeCommit RepositoryName, GitHub Owner/Repo): ID=PATH (repeatable; the
    /// variable is semicolon-separated; in a file, `[[repositories]]` with `id`, `path` and
    /// optionally `connection_arn`). Its commits start the pipelines
    #[arg(long = "repository", id = "repositories", value_name = "ID=PATH",
          env = "CODEPIPELINE_LOCAL_REPOSITORY", value_delimiter = ';',
          value_parser = crate::actions::git::parse_flag)]
    #[serde(default, alias = "repository", skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<Repository>,

    /// Milliseconds between two reads of a mapped repository's refs when no file-system
    /// notification came, and between two polls of S3 sources (PollForSourceChanges, with
    /// --s3-endpoint)
    #[arg(
        long,
        env = "CODEPIPELINE_LOCAL_REPOSITORY_POLL_INTERVAL_MS",
        default_value_t = 1000
    )]
    pub repository_poll_interval_ms: u64,

    /// CodeBuild endpoint (LocalStack, moto) that CodeBuild actions read their project from
    /// (BatchGetProjects) when it is neither in [[codebuild_projects]] nor in a loaded template
    #[arg(long, env = "CODEPIPELINE_LOCAL_CODEBUILD_ENDPOINT")]
    pub codebuild_endpoint: Option<String>,

    /// SSM endpoint (LocalStack, moto) that resolves a build's PARAMETER_STORE variables
    #[arg(long, env = "CODEPIPELINE_LOCAL_SSM_ENDPOINT")]
    pub ssm_endpoint: Option<String>,

    /// Secrets Manager endpoint (LocalStack, moto) that resolves a build's SECRETS_MANAGER
    /// variables
    #[arg(long, env = "CODEPIPELINE_LOCAL_SECRETSMANAGER_ENDPOINT")]
    pub secretsmanager_endpoint: Option<String>,

    /// Where the local executor runs CodeBuild builds: host (a shell on this host) or container
    /// (a container of the project's image, through docker or podman)
    #[arg(long, env = "CODEPIPELINE_LOCAL_EXECUTOR", default_value = "host")]
    pub executor: String,

    /// Container engine CLI for --executor container (default: docker, else podman, on PATH)
    #[arg(long, env = "CODEPIPELINE_LOCAL_CONTAINER_ENGINE")]
    pub container_engine: Option<String>,

    /// Image a CodeBuild image runs as in --executor container, IMAGE=LOCAL_IMAGE (repeatable;
    /// `*` maps every image without its own entry; the variable is semicolon-separated; in a
    /// file, a `[codebuild_images]` table)
    #[arg(long = "codebuild-image", id = "codebuild_images", value_name = "IMAGE=LOCAL_IMAGE",
          env = "CODEPIPELINE_LOCAL_CODEBUILD_IMAGE", value_delimiter = ';',
          value_parser = parse_key_value)]
    #[serde(default, with = "load::pairs")]
    pub codebuild_images: Vec<(String, String)>,

    /// CloudFormation endpoint (LocalStack, moto) that CloudFormation deploy actions call:
    /// stacks and change sets are really created, updated and deleted there (default:
    /// simulated)
    #[arg(long, env = "CODEPIPELINE_LOCAL_CLOUDFORMATION_ENDPOINT")]
    pub cloudformation_endpoint: Option<String>,

    /// EventBridge endpoint (LocalStack, moto) that every pipeline, stage and action state
    /// change is sent to with PutEvents, on the default event bus (default: not sent)
    #[arg(long, env = "CODEPIPELINE_LOCAL_EVENTS_ENDPOINT")]
    pub events_endpoint: Option<String>,
}

impl Default for Config {
    /// Every setting at its default (no flag, environment variable or file read).
    fn default() -> Self {
        load::defaults()
    }
}

impl Config {
    /// The region S3 and Lambda requests are signed for.
    pub fn s3_region(&self) -> &str {
        self.s3_region.as_deref().unwrap_or(&self.region)
    }

    fn checked(self) -> Result<Config, String> {
        if self.account_id.len() != 12 || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "account id must be 12 digits, got '{}'",
                self.account_id
            ));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(format!(
                "log format must be text or json, got '{}'",
                self.log_format
            ));
        }
        for rule in &self.actions {
            rule.check()?;
        }
        for endpoint in [&self.s3_endpoint, &self.lambda_endpoint, &self.iam_endpoint]
            .into_iter()
            .chain([
                &self.codebuild_endpoint,
                &self.ssm_endpoint,
                &self.secretsmanager_endpoint,
                &self.cloudformation_endpoint,
                &self.events_endpoint,
            ])
            .flatten()
        {
            if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
                return Err(format!(
                    "an endpoint must be an http:// or https:// URL, got '{endpoint}'"
                ));
            }
        }
        if !matches!(self.executor.as_str(), "host" | "container") {
            return Err(format!(
                "the executor must be host or container, got '{}'",
                self.executor
            ));
        }
        if self.max_connections == 0 {
            return Err("max connections must be at least 1".to_string());
        }
        if self.header_read_timeout.is_zero() {
            return Err("the header read timeout must be at least 1 second".to_string());
        }
        if self.admin_token.as_deref() == Some("") {
            return Err("the admin token must not be empty".to_string());
        }
        crate::actions::git::check(&self.repositories)?;
        Ok(self)
    }
}
