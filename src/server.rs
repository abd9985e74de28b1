//! The HTTP server: AWS JSON 1.1 on `POST /`, health endpoints, webhook and git-event
//! endpoints (`crate::webhooks`), the admin API and dashboard (`crate::admin`), graceful
//! shutdown. Connections are served by `crate::http::serve`; every request passes the guards of
//! `crate::http::guard`.

use crate::api;
use crate::app::App;
use crate::config::Config;
use crate::protocol::{self, caller_scope};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The routes of the server.
pub fn router(app: App) -> Result<Router, String> {
    let mut aws = post(json11).get(service_info);
    if let Some(cors) = crate::http::cors_layer(&app.config.cors_origins)? {
        aws = aws.layer(cors);
    }
    let guard = crate::http::guard::Guard::new(&app.config);
    Ok(Router::new()
        .route("/", aws)
        .route("/health", get(health))
        .route("/_localstack/health", get(health))
        .merge(crate::webhooks::routes())
        .merge(crate::admin::routes())
        .with_state(app)
        .layer(axum::middleware::from_fn(refuse_uncommitted))
        .layer(axum::middleware::from_fn_with_state(
            guard,
            crate::http::guard::check,
        ))
        // A bug must not drop the connection (clients would retry into a hang): answer it.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            internal_failure,
        )))
}

/// The answer to a request whose handler panicked: AWS's `InternalFailure`.
fn internal_failure(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let error = crate::protocol::ApiError::new(
        crate::model::ErrorCode::InternalFailure,
        "The request processing has failed because of an unknown error (a bug in codepipeline-local)",
    );
    tracing::error!("a request handler panicked");
    crate::protocol::error_response(&uuid::Uuid::new_v4().to_string(), &error)
}

/// A request whose change could not be persisted (and was rolled back, see `store`) gets a
/// server error instead of the success its handler computed: AWS's `InternalFailure` on the AWS
/// API, a JSON 500 elsewhere.
async fn refuse_uncommitted(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let aws_api = request.uri().path() == "/";
    let (response, failure) = crate::store::commits::track(next.run(request)).await;
    let Some(failure) = failure else {
        return response;
    };
    let message = format!("The change could not be saved and was not made: {failure}");
    if aws_api {
        let request_id = response
            .headers()
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let error =
            crate::protocol::ApiError::new(crate::model::ErrorCode::InternalFailure, message);
        return crate::protocol::error_response(&request_id, &error);
    }
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        Json(serde_json::json!({ "error": "InternalFailure", "message": message })),
    )
        .into_response()
}

async fn json11(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let scope = caller_scope(&headers, &app.config.account_id, &app.config.region);
    let limit = app.config.max_body_bytes;
    let dispatch_app = app.clone();
    protocol::handle_json11(
        &headers,
        body,
        limit,
        scope,
        move |ctx, input, body| async move {
            if !dispatch_app.store.is_durable() {
                return api::dispatch(dispatch_app, ctx, input).await;
            }
            // A request that only read a change whose commit then failed (and was rolled back)
            // runs again, on the state rolled back to, rather than fail (`store::commits`). The
            // first run takes the decoded input; a run again (rare) decodes the body again, rather
            // than every request copying its input in case.
            let mut input = Some(input);
            crate::store::commits::retry_reads(READ_ATTEMPTS, || {
                let (app, ctx) = (dispatch_app.clone(), ctx.clone());
                let input = input
                    .take()
                    .map_or_else(|| protocol::decode_input(ctx.operation, &body), Ok);
                async move { api::dispatch(app, ctx, input?).await }
            })
            .await
        },
    )
    .await
}

/// How often a request that only read something later rolled back runs (see `json11`).
const READ_ATTEMPTS: usize = 3;

/// LocalStack's health shape, so existing wait-for-it scripts work unchanged.
async fn health() -> impl IntoResponse {
    Json(serde_json::json!({
        "services": { "codepipeline": "running" },
        "edition": "codepipeline-local",
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn service_info() -> impl IntoResponse {
    Json(serde_json::json!({
        "service": "codepipeline-local",
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": "awsJson1_1",
        "targetPrefix": crate::model::spec::TARGET_PREFIX,
    }))
}

/// A server running in the background (used by `main` and by tests).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub app: App,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, stops the real actions (their processes are killed), lets
    /// in-flight requests finish, and waits for the end.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.app.running.shutdown().await;
        let result = match self.task.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        };
        // Releases the data directory: another server may use it now.
        self.app.store.close();
        result
    }

    /// Waits until the server stops (after `shutdown_signal` fires).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

/// Binds `config.listen` and serves until shut down.
pub async fn start(config: Config) -> std::io::Result<RunningServer> {
    // Before any git operation of this process (see `https::register`).
    crate::actions::git::https::register();
    let listener = TcpListener::bind(&config.listen).await?;
    let addr = listener.local_addr()?;
    let limits = crate::http::Limits::of(&config);
    let (config, stacks) =
        crate::templates::prepare_startup(config).map_err(std::io::Error::other)?;
    let app = App::new(config, &addr.to_string()).map_err(std::io::Error::other)?;
    // Mapped repositories: a path that is not a git repository stops the start.
    crate::sources::watch::start(&app)
        .await
        .map_err(std::io::Error::other)?;
    crate::sources::s3_poll::start(&app);
    crate::forward::eventbridge::spawn(&app);
    // Executions restored from the data directory pick up where they were.
    for region in app.store.regions() {
        crate::runtime::resume(&app, &region);
    }
    // `--load`: before the server answers; a problem stops it.
    crate::templates::load_at_startup(&app, &stacks, Some(&addr.to_string()))
        .await
        .map_err(std::io::Error::other)?;
    let (tx, rx) = oneshot::channel::<()>();
    // Open event streams end at shutdown (graceful shutdown waits for every connection).
    let (stop_streams, streams_stopped) = tokio::sync::watch::channel(false);
    let router = router(app.clone())
        .map_err(std::io::Error::other)?
        .layer(axum::Extension(crate::admin::Shutdown(streams_stopped)));
    let task = tokio::spawn(crate::http::serve(listener, router, limits, async move {
        let _ = rx.await;
        let _ = stop_streams.send(true);
    }));
    Ok(RunningServer {
        addr,
        app,
        shutdown: Some(tx),
        task,
    })
}
