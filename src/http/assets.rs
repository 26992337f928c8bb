//! The console (a single-page app), the widget script and the demo page, embedded in the binary
//! at build time (build.rs). The console is served with a strict Content-Security-Policy.

use super::input::Query;
use crate::db;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

pub struct Asset {
    pub path: &'static str,
    pub mime: &'static str,
    pub body: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The console may only run its own code and talk to its own origin.
pub const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

fn serve(asset: &Asset, cache: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, asset.mime))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(asset.body)
}

fn console_index() -> HttpResponse {
    match find("/index.html") {
        Some(a) => {
            let mut res = serve(a, "no-cache");
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                header::HeaderValue::from_static(CONSOLE_CSP),
            );
            h.insert(
                header::X_FRAME_OPTIONS,
                header::HeaderValue::from_static("DENY"),
            );
            h.insert(
                header::REFERRER_POLICY,
                header::HeaderValue::from_static("same-origin"),
            );
            res
        }
        None => HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body(
                "The console was not built into this binary (web/dist was missing at build time).",
            ),
    }
}

/// The widget script, cached briefly so a new release reaches visitors soon.
#[get("/widget.js")]
pub async fn widget() -> HttpResponse {
    match find("/widget.js") {
        Some(a) => serve(a, "public, max-age=300"),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Hashed build outputs never change: cache them for a year.
#[get("/assets/{file:.*}")]
pub async fn hashed(req: HttpRequest) -> AppResult<HttpResponse> {
    find(req.path())
        .map(|a| serve(a, "public, max-age=31536000, immutable"))
        .ok_or_else(|| AppError::not_found("file"))
}

#[derive(serde::Deserialize)]
pub struct DemoQuery {
    pub key: Option<String>,
}

/// A page that embeds the widget, so one person can chat with themselves: the first web
/// channel's key unless `?key=` names another.
#[get("/demo")]
pub async fn demo(st: web::Data<AppState>, q: Query<DemoQuery>) -> AppResult<HttpResponse> {
    use db::schema::channels;
    let key = match &q.key {
        Some(k) => k.clone(),
        None => {
            let mut conn = st.pool.get().await?;
            channels::table
                .filter(channels::kind.eq(db::enums::ChannelKind::Web))
                .filter(channels::widget_key.is_not_null())
                .order(channels::id.asc())
                .select(channels::widget_key.assume_not_null())
                .first::<String>(&mut conn)
                .await
                .optional()?
                .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no web channel exists yet"))?
        }
    };
    if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(AppError::validation("key is not a widget key"));
    }
    let html = DEMO_PAGE.replace("{{KEY}}", &key);
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The widget puts its styles in its shadow root: a host page must allow inline styles.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
        ))
        .body(html))
}

const DEMO_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo shop — Switchboard widget</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#1f2933;color:#fff;padding:16px 32px;font-weight:600}
main{max-width:720px;margin:40px auto;padding:0 24px}
.card{background:#fff;border-radius:12px;padding:24px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
code{background:#eef2f7;padding:2px 6px;border-radius:4px}
</style></head>
<body><header>Demo shop</header>
<main><div class="card"><h1>Welcome to the demo shop</h1>
<p>This page embeds the Switchboard chat widget. Open the chat button at the bottom right and
write a message; answer it from the console in another tab.</p>
<p>The snippet on this page: <code>&lt;script src="/widget.js" data-key="{{KEY}}" async&gt;&lt;/script&gt;</code></p>
</div></main>
<script src="/widget.js" data-key="{{KEY}}" async></script>
</body></html>
"#;

/// GET on any other path that is not API or websocket: the console (client-side routing).
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    let is_api =
        path.starts_with("/api/") || path.starts_with("/ws/") || path == "/api" || path == "/ws";
    if req.method() == actix_web::http::Method::GET && !is_api {
        if let Some(a) = find(path).filter(|a| a.path != "/index.html") {
            return serve(a, "no-cache");
        }
        return console_index();
    }
    actix_web::ResponseError::error_response(&AppError::new(ErrorCode::NotFound, "no such route"))
}
