//! `paylet integrity check`: a live page, its scripts and its policy, compared
//! with a release's manifest.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::Read;
use std::time::Duration;

use paylet_api::CardFields;
use reqwest::Url;
use reqwest::header::{self, HeaderMap};
use serde::Serialize;

use super::scan::{Files, Found, walk};
use super::{Build, LoadedBy, Manifest, Script, ThirdPartyScript, display_url, script};
use crate::Error;
use crate::snippet;

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
        remote.drifts.extend(page_headers_drift(remote.headers.get(page_url), &page));
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

/// The check reads the page as UTF-8 HTML, as Paylet serves it. Served as
/// another type or charset, with two types, or with a UTF-16 byte-order
/// mark, the same bytes can be other markup to a browser (XHTML,
/// ISO-2022-JP). A `Refresh` header sends the widget's frame elsewhere.
pub(super) fn page_headers_drift(headers: Option<&HeaderMap>, page: &[u8]) -> Option<String> {
    let types: Vec<&str> = headers
        .map(|h| h.get_all(header::CONTENT_TYPE).iter().map(|v| v.to_str().unwrap_or("?")).collect())
        .unwrap_or_default();
    // Browsers read the last of several, or join them: one, or the check reads another page.
    if types.len() > 1 {
        return Some(format!(
            "the widget page is served with {} Content-Type headers: {}",
            types.len(),
            types.join(", ")
        ));
    }
    if headers.is_some_and(|h| h.contains_key(header::REFRESH)) {
        return Some("the widget page is served with a Refresh header: it sends the widget's frame elsewhere".into());
    }
    let served = types.first().copied().unwrap_or_default();
    let plain: String = served.to_ascii_lowercase().split_ascii_whitespace().collect();
    if plain != "text/html;charset=utf-8" {
        return Some(format!(
            "the widget page is served as `{served}`, not `text/html; charset=utf-8`: a browser may read other \
             markup from it than the check does"
        ));
    }
    if page.starts_with(&[0xFE, 0xFF]) || page.starts_with(&[0xFF, 0xFE]) {
        return Some(
            "the widget page starts with a UTF-16 byte-order mark: a browser reads other markup from it".into(),
        );
    }
    None
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

pub(super) fn client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("paylet-integrity-check/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| fetch_error("", &e))
}

/// A failed request, with its causes (the reqwest error alone says little).
pub(super) fn fetch_error(url: &str, error: &dyn std::error::Error) -> Error {
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
        if !matches!(url.scheme(), "https" | "http") {
            self.drifts.push(format!("{name}: a `{}:` URL, which the check cannot fetch", url.scheme()));
            return Ok(None);
        }
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
pub(super) fn decode(encoding: &str, body: &[u8]) -> Result<Vec<u8>, String> {
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
pub(super) fn script_drift(expected: &[Script], served: &[Script], unavailable: &BTreeSet<String>) -> Vec<String> {
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
pub(super) fn csp_drift(release: &Build, third_party: &[ThirdPartyScript], live: &str) -> Vec<String> {
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
