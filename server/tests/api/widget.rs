use std::path::PathBuf;

use paylet::snippet::{self, Cart};
use paylet_api::{CardFields, GatewayStyle};
use serde_json::json;

use crate::helpers::{SHOP_ORIGIN, TestApp, inline_scripts, sha384, snippet_modules, spawn_app, spawn_app_with};

/// The directive `name` of a Content-Security-Policy, without its name.
fn directive<'a>(csp: &'a str, name: &str) -> &'a str {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {csp}"))
        .trim()
}

#[tokio::test]
async fn the_widget_page_may_be_framed_only_by_the_stores_origins_and_runs_only_its_own_code() {
    let app = spawn_app().await;
    for path in [format!("/widget/?store={}", app.store), format!("/widget/index.html?store={}", app.store)] {
        let response = app.http.get(app.url(&path)).send().await.unwrap();
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert_eq!(directive(&csp, "frame-ancestors"), SHOP_ORIGIN, "{path}");
        assert_eq!(directive(&csp, "default-src"), "'none'");
        assert_eq!(directive(&csp, "connect-src"), format!("'self' {}", app.sandbox_base));
        // The gateway's challenge page and the return from it: no other page
        // may be framed to show the shopper a form.
        assert_eq!(directive(&csp, "frame-src"), format!("'self' {}", app.sandbox_base));
        assert_eq!(directive(&csp, "style-src"), "'self'");
        // The page's own scripts (Trunk's start-up module among them) by their
        // hashes, the module it imports by its exact URL (an import carries no
        // integrity for a hash to match), WASM: nothing else, not even the rest
        // of its own origin.
        let page = String::from_utf8(dist_bytes("index.html")).unwrap();
        let hashes: Vec<String> =
            inline_scripts(&page).iter().map(|text| format!("'{}'", sha384(text.as_bytes()))).collect();
        let js = named_by_page(".js");
        let mut sources: Vec<&str> = directive(&csp, "script-src").split(' ').collect();
        sources.sort_unstable();
        let host = app.base.trim_start_matches("http://");
        let modules: Vec<String> =
            std::iter::once(js).chain(snippet_modules()).map(|m| format!("{host}/widget/{m}")).collect();
        let mut expected: Vec<&str> =
            hashes.iter().chain(&modules).map(String::as_str).chain(["'wasm-unsafe-eval'"]).collect();
        expected.sort_unstable();
        assert_eq!(sources, expected, "{path}");
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    }
    let response = app.http.get(app.url("/widget/?store=st_unknown")).send().await.unwrap();
    let csp = response.headers()["content-security-policy"].to_str().unwrap();
    assert_eq!(directive(csp, "frame-ancestors"), "'none'");
    assert_eq!(directive(csp, "connect-src"), "'self'");
}

#[tokio::test]
async fn api_responses_can_never_be_framed() {
    let app = spawn_app().await;
    for path in [format!("/v1/stores/{}/checkout-config", app.store), "/v1/admin/store".to_owned()] {
        let response = app.http.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.headers()["x-frame-options"], "DENY", "{path}");
        assert_eq!(response.headers()["content-security-policy"], "default-src 'none'; frame-ancestors 'none'");
    }
}

#[tokio::test]
async fn the_challenge_return_page_may_be_framed_by_the_widget_inside_the_stores_pages_only() {
    let app = spawn_app().await;
    let order = app.order().await;
    let path = format!("/widget/return?order={}&payment_intent=pi_1", order["id"].as_str().unwrap());
    let response = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert_eq!(csp, format!("default-src 'none'; frame-ancestors 'self' {SHOP_ORIGIN}"));
    // No script: the widget reads the result from the URL.
    assert!(!response.text().await.unwrap().contains("<script"));

    let unknown = app.http.get(app.url("/widget/return?order=ord_unknown")).send().await.unwrap();
    assert_eq!(unknown.headers()["content-security-policy"], "default-src 'none'; frame-ancestors 'self'");
}

#[tokio::test]
async fn embed_js_is_loadable_cross_origin_for_its_integrity_check() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/embed.js")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(response.headers()["cache-control"], "no-cache");
}

#[tokio::test]
async fn api_responses_are_never_cached() {
    let app = spawn_app().await;
    let response = app.http.get(app.url(&format!("/v1/stores/{}/checkout-config", app.store))).send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

// Serving the built widget (`widget/dist`, built by `cargo xtask widget` with a
// brotli and a gzip copy next to each file): the encoding each browser takes,
// and how long browsers may keep what they got.

/// What Chromium sends.
const CHROME: &str = "gzip, deflate, br, zstd";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn dist() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../widget/dist")
}

fn dist_bytes(name: &str) -> Vec<u8> {
    std::fs::read(dist().join(name)).unwrap_or_else(|e| panic!("widget/dist/{name}: {e}; run `cargo xtask widget`"))
}

/// The file the built page names whose name ends with `suffix` (Trunk's
/// content-hashed `paylet-widget-<hash>_bg.wasm` and the like).
fn named_by_page(suffix: &str) -> String {
    let page = String::from_utf8(dist_bytes("index.html")).unwrap();
    std::fs::read_dir(dist())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .find(|name| name.ends_with(suffix) && page.contains(name.as_str()))
        .unwrap_or_else(|| panic!("widget/dist/index.html names no *{suffix}"))
}

fn hashed_assets() -> [(String, &'static str); 3] {
    [
        (named_by_page("_bg.wasm"), "application/wasm"),
        (named_by_page(".js"), "javascript"),
        (named_by_page(".css"), "text/css"),
    ]
}

async fn get(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(app.url(path));
    if let Some(accepted) = accept_encoding {
        request = request.header("accept-encoding", accepted);
    }
    request.send().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn hashed_assets_go_brotli_to_browsers_that_take_it_and_are_kept_for_a_year() {
    let app = spawn_app().await;
    for (file, content_type) in hashed_assets() {
        let response = get(&app, &format!("/widget/{file}"), Some(CHROME)).await;
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(header(&response, "content-encoding"), Some("br"), "{file}");
        assert_eq!(header(&response, "vary").map(str::to_ascii_lowercase).as_deref(), Some("accept-encoding"));
        assert_eq!(header(&response, "cache-control"), Some(IMMUTABLE), "{file}");
        assert!(header(&response, "content-type").unwrap().contains(content_type), "{file}");
        let body = response.bytes().await.unwrap();
        assert_eq!(body, dist_bytes(&format!("{file}.br")), "{file}");
        assert!(body.len() < dist_bytes(&file).len(), "{file}: brotli is smaller");
    }
}

#[tokio::test]
async fn gzip_goes_to_browsers_that_take_only_gzip() {
    let app = spawn_app().await;
    for (file, content_type) in hashed_assets() {
        let response = get(&app, &format!("/widget/{file}"), Some("gzip")).await;
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(header(&response, "content-encoding"), Some("gzip"), "{file}");
        assert_eq!(header(&response, "vary").map(str::to_ascii_lowercase).as_deref(), Some("accept-encoding"));
        assert_eq!(header(&response, "cache-control"), Some(IMMUTABLE), "{file}");
        assert!(header(&response, "content-type").unwrap().contains(content_type), "{file}");
        assert_eq!(response.bytes().await.unwrap(), dist_bytes(&format!("{file}.gz")), "{file}");
    }
}

#[tokio::test]
async fn the_file_itself_goes_to_browsers_that_take_neither() {
    let app = spawn_app().await;
    let (file, _) = &hashed_assets()[0];
    for accepted in [None, Some("identity"), Some("br;q=0, gzip;q=0"), Some("deflate")] {
        let response = get(&app, &format!("/widget/{file}"), accepted).await;
        assert_eq!(response.status(), 200, "{accepted:?}");
        assert_eq!(header(&response, "content-encoding"), None, "{accepted:?}");
        assert_eq!(header(&response, "vary").map(str::to_ascii_lowercase).as_deref(), Some("accept-encoding"));
        assert_eq!(header(&response, "cache-control"), Some(IMMUTABLE));
        assert_eq!(response.bytes().await.unwrap(), dist_bytes(file), "{accepted:?}");
    }
}

/// The scripts a built page names (Trunk's start-up module and WASM).
fn scripts_named(page: &[u8]) -> Vec<String> {
    let page = String::from_utf8_lossy(page);
    page.split('"')
        .filter(|s| s.starts_with("/widget/") && (s.ends_with(".js") || s.ends_with(".wasm")))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_store_gets_the_page_built_for_its_kind_of_card_fields_and_a_switch_is_never_answered_from_a_stale_copy() {
    let app = spawn_app().await;
    let path = format!("/widget/?store={}", app.store);
    let paylet = get(&app, &path, None).await;
    assert_eq!(paylet.bytes().await.unwrap(), dist_bytes("index.html"));

    app.use_gateway_card_fields().await;
    // The browser asks whether its copy is still good: it is not.
    let later = "Fri, 01 Jan 2100 00:00:00 GMT";
    let response = app
        .http
        .get(app.url(&path))
        .header("if-modified-since", later)
        .header("if-none-match", "*")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csp = header(&response, "content-security-policy").unwrap().to_owned();
    let page = response.bytes().await.unwrap();
    assert_eq!(page, dist_bytes("gateway/index.html"));
    // Its own scripts, under their own path, pinned by the policy; none of Paylet's fields' build.
    let (gateway, own) = (scripts_named(&page), scripts_named(&dist_bytes("index.html")));
    assert!(!gateway.is_empty() && gateway.iter().all(|s| s.starts_with("/widget/gateway/")), "{gateway:?}");
    assert!(gateway.iter().all(|s| !own.contains(s)), "{gateway:?} {own:?}");
    let module = gateway.iter().find(|s| s.ends_with(".js")).unwrap();
    assert!(directive(&csp, "script-src").contains(module.as_str()), "{csp}");
    for script in &gateway {
        let response = get(&app, script, None).await;
        assert_eq!(response.status(), 200, "{script}");
        assert_eq!(response.bytes().await.unwrap(), dist_bytes(&script["/widget/".len()..]), "{script}");
    }

    // And back: a browser holding the gateway's page asks, and gets Paylet's.
    let change = json!({ "card_fields": "paylet" });
    assert_eq!(app.admin(reqwest::Method::PATCH, "/v1/admin/store", Some(&change)).await.0, 200);
    for (name, value) in [("if-modified-since", later), ("if-none-match", "*")] {
        let response = app.http.get(app.url(&path)).header(name, value).send().await.unwrap();
        assert_eq!(response.status(), 200, "{name}");
        assert_eq!(response.bytes().await.unwrap(), dist_bytes("index.html"), "{name}");
    }
}

#[tokio::test]
async fn the_widget_page_is_kept_a_minute_and_preloads_the_config() {
    let app = spawn_app().await;
    let config = format!("</v1/stores/{}/checkout-config>; rel=preload; as=fetch; crossorigin", app.store);
    for path in [format!("/widget/?store={}", app.store), format!("/widget/index.html?store={}", app.store)] {
        let response = get(&app, &path, Some(CHROME)).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "cache-control"), Some("private, max-age=60"), "{path}");
        assert_eq!(header(&response, "link"), Some(config.as_str()), "{path}");
        assert_eq!(header(&response, "content-type"), Some("text/html; charset=utf-8"), "{path}");
        let csp = header(&response, "content-security-policy").unwrap().to_owned();
        assert_eq!(directive(&csp, "frame-ancestors"), SHOP_ORIGIN);
        assert_eq!(header(&response, "content-encoding"), Some("br"), "{path}");
        assert_eq!(header(&response, "last-modified"), None, "{path}");
        assert_eq!(response.bytes().await.unwrap(), dist_bytes("index.html.br"), "{path}");
    }
    // A merchant's checkout session is preloaded too; a malformed id is not echoed.
    let path = format!("/widget/?store={}&session=cs_abc123", app.store);
    let links = header(&get(&app, &path, Some(CHROME)).await, "link").unwrap().to_owned();
    assert_eq!(links, format!("{config}, </v1/checkout-sessions/cs_abc123>; rel=preload; as=fetch; crossorigin"));
    let path = format!("/widget/?store={}&session=cs_x%3E%3B%20rel%3Dstylesheet", app.store);
    assert_eq!(header(&get(&app, &path, Some(CHROME)).await, "link"), Some(config.as_str()));
    // An unknown store's page preloads nothing.
    assert_eq!(header(&get(&app, "/widget/?store=st_nope", Some(CHROME)).await, "link"), None);
    let response = get(&app, "/widget/", None).await;
    assert_eq!(header(&response, "content-encoding"), None);
    assert_eq!(response.bytes().await.unwrap(), dist_bytes("index.html"));

    // A file whose name has no content hash is revalidated too.
    let response = get(&app, "/widget/embed.js", Some(CHROME)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn embed_js_of_this_release_is_kept_for_a_year_and_the_current_one_revalidated() {
    let app = spawn_app().await;
    let versioned = format!("/embed/v{}/embed.js", env!("CARGO_PKG_VERSION"));
    for (path, cache) in [(versioned.as_str(), IMMUTABLE), ("/embed.js", "no-cache")] {
        let response = get(&app, path, None).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "cache-control"), Some(cache), "{path}");
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"), "{path}");
        assert_eq!(header(&response, "content-type"), Some("text/javascript; charset=utf-8"), "{path}");
        assert_eq!(header(&response, "content-encoding"), None, "{path}");
        assert_eq!(response.bytes().await.unwrap(), dist_bytes("embed.js"), "{path}");

        let response = get(&app, path, Some(CHROME)).await;
        assert_eq!(header(&response, "content-encoding"), Some("br"), "{path}");
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"), "{path}");
        assert_eq!(header(&response, "cache-control"), Some(cache), "{path}");
        assert_eq!(response.bytes().await.unwrap(), dist_bytes("embed.js.br"), "{path}");
    }
    // Another release's path is not this release's bytes.
    assert_eq!(get(&app, "/embed/v0.0.0-old/embed.js", None).await.status(), 404);
}

#[tokio::test]
async fn the_snippets_script_is_served_with_the_bytes_its_integrity_hash_names() {
    let app = spawn_app().await;
    let embed_js = dist_bytes("embed.js");
    let html = snippet::html(&app.base, &app.store, &Cart::Items("TEE:1"), Some(&embed_js));
    let attr = |name: &str| {
        let start = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        html[start..].split('"').next().unwrap().to_owned()
    };
    let src = attr("src");
    assert_eq!(src, app.url(&format!("/embed/v{}/embed.js", env!("CARGO_PKG_VERSION"))));
    let response = app.http.get(&src).header("origin", SHOP_ORIGIN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(snippet::integrity(&response.bytes().await.unwrap()), attr("integrity"));
}

#[tokio::test]
async fn what_the_widget_pages_csp_refused_is_reported_to_the_merchant() {
    let app = spawn_app().await;
    let page = app.http.get(app.url(&format!("/widget/?store={}", app.store))).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let report_uri = directive(&csp, "report-uri").to_owned();
    assert_eq!(report_uri, format!("/v1/csp-reports/{}", app.store));

    // What Chromium sends when a skimmer's script is refused.
    let report = serde_json::json!({ "csp-report": {
        "document-uri": format!("{}/widget/?store={}", app.base, app.store),
        "effective-directive": "script-src-elem",
        "violated-directive": "script-src-elem",
        "blocked-uri": "https://evil.example/skim.js",
        "disposition": "enforce",
        "status-code": 200,
    }});
    assert_eq!(app.csp_report(&app.http, &report_uri, &report).await.0, 204);

    let (status, list) = app.admin(reqwest::Method::GET, "/v1/admin/csp-reports", None).await;
    assert_eq!(status, 200, "{list}");
    let reports = list["data"].as_array().unwrap();
    assert_eq!(reports.len(), 1, "{list}");
    assert_eq!(reports[0]["directive"], "script-src-elem");
    assert_eq!(reports[0]["blocked_uri"], "https://evil.example/skim.js");

    // Not for unknown stores, and not without the store's key.
    assert_eq!(app.csp_report(&app.http, "/v1/csp-reports/st_unknown", &report).await.0, 404);
    let (status, _) = app.admin_as("plk_wrong", reqwest::Method::GET, "/v1/admin/csp-reports", None).await;
    assert_eq!(status, 401);
}

/// A report of a refused script at `blocked`, as Chromium sends it, from
/// the client at `address`; the status.
async fn report_from(app: &TestApp, address: &str, blocked: &str) -> u16 {
    let client =
        reqwest::Client::builder().local_address(address.parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let report = serde_json::json!({ "csp-report": {
        "document-uri": format!("{}/widget/?store={}", app.base, app.store),
        "effective-directive": "script-src-elem", "blocked-uri": blocked,
    }});
    app.csp_report(&client, &format!("/v1/csp-reports/{}", app.store), &report).await.0
}

async fn report_groups(app: &TestApp) -> Vec<serde_json::Value> {
    let (status, list) = app.admin(reqwest::Method::GET, "/v1/admin/csp-reports", None).await;
    assert_eq!(status, 200, "{list}");
    list["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_flood_of_forged_reports_cannot_push_out_the_report_of_a_real_skimmer() {
    let app = spawn_app().await; // no limits: the flood comes from everywhere
    assert_eq!(report_from(&app, "127.0.0.60", "https://skimmer.example/s.js").await, 204);
    for i in 0..1000 {
        let address = format!("127.0.1.{}", i % 250);
        assert_eq!(report_from(&app, &address, &format!("https://forged.example/{i}.js")).await, 204);
    }
    // The same forged report over and over is one group, counted.
    for _ in 0..50 {
        report_from(&app, "127.0.0.61", "https://forged.example/again.js").await;
    }
    let groups = report_groups(&app).await;
    assert!(groups.len() as i64 <= paylet::csp_reports::GROUPS_PER_STORE, "{} groups", groups.len());
    let real = groups.iter().find(|g| g["blocked_uri"] == "https://skimmer.example/s.js");
    assert!(real.is_some_and(|g| g["count"] == 1 && g["first_seen"].is_i64()), "the real report is still listed");
    let again = groups.iter().find(|g| g["blocked_uri"] == "https://forged.example/again.js").unwrap();
    assert_eq!(again["count"], 50);
}

#[tokio::test]
async fn reports_are_limited_per_address_typed_and_bounded() {
    let app = spawn_app_with(paylet_api::GatewayStyle::Stripe, |s| s.limits.reports_per_ip = 3).await;
    let statuses = reports_from(&app, "127.0.0.70", 5).await;
    assert_eq!(statuses, [204, 204, 204, 429, 429]);
    assert_eq!(
        report_from(&app, "127.0.0.71", "https://other.example/x.js").await,
        204,
        "another address is not held up"
    );

    let path = app.url(&format!("/v1/csp-reports/{}", app.store));
    let report = serde_json::json!({ "csp-report": { "blocked-uri": "https://evil.example/x.js" } }).to_string();
    let as_json = app.http.post(&path).header("content-type", "application/json").body(report).send().await.unwrap();
    assert_eq!(as_json.status(), 415);
    let huge = serde_json::json!({ "csp-report": { "blocked-uri": "x".repeat(9000) } }).to_string();
    let huge = app.http.post(&path).header("content-type", "application/csp-report").body(huge).send().await.unwrap();
    assert_eq!(huge.status(), 413);
}

/// `n` reports from `address`, one after another; their statuses.
async fn reports_from(app: &TestApp, address: &str, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..n {
        statuses.push(report_from(app, address, &format!("https://evil.example/{i}.js")).await);
    }
    statuses
}

/// GETs `path` exactly as written, as curl with `--path-as-is` would: no
/// client normalises away the dot segments, doubled slashes or escapes an
/// attacker sends. The status, the lowercased headers and the body.
async fn raw_get(app: &TestApp, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, answer[split + 4..].to_vec())
}

#[tokio::test]
async fn the_payment_page_cannot_be_framed_through_another_spelling_of_its_path() {
    let app = spawn_app().await;
    let query = format!("?store={}", app.store);
    let (_, headers, _) = raw_get(&app, &format!("/widget/{query}")).await;
    let header =
        |headers: &[(String, String)], name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let page_policy = header(&headers, "content-security-policy").unwrap();
    let spellings = [
        "/widget/index.html",
        "/widget/./index.html",
        "/widget/.%2Findex.html",
        "/widget/%2Findex.html",
        "/widget//index.html",
        "/widget///index.html",
        "/widget/%2e/index.html",
        "/widget/%2E%2Findex.html",
        "/widget/x/../index.html",
        "/widget/x/%2e%2e/index.html",
        "/widget/x%2F..%2Findex.html",
        "/widget/snippets/../index.html",
        "/widget/../widget/index.html",
        "/widget/%2e%2e/widget/index.html",
        "/./widget/index.html",
        "//widget/index.html",
        "/widget/%69ndex.html",
        "/widget/index%2ehtml",
        "/widget/INDEX.HTML",
        "/widget/Index.html",
        "/widget/index.HTML",
        "/widget/index.html.",
        "/widget/index.html..",
        "/widget/index.html%20",
        "/widget/index.html/",
        "/widget/index.html%2F",
        "/widget/index.html%00",
        "/widget/index.html;.js",
        "/widget/index.html%3B.js",
        "/widget/%5Cindex.html",
        "/widget/.%5Cindex.html",
        "/widget/index.htm",
        "/widget/index.html.br",
        "/widget/index.html.gz",
        "/widget/index",
        "/widget//",
        "/widget/.",
        "/widget/%2e",
        "/widget/%252Findex.html",
        "/%77idget/index.html",
        "/WIDGET/index.html",
        "/widget/index.html#x",
        "/widget/index.html?x=1&",
    ];
    for spelling in spellings {
        let path = if spelling.contains('?') { spelling.to_owned() } else { format!("{spelling}{query}") };
        let (status, headers, body) = raw_get(&app, &path).await;
        if !(200..300).contains(&status) && status != 304 {
            continue; // refused
        }
        let policy = header(&headers, "content-security-policy")
            .unwrap_or_else(|| panic!("{path}: {status} without a policy ({} bytes)", body.len()));
        let framers = directive(&policy, "frame-ancestors");
        assert!(
            policy == page_policy || framers == "'none'",
            "{path}: answered {status} with a policy other than the page's or none: {policy}"
        );
    }
}

#[tokio::test]
async fn a_store_with_the_gateways_card_fields_loads_its_sdk_and_its_policy_allows_that_sdk_alone() {
    let app = spawn_app().await;
    let csp = |app: &TestApp| {
        let path = app.url(&format!("/widget/?store={}", app.store));
        async move {
            let response = reqwest::get(path).await.unwrap();
            response.headers()["content-security-policy"].to_str().unwrap().to_owned()
        }
    };
    let before = csp(&app).await;
    let (status, config) = app.get(&format!("/v1/stores/{}/checkout-config", app.store)).await;
    assert_eq!((status, &config["gateway"]["card_fields"]), (200, &json!("paylet")));
    assert!(config["gateway"].get("sdk_url").is_none());

    let change = json!({ "card_fields": "gateway" });
    let (status, store) = app.admin(reqwest::Method::PATCH, "/v1/admin/store", Some(&change)).await;
    assert_eq!((status, &store["gateway"]["card_fields"]), (200, &json!("gateway")), "{store}");
    let (_, config) = app.get(&format!("/v1/stores/{}/checkout-config", app.store)).await;
    // The sandbox serves its stand-in for Stripe.js at Stripe's path.
    assert_eq!(config["gateway"]["sdk_url"], format!("{}/js/stripe/v3/", app.sandbox_base));
    let after = csp(&app).await;
    // The SDK's origin joins exactly the three directives it needs (and
    // script-src pins the scripts of the page built for the gateway's fields).
    let pins = directive(&after, "script-src").strip_suffix(&format!(" {}", app.sandbox_base)).unwrap();
    assert!(pins.split(' ').all(|s| s.starts_with('\'') || s.contains("/widget/gateway/")), "{after}");
    assert_eq!(directive(&after, "connect-src"), directive(&before, "connect-src"));
    assert_eq!(directive(&after, "frame-src"), directive(&before, "frame-src"));
    for name in ["default-src", "style-src", "frame-ancestors", "base-uri", "form-action"] {
        assert_eq!(directive(&after, name), directive(&before, name), "{name}");
    }

    let bad_changes = [
        (json!({ "card_fields": "iframe" }), "card_fields"),
        (json!({ "card_fields": 1 }), "card_fields"),
        (json!({ "card_fields": ["gateway"] }), "card_fields"),
        (json!({ "colour": "red" }), "colour"),
    ];
    for (bad, field) in bad_changes {
        let (status, body) = app.admin(reqwest::Method::PATCH, "/v1/admin/store", Some(&bad)).await;
        assert_eq!((status, &body["error"]["field"]), (422, &json!(field)), "{bad}: {body}");
    }
    let (_, store) = app.admin_get("/v1/admin/store").await;
    assert_eq!(store["gateway"]["card_fields"], "gateway");
}

#[tokio::test]
async fn a_real_gateways_sdk_is_allowed_by_its_own_origins_only_however_its_api_url_is_spelled() {
    let app = spawn_app().await;
    let widget_csp = |api: &'static str, style: &'static str| {
        let app = &app;
        async move {
            sqlx::query(
                "UPDATE stores SET gateway_api_base = $1, gateway_style = $2, card_fields = 'gateway' WHERE id = $3",
            )
            .bind(api)
            .bind(style)
            .bind(app.store.as_str())
            .execute(app.db.writer())
            .await
            .unwrap();
            let response = reqwest::get(app.url(&format!("/widget/?store={}", app.store))).await.unwrap();
            response.headers()["content-security-policy"].to_str().unwrap().to_owned()
        }
    };
    let page_scripts = {
        let csp = widget_csp("https://api.stripe.com", "stripe").await;
        directive(&csp, "script-src").split(" https://js.stripe.com").next().unwrap().to_owned()
    };
    let stripe = [
        "'self' https://api.stripe.com",
        "'self' https://hooks.stripe.com https://js.stripe.com https://*.js.stripe.com",
        " https://js.stripe.com https://*.js.stripe.com",
    ];
    // Stripe's API however it is written: its origin is what counts.
    for api in
        ["https://api.stripe.com", "https://API.stripe.com/", "https://api.stripe.com/v1", "https://api.stripe.com:443"]
    {
        let csp = widget_csp(api, "stripe").await;
        assert_eq!(directive(&csp, "connect-src"), stripe[0], "{api}");
        assert_eq!(directive(&csp, "frame-src"), stripe[1], "{api}");
        assert_eq!(directive(&csp, "script-src"), format!("{page_scripts}{}", stripe[2]), "{api}");
        assert_eq!(paylet::stores::default_card_fields(GatewayStyle::Stripe, api), CardFields::Gateway, "{api}");
    }
    let csp = widget_csp("https://connect.squareupsandbox.com", "square").await;
    assert_eq!(
        directive(&csp, "connect-src"),
        "'self' https://connect.squareupsandbox.com https://sandbox.web.squarecdn.com \
         https://pci-connect.squareupsandbox.com"
    );
    assert_eq!(
        directive(&csp, "frame-src"),
        "'self' https://connect.squareupsandbox.com https://sandbox.web.squarecdn.com \
         https://geoissuer.cardinalcommerce.com"
    );
    assert_eq!(directive(&csp, "script-src"), format!("{page_scripts} https://sandbox.web.squarecdn.com"));
    let csp = widget_csp("https://connect.squareup.com", "square").await;
    assert_eq!(directive(&csp, "script-src"), format!("{page_scripts} https://web.squarecdn.com"));

    // A look-alike is no gateway's real API: its SDK would be its own stand-in,
    // from its own origin, and no real gateway's script is allowed for it.
    for api in [
        "https://api.stripe.com.evil.example",
        "https://evilapi.stripe.com",
        "https://api.stripe.com:8443",
        "http://api.stripe.com",
        "https://api-stripe.com",
    ] {
        let csp = widget_csp(api, "stripe").await;
        let origin = reqwest::Url::parse(api).unwrap().origin().ascii_serialization();
        assert_eq!(directive(&csp, "script-src"), format!("{page_scripts} {origin}"), "{api}");
        assert!(!csp.contains("js.stripe.com"), "{api}: {csp}");
        assert_eq!(paylet::stores::default_card_fields(GatewayStyle::Stripe, api), CardFields::Paylet, "{api}");
    }
}
