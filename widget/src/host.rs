//! The page that frames the widget: what it asked for (URL parameters) and the
//! messages the widget sends it through `postMessage`.

use paylet_api::{LineItemInput, StoreId};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// What `embed.js` put in the iframe's URL.
#[derive(Clone)]
pub struct Params {
    pub store: StoreId,
    pub cart: Cart,
    /// The framing page's origin, as `embed.js` reports it. Messages go there only
    /// once the store's configuration confirms the origin is allowed.
    pub parent_origin: Option<String>,
}

pub fn read_params() -> Result<Params, String> {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let query = web_sys::UrlSearchParams::new_with_str(&search).map_err(|_| "Bad widget URL.".to_owned())?;
    let store = query
        .get("store")
        .and_then(|s| StoreId::parse(&s).ok())
        .ok_or_else(|| "This checkout is missing its store id.".to_owned())?;
    let cart = match query.get("session").filter(|s| !s.is_empty()) {
        Some(session) => Cart::Session(session),
        None => Cart::Items(parse_items(&query.get("items").unwrap_or_default())?),
    };
    Ok(Params { store, cart, parent_origin: query.get("parent") })
}

/// What the checkout sells: catalog items, or a checkout session the
/// merchant's backend created and priced.
#[derive(Clone)]
pub enum Cart {
    Items(Vec<LineItemInput>),
    Session(String),
}

/// `SKU:QTY,SKU:QTY` (quantity defaults to 1).
pub fn parse_items(spec: &str) -> Result<Vec<LineItemInput>, String> {
    let items: Result<Vec<_>, String> = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (sku, qty) = entry.split_once(':').unwrap_or((entry, "1"));
            let quantity = qty.trim().parse().map_err(|_| format!("Bad quantity in `{entry}`."))?;
            Ok(LineItemInput { sku: sku.trim().to_owned(), quantity })
        })
        .collect();
    let items = items?;
    if items.is_empty() {
        return Err("This checkout has no items.".to_owned());
    }
    Ok(items)
}

/// Events for the framing page; `embed.js` turns them into DOM events.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostEvent<'a> {
    Ready,
    Resize { height: i32 },
    Paid { order_id: &'a str },
    Failed { order_id: Option<&'a str>, code: &'a str },
}

/// The channel to the framing page, open only to an allowed origin.
#[derive(Clone)]
pub struct Host {
    origin: Option<String>,
}

impl Host {
    pub fn new(parent_origin: Option<String>, allowed: &[String]) -> Host {
        Host { origin: parent_origin.filter(|o| allowed.iter().any(|a| a == o)) }
    }

    pub fn send(&self, event: &HostEvent<'_>) {
        let (Some(origin), Some(window)) = (&self.origin, web_sys::window()) else {
            return;
        };
        let Ok(Some(parent)) = window.parent() else { return };
        if let Ok(json) = serde_json::to_string(event) {
            let message = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&message, &"paylet".into(), &json.into());
            let _ = parent.post_message(&message, origin);
        }
    }

    /// Reports the document's height whenever it changes, so the iframe fits.
    pub fn follow_height(&self) {
        let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else {
            return;
        };
        let host = self.clone();
        let observed = body.clone();
        let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |_entries: js_sys::Array| {
            // The body's own box, not the document's: that never gets smaller
            // than the iframe, so the frame could grow but never shrink.
            #[allow(clippy::cast_possible_truncation)] // a page height fits in i32
            let height = observed.get_bounding_client_rect().height().ceil() as i32;
            host.send(&HostEvent::Resize { height });
        });
        if let Ok(observer) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) {
            observer.observe(&body);
        }
        // The observer lives as long as the page.
        callback.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_item_lists() {
        let items = parse_items("TEE:2, MUG").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].quantity, 2);
        assert_eq!(items[1].sku, "MUG");
        assert_eq!(items[1].quantity, 1);
        assert!(parse_items("").is_err());
        assert!(parse_items("TEE:x").is_err());
    }
}
