//! Payment-page integrity (PCI DSS 6.4.3 and 11.6.1): the inventory of every
//! script the widget page runs, the `Content-Security-Policy` that pins them,
//! and the check of a live page against a release's inventory.
//!
//! The inventory is read from the built page the way a browser reads it: its
//! inline scripts, the scripts, module preloads and preloads it names, the
//! modules those import (transitively) and the WASM its start-up module
//! fetches. The server publishes it at [`MANIFEST_PATH`]; `paylet integrity
//! manifest` writes it from a release build, and `paylet integrity check`
//! compares a live page with it.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{self, HeaderMap};
use serde::{Deserialize, Serialize};

use paylet_api::CardFields;

use crate::Error;
use crate::snippet::{self, EMBED_JS_PATH};
use crate::stores::Store;

/// Where the server publishes the manifest of the widget it serves.
pub const MANIFEST_PATH: &str = "/widget/integrity.json";
/// The widget page's path (also served as `/widget/index.html`).
pub const PAGE_PATH: &str = "/widget/";
/// What [`widget_csp`] adds for a store, left out of the manifest's `csp`.
pub const CSP_PER_STORE: &str = "For a store (`/widget/?store=st_…`), connect-src and frame-src also allow the \
     store's gateway origin, frame-ancestors lists the store's allowed origins instead of 'none', and \
     report-uri /v1/csp-reports/st_… is added. A store with the gateway's card fields also allows its \
     gateway's browser SDK (see `third_party_scripts`) in script-src, frame-src and connect-src.";

/// The inventory of one release's payment page, which is one build per kind
/// of card fields: a store gets the build for its kind at the same path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The `paylet` version that built this manifest.
    pub release: String,
    /// The origin the widget is served from; the CSP's URL pins name it.
    pub public_url: String,
    pub page: String,
    pub csp_per_store: String,
    pub builds: Vec<Build>,
    /// Scripts the page may load from a gateway, authorised by origin: the
    /// gateways' SDKs change without notice, so no hash can pin them.
    #[serde(default)]
    pub third_party_scripts: Vec<ThirdPartyScript>,
}

/// The page as a store with one kind of card fields gets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Build {
    pub card_fields: CardFields,
    /// The page's `Content-Security-Policy` without a store (see `csp_per_store`).
    pub csp: String,
    /// Every script the page runs, and `embed.js`.
    pub scripts: Vec<Script>,
}

/// The built page for `card_fields`, in the widget directory: Paylet's fields
/// at its root, the gateway's in `gateway/` (`cargo xtask widget` builds both).
pub fn page_file(card_fields: CardFields) -> &'static str {
    match card_fields {
        CardFields::Paylet => "index.html",
        CardFields::Gateway => "gateway/index.html",
    }
}

/// The kinds of card fields, one build each.
pub const BUILDS: [CardFields; 2] = [CardFields::Paylet, CardFields::Gateway];

/// A gateway's browser SDK, which a store with the gateway's card fields loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThirdPartyScript {
    pub name: String,
    pub url: String,
    /// What `script-src` may name for it.
    pub script_src: Vec<String>,
    /// What `frame-src` may name for its card and challenge frames.
    pub frame_src: Vec<String>,
    /// What `connect-src` may name for its calls.
    pub connect_src: Vec<String>,
    /// Why it is authorised (PCI DSS 6.4.3 asks for each script's reason).
    pub reason: String,
}

/// The gateways' own SDKs, as the manifest authorises them.
fn third_party_scripts() -> Vec<ThirdPartyScript> {
    paylet_gateway::official_browser_sdks()
        .into_iter()
        .map(|sdk| ThirdPartyScript {
            name: sdk.name,
            url: sdk.script_url,
            script_src: sdk.script_origins,
            frame_src: sdk.frame_origins,
            connect_src: sdk.connect_origins,
            reason: "The gateway's own card fields: the card is typed into the gateway's frames, which the \
                     merchant already trusts with it. Loaded only for a store with card_fields = gateway."
                .to_owned(),
        })
        .collect()
}

/// One script (or WASM module) the page runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Script {
    /// Its path on the Paylet origin (a full URL if elsewhere), or `inline`.
    pub url: String,
    /// `sha384-<base64>` of its bytes, as Subresource Integrity writes it.
    pub integrity: String,
    pub bytes: u64,
    pub loaded_by: BTreeSet<LoadedBy>,
    /// What in the page's `script-src` lets it run.
    pub csp: Pin,
    /// Whether the browser checks its bytes against an `integrity` hash as it
    /// loads it: a script or module preload that carries one, or `embed.js`
    /// through the snippet. (Chromium ignores `integrity` on a `fetch` preload,
    /// so not the WASM.)
    pub sri: bool,
}

/// How a script comes to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadedBy {
    /// An inline classic `<script>` (or import map).
    InlineScript,
    /// An inline `<script type="module">`, such as Trunk's start-up module.
    InlineModule,
    /// `<script src>`.
    ScriptSrc,
    /// `<link rel="modulepreload">`.
    Modulepreload,
    /// `<link rel="preload" as="script">`.
    PreloadScript,
    /// `<link rel="preload" as="fetch">`, as Trunk preloads the WASM.
    PreloadFetch,
    /// A module's `import` of it.
    Import,
    /// A string in the start-up module naming a `.wasm` file it fetches and compiles.
    WasmStartUp,
    /// The merchant's page, through the embed snippet (`embed.js`).
    MerchantSnippet,
}

impl LoadedBy {
    /// Whether this is script text whose imports matter (not WASM or data).
    fn is_js(self) -> bool {
        matches!(self, LoadedBy::ScriptSrc | LoadedBy::Modulepreload | LoadedBy::PreloadScript | LoadedBy::Import)
    }

    /// Whether an element loads it that `script-src` governs and that can
    /// carry an `integrity` attribute.
    fn is_script_element(self) -> bool {
        matches!(self, LoadedBy::ScriptSrc | LoadedBy::Modulepreload | LoadedBy::PreloadScript)
    }
}

/// What lets a script run under the page's `script-src`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pin {
    /// A `'sha384-…'` source: only these exact bytes run.
    Hash,
    /// Its exact URL: a module import carries no integrity metadata a hash
    /// could match, so the browser can pin only where it comes from.
    Url,
    /// Not a script-src matter: WASM is fetched (`connect-src 'self'`) and
    /// compiled under `'wasm-unsafe-eval'`; `embed.js` runs on the merchant's
    /// page, pinned there by the snippet's `integrity`.
    None,
}

/// One script the page runs, as found in the page and the files it names.
#[derive(Debug, Clone)]
struct Found {
    /// `None` for an inline script.
    url: Option<Url>,
    loaded_by: BTreeSet<LoadedBy>,
    /// The `integrity` attributes of the elements that load it.
    declared: BTreeSet<String>,
    /// A script element loads it without an `integrity` attribute.
    undeclared: bool,
    /// `None` when the file is not there.
    bytes: Option<Vec<u8>>,
}

/// Where [`walk`] gets the files a page names.
trait Files {
    /// The bytes at `url`, or `None` if there are none.
    async fn read(&mut self, url: &Url) -> Result<Option<Vec<u8>>, Error>;
}

/// The built widget in a directory, as the server at `origin` serves it.
struct LocalFiles<'a> {
    dir: &'a Path,
    origin: &'a Url,
    /// Read script text only (for its imports), not the WASM: what the CSP
    /// needs, on every page load.
    scripts_only: bool,
}

impl Files for LocalFiles<'_> {
    async fn read(&mut self, url: &Url) -> Result<Option<Vec<u8>>, Error> {
        if self.scripts_only && url.path().ends_with(".wasm") {
            return Ok(None);
        }
        let Some(path) = local_path(self.dir, self.origin, url) else { return Ok(None) };
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Io(std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))),
        }
    }
}

/// The file in the widget directory the server answers `url` with, as its routes do.
fn local_path(dir: &Path, origin: &Url, url: &Url) -> Option<PathBuf> {
    if url.origin() != origin.origin() {
        return None;
    }
    let path = url.path();
    if path == EMBED_JS_PATH || path == "/embed.js" {
        return Some(dir.join("embed.js"));
    }
    let file = path.strip_prefix(PAGE_PATH)?;
    let plain = |s: &str| !s.is_empty() && s != "." && s != ".." && !s.contains('%');
    file.split('/').all(plain).then(|| dir.join(file))
}

/// The page's base URL on the server at `public_url`.
fn page_url(public_url: &str) -> Result<Url, Error> {
    let base = Url::parse(public_url).map_err(|e| Error::Config(format!("public URL `{public_url}`: {e}")))?;
    base.join(PAGE_PATH).map_err(|e| Error::Config(format!("public URL `{public_url}`: {e}")))
}

/// More than any real page loads: a server that keeps naming new modules
/// cannot keep the check going for ever.
const MAX_SCRIPTS: usize = 256;

/// Every script `page` (at `page_url`) runs: its elements in document order,
/// then what their modules import, read through `files`.
async fn walk(files: &mut impl Files, page_url: &Url, page: &str) -> Result<Vec<Found>, Error> {
    let mut found = Vec::new();
    let mut queue = VecDeque::new();
    for element in elements(page) {
        match element {
            Element::Inline { body, module } => {
                let by = if module { LoadedBy::InlineModule } else { LoadedBy::InlineScript };
                if module {
                    let imports = module_imports(body).into_iter().map(|s| (s, LoadedBy::Import));
                    let wasm =
                        string_literals(body).filter(|s| s.ends_with(".wasm")).map(|s| (s, LoadedBy::WasmStartUp));
                    for (spec, by) in imports.chain(wasm) {
                        queue.extend(resolve(page_url, spec).map(|url| (url, by, None)));
                    }
                }
                let bytes = Some(body.as_bytes().to_vec());
                found.push(Found {
                    url: None,
                    loaded_by: [by].into(),
                    declared: BTreeSet::new(),
                    undeclared: false,
                    bytes,
                });
            }
            Element::External { href, by, integrity } => {
                queue.extend(resolve(page_url, href).map(|url| (url, by, integrity.map(str::to_owned))));
            }
        }
    }
    while let Some((url, by, integrity)) = queue.pop_front() {
        let undeclared = by.is_script_element() && integrity.is_none();
        if let Some(known) = found.iter_mut().find(|f| f.url.as_ref() == Some(&url)) {
            known.loaded_by.insert(by);
            known.declared.extend(integrity);
            known.undeclared |= undeclared;
            continue;
        }
        if found.len() >= MAX_SCRIPTS {
            return Err(Error::invalid(
                "too_many_scripts",
                "url",
                format!("the page loads more than {MAX_SCRIPTS} scripts"),
            ));
        }
        let bytes = files.read(&url).await?;
        if by.is_js()
            && let Some(js) = &bytes
        {
            for spec in module_imports(&String::from_utf8_lossy(js)) {
                queue.extend(resolve(&url, spec).map(|import| (import, LoadedBy::Import, None)));
            }
        }
        let declared = integrity.into_iter().collect();
        found.push(Found { url: Some(url), loaded_by: [by].into(), declared, undeclared, bytes });
    }
    Ok(found)
}

/// A module specifier or `href` as a URL, if it names a file (a path or an
/// absolute URL; bare specifiers name nothing a browser can fetch).
fn resolve(base: &Url, spec: &str) -> Option<Url> {
    let spec = spec.trim();
    let path = spec.starts_with('/') || spec.starts_with("./") || spec.starts_with("../");
    if !path && !spec.starts_with("https://") && !spec.starts_with("http://") {
        return None;
    }
    let mut url = base.join(spec).ok()?;
    url.set_fragment(None);
    Some(url)
}

/// A page element that runs or loads a script.
#[derive(Debug, PartialEq)]
enum Element<'a> {
    Inline { body: &'a str, module: bool },
    External { href: &'a str, by: LoadedBy, integrity: Option<&'a str> },
}

/// The page's `<script>` elements and script-loading `<link>`s, in document
/// order. A scan, not an HTML parser: comments are skipped and a script's body
/// runs to `</script`, as browsers read them; data blocks
/// (`<script type="application/json">`) run nothing and are left out.
fn elements(page: &str) -> Vec<Element<'_>> {
    // ASCII lowercasing keeps every byte offset, so `lower` indexes `page`.
    let lower = page.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(open) = lower[at..].find('<') {
        let start = at + open + 1;
        if lower[start..].starts_with("!--") {
            at = lower[start..].find("-->").map_or(page.len(), |end| start + end + 3);
            continue;
        }
        let name_end = lower[start..].find(|c: char| !c.is_ascii_alphanumeric()).map_or(page.len(), |n| start + n);
        let name = &lower[start..name_end];
        if name != "script" && name != "link" {
            at = name_end;
            continue;
        }
        let (attrs, after) = attributes(page, name_end);
        at = after;
        let attr = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        let integrity = attr("integrity");
        if name == "link" {
            let rel = attr("rel").unwrap_or("").to_ascii_lowercase();
            let rel: Vec<&str> = rel.split_ascii_whitespace().collect();
            let by = match attr("as").map(str::to_ascii_lowercase).as_deref() {
                _ if rel.contains(&"modulepreload") => LoadedBy::Modulepreload,
                Some("script") if rel.contains(&"preload") => LoadedBy::PreloadScript,
                Some("fetch") if rel.contains(&"preload") => LoadedBy::PreloadFetch,
                _ => continue,
            };
            out.extend(attr("href").map(|href| Element::External { href, by, integrity }));
            continue;
        }
        let end = lower[at..].find("</script").map_or(page.len(), |n| at + n);
        let body = &page[at..end];
        at = end;
        let kind = attr("type").unwrap_or("").trim().to_ascii_lowercase();
        let module = kind == "module";
        let runs = module || kind.is_empty() || kind == "importmap" || kind.contains("javascript");
        match attr("src") {
            _ if !runs => {}
            Some(href) => out.push(Element::External { href, by: LoadedBy::ScriptSrc, integrity }),
            None => out.push(Element::Inline { body, module }),
        }
    }
    out
}

/// The attributes of a tag whose name ends at `from`, names lowercased, values
/// quoted or not; and where the tag ends.
fn attributes(page: &str, from: usize) -> (Vec<(String, &str)>, usize) {
    let bytes = page.as_bytes();
    let skip = |mut at: usize, also_slash: bool| {
        while bytes.get(at).is_some_and(|&b| b.is_ascii_whitespace() || (also_slash && b == b'/')) {
            at += 1;
        }
        at
    };
    let until = |at: usize, stop: &dyn Fn(char) -> bool| page[at..].find(stop).map_or(page.len(), |n| at + n);
    let mut attrs = Vec::new();
    let mut at = from;
    loop {
        at = skip(at, true);
        match bytes.get(at) {
            None => return (attrs, at),
            Some(b'>') => return (attrs, at + 1),
            Some(_) => {}
        }
        let name_end = until(at, &|c| c.is_ascii_whitespace() || c == '=' || c == '>' || c == '/');
        let name = page[at..name_end].to_ascii_lowercase();
        at = skip(name_end, false);
        let mut value = "";
        if bytes.get(at) == Some(&b'=') {
            at = skip(at + 1, false);
            match bytes.get(at) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let close = until(at + 1, &|c| c == char::from(quote));
                    value = &page[at + 1..close];
                    at = (close + 1).min(page.len());
                }
                _ => {
                    let end = until(at, &|c| c.is_ascii_whitespace() || c == '>');
                    value = &page[at..end];
                    at = end;
                }
            }
        }
        attrs.push((name, value));
    }
}

/// The specifiers a module names in `import … from "x"`, `export … from "x"`,
/// `import "x"` and `import("x")`. A scan, not a JavaScript parser: enough for
/// the modules Trunk and wasm-bindgen write; [`resolve`] keeps only those that
/// name a file.
fn module_imports(js: &str) -> Vec<&str> {
    let mut specs = Vec::new();
    for keyword in ["import", "from"] {
        for (at, _) in js.match_indices(keyword) {
            let before = js[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.') {
                continue;
            }
            let mut rest = js[at + keyword.len()..].trim_start();
            if keyword == "import" {
                rest = rest.strip_prefix('(').map_or(rest, str::trim_start);
            }
            if rest.starts_with(['"', '\'']) {
                specs.extend(string_literals(rest).next());
            }
        }
    }
    specs
}

/// The `'…'` and `"…"` strings in a short script (escapes not understood).
fn string_literals(js: &str) -> impl Iterator<Item = &str> {
    let mut rest = js;
    std::iter::from_fn(move || {
        let open = rest.find(['"', '\''])?;
        let quote = rest[open..].chars().next()?;
        let inner = &rest[open + 1..];
        let close = inner.find(quote)?;
        rest = &inner[close + 1..];
        Some(&inner[..close])
    })
}

/// What in `script-src` lets `found` run.
fn pin(found: &Found) -> Pin {
    let Some(url) = &found.url else { return Pin::Hash };
    if !found.loaded_by.iter().any(|by| by.is_script_element() || *by == LoadedBy::Import) {
        return Pin::None;
    }
    // CSP3 matches a hash source against an external script only through the
    // `integrity` its element carries; an import has none.
    let by_hash = !found.undeclared && !found.declared.is_empty() && !found.loaded_by.contains(&LoadedBy::Import);
    match url_source(url) {
        _ if by_hash => Pin::Hash,
        Some(_) => Pin::Url,
        None => Pin::None,
    }
}

/// `url` as a CSP source matching that one file, if it can be written as one.
/// Without a scheme, it takes the page's (and its upgrade to HTTPS).
fn url_source(url: &Url) -> Option<String> {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let source = format!("{}{port}{}", url.host_str()?, url.path());
    let plain = !source.contains([';', ',', '\'', '*']) && !source.chars().any(|c| c.is_whitespace() || c.is_control());
    plain.then_some(source)
}

/// The `script-src` sources that let exactly the scripts in `found` run, on
/// the server at `origin`: inline scripts by their SHA-384, external ones by
/// the SHA-384 their element declares, imported modules by their exact URL,
/// and WASM compiled under `'wasm-unsafe-eval'`. Nothing from another origin.
fn script_src(found: &[Found], origin: &Url) -> String {
    let mut sources = vec!["'wasm-unsafe-eval'".to_owned()];
    for f in found {
        let new: Vec<String> = match (pin(f), &f.url, &f.bytes) {
            (Pin::Hash, None, Some(body)) => vec![format!("'{}'", snippet::integrity(body))],
            (Pin::Hash, Some(_), _) => f
                .declared
                .iter()
                .flat_map(|d| d.split_ascii_whitespace())
                .map(|hash| hash.split('?').next().unwrap_or(hash))
                .filter(|hash| {
                    hash.starts_with("sha256-") || hash.starts_with("sha384-") || hash.starts_with("sha512-")
                })
                .map(|hash| format!("'{hash}'"))
                .collect(),
            (Pin::Url, Some(url), _) if url.origin() == origin.origin() => url_source(url).into_iter().collect(),
            _ => Vec::new(),
        };
        for source in new {
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
    }
    sources.join(" ")
}

/// The widget page's `script-src` when the browser loads it from `origin`:
/// the sources that let exactly the scripts of `page` (the built `index.html`
/// in `widget_dir`) run. A URL pin must name the host the browser loads the
/// page from (`'self'` takes no path), which can be another name than the
/// public URL's.
/// Also whether every script the page names was there to read for its imports.
async fn page_script_src(widget_dir: &Path, origin: &str, page: &str) -> Result<(String, bool), Error> {
    let page_url = page_url(origin)?;
    let mut files = LocalFiles { dir: widget_dir, origin: &page_url, scripts_only: true };
    let found = walk(&mut files, &page_url, page).await?;
    let complete = found.iter().all(|f| f.bytes.is_some() || !f.loaded_by.iter().any(|by| by.is_js()));
    Ok((script_src(&found, &page_url), complete))
}

/// [`page_script_src`] of each page served, by the page's text and the origin
/// it was loaded from, so a page load does not walk its scripts on disk again.
/// The text names each script by content hash or pins it by SRI, so the same
/// text means the same scripts, across a release replaced in place too; a
/// page whose scripts are not all there yet (a release half copied) is not
/// kept. Bounded: at [`CACHED_PAGES`] (a client sending many `Host` names, or
/// many releases) it starts again empty.
#[derive(Debug, Clone, Default)]
pub struct ScriptSrcCache(Arc<Mutex<HashMap<(String, String), String>>>);

const CACHED_PAGES: usize = 32;

impl ScriptSrcCache {
    pub async fn get(&self, widget_dir: &Path, origin: &str, page: &str) -> Result<String, Error> {
        let key = (page.to_owned(), origin.to_owned());
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        let (script_src, complete) = page_script_src(widget_dir, origin, page).await?;
        if complete {
            let mut cache = self.lock();
            if cache.len() >= CACHED_PAGES {
                cache.clear();
            }
            cache.insert(key, script_src.clone());
        }
        Ok(script_src)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), String>> {
        // Only whole entries are ever inserted: a panic elsewhere leaves it sound.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The widget page's Content-Security-Policy: only the scripts in
/// `script_src`, its own styles; calls to itself and the store's gateway; the
/// gateway's 3-D Secure challenge in a frame and the return from it (no other
/// page: a frame is a way to show the shopper a fake form); framed only by
/// the store's origins; violations reported. A store with the gateway's card
/// fields adds the origins of the gateway's SDK, each to the directive that
/// needs it and no other.
pub fn widget_csp(script_src: &str, store: Option<&Store>) -> String {
    let api = store.and_then(|s| s.gateway.api_origin());
    let sdk = store.and_then(|s| s.gateway.browser_sdk());
    let (connect, frame, script) = match &sdk {
        Some(sdk) => (sdk.connect_origins.clone(), sdk.frame_origins.clone(), sdk.script_origins.clone()),
        None => Default::default(),
    };
    let gateway = sources(api.iter().cloned().chain(connect));
    let challenges = sources(api.iter().flat_map(|o| challenge_origins(o)).chain(frame));
    let sdk_scripts = sources(script);
    let ancestors = match store {
        Some(store) if !store.allowed_origins.is_empty() => store.allowed_origins.join(" "),
        _ => "'none'".to_owned(),
    };
    // Anything refused is reported, so the merchant sees tampering attempts.
    let report = store.map(|s| format!("; report-uri /v1/csp-reports/{}", s.id)).unwrap_or_default();
    format!(
        "default-src 'none'; script-src {script_src}{sdk_scripts}; style-src 'self'; \
         connect-src 'self'{gateway}; frame-src 'self'{challenges}; base-uri 'none'; form-action 'none'; \
         frame-ancestors {ancestors}{report}"
    )
}

/// Each origin once, each after a space.
fn sources(origins: impl IntoIterator<Item = String>) -> String {
    let mut unique: Vec<String> = Vec::new();
    for origin in origins {
        if !unique.contains(&origin) {
            unique.push(origin);
        }
    }
    unique.iter().map(|o| format!(" {o}")).collect()
}

/// Where a gateway whose API is at `api` (an origin) shows its 3-D Secure
/// challenge: Stripe's live API at `hooks.stripe.com` (its `redirect_to_url`,
/// which frames the bank itself); any other, the sandbox among them, at its
/// API's own origin.
fn challenge_origins(api: &str) -> Vec<String> {
    match api {
        paylet_gateway::stripe::API => vec!["https://hooks.stripe.com".to_owned()],
        other => vec![other.to_owned()],
    }
}

/// `url` as the manifest names it: its path on the page's origin, else in full.
fn display_url(url: &Url, page_url: &Url) -> String {
    if url.origin() != page_url.origin() {
        return url.to_string();
    }
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The manifest entry for `found`, if its bytes are there.
fn script(found: &Found, page_url: &Url) -> Option<Script> {
    let bytes = found.bytes.as_deref()?;
    Some(Script {
        url: found.url.as_ref().map_or_else(|| "inline".to_owned(), |url| display_url(url, page_url)),
        integrity: snippet::integrity(bytes),
        bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
        loaded_by: found.loaded_by.clone(),
        csp: pin(found),
        sri: found.loaded_by.contains(&LoadedBy::MerchantSnippet)
            || (!found.declared.is_empty() && found.loaded_by.iter().any(|by| by.is_script_element())),
    })
}

/// The manifest of the widget built in `widget_dir`, as the server at
/// `public_url` serves it: for each build, every script its page runs, and
/// `embed.js`.
pub async fn manifest(widget_dir: &Path, public_url: &str) -> Result<Manifest, Error> {
    let page_url = page_url(public_url)?;
    let mut builds = Vec::new();
    for card_fields in BUILDS {
        builds.push(build(widget_dir, &page_url, card_fields).await?);
    }
    Ok(Manifest {
        release: env!("CARGO_PKG_VERSION").to_owned(),
        public_url: page_url.origin().ascii_serialization(),
        page: PAGE_PATH.to_owned(),
        csp_per_store: CSP_PER_STORE.to_owned(),
        builds,
        third_party_scripts: third_party_scripts(),
    })
}

async fn build(widget_dir: &Path, page_url: &Url, card_fields: CardFields) -> Result<Build, Error> {
    let page = match tokio::fs::read_to_string(widget_dir.join(page_file(card_fields))).await {
        Ok(page) => page,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotFound("widget build")),
        Err(e) => return Err(e.into()),
    };
    let mut files = LocalFiles { dir: widget_dir, origin: page_url, scripts_only: false };
    let mut found = walk(&mut files, page_url, &page).await?;
    let embed_js = page_url.join(EMBED_JS_PATH).map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(bytes) = files.read(&embed_js).await? {
        let loaded_by = [LoadedBy::MerchantSnippet].into();
        found.push(Found {
            url: Some(embed_js),
            loaded_by,
            declared: BTreeSet::new(),
            undeclared: false,
            bytes: Some(bytes),
        });
    }
    let scripts = found
        .iter()
        .map(|f| {
            script(f, page_url).ok_or_else(|| {
                let url = f.url.as_ref().map(|u| display_url(u, page_url)).unwrap_or_default();
                let message = format!("the widget page loads {url}, which is not in {}", widget_dir.display());
                Error::Io(std::io::Error::new(std::io::ErrorKind::NotFound, message))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Build { card_fields, csp: widget_csp(&script_src(&found, page_url), None), scripts })
}

/// The expected manifest from a file or an `http(s)://` URL.
pub async fn load_manifest(source: &str) -> Result<Manifest, Error> {
    let text = if source.starts_with("https://") || source.starts_with("http://") {
        let response = client()?.get(source).send().await.map_err(|e| fetch_error(source, &e))?;
        if !response.status().is_success() {
            let message = format!("{source} answered {}", response.status());
            return Err(Error::invalid("invalid_manifest", "manifest", message));
        }
        response.text().await.map_err(|e| fetch_error(source, &e))?
    } else {
        tokio::fs::read_to_string(source)
            .await
            .map_err(|e| Error::Io(std::io::Error::new(e.kind(), format!("{source}: {e}"))))?
    };
    serde_json::from_str(&text).map_err(|e| {
        Error::invalid("invalid_manifest", "manifest", format!("{source} is not a Paylet integrity manifest: {e}"))
    })
}

/// What `paylet integrity check` found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub page: String,
    /// The release the page was compared with.
    pub expected_release: String,
    /// The release's build the page was compared with: the one for this kind of card fields.
    pub card_fields: CardFields,
    pub clean: bool,
    /// The scripts the live page runs, as served.
    pub scripts: Vec<Script>,
    /// Each difference from the release, in plain words.
    pub drifts: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Checked {} against release {}, the build with {} card fields.",
            self.page,
            self.expected_release,
            self.card_fields.as_str()
        )?;
        writeln!(f, "Scripts served ({}):", self.scripts.len())?;
        for s in &self.scripts {
            writeln!(f, "  {}  {}  {} bytes", s.url, s.integrity, s.bytes)?;
        }
        if self.clean {
            return writeln!(f, "No drift: every script, its hash and the page's headers are as the release has them.");
        }
        writeln!(f, "DRIFT: {} difference(s) from the release:", self.drifts.len())?;
        for drift in &self.drifts {
            writeln!(f, "  - {drift}")?;
        }
        Ok(())
    }
}

/// Fetches the live widget page at `page_url`, every script it runs and
/// `embed.js`, as browsers get them, and compares them and the page's headers
/// with `expected`.
pub async fn check(page_url: &Url, expected: &Manifest) -> Result<Report, Error> {
    let mut remote =
        Remote { http: client()?, page_url: page_url.clone(), drifts: Vec::new(), headers: HashMap::new() };
    let mut found = Vec::new();
    if let Some(page) = remote.read(page_url).await? {
        found = walk(&mut remote, page_url, &String::from_utf8_lossy(&page)).await?;
        // Every build lists the same `embed.js`.
        let embeds = expected.builds.iter().flat_map(|b| &b.scripts).filter(|s| is_embed(s)).map(|s| &s.url);
        for embed in embeds.collect::<BTreeSet<_>>() {
            let url =
                page_url.join(embed).map_err(|e| Error::invalid("invalid_manifest", "manifest", e.to_string()))?;
            let bytes = remote.read(&url).await?;
            let loaded_by = [LoadedBy::MerchantSnippet].into();
            found.push(Found { url: Some(url), loaded_by, declared: BTreeSet::new(), undeclared: false, bytes });
        }
    }
    let scripts: Vec<Script> = found.iter().filter_map(|f| script(f, page_url)).collect();
    let unavailable: BTreeSet<String> = found
        .iter()
        .filter(|f| f.bytes.is_none())
        .filter_map(|f| f.url.as_ref())
        .map(|u| display_url(u, page_url))
        .collect();
    let policy = remote.headers.get(page_url).map(|headers| {
        headers.get_all(header::CONTENT_SECURITY_POLICY).iter().find_map(|v| v.to_str().ok()).map(str::to_owned)
    });
    // The page is the build of the store's kind of card fields: compared with
    // the release's build it differs least from.
    let compared = expected.builds.iter().map(|build| {
        let mut drifts = script_drift(&build.scripts, &scripts, &unavailable);
        if let Some(Some(policy)) = &policy {
            drifts.extend(csp_drift(build, &expected.third_party_scripts, policy));
        }
        (build.card_fields, drifts)
    });
    let Some((card_fields, mut drifts)) = compared.min_by_key(|(_, drifts)| drifts.len()) else {
        return Err(Error::invalid("invalid_manifest", "manifest", "the manifest lists no build"));
    };
    drifts.append(&mut remote.drifts);
    match policy {
        Some(Some(policy)) => drifts.extend(other_spellings(&remote.http, page_url, &policy).await),
        Some(None) => drifts.push(
            "the widget page is served without a Content-Security-Policy header: nothing stops a script slipped into it"
                .to_owned(),
        ),
        None => {}
    }
    Ok(Report {
        page: page_url.to_string(),
        expected_release: expected.release.clone(),
        card_fields,
        clean: drifts.is_empty(),
        scripts,
        drifts,
    })
}

fn is_embed(script: &Script) -> bool {
    script.loaded_by.contains(&LoadedBy::MerchantSnippet)
}

/// Other spellings of the page's path that a server may map to the same file
/// (doubled or encoded slashes, a trailing slash or dot, another case). A
/// client keeps these as written; dot segments it would resolve itself.
const SPELLINGS: [&str; 9] = [
    "/widget//index.html",
    "/widget/%2Findex.html",
    "/widget/.%2Findex.html",
    "/widget/x%2F..%2Findex.html",
    "/widget/index.html/",
    "/widget/index.html.",
    "/widget/INDEX.HTML",
    "/widget/index.html;.js",
    "/widget/%5Cindex.html",
];

/// Each spelling of the page's path that is answered with a page that lacks
/// its policy (`policy`, as the page itself was served) and can be framed: a
/// way around `frame-ancestors` and the script pins.
async fn other_spellings(http: &reqwest::Client, page_url: &Url, policy: &str) -> Vec<String> {
    let mut escapes = Vec::new();
    for spelling in SPELLINGS {
        let Ok(mut url) = page_url.join(spelling) else { continue };
        url.set_query(page_url.query());
        let Ok(answer) = http.get(url.clone()).send().await else { continue };
        if !answer.status().is_success() {
            continue;
        }
        let served = answer.headers().get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok());
        let inert = served.is_some_and(|p| directive_of(p, "frame-ancestors") == Some("'none'"));
        if served != Some(policy) && !inert {
            escapes.push(format!(
                "{} answers {} without the page's policy (CSP: {}): any site can frame it",
                url.path(),
                answer.status().as_u16(),
                served.unwrap_or("none")
            ));
        }
    }
    escapes
}

/// The value of directive `name` in a policy.
fn directive_of<'a>(policy: &'a str, name: &str) -> Option<&'a str> {
    policy.split(';').map(str::trim).find_map(|d| d.strip_prefix(name).filter(|v| v.starts_with(' ')).map(str::trim))
}

fn client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("paylet-integrity-check/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| fetch_error("", &e))
}

/// A failed request, with its causes (the reqwest error alone says little).
fn fetch_error(url: &str, error: &dyn std::error::Error) -> Error {
    let mut message = format!("fetching {url}: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    Error::Io(std::io::Error::other(message))
}

/// The live server, as browsers get its files. Each file is fetched as a
/// browser that takes brotli gets it (what the inventory is made of), and
/// again gzip-compressed and uncompressed: the server keeps a copy of each,
/// and a changed copy reaches only the browsers that take that encoding.
struct Remote {
    http: reqwest::Client,
    page_url: Url,
    drifts: Vec<String>,
    /// The headers each file was first served with.
    headers: HashMap<Url, HeaderMap>,
}

/// Larger than any widget file: a decompression bomb stops here.
const MAX_DECODED: u64 = 64 << 20;

impl Files for Remote {
    async fn read(&mut self, url: &Url) -> Result<Option<Vec<u8>>, Error> {
        let name = if url == &self.page_url { "the widget page".to_owned() } else { display_url(url, &self.page_url) };
        let mut primary: Option<(String, Vec<u8>)> = None;
        let mut seen = BTreeSet::new();
        for accept in ["br, gzip", "gzip", "identity"] {
            let response = self
                .http
                .get(url.clone())
                .header(header::ACCEPT_ENCODING, accept)
                .send()
                .await
                .map_err(|e| fetch_error(url.as_str(), &e))?;
            let status = response.status();
            if !status.is_success() {
                self.drifts.push(format!("{name}: the server answered {status} (asked for {accept})"));
                if primary.is_none() {
                    return Ok(None);
                }
                continue;
            }
            let headers = response.headers().clone();
            let encoding = headers
                .get(header::CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("identity")
                .trim()
                .to_ascii_lowercase();
            let body = response.bytes().await.map_err(|e| fetch_error(url.as_str(), &e))?;
            if !seen.insert(encoding.clone()) {
                continue;
            }
            let decoded = match decode(&encoding, &body) {
                Ok(decoded) => decoded,
                Err(problem) => {
                    self.drifts.push(format!("{name}: {problem}"));
                    continue;
                }
            };
            match &primary {
                None => {
                    let nosniff = headers
                        .get(header::X_CONTENT_TYPE_OPTIONS)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("nosniff"));
                    if !nosniff {
                        self.drifts.push(format!("{name} is served without `X-Content-Type-Options: nosniff`"));
                    }
                    self.headers.insert(url.clone(), headers);
                    primary = Some((encoding, decoded));
                }
                Some((first, bytes)) if *bytes != decoded => self.drifts.push(format!(
                    "{name}: the copy sent as {encoding} ({}, {} bytes) differs from the one sent as {first} ({}, {} bytes)",
                    snippet::integrity(&decoded),
                    decoded.len(),
                    snippet::integrity(bytes),
                    bytes.len(),
                )),
                Some(_) => {}
            }
        }
        Ok(primary.map(|(_, bytes)| bytes))
    }
}

/// A response body as the browser decodes it.
fn decode(encoding: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let read = match encoding {
        "identity" => return Ok(body.to_vec()),
        "br" => brotli::Decompressor::new(body, 4096).take(MAX_DECODED).read_to_end(&mut out),
        "gzip" | "x-gzip" => flate2::read::GzDecoder::new(body).take(MAX_DECODED).read_to_end(&mut out),
        other => return Err(format!("sent as `{other}`, which the check cannot decode")),
    };
    read.map_err(|e| format!("its {encoding} copy does not decode: {e}"))?;
    if u64::try_from(out.len()).unwrap_or(u64::MAX) >= MAX_DECODED {
        return Err(format!("its {encoding} copy decodes to more than {} MB", MAX_DECODED >> 20));
    }
    Ok(out)
}

/// The scripts added, removed or changed between the release's inventory and
/// the one served; `unavailable` are files the page loads that were not served
/// (already reported).
fn script_drift(expected: &[Script], served: &[Script], unavailable: &BTreeSet<String>) -> Vec<String> {
    let mut drifts = Vec::new();
    let is_inline =
        |s: &&Script| s.loaded_by.iter().any(|by| matches!(by, LoadedBy::InlineScript | LoadedBy::InlineModule));
    for s in served.iter().filter(is_inline) {
        if !expected.iter().filter(is_inline).any(|e| e.integrity == s.integrity) {
            drifts.push(format!(
                "the page runs an inline script that is not in the release ({}, {} bytes)",
                s.integrity, s.bytes
            ));
        }
    }
    for e in expected.iter().filter(is_inline) {
        if !served.iter().filter(is_inline).any(|s| s.integrity == e.integrity) {
            drifts.push(format!("the release's inline script {} is not in the page", e.integrity));
        }
    }
    let files = |list: &[Script]| -> Vec<Script> { list.iter().filter(|s| !is_inline(s)).cloned().collect() };
    let (expected, served) = (files(expected), files(served));
    for s in &served {
        match expected.iter().find(|e| e.url == s.url) {
            None => drifts.push(format!(
                "{} is loaded by the page but is not in the release ({}, {} bytes)",
                s.url, s.integrity, s.bytes
            )),
            Some(e) if e.integrity != s.integrity => drifts.push(format!(
                "{} changed: the release has {} ({} bytes), the server sent {} ({} bytes)",
                s.url, e.integrity, e.bytes, s.integrity, s.bytes
            )),
            Some(_) => {}
        }
    }
    for e in &expected {
        if !served.iter().any(|s| s.url == e.url) && !unavailable.contains(&e.url) {
            drifts.push(format!("{} is in the release but the page no longer loads it", e.url));
        }
    }
    drifts
}

/// Directives a store changes: compared for what they must never allow, not
/// source by source.
const PER_STORE: [&str; 4] = ["connect-src", "frame-src", "frame-ancestors", "report-uri"];

/// How the live policy is weaker than (or otherwise differs from) the
/// release's, which names no store. A script origin is no drift only if the
/// release authorises it as a gateway's SDK.
fn csp_drift(release: &Build, third_party: &[ThirdPartyScript], live: &str) -> Vec<String> {
    let (expected, live) = (directives(&release.csp), directives(live));
    let scripts = &release.scripts;
    // Only the build with the gateway's card fields loads a gateway's SDK.
    let third_party = if release.card_fields == CardFields::Gateway { third_party } else { &[] };
    let authorised = |name: &str, source: &String| {
        third_party.iter().any(|t| match name {
            "script-src" => t.script_src.contains(source),
            "frame-src" => t.frame_src.contains(source),
            "connect-src" => t.connect_src.contains(source),
            _ => false,
        })
    };
    let mut drifts = Vec::new();
    for (name, want) in &expected {
        let Some((_, have)) = live.iter().find(|(n, _)| n == name) else {
            drifts.push(format!("the CSP has no {name} (the release's is `{name} {}`)", want.join(" ")));
            continue;
        };
        let extra = have.iter().filter(|s| !want.contains(s));
        if PER_STORE.contains(&name.as_str()) {
            // A store adds its gateway's origin, or the origins that may frame it.
            for source in extra.filter(|s| !is_origin(s) && !authorised(name, s)) {
                drifts.push(format!("the CSP's {name} also allows {source}{}", hint(source)));
            }
            if name != "frame-ancestors" {
                for source in want.iter().filter(|s| !have.contains(s)) {
                    drifts.push(format!("the CSP's {name} lacks the release's {source}"));
                }
            }
            continue;
        }
        for source in extra.filter(|s| !authorised(name, s)) {
            drifts.push(format!("the CSP's {name} also allows {source}, which the release's does not{}", hint(source)));
        }
        for source in want.iter().filter(|s| !have.contains(s)) {
            let pinned = scripts
                .iter()
                .find(|s| {
                    source.trim_matches('\'') == s.integrity || (s.url.starts_with('/') && source.ends_with(&s.url))
                })
                .map(|s| format!(", which pins {}", s.url))
                .unwrap_or_default();
            drifts.push(format!("the CSP's {name} lacks the release's {source}{pinned}"));
        }
    }
    for (name, have) in &live {
        // `script-src-elem` and the like take precedence over what the release set.
        if name.contains("-src") && !expected.iter().any(|(n, _)| n == name) {
            drifts.push(format!("the CSP adds `{name} {}`, which the release's does not have", have.join(" ")));
        }
    }
    if !live.iter().any(|(n, _)| n == "report-uri" || n == "report-to") {
        drifts.push(
            "the CSP has no report-uri: what browsers refuse on the page is not reported to the merchant".to_owned(),
        );
    }
    drifts
}

/// A policy's directives in order, names lowercased; a repeated directive is
/// ignored, as browsers do. Keywords are lowercased too; hashes and URLs kept.
fn directives(policy: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for directive in policy.split(';') {
        let mut tokens = directive.split_ascii_whitespace();
        let Some(name) = tokens.next().map(str::to_ascii_lowercase) else { continue };
        if out.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let sources = tokens
            .map(|t| {
                let keyword = t.starts_with('\'') && !t.starts_with("'sha") && !t.starts_with("'nonce-");
                if keyword || t.ends_with(':') { t.to_ascii_lowercase() } else { t.to_owned() }
            })
            .collect();
        out.push((name, sources));
    }
    out
}

/// Whether a source is one origin (a store's gateway or its shop), not a
/// wildcard, a scheme or a keyword.
fn is_origin(source: &str) -> bool {
    source.contains("://") && !source.contains('*')
}

/// Why a source matters, in plain words.
fn hint(source: &str) -> &'static str {
    match source {
        "'unsafe-inline'" => " (code injected into the page would run)",
        "'unsafe-eval'" => " (strings would run as code)",
        "'self'" => " (anything on the Paylet origin)",
        "*" | "https:" | "http:" | "data:" | "blob:" => " (any site)",
        _ if source.contains('*') => " (a wildcard)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        Memory(
            files.iter().map(|(url, body)| (format!("https://pay.example{url}"), body.as_bytes().to_vec())).collect(),
        )
    }

    fn page_url() -> Url {
        Url::parse("https://pay.example/widget/?store=st_1").unwrap()
    }

    #[test]
    fn the_page_elements_that_run_or_load_scripts_are_found_in_order() {
        assert_eq!(
            elements(PAGE),
            vec![
                Element::Inline { body: START_UP, module: true },
                Element::External {
                    href: "/widget/app-1a2b.js",
                    by: LoadedBy::Modulepreload,
                    integrity: Some("sha384-app")
                },
                Element::External {
                    href: "/widget/app-1a2b_bg.wasm",
                    by: LoadedBy::PreloadFetch,
                    integrity: Some("sha384-wasm")
                },
            ]
        );
        let classic =
            "<SCRIPT src='/a.js' defer></SCRIPT><script>alert(1)</script ><link rel=preload as=script href=/b.js>";
        assert_eq!(
            elements(classic),
            vec![
                Element::External { href: "/a.js", by: LoadedBy::ScriptSrc, integrity: None },
                Element::Inline { body: "alert(1)", module: false },
                Element::External { href: "/b.js", by: LoadedBy::PreloadScript, integrity: None },
            ]
        );
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
        Script {
            url: url.into(),
            integrity: integrity.into(),
            bytes: 1,
            loaded_by: [by].into(),
            csp: Pin::Url,
            sri: false,
        }
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
}
