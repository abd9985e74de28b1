//! The dashboard at `/_codepipeline-local/ui/`: plain HTML, CSS and JavaScript from `src/ui/`,
//! compiled into the binary. The page calls the JSON 1.1 API itself (`fetch` with
//! `X-Amz-Target`) and follows `/_codepipeline-local/events` with an `EventSource`.

use super::ADMIN_PATH;
use crate::app::App;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

const INDEX_HTML: &str = include_str!("../ui/index.html");
const APP_JS: &str = include_str!("../ui/app.js");
const STYLE_CSS: &str = include_str!("../ui/style.css");

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            &format!("{ADMIN_PATH}/ui"),
            get(|| async { Redirect::permanent(&format!("{ADMIN_PATH}/ui/")) }),
        )
        .route(
            &format!("{ADMIN_PATH}/ui/"),
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            &format!("{ADMIN_PATH}/ui/index.html"),
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            &format!("{ADMIN_PATH}/ui/app.js"),
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            &format!("{ADMIN_PATH}/ui/style.css"),
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
