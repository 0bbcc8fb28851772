//! The two lines a merchant pastes into a page.

use base64::Engine;
use paylet_api::StoreId;
use sha2::{Digest, Sha384};

/// Where this release's `embed.js` is served for good (immutable, cached a
/// year): the path changes with the `paylet` version, so the bytes behind it,
/// and the snippet's integrity hash for them, stay the same for a release.
/// `/embed.js` serves the same file, revalidated on every use.
pub const EMBED_JS_PATH: &str = concat!("/embed/v", env!("CARGO_PKG_VERSION"), "/embed.js");

/// The Subresource Integrity value of `embed.js`, so a browser refuses a
/// tampered copy.
pub fn integrity(embed_js: &[u8]) -> String {
    let digest = Sha384::digest(embed_js);
    format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// What a checkout sells.
pub enum Cart<'a> {
    /// Catalog items, `SKU:QTY,…`.
    Items(&'a str),
    /// A checkout session id from `POST /v1/admin/checkout-sessions`.
    Session(&'a str),
}

/// The embed snippet for `store` selling `cart`. Without the `embed.js` it
/// loads (a server without a built widget) there is no integrity attribute to give.
pub fn html(paylet_base: &str, store: &StoreId, cart: &Cart<'_>, embed_js: Option<&[u8]>) -> String {
    let sri = embed_js.map(|js| format!(" integrity=\"{}\"", integrity(js))).unwrap_or_default();
    let cart = match cart {
        Cart::Items(items) => format!("data-items=\"{}\"", escape_attr(items)),
        Cart::Session(id) => format!("data-session=\"{}\"", escape_attr(id)),
    };
    format!(
        "<script src=\"{base}{EMBED_JS_PATH}\"{sri} crossorigin=\"anonymous\" async></script>\n\
         <div data-paylet-store=\"{store}\" {cart}></div>",
        base = paylet_base.trim_end_matches('/'),
    )
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_is_sha384_base64() {
        // `printf '' | openssl dgst -sha384 -binary | base64`
        assert_eq!(integrity(b""), "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb");
    }

    #[test]
    fn snippet_has_the_script_and_the_container() {
        let store = StoreId::parse("st_demo").unwrap();
        let html = html("http://127.0.0.1:8080/", &store, &Cart::Items("TEE:1"), Some(b"x"));
        let src = format!(r#"src="http://127.0.0.1:8080/embed/v{}/embed.js""#, env!("CARGO_PKG_VERSION"));
        assert!(html.contains(&src), "{html}");
        assert!(html.contains(r#"crossorigin="anonymous" async"#));
        assert!(html.contains(r#"<div data-paylet-store="st_demo" data-items="TEE:1"></div>"#));
        let session = super::html("http://p", &store, &Cart::Session("cs_1\"><x"), None);
        assert!(session.contains(r#"<div data-paylet-store="st_demo" data-session="cs_1&quot;&gt;&lt;x"></div>"#));
    }
}
