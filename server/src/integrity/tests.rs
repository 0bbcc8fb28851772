//! The integrity module's unit tests, across scan, policy, manifest and check.

use super::check::*;
use super::csp::*;
use super::scan::*;
use super::*;
use std::collections::HashMap;

use reqwest::header::HeaderMap;

/// What Trunk 0.21 writes (its preloads after the start-up module, `crossorigin` unquoted).
const PAGE: &str = r#"<!DOCTYPE html><html><head>
<link rel="stylesheet" href="/widget/style-1a2b.css" integrity="sha384-css" crossorigin="anonymous">
<!-- <script src="/widget/commented-out.js"></script> -->
<script type="module">
import init, * as bindings from '/widget/app-1a2b.js';
const wasm = await init({ module_or_path: '/widget/app-1a2b_bg.wasm' });
</script>
<script type="application/json">{"not": "run"}</script>
<link rel="modulepreload" href="/widget/app-1a2b.js" crossorigin=anonymous integrity="sha384-app"><link rel="preload" href="/widget/app-1a2b_bg.wasm" crossorigin=anonymous integrity="sha384-wasm" as="fetch" type="application/wasm"></head>
<body></body></html>"#;

const START_UP: &str = "\nimport init, * as bindings from '/widget/app-1a2b.js';\nconst wasm = await init({ module_or_path: '/widget/app-1a2b_bg.wasm' });\n";

/// Files served from memory, by URL.
struct Memory(HashMap<String, Vec<u8>>);

impl Files for Memory {
    async fn read(&mut self, url: &Url) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.0.get(url.as_str()).cloned())
    }
}

fn memory(files: &[(&str, &str)]) -> Memory {
    Memory(files.iter().map(|(url, body)| (format!("https://pay.example{url}"), body.as_bytes().to_vec())).collect())
}

fn page_url() -> Url {
    Url::parse("https://pay.example/widget/?store=st_1").unwrap()
}

#[test]
fn the_page_elements_that_run_or_load_scripts_are_found_in_order() {
    assert_eq!(
        elements(PAGE).unwrap(),
        vec![
            Element::Inline { body: START_UP.into(), module: true },
            Element::External {
                href: "/widget/app-1a2b.js".into(),
                by: LoadedBy::Modulepreload,
                integrity: Some("sha384-app".into())
            },
            Element::External {
                href: "/widget/app-1a2b_bg.wasm".into(),
                by: LoadedBy::PreloadFetch,
                integrity: Some("sha384-wasm".into())
            },
        ]
    );
    let classic =
        "<SCRIPT src='/a.js' defer></SCRIPT><script>alert(1)</script ><link rel=preload as=script href=/b.js>";
    assert_eq!(
        elements(classic).unwrap(),
        vec![
            Element::External { href: "/a.js".into(), by: LoadedBy::ScriptSrc, integrity: None },
            Element::Inline { body: "alert(1)".into(), module: false },
            Element::External { href: "/b.js".into(), by: LoadedBy::PreloadScript, integrity: None },
        ]
    );
}

#[test]
fn the_page_is_read_as_a_browser_tokenizes_it_not_as_it_looks() {
    // A comment a browser ends at `--!>`: the script after it runs.
    // So does one after each other way a browser ends a comment early.
    for comment in ["<!-- x --!>", "<!-->", "<!--->", "<!---->", "<!-- <!-- -->"] {
        let page = format!("{comment}<script src=/evil.js></script><!-- -->");
        let evil = Element::External { href: "/evil.js".into(), by: LoadedBy::ScriptSrc, integrity: None };
        assert_eq!(elements(&page), Ok(vec![evil]), "{comment}");
    }
    // Character references in an attribute are what the browser fetches.
    let escaped = elements("<script src='/a.js?v=1&amp;w=2' integrity='sha384-&#x41;'></script>").unwrap();
    let fetched =
        Element::External { href: "/a.js?v=1&w=2".into(), by: LoadedBy::ScriptSrc, integrity: Some("sha384-A".into()) };
    assert_eq!(escaped, vec![fetched]);
    // Markup inside text-only elements is text, and runs nothing.
    let text = "<textarea><script src=/no1.js></script></textarea><title><script>no()</script></title>\
                <noscript><script src=/no2.js></script></noscript><script>yes()</script>";
    assert_eq!(elements(text), Ok(vec![Element::Inline { body: "yes()".into(), module: false }]));
    // A script a page leaves open is listed (a browser runs nothing of it).
    assert_eq!(elements("<script>tail()"), Ok(vec![Element::Inline { body: "tail()".into(), module: false }]));
}

#[test]
fn markup_a_browser_reads_differently_from_the_tokenizer_is_refused_not_guessed_at() {
    // Each hides /evil.js from a tokenizer that switches states by tag name
    // alone, where a browser runs it.
    let hidden = [
        ("<svg><title><script src=/evil.js></script></title></svg>", "<svg>"),
        ("<svg><style></svg><script src=/evil.js></script></style>", "<svg>"),
        ("<math><style></math><script src=/evil.js></script></style>", "<math>"),
        ("<SVG><script type=text/plain>x</SVG><script src=/evil.js></script>", "<svg>"),
        ("<noframes><script type=text/plain><!--<script></noframes><script src=/evil.js></script>", "<noframes>"),
        ("<select><style></select><script src=/evil.js></script></style>", "<select>"),
        ("<noframe><script src=/evil.js></script></noframe>", "<noframe>"),
        ("<template><col><textarea></template><script src=/evil.js></script></textarea>", "<template>"),
    ];
    for (page, what) in hidden {
        assert_eq!(elements(page), Err(what.to_owned()), "{page}");
    }
}

#[test]
fn a_page_that_shows_another_document_or_leaves_for_one_is_refused() {
    // Each puts a page of the attacker's in the widget's frame, where a fake
    // card form needs no script of this page's.
    let elsewhere = [
        ("<iframe srcdoc='<script src=/evil.js></script>'></iframe>", "<iframe>"),
        ("<IFRAME src=https://evil.example/pay style='position:fixed'>", "<iframe>"),
        ("<frameset><frame src=https://evil.example/pay></frameset>", "<frameset>"),
        ("<object data=https://evil.example/pay></object>", "<object>"),
        ("<embed src=https://evil.example/pay>", "<embed>"),
        ("<portal src=https://evil.example/pay></portal>", "<portal>"),
        ("<fencedframe src=https://evil.example/pay></fencedframe>", "<fencedframe>"),
        ("<meta http-equiv=refresh content='0;url=https://evil.example/pay'>", "a <meta http-equiv=refresh>"),
        ("<META HTTP-EQUIV=' Refresh ' CONTENT=0;url=//evil.example>", "a <meta http-equiv=refresh>"),
        ("<meta http-equiv=&#x72;efresh content=0;url=//evil.example>", "a <meta http-equiv=refresh>"),
    ];
    for (page, what) in elsewhere {
        assert_eq!(elements(page), Err(what.to_owned()), "{page}");
    }
    // The widget's own page has these, and is read.
    let own = "<meta charset=utf-8><meta name=viewport content='width=device-width'><script>x()</script>";
    assert_eq!(elements(own).map(|e| e.len()), Ok(1));
}

#[tokio::test]
async fn a_script_url_the_check_cannot_read_is_refused_not_skipped() {
    let mut files = memory(&[]);
    let page = "<script src='https://exa mple.com/x.js'></script>";
    let error = walk(&mut files, &page_url(), page).await.unwrap_err();
    assert!(matches!(&error, Error::Invalid { code: "unreadable_page", .. }), "{error:?}");
}

#[test]
fn a_script_runs_for_the_types_the_standard_names_and_no_others() {
    let runs = |tag: &str| !elements(&format!("{tag}x()</script>")).unwrap().is_empty();
    let running = [
        "<script>",
        "<script type=''>",
        "<script type=' TEXT/JavaScript '>",
        "<script type='text/javascript&#x3000;'>",
        "<script type=text/ecmascript>",
        "<script type=application/x-javascript>",
        "<script type=text/livescript>",
        "<script language=javascript>",
        "<script type=module>",
        "<script type=importmap>",
    ];
    for tag in running {
        assert!(runs(tag), "{tag} runs");
    }
    let data = [
        "<script type='text/javascript;charset=utf-8'>",
        "<script type=text/javascript2>",
        "<script type=text/plain>",
        "<script type=application/json>",
        "<script language=vbscript>",
    ];
    for tag in data {
        assert!(!runs(tag), "{tag} runs nothing");
    }
}

#[tokio::test]
async fn a_src_is_the_url_a_browser_resolves_it_to() {
    let page = "<script src='evil.js'></script><script src='HTTPS://evil.example/x.js#top'></script>\
                <script src='data:text/javascript,go()'></script><script src='\\\\evil.example/y.js'></script>\
                <script src='ht&#9;tps://evil.example/z.js'></script><script src=' //evil.example/w.js '></script>";
    let found = walk(&mut memory(&[]), &page_url(), page).await.unwrap();
    let urls: Vec<String> = found.iter().filter_map(|f| f.url.as_ref()).map(Url::to_string).collect();
    let want = [
        "https://pay.example/widget/evil.js",
        "https://evil.example/x.js",
        "data:text/javascript,go()",
        "https://evil.example/y.js",
        "https://evil.example/z.js",
        "https://evil.example/w.js",
    ];
    assert_eq!(urls, want);
}

#[test]
fn a_page_served_as_anything_but_one_utf_8_html_type_or_with_a_refresh_is_drift() {
    let served = |content_type: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::CONTENT_TYPE, content_type.parse().unwrap());
        headers
    };
    let html = served("text/html; charset=utf-8");
    assert_eq!(page_headers_drift(Some(&html), b"<!DOCTYPE html>"), None);
    assert_eq!(page_headers_drift(Some(&served("Text/HTML;charset=UTF-8")), b"<p>"), None);
    for other in ["application/xhtml+xml", "text/html", "text/html; charset=iso-2022-jp"] {
        assert!(page_headers_drift(Some(&served(other)), b"<p>").is_some_and(|d| d.contains(other)), "{other}");
    }
    assert!(page_headers_drift(None, b"<p>").is_some());
    assert!(page_headers_drift(Some(&html), b"\xff\xfe<\0p\0>\0").is_some_and(|d| d.contains("UTF-16")));
    // A second type, which a browser may read instead of the first, in either order.
    for second in ["application/xhtml+xml", "text/html; charset=iso-2022-jp", "text/html; charset=utf-8"] {
        let mut two = html.clone();
        two.append(reqwest::header::CONTENT_TYPE, second.parse().unwrap());
        assert!(page_headers_drift(Some(&two), b"<p>").is_some_and(|d| d.contains("2 Content-Type")), "{second}");
        let mut first = served(second);
        first.append(reqwest::header::CONTENT_TYPE, "text/html; charset=utf-8".parse().unwrap());
        assert!(page_headers_drift(Some(&first), b"<p>").is_some(), "{second} first");
    }
    // A page that sends the frame elsewhere, by header.
    let mut refresh = html.clone();
    refresh.insert(reqwest::header::REFRESH, "0;url=https://evil.example/pay".parse().unwrap());
    assert!(page_headers_drift(Some(&refresh), b"<p>").is_some_and(|d| d.contains("Refresh")));
}

#[test]
fn imports_are_found_and_look_alikes_are_not() {
    let js = "import init, * as b from '/widget/app.js';\nimport \"./side.js\";\nexport { x } from './x.js';\n\
              const lazy = await import( './lazy.js' );\nArray.from('abc'); new URL('a.wasm', import.meta.url);\n\
              imported \"no.js\"; fromage('no2.js');";
    assert_eq!(module_imports(js), vec!["./side.js", "./lazy.js", "/widget/app.js", "./x.js"]);
    let base = Url::parse("https://pay.example/widget/app.js").unwrap();
    assert_eq!(resolve(&base, "./snippets/s.js").unwrap().as_str(), "https://pay.example/widget/snippets/s.js");
    assert_eq!(resolve(&base, "//evil.example/x.js").unwrap().as_str(), "https://evil.example/x.js");
    assert_eq!(resolve(&base, "leptos"), None, "a bare specifier names no file");
}

#[tokio::test]
async fn script_src_pins_inline_scripts_and_declared_hashes_and_imports_by_url() {
    let mut files = memory(&[
        ("/widget/app-1a2b.js", "import { s } from './snippets/s.js';"),
        ("/widget/app-1a2b_bg.wasm", "\0asm"),
        ("/widget/snippets/s.js", "export const s = 1;"),
    ]);
    let found = walk(&mut files, &page_url(), PAGE).await.unwrap();
    let inline = snippet::integrity(START_UP.as_bytes());
    assert_eq!(
        script_src(&found, &page_url()),
        format!("'wasm-unsafe-eval' '{inline}' pay.example/widget/app-1a2b.js pay.example/widget/snippets/s.js")
    );
    let pins: Vec<Pin> = found.iter().map(pin).collect();
    assert_eq!(pins, [Pin::Hash, Pin::Url, Pin::None, Pin::Url]);

    // A script element with its hash is pinned by that hash; one from
    // another origin is never allowed.
    let page = "<script src=\"/widget/a.js\" integrity=\"sha384-AAA sha512-BBB?opt\"></script>\
                <script src=\"https://evil.example/skim.js\"></script>";
    let found = walk(&mut memory(&[("/widget/a.js", "1")]), &page_url(), page).await.unwrap();
    assert_eq!(script_src(&found, &page_url()), "'wasm-unsafe-eval' 'sha384-AAA' 'sha512-BBB'");
}

#[tokio::test]
async fn a_pages_policy_is_worked_out_once_per_page_and_origin() {
    let dir = tempfile::tempdir().unwrap();
    let page = "<script type=\"module\" src=\"/widget/app.js\"></script>";
    for (file, text) in [("app.js", "import './a.js';"), ("a.js", ""), ("b.js", ""), ("c.js", "")] {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let cache = ScriptSrcCache::default();
    let first = cache.get(dir.path(), "https://pay.example", page).await.unwrap();
    assert!(first.contains("pay.example/widget/a.js"), "{first}");
    // Not read again for the same page and origin; read for another origin.
    std::fs::write(dir.path().join("app.js"), "import './b.js';").unwrap();
    assert_eq!(cache.get(dir.path(), "https://pay.example", page).await.unwrap(), first);
    let other = cache.get(dir.path(), "https://other.example", page).await.unwrap();
    assert!(other.contains("other.example/widget/b.js"), "{other}");
    // A page whose module is not there yet is worked out again next time.
    let half = "<script type=\"module\" src=\"/widget/next.js\"></script>";
    cache.get(dir.path(), "https://pay.example", half).await.unwrap();
    std::fs::write(dir.path().join("next.js"), "import './c.js';").unwrap();
    let whole = cache.get(dir.path(), "https://pay.example", half).await.unwrap();
    assert!(whole.contains("pay.example/widget/c.js"), "{whole}");
    // Many origins never grow it past its bound.
    for n in 0..3 * CACHED_PAGES {
        cache.get(dir.path(), &format!("https://h{n}.example"), page).await.unwrap();
        assert!(cache.lock().len() <= CACHED_PAGES);
    }
}

#[tokio::test]
async fn a_manifest_entry_hashes_the_bytes_and_says_how_they_are_loaded() {
    let mut files = memory(&[("/widget/app-1a2b.js", "export default 1;"), ("/widget/app-1a2b_bg.wasm", "\0asm")]);
    let found = walk(&mut files, &page_url(), PAGE).await.unwrap();
    let scripts: Vec<Script> = found.iter().filter_map(|f| script(f, &page_url())).collect();
    assert_eq!(scripts.len(), 3);
    assert_eq!(scripts[0].url, "inline");
    assert_eq!(scripts[1].url, "/widget/app-1a2b.js");
    assert_eq!(scripts[1].integrity, snippet::integrity(b"export default 1;"));
    assert_eq!(scripts[1].bytes, 17);
    assert_eq!(scripts[1].loaded_by, [LoadedBy::Import, LoadedBy::Modulepreload].into());
    assert!(scripts[1].sri);
    assert_eq!(scripts[2].loaded_by, [LoadedBy::PreloadFetch, LoadedBy::WasmStartUp].into());
    assert_eq!(scripts[2].csp, Pin::None);
    assert!(!scripts[2].sri, "Chromium ignores integrity on a fetch preload");
}

fn entry(url: &str, integrity: &str, by: LoadedBy) -> Script {
    Script { url: url.into(), integrity: integrity.into(), bytes: 1, loaded_by: [by].into(), csp: Pin::Url, sri: false }
}

#[test]
fn scripts_added_removed_and_changed_are_each_named() {
    let expected = [
        entry("inline", "sha384-start", LoadedBy::InlineModule),
        entry("/widget/app.js", "sha384-app", LoadedBy::Import),
        entry("/widget/gone.js", "sha384-gone", LoadedBy::Import),
        entry("/widget/down.js", "sha384-down", LoadedBy::Import),
    ];
    let served = [
        entry("inline", "sha384-start", LoadedBy::InlineModule),
        entry("inline", "sha384-skimmer", LoadedBy::InlineScript),
        entry("/widget/app.js", "sha384-tampered", LoadedBy::Import),
        entry("https://evil.example/x.js", "sha384-evil", LoadedBy::ScriptSrc),
    ];
    let drifts = script_drift(&expected, &served, &["/widget/down.js".to_owned()].into());
    assert_eq!(drifts.len(), 4, "{drifts:#?}");
    assert!(drifts[0].contains("inline script that is not in the release (sha384-skimmer"));
    assert!(drifts[1].starts_with("/widget/app.js changed: the release has sha384-app"));
    assert!(drifts[2].starts_with("https://evil.example/x.js is loaded by the page but is not in the release"));
    assert!(drifts[3].starts_with("/widget/gone.js is in the release but the page no longer loads it"));
    assert!(script_drift(&expected, &expected, &BTreeSet::new()).is_empty());
}

const RELEASE_CSP: &str = "default-src 'none'; script-src 'wasm-unsafe-eval' 'sha384-start' \
    pay.example/widget/app.js; style-src 'self'; connect-src 'self'; frame-src 'self' https:; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[test]
fn a_stores_policy_is_no_drift() {
    let store = "default-src 'none'; script-src 'wasm-unsafe-eval' 'sha384-start' \
        pay.example/widget/app.js; style-src 'self'; connect-src 'self' https://api.gateway.example; \
        frame-src 'self' https://api.gateway.example https:; base-uri 'none'; form-action 'none'; \
        frame-ancestors https://shop.example; report-uri /v1/csp-reports/st_1";
    assert_eq!(csp_drift(&release(&[]), &third_party_scripts(), store), Vec::<String>::new());
}

/// A release's build of `RELEASE_CSP` and `scripts`.
fn release(scripts: &[Script]) -> Build {
    Build { card_fields: CardFields::Paylet, csp: RELEASE_CSP.into(), scripts: scripts.to_vec() }
}

#[test]
fn a_gateways_own_sdk_is_an_authorised_script_origin_of_its_build_alone_and_any_other_origin_is_drift() {
    let gateway = Build { card_fields: CardFields::Gateway, ..release(&[]) };
    let with = |scripts: &str| {
        format!(
            "default-src 'none'; script-src 'wasm-unsafe-eval' 'sha384-start' pay.example/widget/app.js{scripts}; \
             style-src 'self'; connect-src 'self' https://api.stripe.com; frame-src 'self' https:; \
             base-uri 'none'; form-action 'none'; frame-ancestors https://shop.example; report-uri /r"
        )
    };
    for sdk in [
        " https://js.stripe.com https://*.js.stripe.com",
        " https://web.squarecdn.com",
        " https://sandbox.web.squarecdn.com",
    ] {
        assert_eq!(csp_drift(&gateway, &third_party_scripts(), &with(sdk)), Vec::<String>::new(), "{sdk}");
        // Paylet's own fields load no SDK: the same policy there is drift.
        let drifts = csp_drift(&release(&[]), &third_party_scripts(), &with(sdk));
        assert!(drifts.iter().all(|d| d.starts_with("the CSP's script-src also allows https://")), "{drifts:#?}");
        assert!(!drifts.is_empty(), "{sdk}");
    }
    // Look-alikes, other schemes and a wider wildcard are not the gateway's.
    for other in [
        "https://js.stripe.com.evil.example",
        "http://js.stripe.com",
        "https://*.stripe.com",
        "https://evil.example",
        "https://web.squarecdn.com:8443",
    ] {
        let drifts = csp_drift(&gateway, &third_party_scripts(), &with(&format!(" {other}")));
        assert_eq!(drifts.len(), 1, "{other}: {drifts:#?}");
        assert!(drifts[0].starts_with(&format!("the CSP's script-src also allows {other}, which")), "{drifts:#?}");
    }
    // Authorised in script-src as the store's page adds it, not in a directive that overrides it.
    let elem = with("").replace("; style-src", "; script-src-elem https://js.stripe.com; style-src");
    let drifts = csp_drift(&gateway, &third_party_scripts(), &elem);
    assert!(drifts.len() == 1 && drifts[0].starts_with("the CSP adds `script-src-elem"), "{drifts:#?}");
    assert!(third_party_scripts().iter().all(|t| !t.reason.is_empty() && t.url.starts_with("https://")));
}

#[test]
fn a_weakened_policy_is_drift_in_plain_words() {
    let scripts = [entry("/widget/app.js", "sha384-app", LoadedBy::Import)];
    let weak = "default-src 'none'; script-src 'wasm-unsafe-eval' 'sha384-start' 'unsafe-inline' 'SELF'; \
        script-src-elem *; style-src 'self'; connect-src 'self' *; frame-src 'self' https:; \
        base-uri 'none'; form-action 'none'; frame-ancestors https:";
    let drifts = csp_drift(&release(&scripts), &third_party_scripts(), weak);
    let expect = [
        "the CSP's script-src also allows 'unsafe-inline', which the release's does not (code injected",
        "the CSP's script-src also allows 'self', which the release's does not (anything on the Paylet origin",
        "the CSP's script-src lacks the release's pay.example/widget/app.js, which pins /widget/app.js",
        "the CSP's connect-src also allows * (any site)",
        "the CSP's frame-ancestors also allows https: (any site)",
        "the CSP adds `script-src-elem *`",
        "the CSP has no report-uri",
    ];
    assert_eq!(drifts.len(), expect.len(), "{drifts:#?}");
    for (drift, expect) in drifts.iter().zip(expect) {
        assert!(drift.starts_with(expect), "{drift}\n  expected to start with\n{expect}");
    }
    let without = csp_drift(&release(&[]), &third_party_scripts(), "default-src 'none'; report-uri /r");
    assert!(without.iter().any(|d| d.starts_with("the CSP has no frame-ancestors")), "{without:#?}");
    assert!(without.iter().any(|d| d.starts_with("the CSP has no script-src")), "{without:#?}");
}

#[test]
fn compressed_copies_decode_to_what_the_browser_sees() {
    use std::io::Write;
    let text = b"export const answer = 42;".repeat(50);
    let mut br = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
        writer.write_all(&text).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text).unwrap();
    let gz = gz.finish().unwrap();
    assert_eq!(decode("br", &br).unwrap(), text);
    assert_eq!(decode("gzip", &gz).unwrap(), text);
    assert_eq!(decode("identity", &text).unwrap(), text);
    assert!(decode("br", b"not brotli").is_err());
    assert!(decode("zstd", &text).unwrap_err().contains("cannot decode"));
}

#[test]
fn a_file_outside_the_widget_is_never_read() {
    let origin = Url::parse("https://pay.example/widget/").unwrap();
    let dir = Path::new("/srv/widget");
    let at = |url: &str| local_path(dir, &origin, &Url::parse(url).unwrap());
    assert_eq!(at("https://pay.example/widget/app.js"), Some(dir.join("app.js")));
    assert_eq!(at("https://pay.example/widget/snippets/s.js"), Some(dir.join("snippets/s.js")));
    assert_eq!(at(&format!("https://pay.example{EMBED_JS_PATH}")), Some(dir.join("embed.js")));
    assert_eq!(at("https://pay.example/widget/%2e%2e/secret"), None);
    assert_eq!(at("https://pay.example/widget/a%2Fb"), None);
    assert_eq!(at("https://pay.example/v1/admin/store"), None);
    assert_eq!(at("https://evil.example/widget/app.js"), None);
}
