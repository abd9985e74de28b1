//! What the server prints once it answers: where to point clients and what it does for real.
//! Plain text, on standard output, so that it reads the same in a terminal, a log file or
//! `docker logs`.

use crate::config::Config;
use std::path::Path;

/// The startup banner for a server answering at `url`, started with the configuration file
/// `config_file` (if any).
pub fn banner(config: &Config, url: &str, config_file: Option<&Path>) -> String {
    let admin = format!("{url}/_codepipeline-local");
    let state = match &config.data_dir {
        Some(dir) => format!("{} (SQLite)", dir.display()),
        None => "in memory (--data-dir keeps it)".to_string(),
    };
    let file = config_file.map_or("none".to_string(), |f| f.display().to_string());
    let mut real = Vec::new();
    if let Some(s3) = &config.s3_endpoint {
        real.push(format!("S3 artifacts and actions at {s3}"));
    }
    if config.local_executor {
        real.push("local executor (Commands, CodeBuild)".to_string());
    }
    if let Some(lambda) = &config.lambda_endpoint {
        real.push(format!("Lambda invoke at {lambda}"));
    }
    if let Some(iam) = &config.iam_endpoint {
        real.push(format!("role check against IAM at {iam}"));
    }
    for repository in &config.repositories {
        real.push(format!(
            "git source {} = {} (commits start pipelines)",
            repository.id,
            repository.location()
        ));
    }
    let real = if real.is_empty() {
        "none: every AWS action is simulated".to_string()
    } else {
        real.join("; ")
    };
    [
        format!("codepipeline-local {} ready", env!("CARGO_PKG_VERSION")),
        format!("  endpoint    {url}   (aws --endpoint-url {url} codepipeline ...)"),
        format!("  dashboard   {admin}/ui/"),
        format!("  events      {admin}/events"),
        format!("  health      {url}/health"),
        format!(
            "  defaults    account {}, region {}",
            config.account_id, config.region
        ),
        format!("  state       {state}"),
        format!("  config      {file}"),
        format!("  real work   {real}"),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_the_urls_the_state_and_what_runs_for_real() {
        let config = Config {
            s3_endpoint: Some("http://127.0.0.1:5000".into()),
            ..Config::default()
        };
        let text = banner(&config, "http://127.0.0.1:4566", None);
        assert!(text.contains("dashboard   http://127.0.0.1:4566/_codepipeline-local/ui/"));
        assert!(text.contains("events      http://127.0.0.1:4566/_codepipeline-local/events"));
        assert!(text.contains("state       in memory"));
        assert!(text.contains("real work   S3 artifacts and actions at http://127.0.0.1:5000"));
        assert!(!text.contains('\u{1b}'), "no terminal escape codes");
        let simulated = banner(&Config::default(), "http://x", Some(Path::new("c.toml")));
        assert!(simulated.contains("real work   none: every AWS action is simulated"));
        assert!(simulated.contains("config      c.toml"));
    }
}
