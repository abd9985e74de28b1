//! The dashboard at `/_codepipeline-local/ui/`: plain HTML, CSS and JavaScript from `src/ui/`,
//! compiled into the binary. The page calls the JSON 1.1 API itself (`fetch` with
//! `X-Amz-Target`), follows `/_codepipeline-local/events` with an `EventSource`, and reads
//! local executor logs from `/_codepipeline-local/logs/`.

use super::ADMIN_PATH;
use crate::app::App;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Each file under `ui/`: its name, content type and text.
const ASSETS: [(&str, &str, &str); 6] = [
    ("", HTML, include_str!("../ui/index.html")),
    ("index.html", HTML, include_str!("../ui/index.html")),
    ("app.js", JS, include_str!("../ui/app.js")),
    ("pipeline.js", JS, include_str!("../ui/pipeline.js")),
    ("execution.js", JS, include_str!("../ui/execution.js")),
    ("style.css", CSS, include_str!("../ui/style.css")),
];

pub fn routes() -> Router<App> {
    let mut router = Router::new().route(
        &format!("{ADMIN_PATH}/ui"),
        get(|| async { Redirect::permanent(&format!("{ADMIN_PATH}/ui/")) }),
    );
    for (name, content_type, body) in ASSETS {
        router = router.route(
            &format!("{ADMIN_PATH}/ui/{name}"),
            get(move || async move { asset(content_type, body) }),
        );
    }
    router
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
