//! One `Config`, from command-line flags, `CODEPIPELINE_LOCAL_*` environment variables and an
//! optional TOML or JSON file (`--config`). Precedence: flag or env > file > built-in default.
//! `Config` serializes with the file's key names (`GET /_codepipeline-local/config`), so its
//! output can be fed back with `--config`.

pub use crate::actions::commands::CodeBuildProject;
use crate::engine::behavior::{ActionRule, ConditionRuleBehavior};
use clap::Parser;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Command-line flags. Every flag has an environment variable; unset flags fall back to the
/// config file, then to the default shown.
#[derive(Debug, Parser, Default)]
#[command(
    name = "codepipeline-local",
    version,
    about = "A local AWS CodePipeline emulator: the whole API over AWS JSON 1.1, with pipelines that really run.",
    after_help = "Point any AWS client at it, e.g.\n  aws --endpoint-url http://localhost:4566 codepipeline list-pipelines"
)]
pub struct Flags {
    /// Address to listen on [default: 127.0.0.1:4566]
    #[arg(long, env = "CODEPIPELINE_LOCAL_LISTEN")]
    pub listen: Option<String>,

    /// Region used when a request carries no SigV4 credential scope [default: us-east-1]
    #[arg(long, env = "CODEPIPELINE_LOCAL_REGION")]
    pub region: Option<String>,

    /// Account id used when the access key is not a 12-digit account id [default: 000000000000]
    #[arg(long = "account-id", env = "CODEPIPELINE_LOCAL_ACCOUNT_ID")]
    pub account_id: Option<String>,

    /// Configuration file (TOML or JSON): any setting below plus action behaviours
    #[arg(long, env = "CODEPIPELINE_LOCAL_CONFIG")]
    pub config: Option<PathBuf>,

    /// Do not start an execution when a pipeline is created or updated [default: false]
    #[arg(
        long = "no-auto-start",
        env = "CODEPIPELINE_LOCAL_NO_AUTO_START",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub no_auto_start: Option<bool>,

    /// Largest accepted request body, in bytes [default: 6291456]
    #[arg(long = "max-body-bytes", env = "CODEPIPELINE_LOCAL_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Most pipelines per account and region (LimitExceededException past it) [default: 1000]
    #[arg(long = "max-pipelines", env = "CODEPIPELINE_LOCAL_MAX_PIPELINES")]
    pub max_pipelines: Option<usize>,

    /// Most stages in a pipeline [default: 50]
    #[arg(long = "max-stages", env = "CODEPIPELINE_LOCAL_MAX_STAGES")]
    pub max_stages: Option<usize>,

    /// Most actions in a stage [default: 50]
    #[arg(
        long = "max-actions-per-stage",
        env = "CODEPIPELINE_LOCAL_MAX_ACTIONS_PER_STAGE"
    )]
    pub max_actions_per_stage: Option<usize>,

    /// Most custom action types per account and region [default: 50]
    #[arg(
        long = "max-custom-action-types",
        env = "CODEPIPELINE_LOCAL_MAX_CUSTOM_ACTION_TYPES"
    )]
    pub max_custom_action_types: Option<usize>,

    /// Finished executions kept per pipeline; the oldest are dropped past it [default: 1000]
    #[arg(
        long = "max-executions-per-pipeline",
        env = "CODEPIPELINE_LOCAL_MAX_EXECUTIONS_PER_PIPELINE"
    )]
    pub max_executions_per_pipeline: Option<usize>,

    /// Seconds a manual approval waits before it fails (AWS: 7 days) [default: 604800]
    #[arg(
        long = "approval-timeout-seconds",
        env = "CODEPIPELINE_LOCAL_APPROVAL_TIMEOUT_SECONDS"
    )]
    pub approval_timeout_seconds: Option<u64>,

    /// Seconds a job may stay unfinished before its action fails (AWS: 24 hours for custom actions) [default: 86400]
    #[arg(
        long = "job-timeout-seconds",
        env = "CODEPIPELINE_LOCAL_JOB_TIMEOUT_SECONDS"
    )]
    pub job_timeout_seconds: Option<u64>,

    /// Most webhooks per account and region (AWS: 300) [default: 300]
    #[arg(long = "max-webhooks", env = "CODEPIPELINE_LOCAL_MAX_WEBHOOKS")]
    pub max_webhooks: Option<usize>,

    /// Largest accepted webhook or git-event payload, in bytes (413 past it) [default: 1048576]
    #[arg(
        long = "max-webhook-payload-bytes",
        env = "CODEPIPELINE_LOCAL_MAX_WEBHOOK_PAYLOAD_BYTES"
    )]
    pub max_webhook_payload_bytes: Option<usize>,

    /// Base URL of this server as clients see it, for webhook URLs (default: from the Host header)
    #[arg(long = "external-url", env = "CODEPIPELINE_LOCAL_EXTERNAL_URL")]
    pub external_url: Option<String>,

    /// Keep all state in an SQLite database in this directory (default: in memory only)
    #[arg(long = "data-dir", env = "CODEPIPELINE_LOCAL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// With --data-dir: fsync every write (survives power loss, slower) [default: false]
    #[arg(
        long = "data-dir-full-sync",
        env = "CODEPIPELINE_LOCAL_DATA_DIR_FULL_SYNC",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub data_dir_full_sync: Option<bool>,

    /// With --data-dir: the largest the database may grow, in bytes; a write past it is
    /// refused with an error (default: no limit)
    #[arg(
        long = "data-dir-max-bytes",
        env = "CODEPIPELINE_LOCAL_DATA_DIR_MAX_BYTES"
    )]
    pub data_dir_max_bytes: Option<u64>,

    /// Log format: text or json [default: text]
    #[arg(long = "log-format", env = "CODEPIPELINE_LOCAL_LOG_FORMAT")]
    pub log_format: Option<String>,

    /// Log filter, tracing-subscriber syntax [default: info]
    #[arg(long = "log-level", env = "CODEPIPELINE_LOCAL_LOG_LEVEL")]
    pub log_level: Option<String>,

    /// S3-compatible endpoint (e.g. http://127.0.0.1:9000, LocalStack, moto) holding real
    /// artifacts: S3 source and deploy actions then move real objects, and jobs carry working
    /// S3 locations and credentials (default: artifacts are simulated)
    #[arg(long = "s3-endpoint", env = "CODEPIPELINE_LOCAL_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// Access key id for --s3-endpoint, --lambda-endpoint, --cloudformation-endpoint and
    /// --events-endpoint, handed to job workers as artifactCredentials [default: test]
    #[arg(long = "s3-access-key-id", env = "CODEPIPELINE_LOCAL_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,

    /// Secret access key for --s3-endpoint, --lambda-endpoint, --cloudformation-endpoint and
    /// --events-endpoint [default: test]
    #[arg(
        long = "s3-secret-access-key",
        env = "CODEPIPELINE_LOCAL_S3_SECRET_ACCESS_KEY"
    )]
    pub s3_secret_access_key: Option<String>,

    /// Region to sign --s3-endpoint, --lambda-endpoint and --cloudformation-endpoint requests
    /// for (CloudFormation: unless the action names its region; --events-endpoint: the
    /// pipeline's region) (default: --region)
    #[arg(long = "s3-region", env = "CODEPIPELINE_LOCAL_S3_REGION")]
    pub s3_region: Option<String>,

    /// WARNING: runs shell commands on this host. Runs Commands actions (and CodeBuild actions
    /// of projects given in [[codebuild_projects]]) as local shell commands in a temporary
    /// directory; when off, Commands actions fail [default: false]
    #[arg(
        long = "enable-local-executor",
        env = "CODEPIPELINE_LOCAL_ENABLE_LOCAL_EXECUTOR",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub enable_local_executor: Option<bool>,

    /// Seconds a locally executed action may run before it is killed and fails, unless the
    /// action's timeoutInMinutes says otherwise [default: 3600]
    #[arg(
        long = "local-executor-timeout-seconds",
        env = "CODEPIPELINE_LOCAL_LOCAL_EXECUTOR_TIMEOUT_SECONDS"
    )]
    pub local_executor_timeout_seconds: Option<u64>,

    /// Seconds an S3 source, S3 deploy or CloudFormation action may run before it fails, unless
    /// the action's timeoutInMinutes says otherwise [default: 3600]
    #[arg(
        long = "real-action-timeout-seconds",
        env = "CODEPIPELINE_LOCAL_REAL_ACTION_TIMEOUT_SECONDS"
    )]
    pub real_action_timeout_seconds: Option<u64>,

    /// Most files an input artifact may hold when it is unpacked (S3 deploy with Extract, the
    /// local executor) [default: 100000]
    #[arg(
        long = "artifact-max-entries",
        env = "CODEPIPELINE_LOCAL_ARTIFACT_MAX_ENTRIES"
    )]
    pub artifact_max_entries: Option<usize>,

    /// Most bytes an input artifact may unpack to [default: 1073741824]
    #[arg(
        long = "artifact-max-uncompressed-bytes",
        env = "CODEPIPELINE_LOCAL_ARTIFACT_MAX_UNCOMPRESSED_BYTES"
    )]
    pub artifact_max_uncompressed_bytes: Option<u64>,

    /// Most times its zip's size an input artifact may unpack to, past its first MiB (a zip
    /// bomb guard) [default: 100]
    #[arg(
        long = "artifact-max-compression-ratio",
        env = "CODEPIPELINE_LOCAL_ARTIFACT_MAX_COMPRESSION_RATIO"
    )]
    pub artifact_max_compression_ratio: Option<u64>,

    /// Lambda endpoint (e.g. LocalStack) that Lambda invoke actions call with the job event;
    /// the function reports back with PutJobSuccessResult (default: simulated)
    #[arg(long = "lambda-endpoint", env = "CODEPIPELINE_LOCAL_LAMBDA_ENDPOINT")]
    pub lambda_endpoint: Option<String>,

    /// IAM endpoint (LocalStack, moto) that CreatePipeline and UpdatePipeline check the
    /// pipeline's roleArn against (default: no check)
    #[arg(long = "iam-endpoint", env = "CODEPIPELINE_LOCAL_IAM_ENDPOINT")]
    pub iam_endpoint: Option<String>,

    /// Load a CloudFormation template (JSON/YAML), a CDK cloud assembly directory (cdk.out) or
    /// a pipeline JSON at startup, before serving (repeatable; the variable is comma-separated)
    #[arg(
        long,
        value_name = "PATH",
        env = "CODEPIPELINE_LOCAL_LOAD",
        value_delimiter = ','
    )]
    pub load: Vec<PathBuf>,

    /// A template parameter value for --load, NAME=VALUE (repeatable; the variable is
    /// semicolon-separated)
    #[arg(long = "parameter", value_name = "NAME=VALUE", env = "CODEPIPELINE_LOCAL_PARAMETER", value_delimiter = ';', value_parser = parse_key_value)]
    pub parameters: Vec<(String, String)>,

    /// Seconds a connection may take to send a request's headers, counted from when it opens or
    /// its previous response ends: also how long an idle keep-alive connection stays open [default: 10]
    #[arg(
        long = "header-read-timeout-seconds",
        env = "CODEPIPELINE_LOCAL_HEADER_READ_TIMEOUT_SECONDS"
    )]
    pub header_read_timeout_seconds: Option<u64>,

    /// Most open connections; past it new connections wait until one closes [default: 512]
    #[arg(long = "max-connections", env = "CODEPIPELINE_LOCAL_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// Seconds a shutdown waits for open requests before closing their connections [default: 10]
    #[arg(
        long = "shutdown-timeout-seconds",
        env = "CODEPIPELINE_LOCAL_SHUTDOWN_TIMEOUT_SECONDS"
    )]
    pub shutdown_timeout_seconds: Option<u64>,

    /// Host names accepted in the Host header besides localhost names, IP addresses and the
    /// listen host (comma-separated; `.example.com` also matches subdomains; `*` accepts any)
    #[arg(
        long = "allowed-hosts",
        env = "CODEPIPELINE_LOCAL_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Option<Vec<String>>,

    /// Token the admin API (reset, state, config) requires, in X-Codepipeline-Local-Admin-Token
    /// or Authorization: Bearer (default: none required)
    #[arg(long = "admin-token", env = "CODEPIPELINE_LOCAL_ADMIN_TOKEN")]
    pub admin_token: Option<String>,

    /// Browser origins allowed to call the AWS API through CORS (comma-separated, `*` for any;
    /// default: none)
    #[arg(
        long = "cors-origins",
        env = "CODEPIPELINE_LOCAL_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Option<Vec<String>>,

    /// CloudFormation endpoint (LocalStack, moto) that CloudFormation deploy actions call:
    /// stacks and change sets are really created, updated and deleted there (default:
    /// simulated)
    #[arg(
        long = "cloudformation-endpoint",
        env = "CODEPIPELINE_LOCAL_CLOUDFORMATION_ENDPOINT"
    )]
    pub cloudformation_endpoint: Option<String>,

    /// EventBridge endpoint (LocalStack, moto) that every pipeline, stage and action state
    /// change is sent to with PutEvents, on the default event bus (default: not sent)
    #[arg(long = "events-endpoint", env = "CODEPIPELINE_LOCAL_EVENTS_ENDPOINT")]
    pub events_endpoint: Option<String>,

    /// Instead of serving: GET URL (default: http://LISTEN/health) and exit 0 if it answers 200,
    /// 1 otherwise (a Docker HEALTHCHECK that needs no curl)
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub healthcheck: Option<String>,
}

/// Settings a config file may hold: the flags' settings (same names, snake_case) and the
/// action behaviour rules.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub data_dir_full_sync: Option<bool>,
    pub data_dir_max_bytes: Option<u64>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub no_auto_start: Option<bool>,
    pub max_body_bytes: Option<usize>,
    pub max_pipelines: Option<usize>,
    pub max_stages: Option<usize>,
    pub max_actions_per_stage: Option<usize>,
    pub max_custom_action_types: Option<usize>,
    pub max_executions_per_pipeline: Option<usize>,
    pub approval_timeout_seconds: Option<u64>,
    pub job_timeout_seconds: Option<u64>,
    pub max_webhooks: Option<usize>,
    pub max_webhook_payload_bytes: Option<usize>,
    pub external_url: Option<String>,
    pub log_format: Option<String>,
    pub log_level: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    pub s3_region: Option<String>,
    pub enable_local_executor: Option<bool>,
    pub local_executor_timeout_seconds: Option<u64>,
    pub real_action_timeout_seconds: Option<u64>,
    pub artifact_max_entries: Option<usize>,
    pub artifact_max_uncompressed_bytes: Option<u64>,
    pub artifact_max_compression_ratio: Option<u64>,
    pub lambda_endpoint: Option<String>,
    pub iam_endpoint: Option<String>,
    pub header_read_timeout_seconds: Option<u64>,
    pub max_connections: Option<usize>,
    pub shutdown_timeout_seconds: Option<u64>,
    pub allowed_hosts: Option<Vec<String>>,
    pub admin_token: Option<String>,
    pub cors_origins: Option<Vec<String>>,
    pub cloudformation_endpoint: Option<String>,
    pub events_endpoint: Option<String>,
    /// CodeBuild projects the local executor runs (see `actions::commands`).
    #[serde(default, alias = "codebuild_project")]
    pub codebuild_projects: Vec<CodeBuildProject>,
    /// Templates, cloud assemblies or pipeline JSON loaded at startup (see `templates`).
    #[serde(default)]
    pub load: Vec<PathBuf>,
    /// Template parameter values for `load`.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Action behaviour rules, first match wins (see `engine::behavior`).
    #[serde(default, alias = "action")]
    pub actions: Vec<ActionRule>,
    /// Stage-condition rule behaviours, first match wins (see `engine::behavior`).
    #[serde(default, alias = "rule")]
    pub rules: Vec<ConditionRuleBehavior>,
}

/// The effective configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub listen: String,
    /// Where state is persisted; `None` keeps it in memory.
    pub data_dir: Option<PathBuf>,
    pub data_dir_full_sync: bool,
    /// Caps the database's size (`None`: no cap).
    pub data_dir_max_bytes: Option<u64>,
    pub region: String,
    pub account_id: String,
    /// Shown (and read from a file) as `no_auto_start`, the setting's name.
    #[serde(rename = "no_auto_start", serialize_with = "inverted")]
    pub auto_start: bool,
    pub max_body_bytes: usize,
    pub max_pipelines: usize,
    pub max_stages: usize,
    pub max_actions_per_stage: usize,
    pub max_custom_action_types: usize,
    pub max_executions_per_pipeline: usize,
    /// Tags per resource (AWS: 50; not a setting).
    #[serde(skip)]
    pub max_tags: usize,
    #[serde(rename = "approval_timeout_seconds", with = "seconds")]
    pub approval_timeout: Duration,
    #[serde(rename = "job_timeout_seconds", with = "seconds")]
    pub job_timeout: Duration,
    /// Webhooks per account and region (AWS: 300).
    pub max_webhooks: usize,
    /// Largest webhook or git-event payload accepted.
    pub max_webhook_payload_bytes: usize,
    pub external_url: Option<String>,
    pub log_format: String,
    pub log_level: String,
    pub actions: Vec<ActionRule>,
    pub rules: Vec<ConditionRuleBehavior>,
    /// The real artifact store and S3 actions; `None` keeps them simulated.
    pub s3_endpoint: Option<String>,
    pub s3_access_key_id: String,
    /// Shown as `****` by `/config` unless `?secrets=true` (`admin::secrets`).
    pub s3_secret_access_key: String,
    /// Region for S3 and Lambda requests (default: `region`).
    pub s3_region: Option<String>,
    /// Run Commands actions (and CodeBuild actions of `codebuild_projects`) on this host.
    #[serde(rename = "enable_local_executor")]
    pub local_executor: bool,
    #[serde(rename = "local_executor_timeout_seconds", with = "seconds")]
    pub local_executor_timeout: Duration,
    /// How long an S3 source or deploy, or a CloudFormation action may run.
    #[serde(rename = "real_action_timeout_seconds", with = "seconds")]
    pub real_action_timeout: Duration,
    /// Limits of unpacking an input artifact (see `actions::unpack`).
    pub artifact_max_entries: usize,
    pub artifact_max_uncompressed_bytes: u64,
    pub artifact_max_compression_ratio: u64,
    /// Lambda invoke actions call this endpoint; `None` keeps them simulated.
    pub lambda_endpoint: Option<String>,
    /// CreatePipeline and UpdatePipeline check roleArn against this IAM; `None`: no check.
    pub iam_endpoint: Option<String>,
    pub codebuild_projects: Vec<CodeBuildProject>,
    /// Loaded at startup, before serving (`templates`).
    pub load: Vec<PathBuf>,
    /// Template parameter values for `load`.
    pub parameters: BTreeMap<String, String>,

    /// Headers of a request must arrive within this (also the idle keep-alive timeout).
    #[serde(rename = "header_read_timeout_seconds", with = "seconds")]
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    /// How long a shutdown waits for open requests.
    #[serde(rename = "shutdown_timeout_seconds", with = "seconds")]
    pub shutdown_timeout: Duration,
    /// Extra names accepted in the Host header (see `http::guard`).
    pub allowed_hosts: Vec<String>,
    /// Shown as `****` by `/config` unless `?secrets=true`.
    pub admin_token: Option<String>,
    /// Origins allowed by CORS on the AWS API; empty: no CORS.
    pub cors_origins: Vec<String>,
    /// CloudFormation deploy actions call this endpoint; `None` keeps them simulated.
    pub cloudformation_endpoint: Option<String>,
    /// State changes are sent to this EventBridge endpoint; `None`: not sent.
    pub events_endpoint: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:4566".to_string(),
            data_dir: None,
            data_dir_full_sync: false,
            data_dir_max_bytes: None,
            region: "us-east-1".to_string(),
            account_id: "000000000000".to_string(),
            auto_start: true,
            max_body_bytes: 6 * 1024 * 1024,
            max_pipelines: 1000,
            max_stages: 50,
            max_actions_per_stage: 50,
            max_custom_action_types: 50,
            max_executions_per_pipeline: 1000,
            max_tags: 50,
            approval_timeout: Duration::from_secs(7 * 24 * 3600),
            job_timeout: Duration::from_secs(24 * 3600),
            max_webhooks: 300,
            max_webhook_payload_bytes: 1024 * 1024,
            external_url: None,
            log_format: "text".to_string(),
            log_level: "info".to_string(),
            actions: Vec::new(),
            rules: Vec::new(),
            s3_endpoint: None,
            s3_access_key_id: "test".to_string(),
            s3_secret_access_key: "test".to_string(),
            s3_region: None,
            local_executor: false,
            local_executor_timeout: Duration::from_secs(3600),
            real_action_timeout: Duration::from_secs(3600),
            artifact_max_entries: 100_000,
            artifact_max_uncompressed_bytes: 1024 * 1024 * 1024,
            artifact_max_compression_ratio: 100,
            lambda_endpoint: None,
            iam_endpoint: None,
            codebuild_projects: Vec::new(),
            load: Vec::new(),
            parameters: BTreeMap::new(),
            header_read_timeout: Duration::from_secs(10),
            max_connections: 512,
            shutdown_timeout: Duration::from_secs(10),
            allowed_hosts: Vec::new(),
            admin_token: None,
            cors_origins: Vec::new(),
            cloudformation_endpoint: None,
            events_endpoint: None,
        }
    }
}

impl Config {
    /// Merges flags (with their env vars), the config file they name, and the defaults.
    pub fn load(flags: Flags) -> Result<Config, String> {
        let file = match &flags.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let d = Config::default();
        Ok(Config {
            listen: flags.listen.or(file.listen).unwrap_or(d.listen),
            data_dir: flags.data_dir.or(file.data_dir),
            data_dir_full_sync: flags
                .data_dir_full_sync
                .or(file.data_dir_full_sync)
                .unwrap_or(d.data_dir_full_sync),
            data_dir_max_bytes: flags.data_dir_max_bytes.or(file.data_dir_max_bytes),
            region: flags.region.or(file.region).unwrap_or(d.region),
            account_id: flags.account_id.or(file.account_id).unwrap_or(d.account_id),
            auto_start: !flags
                .no_auto_start
                .or(file.no_auto_start)
                .unwrap_or(!d.auto_start),
            max_body_bytes: flags
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(d.max_body_bytes),
            max_pipelines: flags
                .max_pipelines
                .or(file.max_pipelines)
                .unwrap_or(d.max_pipelines),
            max_stages: flags.max_stages.or(file.max_stages).unwrap_or(d.max_stages),
            max_actions_per_stage: flags
                .max_actions_per_stage
                .or(file.max_actions_per_stage)
                .unwrap_or(d.max_actions_per_stage),
            max_custom_action_types: flags
                .max_custom_action_types
                .or(file.max_custom_action_types)
                .unwrap_or(d.max_custom_action_types),
            max_executions_per_pipeline: flags
                .max_executions_per_pipeline
                .or(file.max_executions_per_pipeline)
                .unwrap_or(d.max_executions_per_pipeline),
            max_tags: d.max_tags,
            approval_timeout: flags
                .approval_timeout_seconds
                .or(file.approval_timeout_seconds)
                .map(Duration::from_secs)
                .unwrap_or(d.approval_timeout),
            job_timeout: flags
                .job_timeout_seconds
                .or(file.job_timeout_seconds)
                .map(Duration::from_secs)
                .unwrap_or(d.job_timeout),
            max_webhooks: flags
                .max_webhooks
                .or(file.max_webhooks)
                .unwrap_or(d.max_webhooks),
            max_webhook_payload_bytes: flags
                .max_webhook_payload_bytes
                .or(file.max_webhook_payload_bytes)
                .unwrap_or(d.max_webhook_payload_bytes),
            external_url: flags.external_url.or(file.external_url),
            log_format: flags.log_format.or(file.log_format).unwrap_or(d.log_format),
            log_level: flags.log_level.or(file.log_level).unwrap_or(d.log_level),
            actions: file.actions,
            rules: file.rules,
            s3_endpoint: flags.s3_endpoint.or(file.s3_endpoint),
            s3_access_key_id: flags
                .s3_access_key_id
                .or(file.s3_access_key_id)
                .unwrap_or(d.s3_access_key_id),
            s3_secret_access_key: flags
                .s3_secret_access_key
                .or(file.s3_secret_access_key)
                .unwrap_or(d.s3_secret_access_key),
            s3_region: flags.s3_region.or(file.s3_region),
            local_executor: flags
                .enable_local_executor
                .or(file.enable_local_executor)
                .unwrap_or(d.local_executor),
            local_executor_timeout: flags
                .local_executor_timeout_seconds
                .or(file.local_executor_timeout_seconds)
                .map(Duration::from_secs)
                .unwrap_or(d.local_executor_timeout),
            real_action_timeout: flags
                .real_action_timeout_seconds
                .or(file.real_action_timeout_seconds)
                .map(Duration::from_secs)
                .unwrap_or(d.real_action_timeout),
            artifact_max_entries: flags
                .artifact_max_entries
                .or(file.artifact_max_entries)
                .unwrap_or(d.artifact_max_entries),
            artifact_max_uncompressed_bytes: flags
                .artifact_max_uncompressed_bytes
                .or(file.artifact_max_uncompressed_bytes)
                .unwrap_or(d.artifact_max_uncompressed_bytes),
            artifact_max_compression_ratio: flags
                .artifact_max_compression_ratio
                .or(file.artifact_max_compression_ratio)
                .unwrap_or(d.artifact_max_compression_ratio),
            lambda_endpoint: flags.lambda_endpoint.or(file.lambda_endpoint),
            iam_endpoint: flags.iam_endpoint.or(file.iam_endpoint),
            codebuild_projects: file.codebuild_projects,
            load: if flags.load.is_empty() {
                file.load
            } else {
                flags.load
            },
            parameters: if flags.parameters.is_empty() {
                file.parameters
            } else {
                flags.parameters.into_iter().collect()
            },
            header_read_timeout: flags
                .header_read_timeout_seconds
                .or(file.header_read_timeout_seconds)
                .map(Duration::from_secs)
                .unwrap_or(d.header_read_timeout),
            max_connections: flags
                .max_connections
                .or(file.max_connections)
                .unwrap_or(d.max_connections),
            shutdown_timeout: flags
                .shutdown_timeout_seconds
                .or(file.shutdown_timeout_seconds)
                .map(Duration::from_secs)
                .unwrap_or(d.shutdown_timeout),
            allowed_hosts: flags
                .allowed_hosts
                .or(file.allowed_hosts)
                .unwrap_or(d.allowed_hosts),
            admin_token: flags.admin_token.or(file.admin_token),
            cors_origins: flags
                .cors_origins
                .or(file.cors_origins)
                .unwrap_or(d.cors_origins),
            cloudformation_endpoint: flags
                .cloudformation_endpoint
                .or(file.cloudformation_endpoint),
            events_endpoint: flags.events_endpoint.or(file.events_endpoint),
        })
        .and_then(Config::checked)
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
        for endpoint in [
            &self.s3_endpoint,
            &self.lambda_endpoint,
            &self.iam_endpoint,
            &self.cloudformation_endpoint,
            &self.events_endpoint,
        ]
        .into_iter()
        .flatten()
        {
            if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
                return Err(format!(
                    "an endpoint must be an http:// or https:// URL, got '{endpoint}'"
                ));
            }
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
        Ok(self)
    }
}

/// Reads a TOML or JSON config file (by extension; JSON when it starts with `{`).
pub fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    parse_file(&text).map_err(|e| format!("invalid config file {}: {e}", path.display()))
}

pub fn parse_file(text: &str) -> Result<FileConfig, String> {
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| e.to_string())
    } else {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// `NAME=VALUE`.
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("expected NAME=VALUE, got '{text}'")),
    }
}

/// `auto_start` as the setting `no_auto_start` says it.
fn inverted<S: serde::Serializer>(value: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(!value)
}

impl Config {
    /// The region S3 and Lambda requests are signed for.
    pub fn s3_region(&self) -> &str {
        self.s3_region.as_deref().unwrap_or(&self.region)
    }
}

mod seconds {
    use serde::Serializer;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}
