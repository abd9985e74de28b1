use clap::{CommandFactory, FromArgMatches};
use codepipeline_local::admin::health;
use codepipeline_local::cli::{self, Cli, Command};
use codepipeline_local::config::Config;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// jemalloc: under load the server allocates many small, short-lived values from several
/// threads, where glibc's malloc spends its time growing per-thread arenas (see the README's
/// Performance section).
#[cfg(target_os = "linux")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let flags = match cli.command {
        Some(Command::Validate(args)) => std::process::exit(cli::validate(args).await),
        Some(Command::Run(args)) => {
            let run_matches = matches.subcommand_matches("run").unwrap_or(&matches);
            std::process::exit(cli::run(*args, run_matches, init_logging).await)
        }
        None => cli.flags,
    };
    let healthcheck = flags.healthcheck.clone();
    let config_file = flags.config.clone();
    let config = match Config::load(&flags, &matches) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("codepipeline-local: {e}");
            std::process::exit(2);
        }
    };
    if let Some(url) = healthcheck {
        let url = match url.as_str() {
            "" => health::default_health_url(&config.listen),
            _ => url,
        };
        match health::check(&url, std::time::Duration::from_secs(3)).await {
            Ok(()) => std::process::exit(0),
            Err(e) => {
                eprintln!("codepipeline-local: unhealthy: {e}");
                std::process::exit(1);
            }
        }
    }
    init_logging(&config);
    let server = match codepipeline_local::start(config).await {
        Ok(server) => server,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            std::process::exit(1);
        }
    };
    codepipeline_local::admin::spawn_event_log(&server.app);
    tracing::info!("codepipeline-local ready on {}", server.url());
    println!(
        "{}",
        cli::banner(&server.app.config, &server.url(), config_file.as_deref())
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    if let Err(e) = server.shutdown().await {
        tracing::error!("server error: {e}");
        std::process::exit(1);
    }
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a terminal: a redirected log holds plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
