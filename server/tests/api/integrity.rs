//! Payment-page integrity (PCI DSS 6.4.3 and 11.6.1): the inventory the server
//! publishes of every script the widget page runs, the CSP that pins them, and
//! `paylet integrity check` against live servers, untouched and tampered with.

use std::future::pending;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tokio::net::TcpListener;

use crate::helpers::{TestApp, connect, inline_scripts, sha384, snippet_modules, spawn_app};

const EMBED_JS: &str = concat!("/embed/v", env!("CARGO_PKG_VERSION"), "/embed.js");

fn dist() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../widget/dist")
}

fn page() -> String {
    std::fs::read_to_string(dist().join("index.html"))
        .unwrap_or_else(|e| panic!("widget/dist/index.html: {e}; run `cargo xtask widget`"))
}

/// The file in widget/dist the built page names whose name ends with `suffix`.
fn named_by_page(suffix: &str) -> String {
    let page = page();
    std::fs::read_dir(dist())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .find(|name| name.ends_with(suffix) && page.contains(name.as_str()))
        .unwrap_or_else(|| panic!("widget/dist/index.html names no *{suffix}"))
}

/// The sources of one directive of a policy.
fn sources(csp: &str, name: &str) -> Vec<String> {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
        .unwrap_or_else(|| panic!("no {name} in {csp}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

async fn published_manifest(base: &str) -> Value {
    let response = reqwest::get(format!("{base}/widget/integrity.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    response.json().await.unwrap()
}

/// The manifest's build for `card_fields` (`paylet` or `gateway`).
fn build<'a>(manifest: &'a Value, card_fields: &str) -> &'a Value {
    let builds = manifest["builds"].as_array().unwrap();
    builds.iter().find(|b| b["card_fields"] == card_fields).unwrap_or_else(|| panic!("no {card_fields} build"))
}

/// The scripts of the build with Paylet's card fields, which a new store gets.
fn scripts(manifest: &Value) -> &Vec<Value> {
    build(manifest, "paylet")["scripts"].as_array().unwrap()
}

/// `paylet integrity …`: its exit code, stdout and stderr.
async fn integrity(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_paylet"))
        .arg("integrity")
        .args(args)
        .env("RUST_LOG", "warn")
        .current_dir(app.dir.path())
        .output()
        .await
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// The release's manifest for a server at `public_url`, written to a file as
/// a merchant keeps it; its path.
async fn release_manifest(app: &TestApp, public_url: &str) -> String {
    let dist = dist().display().to_string();
    let (code, out, err) = integrity(app, &["manifest", "--widget-dir", &dist, "--public-url", public_url]).await;
    assert_eq!(code, 0, "{err}");
    let path = app.dir.path().join(format!("manifest-{}.json", public_url.replace([':', '/'], "_")));
    std::fs::write(&path, out).unwrap();
    path.display().to_string()
}

/// The check's JSON report of the widget page of `app`'s store at `base`.
async fn check(app: &TestApp, base: &str, manifest: &str) -> (i32, Value) {
    let url = format!("{base}/widget/?store={}", app.store);
    let (code, out, err) = integrity(app, &["check", "--url", &url, "--manifest", manifest, "--json"]).await;
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}")))
}

fn drifts(report: &Value) -> Vec<String> {
    report["drifts"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect()
}

/// Another server on `app`'s database serving the widget from `widget_dir`; its base URL.
async fn serve_widget_from(app: &TestApp, widget_dir: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut settings = (*app.state.settings).clone();
    settings.public_url = base.clone();
    let options = paylet::ServeOptions { widget_dir: widget_dir.to_owned(), settings };
    let state = paylet::state(connect(&app.database_url).await, options);
    tokio::spawn(paylet::serve(listener, paylet::app(state, None), pending()));
    base
}

/// A copy of widget/dist to change.
fn copy_of_dist() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &to.join(entry.file_name()));
            } else {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&dist(), dir.path());
    dir
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
    writer.write_all(bytes).unwrap();
    drop(writer);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut writer = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    writer.write_all(bytes).unwrap();
    writer.finish().unwrap()
}

/// The built JavaScript with one byte changed, as a skimmer's edit would.
fn tampered_js(original: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    let at = bytes.iter().position(|&b| b == b';').expect("a `;` in the JavaScript");
    bytes[at] = b'\n';
    bytes
}

#[tokio::test]
async fn the_manifest_lists_every_script_the_page_runs_with_the_hash_of_the_bytes_served() {
    let app = spawn_app().await;
    let manifest = published_manifest(&app.base).await;
    assert_eq!(manifest["release"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["public_url"], app.base);

    // The page's own scripts (Trunk's start-up module among them), by the hashes of their text.
    let page = page();
    let listed_inline: Vec<_> = scripts(&manifest).iter().filter(|s| s["url"] == "inline").cloned().collect();
    assert_eq!(listed_inline.len(), inline_scripts(&page).len(), "{manifest:#}");
    for text in inline_scripts(&page) {
        let listed = listed_inline.iter().find(|s| s["integrity"] == sha384(text.as_bytes()));
        let listed = listed.unwrap_or_else(|| panic!("the inline script {text:?} is not in {manifest:#}"));
        assert_eq!(listed["csp"], "hash");
    }
    assert!(listed_inline.iter().any(|s| s["loaded_by"] == serde_json::json!(["inline_module"])), "{manifest:#}");
    let entry = |url: &str| scripts(&manifest).iter().find(|s| s["url"] == url).cloned();

    // Every script and WASM file the page names, and embed.js, each with the
    // hash and length of the bytes the server sends for it.
    let js = format!("/widget/{}", named_by_page(".js"));
    let wasm = format!("/widget/{}", named_by_page("_bg.wasm"));
    for url in [js.as_str(), wasm.as_str(), EMBED_JS] {
        let listed = entry(url).unwrap_or_else(|| panic!("{url} is not in {manifest:#}"));
        let served = app.http.get(app.url(url)).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(listed["integrity"], sha384(&served), "{url}");
        assert_eq!(listed["bytes"], served.len(), "{url}");
    }
    assert_eq!(entry(&js).unwrap()["loaded_by"], serde_json::json!(["modulepreload", "import"]));
    assert_eq!(entry(&js).unwrap()["csp"], "url");
    assert_eq!(entry(&wasm).unwrap()["csp"], "none");
    assert_eq!(entry(EMBED_JS).unwrap()["loaded_by"], serde_json::json!(["merchant_snippet"]));

    // Nothing the page runs is left out: every script the manifest lists is in
    // the page (or imported), and every .js and .wasm the page names is listed.
    for file in std::fs::read_dir(dist()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()) {
        if (file.ends_with(".js") || file.ends_with(".wasm")) && page.contains(&file) {
            assert!(entry(&format!("/widget/{file}")).is_some(), "{file} is not in the manifest");
        }
    }

    // The build with the gateway's card fields has its own module and WASM,
    // under its own path, and the same embed.js.
    let gateway = build(&manifest, "gateway")["scripts"].as_array().unwrap();
    let own: Vec<&str> =
        gateway.iter().map(|s| s["url"].as_str().unwrap()).filter(|u| u.starts_with("/widget/")).collect();
    assert!(own.iter().all(|u| u.starts_with("/widget/gateway/") && entry(u).is_none()), "{own:?}");
    // The glue to the gateway's SDK is in its build alone.
    assert!(own.iter().any(|u| u.ends_with("/card_sdk.js")), "{own:?}");
    assert!(!scripts(&manifest).iter().any(|s| s["url"].as_str().unwrap().ends_with("/card_sdk.js")));
    for url in own {
        let served = app.http.get(app.url(url)).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(gateway.iter().find(|s| s["url"] == url).unwrap()["integrity"], sha384(&served), "{url}");
    }
    assert!(gateway.iter().any(|s| s["url"] == EMBED_JS));
}

#[tokio::test]
async fn the_widget_pages_csp_pins_the_scripts_of_the_manifest_and_nothing_else() {
    let app = spawn_app().await;
    let manifest = published_manifest(&app.base).await;
    let response = app.http.get(app.url(&format!("/widget/?store={}", app.store))).send().await.unwrap();
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let script_src = sources(&csp, "script-src");

    // Each inline script by its SHA-384, each imported module by its exact
    // URL (without a scheme: the page's), WASM compiled under
    // 'wasm-unsafe-eval': no 'self', nothing inline.
    let mut pins = vec!["'wasm-unsafe-eval'".to_owned()];
    for script in scripts(&manifest) {
        match script["csp"].as_str().unwrap() {
            "hash" => pins.push(format!("'{}'", script["integrity"].as_str().unwrap())),
            "url" => {
                pins.push(format!("{}{}", app.base.trim_start_matches("http://"), script["url"].as_str().unwrap()))
            }
            _ => {}
        }
    }
    assert_eq!(script_src, pins, "{csp}");
    assert!(!csp.contains("'self' 'wasm") && !csp.contains("unsafe-inline"), "{csp}");
    let page = page();
    let inline = page.split("<script type=\"module\">").nth(1).unwrap().split("</script>").next().unwrap();
    assert!(script_src.contains(&format!("'{}'", sha384(inline.as_bytes()))), "{csp}");

    // The manifest names the same policy, less what the store adds.
    let published = build(&manifest, "paylet")["csp"].as_str().unwrap();
    assert_eq!(sources(published, "script-src"), script_src);
    assert_eq!(sources(published, "frame-ancestors"), ["'none'"]);
    assert_eq!(sources(&csp, "report-uri"), [format!("/v1/csp-reports/{}", app.store)]);
}

#[tokio::test]
async fn the_csp_pins_the_module_on_the_host_the_browser_loaded_the_page_from() {
    let app = spawn_app().await;
    let js = named_by_page(".js");
    let port = app.base.rsplit(':').next().unwrap();
    let public = app.base.trim_start_matches("http://").to_owned();
    // Another name for the server is pinned as such; a Host that is no plain
    // host[:port] gets the public URL's.
    for (host, pinned) in
        [(format!("paylet.test:{port}"), format!("paylet.test:{port}")), ("evil.example/x".into(), public)]
    {
        let response = app.http.get(app.url("/widget/")).header("host", &host).send().await.unwrap();
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        let module = format!("{pinned}/widget/{js}");
        assert!(sources(&csp, "script-src").contains(&module), "{host}: {csp}");
        // 'wasm-unsafe-eval', a hash per inline script, the module and the modules it imports.
        let modules = 1 + snippet_modules().len();
        assert_eq!(sources(&csp, "script-src").len(), 1 + inline_scripts(&page()).len() + modules, "{csp}");
    }
}

#[tokio::test]
async fn a_stores_page_with_the_gateways_own_card_fields_passes_and_a_script_origin_the_release_does_not_authorise_is_drift()
 {
    let app = spawn_app().await;
    let manifest = release_manifest(&app, &app.base).await;
    let released: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let authorised: Vec<&str> =
        released["third_party_scripts"].as_array().unwrap().iter().map(|t| t["url"].as_str().unwrap()).collect();
    assert_eq!(
        authorised,
        [
            "https://js.stripe.com/v3/",
            "https://web.squarecdn.com/v1/square.js",
            "https://sandbox.web.squarecdn.com/v1/square.js"
        ]
    );
    let use_gateway = |api: String| {
        let app = &app;
        async move {
            sqlx::query("UPDATE stores SET gateway_api_base = $1, card_fields = 'gateway' WHERE id = $2")
                .bind(api)
                .bind(app.store.as_str())
                .execute(app.db.writer())
                .await
                .unwrap();
        }
    };
    // Stripe's own Stripe.js: authorised by the release, in the release's build for it.
    use_gateway("https://api.stripe.com".into()).await;
    let (code, report) = check(&app, &app.base, &manifest).await;
    assert_eq!((code, drifts(&report)), (0, Vec::<String>::new()), "{report:#}");
    assert_eq!(report["card_fields"], "gateway");
    // The sandbox's stand-in is no gateway's own SDK: its origin is named.
    use_gateway(app.sandbox_base.clone()).await;
    let (code, report) = check(&app, &app.base, &manifest).await;
    let expected = format!("the CSP's script-src also allows {}, which the release's does not", app.sandbox_base);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(drifts(&report), [expected]);
}

#[tokio::test]
async fn an_untouched_server_passes_the_integrity_check() {
    let app = spawn_app().await;
    let manifest = release_manifest(&app, &app.base).await;
    // What the release build says is what the server publishes.
    let released: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert_eq!(released, published_manifest(&app.base).await);

    let (code, report) = check(&app, &app.base, &manifest).await;
    assert_eq!((code, drifts(&report)), (0, Vec::new()), "{report:#}");
    assert_eq!(report["clean"], true);
    assert_eq!(report["card_fields"], "paylet");
    assert_eq!(report["scripts"].as_array().unwrap().len(), scripts(&released).len());

    // In plain words, comparing with the release build itself.
    let url = format!("{}/widget/?store={}", app.base, app.store);
    let dist = dist().display().to_string();
    let (code, out, err) = integrity(&app, &["check", "--url", &url, "--widget-dir", &dist]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No drift"), "{out}");

    // A page that cannot be fetched is no verdict either way.
    let (code, _, err) =
        integrity(&app, &["check", "--url", "http://127.0.0.1:1/widget/", "--manifest", &manifest]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
}

#[tokio::test]
async fn a_changed_script_fails_the_check_naming_the_file() {
    let app = spawn_app().await;
    let widget = copy_of_dist();
    let js = named_by_page(".js");
    let tampered = tampered_js(&std::fs::read(dist().join(&js)).unwrap());
    // The file and the compressed copies the server sends browsers, all changed.
    std::fs::write(widget.path().join(&js), &tampered).unwrap();
    std::fs::write(widget.path().join(format!("{js}.br")), brotli(&tampered)).unwrap();
    std::fs::write(widget.path().join(format!("{js}.gz")), gzip(&tampered)).unwrap();
    let base = serve_widget_from(&app, widget.path()).await;
    let manifest = release_manifest(&app, &base).await;

    let (code, report) = check(&app, &base, &manifest).await;
    assert_eq!(code, 1, "{report:#}");
    let expected = sha384(&std::fs::read(dist().join(&js)).unwrap());
    assert_eq!(
        drifts(&report),
        [format!(
            "/widget/{js} changed: the release has {expected} ({} bytes), the server sent {} ({} bytes)",
            tampered.len(),
            sha384(&tampered),
            tampered.len()
        )]
    );

    // The same in plain words.
    let url = format!("{base}/widget/?store={}", app.store);
    let (code, out, _) = integrity(&app, &["check", "--url", &url, "--manifest", &manifest]).await;
    assert_eq!(code, 1);
    assert!(out.contains("DRIFT: 1 difference(s)") && out.contains(&format!("/widget/{js} changed")), "{out}");
}

#[tokio::test]
async fn a_script_changed_only_in_the_copy_browsers_get_is_caught() {
    let app = spawn_app().await;
    let widget = copy_of_dist();
    let js = named_by_page(".js");
    // Browsers take brotli, so only the brotli copy matters to a skimmer.
    let tampered = tampered_js(&std::fs::read(dist().join(&js)).unwrap());
    std::fs::write(widget.path().join(format!("{js}.br")), brotli(&tampered)).unwrap();
    let base = serve_widget_from(&app, widget.path()).await;
    let manifest = release_manifest(&app, &base).await;

    let (code, report) = check(&app, &base, &manifest).await;
    assert_eq!(code, 1, "{report:#}");
    let drifts = drifts(&report);
    assert!(drifts.iter().any(|d| d.starts_with(&format!("/widget/{js} changed: "))), "{drifts:#?}");
    assert!(
        drifts.iter().any(|d| d.starts_with(&format!("/widget/{js}: the copy sent as gzip")) && d.contains("as br")),
        "{drifts:#?}"
    );
}

#[tokio::test]
async fn a_weakened_header_fails_the_check_in_plain_words() {
    let app = spawn_app().await;
    let proxy = weakening_proxy(app.base.clone()).await;
    // The release as the upstream server publishes it; the page is checked
    // through the proxy, as shoppers would reach it.
    let manifest = release_manifest(&app, &app.base).await;

    let (code, report) = check(&app, &proxy, &manifest).await;
    assert_eq!(code, 1, "{report:#}");
    let drifts = drifts(&report);
    let nosniff = drifts.iter().filter(|d| d.ends_with("is served without `X-Content-Type-Options: nosniff`")).count();
    let files = scripts(&published_manifest(&app.base).await).iter().filter(|s| s["url"] != "inline").count();
    assert_eq!(nosniff, 1 + files, "the page and each file: {drifts:#?}");
    assert!(drifts.iter().any(|d| d.starts_with("the widget page is served without `X-Content-Type-Options")));
    assert!(drifts.contains(&"the CSP's script-src also allows 'unsafe-inline', which the release's does not (code injected into the page would run)".to_owned()), "{drifts:#?}");
    assert!(drifts.iter().any(|d| d.starts_with("the CSP has no report-uri")), "{drifts:#?}");
    assert_eq!(drifts.len(), nosniff + 2, "nothing else: {drifts:#?}");
}

/// A proxy in front of `upstream` that drops `X-Content-Type-Options`, lets
/// inline scripts run and drops the report-uri: a misconfigured CDN.
async fn weakening_proxy(upstream: String) -> String {
    let http = reqwest::Client::new();
    let proxy = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (http, upstream) = (http.clone(), upstream.clone());
        async move {
            let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let mut forward = http.get(format!("{upstream}{path}"));
            if let Some(accepted) = request.headers().get("accept-encoding") {
                forward = forward.header("accept-encoding", accepted);
            }
            let answer = forward.send().await.unwrap();
            let mut response = axum::http::Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                match name.as_str() {
                    "x-content-type-options" | "transfer-encoding" | "connection" => {}
                    "content-security-policy" => {
                        let policy = value.to_str().unwrap().replace("script-src ", "script-src 'unsafe-inline' ");
                        let policy: Vec<&str> =
                            policy.split(';').filter(|d| !d.trim().starts_with("report-uri")).collect();
                        response = response.header(name, policy.join(";"));
                    }
                    _ => response = response.header(name, value),
                }
            }
            response.body(axum::body::Body::from(answer.bytes().await.unwrap())).unwrap()
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, proxy).await });
    base
}

#[tokio::test]
async fn the_check_names_a_spelling_of_the_page_path_served_without_its_policy() {
    let app = spawn_app().await;
    let proxy = leaky_proxy(app.base.clone()).await;
    let manifest = release_manifest(&app, &app.base).await;
    let (code, report) = check(&app, &proxy, &manifest).await;
    assert_eq!(code, 1, "{report:#}");
    let drifts = drifts(&report);
    assert_eq!(drifts.len(), 1, "{drifts:#?}");
    assert!(drifts[0].starts_with("/widget//index.html answers 200 without the page's policy"), "{drifts:#?}");
}

/// A proxy in front of `upstream` that serves the widget page at
/// `/widget//index.html` without its CSP, as a server that routed only the
/// exact name through the page's handler did.
async fn leaky_proxy(upstream: String) -> String {
    let http = reqwest::Client::new();
    let proxy = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (http, upstream) = (http.clone(), upstream.clone());
        async move {
            let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
            let leak = path.starts_with("/widget//index.html");
            let path = if leak { path.replacen("/widget//", "/widget/", 1) } else { path };
            let mut forward = http.get(format!("{upstream}{path}"));
            if let Some(accepted) = request.headers().get("accept-encoding") {
                forward = forward.header("accept-encoding", accepted);
            }
            let answer = forward.send().await.unwrap();
            let mut response = axum::http::Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                let dropped = leak && name.as_str() == "content-security-policy";
                if !dropped && !matches!(name.as_str(), "transfer-encoding" | "connection") {
                    response = response.header(name, value);
                }
            }
            response.body(axum::body::Body::from(answer.bytes().await.unwrap())).unwrap()
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, proxy).await });
    base
}
