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

//! - [`scan`]: which scripts a page runs, read as a browser reads it;
//! - [`csp`]: the `Content-Security-Policy` that pins them;
//! - [`check`]: a live page compared with a release's manifest;
//! - here: the manifest itself.

mod check;
mod csp;
mod scan;

pub use check::{Report, check, load_manifest};
pub use csp::{ScriptSrcCache, widget_csp};

use std::collections::BTreeSet;
use std::path::Path;

use paylet_api::CardFields;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::snippet::{self, EMBED_JS_PATH};
use csp::{pin, script_src};
use scan::{Files, Found, LocalFiles, walk};

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

/// The page's base URL on the server at `public_url`.
fn page_url(public_url: &str) -> Result<Url, Error> {
    let base = Url::parse(public_url).map_err(|e| Error::Config(format!("public URL `{public_url}`: {e}")))?;
    base.join(PAGE_PATH).map_err(|e| Error::Config(format!("public URL `{public_url}`: {e}")))
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

#[cfg(test)]
mod tests;
