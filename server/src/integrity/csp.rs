//! The widget page's `Content-Security-Policy`: `script-src` worked out from
//! the scripts the page runs, and the rest from the store.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use reqwest::Url;

use super::scan::{Found, LocalFiles, walk};
use super::{LoadedBy, Pin, page_url};
use crate::Error;
use crate::snippet;
use crate::stores::Store;

/// What in `script-src` lets `found` run.
pub(super) fn pin(found: &Found) -> Pin {
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
pub(super) fn script_src(found: &[Found], origin: &Url) -> String {
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
pub(super) async fn page_script_src(widget_dir: &Path, origin: &str, page: &str) -> Result<(String, bool), Error> {
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

pub(super) const CACHED_PAGES: usize = 32;

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

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), String>> {
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
