//! Which scripts a page runs: its elements, read by an HTML tokenizer as a
//! browser reads them, and the modules those import, transitively.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use html5gum::{DefaultEmitter, HtmlString, Spanned, Token, Tokenizer};
use reqwest::Url;

use super::{LoadedBy, PAGE_PATH};
use crate::Error;
use crate::snippet::EMBED_JS_PATH;

/// One script the page runs, as found in the page and the files it names.
#[derive(Debug, Clone)]
pub(super) struct Found {
    /// `None` for an inline script.
    pub(super) url: Option<Url>,
    pub(super) loaded_by: BTreeSet<LoadedBy>,
    /// The `integrity` attributes of the elements that load it.
    pub(super) declared: BTreeSet<String>,
    /// A script element loads it without an `integrity` attribute.
    pub(super) undeclared: bool,
    /// `None` when the file is not there.
    pub(super) bytes: Option<Vec<u8>>,
}

/// Where [`walk`] gets the files a page names.
pub(super) trait Files {
    /// The bytes at `url`, or `None` if there are none.
    async fn read(&mut self, url: &Url) -> Result<Option<Vec<u8>>, Error>;
}

/// The built widget in a directory, as the server at `origin` serves it.
pub(super) struct LocalFiles<'a> {
    pub(super) dir: &'a Path,
    pub(super) origin: &'a Url,
    /// Read script text only (for its imports), not the WASM: what the CSP
    /// needs, on every page load.
    pub(super) scripts_only: bool,
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
pub(super) fn local_path(dir: &Path, origin: &Url, url: &Url) -> Option<PathBuf> {
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

/// More than any real page loads: a server that keeps naming new modules
/// cannot keep the check going for ever.
const MAX_SCRIPTS: usize = 256;

/// Every script `page` (at `page_url`) runs: its elements in document order,
/// then what their modules import, read through `files`.
pub(super) async fn walk(files: &mut impl Files, page_url: &Url, page: &str) -> Result<Vec<Found>, Error> {
    let mut found = Vec::new();
    let mut queue = VecDeque::new();
    let elements = elements(page).map_err(|what| {
        let message = format!(
            "the page holds {what}, which the widget's page never does: inside it a browser reads markup \
             differently from the check's tokenizer, or it puts another document or page in the widget's frame; \
             the page cannot be vouched for"
        );
        Error::invalid("unreadable_page", "url", message)
    })?;
    for element in elements {
        match element {
            Element::Inline { body, module } => {
                let by = if module { LoadedBy::InlineModule } else { LoadedBy::InlineScript };
                if module {
                    let imports = module_imports(&body).into_iter().map(|s| (s, LoadedBy::Import));
                    let wasm =
                        string_literals(&body).filter(|s| s.ends_with(".wasm")).map(|s| (s, LoadedBy::WasmStartUp));
                    for (spec, by) in imports.chain(wasm) {
                        queue.extend(resolve(page_url, spec).map(|url| (url, by, None)));
                    }
                }
                let bytes = Some(body.into_bytes());
                found.push(Found {
                    url: None,
                    loaded_by: [by].into(),
                    declared: BTreeSet::new(),
                    undeclared: false,
                    bytes,
                });
            }
            // A page's `src` and `href` are URLs, relative to the page as a
            // browser resolves them (unlike an import's bare specifier).
            Element::External { href, by, integrity } => {
                // Not skipped: a browser's parser might read it where this one does not.
                let Ok(mut url) = page_url.join(&href) else {
                    let message = format!("the page names a script at `{href}`, which the check cannot read as a URL");
                    return Err(Error::invalid("unreadable_page", "url", message));
                };
                url.set_fragment(None);
                queue.push_back((url, by, integrity));
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

/// A module specifier as the URL a browser imports, if it names one: a path
/// (`/`, `./`, `../`) against `base`, or an absolute URL. A bare specifier
/// (`leptos`) names nothing without an import map.
pub(super) fn resolve(base: &Url, spec: &str) -> Option<Url> {
    let spec = spec.trim();
    let path = spec.starts_with('/') || spec.starts_with("./") || spec.starts_with("../");
    let mut url = if path { base.join(spec).ok()? } else { Url::parse(spec).ok()? };
    url.set_fragment(None);
    Some(url)
}

/// A page element that runs or loads a script.
#[derive(Debug, PartialEq)]
pub(super) enum Element {
    Inline { body: String, module: bool },
    External { href: String, by: LoadedBy, integrity: Option<String> },
}

/// The page's `<script>` elements and script-loading `<link>`s, in document
/// order, as a browser's tokenizer reads them: comments as it ends them,
/// character references in attributes decoded, a script's body as script
/// data, and the bodies of `<textarea>`, `<noscript>` and the like as text.
/// Data blocks (`<script type="application/json">`) run nothing and are left out.
///
/// Without a tree builder the tokenizer switches states by tag name alone, as
/// a browser does in HTML but not inside SVG or MathML, in `<select>` (in
/// some browsers) or in a `<template>`'s column group, nor for `<noframes>`
/// and `<noframe>`, which html5gum's switch mixes up. A frame, object or
/// embed shows another document in the widget's frame, and a `<meta
/// http-equiv=refresh>` sends the frame to another page, where a fake card
/// form needs no script of this page's. The widget's page has none of these,
/// and a page that does is refused (`Err` names what), not guessed at.
pub(super) fn elements(page: &str) -> Result<Vec<Element>, String> {
    let mut emitter = DefaultEmitter::default();
    emitter.naively_switch_states(true);
    let mut out = Vec::new();
    // The open `<script>`'s attributes and its body so far.
    let mut open: Option<(Attributes, String)> = None;
    for Ok(token) in Tokenizer::new_with_emitter(page, emitter) {
        match token {
            Token::StartTag(tag) if UNREADABLE.iter().any(|name| tag.name == name.as_bytes()) => {
                return Err(format!("<{}>", String::from_utf8_lossy(&tag.name)));
            }
            Token::StartTag(tag) if DOCUMENTS.iter().any(|name| tag.name == name.as_bytes()) => {
                return Err(format!("<{}>", String::from_utf8_lossy(&tag.name)));
            }
            Token::StartTag(tag)
                if tag.name == b"meta"
                    && attribute(&tag.attributes, "http-equiv")
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("refresh")) =>
            {
                return Err("a <meta http-equiv=refresh>".to_owned());
            }
            Token::StartTag(tag) if tag.name == b"script" => open = Some((tag.attributes, String::new())),
            Token::String(text) => {
                if let Some((_, body)) = &mut open {
                    body.push_str(&String::from_utf8_lossy(&text));
                }
            }
            Token::EndTag(tag) if tag.name == b"script" => out.extend(open.take().and_then(script_element)),
            Token::StartTag(tag) if tag.name == b"link" => out.extend(link_element(&tag.attributes)),
            _ => {}
        }
    }
    // A script left open at the end of the page runs nothing in a browser;
    // listed all the same, since an inventory errs towards listing.
    out.extend(open.and_then(script_element));
    Ok(out)
}

/// Elements inside or after which a browser's tokenizer states differ from
/// the switch by tag name (see [`elements`]).
const UNREADABLE: [&str; 6] = ["svg", "math", "select", "template", "noframes", "noframe"];

/// Elements that show another document in the page (see [`elements`]).
const DOCUMENTS: [&str; 7] = ["iframe", "frame", "frameset", "object", "embed", "portal", "fencedframe"];

/// What a `<script>`'s `type` (or `language`) makes it: classic JavaScript,
/// a module, an import map, or a data block that runs nothing, as the HTML
/// standard says ("prepare the script element").
fn script_kind(attributes: &Attributes) -> Option<ScriptType> {
    let kind = match (attribute(attributes, "type"), attribute(attributes, "language")) {
        (Some(kind), _) => kind,
        (None, Some(language)) if !language.is_empty() => format!("text/{language}"),
        (None, _) => String::new(),
    };
    // The standard strips ASCII whitespace; Chromium strips Unicode spaces
    // too. Stripping every Unicode space lists what either browser runs.
    let kind = kind.trim().to_ascii_lowercase();
    match kind.as_str() {
        "" => Some(ScriptType::Classic),
        "module" => Some(ScriptType::Module),
        "importmap" => Some(ScriptType::Classic),
        _ if JAVASCRIPT_TYPES.contains(&kind.as_str()) => Some(ScriptType::Classic),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum ScriptType {
    Classic,
    Module,
}

/// The standard's JavaScript MIME type essences: a script of any of these
/// types runs as classic JavaScript.
const JAVASCRIPT_TYPES: [&str; 16] = [
    "application/ecmascript",
    "application/javascript",
    "application/x-ecmascript",
    "application/x-javascript",
    "text/ecmascript",
    "text/javascript",
    "text/javascript1.0",
    "text/javascript1.1",
    "text/javascript1.2",
    "text/javascript1.3",
    "text/javascript1.4",
    "text/javascript1.5",
    "text/jscript",
    "text/livescript",
    "text/x-ecmascript",
    "text/x-javascript",
];

type Attributes = BTreeMap<HtmlString, Spanned<HtmlString, ()>>;

/// An attribute's value as text; names are lowercase already.
fn attribute(attributes: &Attributes, name: &str) -> Option<String> {
    attributes.get(name.as_bytes()).map(|value| String::from_utf8_lossy(value).into_owned())
}

fn script_element((attributes, body): (Attributes, String)) -> Option<Element> {
    let module = script_kind(&attributes)? == ScriptType::Module;
    Some(match attribute(&attributes, "src") {
        Some(href) => {
            Element::External { href, by: LoadedBy::ScriptSrc, integrity: attribute(&attributes, "integrity") }
        }
        None => Element::Inline { body, module },
    })
}

fn link_element(attributes: &Attributes) -> Option<Element> {
    let rel = attribute(attributes, "rel").unwrap_or_default().to_ascii_lowercase();
    let rel: Vec<&str> = rel.split_ascii_whitespace().collect();
    let by = match attribute(attributes, "as").map(|a| a.to_ascii_lowercase()).as_deref() {
        _ if rel.contains(&"modulepreload") => LoadedBy::Modulepreload,
        Some("script") if rel.contains(&"preload") => LoadedBy::PreloadScript,
        Some("fetch") if rel.contains(&"preload") => LoadedBy::PreloadFetch,
        _ => return None,
    };
    let href = attribute(attributes, "href")?;
    Some(Element::External { href, by, integrity: attribute(attributes, "integrity") })
}

/// The specifiers a module names in `import … from "x"`, `export … from "x"`,
/// `import "x"` and `import("x")`. A scan, not a JavaScript parser: enough for
/// the modules Trunk and wasm-bindgen write; [`resolve`] keeps only those that
/// name a file.
pub(super) fn module_imports(js: &str) -> Vec<&str> {
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
pub(super) fn string_literals(js: &str) -> impl Iterator<Item = &str> {
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
