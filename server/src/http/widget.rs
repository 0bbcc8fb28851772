//! Serves the built widget under `/widget/` and the loader at `/embed.js`.
//!
//! Every file goes through `ServeDir`, which sends the `X.br` or `X.gz` sibling
//! `cargo xtask widget` wrote next to `X` when the browser accepts that
//! encoding, and answers ranges and conditional requests. Trunk puts a content
//! hash in the names of the scripts, WASM and styles, so browsers keep those a
//! year without asking again; the page, whose name never changes, is kept a
//! minute, then fetched whole, and names the current ones. The inventory of
//! the scripts the page runs is published at [`integrity::MANIFEST_PATH`].

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use paylet_api::{CardFields, OrderId, StoreId};
use serde::Deserialize;
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::app::AppState;
use crate::snippet::EMBED_JS_PATH;
use crate::{Error, integrity, orders, stores};

/// For names that always mean the same bytes.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// For names whose bytes change between builds: stored, but revalidated on every use.
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/embed.js", get(embed_js))
        .route(EMBED_JS_PATH, get(embed_js_of_this_release))
        .route("/widget/", get(widget_page))
        .route("/widget/return", get(challenge_return))
        .route(integrity::MANIFEST_PATH, get(integrity_manifest))
        .route("/widget/{*file}", get(widget_file))
        .layer(axum::middleware::map_response(no_page_without_a_policy))
}

/// What every answer here that has no policy of its own gets: nothing may
/// frame it and, were a browser to open it as a document, nothing in it runs.
/// Scripts, WASM and styles are not documents, so it changes nothing for them;
/// a page reached by a spelling no handler expected is inert.
const INERT: HeaderValue = HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; sandbox");

/// Decides by what is answered, not by how its path was spelled: only the
/// handlers that build a page's policy ([`widget_page`], [`challenge_return`])
/// serve framable HTML; anything else is [`INERT`].
async fn no_page_without_a_policy(mut response: Response) -> Response {
    response.headers_mut().entry(header::CONTENT_SECURITY_POLICY).or_insert(INERT);
    response
}

/// The widget's scripts, WASM and styles. Its page goes through [`widget_page`]
/// under either name, so it is never served without its `frame-ancestors`.
/// A file is named only as the widget directory spells it: another spelling
/// of the same file (`./index.html`, `//index.html`, an encoded slash) is no
/// name of it.
async fn widget_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    query: Query<WidgetQuery>,
    request: Request,
) -> Result<Response, Error> {
    if !is_plain_path(&file) {
        return Err(Error::NotFound("file"));
    }
    if file == "index.html" {
        return widget_page(State(state), query, request).await;
    }
    let mut response = serve(&state, &file, request).await?;
    if found(&response) {
        let cache = if is_content_hashed(&file) { IMMUTABLE } else { NO_CACHE };
        response.headers_mut().insert(header::CACHE_CONTROL, cache);
    }
    Ok(response)
}

/// `embed.js` under a name that stays put across releases, for people who
/// paste it without an integrity hash; revalidated on every use.
async fn embed_js(State(state): State<AppState>, request: Request) -> Result<Response, Error> {
    serve_embed_js(&state, request, NO_CACHE).await
}

/// `embed.js` at [`EMBED_JS_PATH`], which the snippet names: one release's
/// bytes, so its integrity hash holds and browsers need not ask again.
async fn embed_js_of_this_release(State(state): State<AppState>, request: Request) -> Result<Response, Error> {
    serve_embed_js(&state, request, IMMUTABLE).await
}

/// `embed.js` loads on merchants' pages with `crossorigin="anonymous"` so its
/// Subresource Integrity hash can be checked, which needs the CORS header.
async fn serve_embed_js(state: &AppState, request: Request, cache: HeaderValue) -> Result<Response, Error> {
    let mut response = serve(state, "embed.js", request).await?;
    let found = found(&response);
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if found {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
        headers.insert(header::CACHE_CONTROL, cache);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct WidgetQuery {
    store: Option<String>,
    session: Option<String>,
}

/// The widget page may be reused for a minute without asking: a shopper
/// reloading the merchant's page gets the card fields sooner. A minute bounds
/// how long a changed store (its allowed origins) or a new release takes to
/// reach a browser that has the page; an upgrade keeps the previous release's
/// hashed files at least that long (README, "The snippet").
const PAGE_CACHE: HeaderValue = HeaderValue::from_static("private, max-age=60");

/// The widget's page, framable only by the store's allowed origins: the
/// build for the store's kind of card fields.
async fn widget_page(
    State(state): State<AppState>,
    Query(query): Query<WidgetQuery>,
    request: Request,
) -> Result<Response, Error> {
    // An unknown store still gets the page (which then says so), framable by no one.
    let store = match query.store.as_deref().map(StoreId::parse) {
        Some(Ok(id)) => match stores::find(&state.db, &id).await {
            Ok(store) => Some(store),
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        },
        _ => None,
    };
    let card_fields = store.as_ref().map_or(CardFields::Paylet, |s| s.gateway.card_fields);
    let file = integrity::page_file(card_fields);
    let page = tokio::fs::read_to_string(state.widget_dir.join(file)).await.unwrap_or_default();
    let origin = page_origin(&state.settings.public_url, &request);
    let script_src = state.script_src.get(&state.widget_dir, &origin, &page).await?;
    let csp = HeaderValue::from_str(&integrity::widget_csp(&script_src, store.as_ref()))
        .map_err(|_| Error::Corrupt("stored allowed origins do not fit in a header".into()))?;
    // Which build a store gets changes with its card fields, so a copy's date
    // cannot say whether it is still the right one: always the whole page.
    let (mut parts, body) = request.into_parts();
    parts.headers.remove(header::IF_MODIFIED_SINCE);
    parts.headers.remove(header::IF_NONE_MATCH);
    let mut response = serve(&state, file, Request::from_parts(parts, body)).await?;
    let found = found(&response);
    let headers = response.headers_mut();
    headers.remove(header::LAST_MODIFIED);
    headers.remove(header::ETAG);
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    headers.insert(header::CACHE_CONTROL, PAGE_CACHE);
    if found {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        if let Some(links) = store.as_ref().and_then(|s| preloads(&s.id, query.session.as_deref())) {
            headers.insert(header::LINK, links);
        }
    }
    Ok(response)
}

/// The origin the browser loaded the page from, for the CSP's URL pins: a
/// server may be reached by another name than its public URL's. Anything but
/// a plain `host[:port]` gets the public URL's origin.
fn page_origin(public_url: &str, request: &Request) -> String {
    let authority = request.uri().authority().map(|a| a.as_str());
    let host = authority.or_else(|| request.headers().get(header::HOST).and_then(|h| h.to_str().ok()));
    let scheme = public_url.split_once("://").map_or("http", |(scheme, _)| scheme);
    host.and_then(|host| reqwest::Url::parse(&format!("{scheme}://{host}/")).ok())
        .filter(|url| {
            url.path() == "/" && url.username().is_empty() && url.password().is_none() && url.query().is_none()
        })
        .map_or_else(|| public_url.to_owned(), |url| url.origin().ascii_serialization())
}

/// What the widget fetches first, for the browser to fetch while the WASM
/// loads: the store's checkout config, and the merchant's checkout session.
fn preloads(store: &StoreId, session: Option<&str>) -> Option<HeaderValue> {
    let mut links = vec![format!("</v1/stores/{store}/checkout-config>; rel=preload; as=fetch; crossorigin")];
    // An id as the server issues them; anything else is left to the widget to refuse.
    if let Some(session) =
        session.filter(|s| s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        links.push(format!("</v1/checkout-sessions/{session}>; rel=preload; as=fetch; crossorigin"));
    }
    HeaderValue::from_str(&links.join(", ")).ok()
}

/// The inventory of every script the widget page runs, with SHA-384s and the
/// page's policy: public, so merchants and their tools can read it.
async fn integrity_manifest(State(state): State<AppState>) -> Result<Response, Error> {
    let manifest = integrity::manifest(&state.widget_dir, &state.settings.public_url).await?;
    let mut response = Json(manifest).into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::CACHE_CONTROL, NO_CACHE);
    Ok(response)
}

#[derive(Deserialize)]
struct ReturnQuery {
    order: Option<String>,
}

/// Where the gateway's 3-D Secure page sends the shopper back. It opens in the
/// frame of the widget's challenge modal, which reads the result from this
/// page's URL once it is same-origin again; the page itself needs no script.
/// Framable by the widget (`'self'`) inside the order's store's pages only.
async fn challenge_return(State(state): State<AppState>, Query(query): Query<ReturnQuery>) -> Result<Response, Error> {
    let order = query.order.as_deref().and_then(|o| OrderId::parse(o).ok());
    let origins = match order {
        Some(order) => match orders::summary(&state.db, &order).await {
            Ok(order) => stores::find(&state.db, &order.store_id).await?.allowed_origins,
            Err(Error::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e),
        },
        None => Vec::new(),
    };
    let csp = format!("default-src 'none'; frame-ancestors 'self' {}", origins.join(" "));
    let csp = HeaderValue::from_str(csp.trim_end())
        .map_err(|_| Error::Corrupt("stored allowed origins do not fit in a header".into()))?;
    let page = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Returning to checkout</title>\
                <p>Returning to the checkout…</p></html>";
    let mut response = Html(page).into_response();
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    response.headers_mut().insert(header::CACHE_CONTROL, NO_CACHE);
    Ok(response)
}

/// `file`, a path inside the widget directory, as `ServeDir` answers `request`
/// for it: the brotli or gzip sibling when the browser accepts one (brotli
/// first), else the file itself.
async fn serve(state: &AppState, file: &str, request: Request) -> Result<Response, Error> {
    let (mut parts, body) = request.into_parts();
    parts.uri = format!("/{file}").parse().map_err(|_| Error::NotFound("file"))?;
    let mut response = ServeDir::new(&state.widget_dir)
        .append_index_html_on_directories(false)
        .precompressed_br()
        .precompressed_gzip()
        .oneshot(Request::from_parts(parts, body))
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))?
        .map(Body::new);
    // Shared caches must keep the brotli, gzip and plain copies apart.
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(response)
}

/// A relative path as the build writes them: non-empty segments of letters,
/// digits, `-`, `_` and `.`, none of them `.` or `..`.
fn is_plain_path(file: &str) -> bool {
    file.split('/').all(|segment| {
        !matches!(segment, "" | "." | "..")
            && segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    })
}

/// The file was there: its bytes, part of them, or "not modified".
fn found(response: &Response) -> bool {
    response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED
}

/// Whether Trunk put a content hash in the file's name, as in
/// `paylet-widget-1f2e3d4c5b6a7988_bg.wasm` or `style-9a8b7c6d5e4f3a2b.css`
/// (a 64-bit hash in hex, shorter when it has leading zeros). Such a name
/// always stands for the same bytes.
fn is_content_hashed(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    let stem = name.split('.').next().unwrap_or(name);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| (8..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunks_hashed_names_are_recognised() {
        assert!(is_content_hashed("paylet-widget-1f2e3d4c5b6a7988.js"));
        assert!(is_content_hashed("paylet-widget-1f2e3d4c5b6a7988_bg.wasm"));
        assert!(is_content_hashed("style-9a8b7c6d5e4f3a2.css"));
        assert!(is_content_hashed("paylet-widget-1f2e3d4c5b6a7988_bg.wasm.br"));
    }

    #[test]
    fn only_plain_paths_name_files() {
        for file in ["index.html", "snippets/paylet-widget-1f2e/inline0.js", "style-9a8b.css.br"] {
            assert!(is_plain_path(file), "{file}");
        }
        for file in
            ["./index.html", "/index.html", "a//index.html", "../index.html", "x/./index.html", "index.html\\", ""]
        {
            assert!(!is_plain_path(file), "{file}");
        }
    }

    #[test]
    fn names_without_a_hash_are_not() {
        for file in [
            "embed.js",
            "index.html",
            "paylet-widget.js",
            "paylet-widget_bg.wasm",
            "style.css",
            "snippets/paylet-widget-1f2e3d4c5b6a7988/inline0.js",
            "paylet-widget-deadbeefx.js",
            "paylet-widget-abc.js",
            "paylet-widget-1f2e3d4c5b6a79881.js",
        ] {
            assert!(!is_content_hashed(file), "{file}");
        }
    }
}
