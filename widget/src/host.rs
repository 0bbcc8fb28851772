//! The page that frames the widget: what it asked for (URL parameters) and the
//! messages exchanged with it through `postMessage`, in both directions only
//! with an origin the store allows.

use paylet_api::{LineItemInput, OrderId, StoreId};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::json::{self, Writer};

/// What `embed.js` put in the iframe's URL.
#[derive(Clone)]
pub struct Params {
    pub store: StoreId,
    pub cart: Cart,
    /// The framing page's origin, as `embed.js` reports it. Messages go there only
    /// once the store's configuration confirms the origin is allowed.
    pub parent_origin: Option<String>,
    /// The snippet's language choice, before the browser's.
    pub locale: Option<String>,
    /// `theme.NAME=VALUE` pairs: CSS variables the merchant sets.
    pub theme: Vec<(String, String)>,
    /// Where the gateway's hosted page sends the shopper back: the merchant's page.
    pub return_url: Option<String>,
    /// Set when the shopper is back from the gateway's hosted page.
    pub returned: Option<Returned>,
}

#[derive(Clone)]
pub struct Returned {
    pub order: OrderId,
    /// The gateway says the shopper paid (`success`) or came back (`cancel`).
    pub paid: bool,
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
    let theme = js_sys::try_iter(&query)
        .ok()
        .flatten()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let pair = js_sys::Array::from(&entry.ok()?);
            let (name, value) = (pair.get(0).as_string()?, pair.get(1).as_string()?);
            Some((name.strip_prefix("theme.")?.to_owned(), value))
        })
        .collect();
    // The merchant's page names the order it came back with; the server
    // hands it back only to the widget that sent it (`api::resume`).
    let returned = query
        .get("order")
        .and_then(|o| OrderId::parse(&o).ok())
        .map(|order| Returned { order, paid: query.get("returned").as_deref() == Some("success") });
    Ok(Params {
        store,
        cart,
        parent_origin: query.get("parent"),
        locale: query.get("locale"),
        theme,
        return_url: query.get("return_url"),
        returned,
    })
}

/// Loads the page again under a URL no cache holds, so the server picks the
/// build afresh; `false` when this page already is that second load.
pub fn reload_uncached() -> bool {
    let Some(location) = web_sys::window().map(|w| w.location()) else { return false };
    let search = location.search().unwrap_or_default();
    !search.ends_with("&fresh") && location.replace(&[search.as_str(), "&fresh"].concat()).is_ok()
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
            let quantity = qty.trim().parse().map_err(|_| ["Bad quantity in `", entry, "`."].concat())?;
            Ok(LineItemInput { sku: sku.trim().to_owned(), quantity })
        })
        .collect();
    let items = items?;
    if items.is_empty() {
        return Err("This checkout has no items.".to_owned());
    }
    Ok(items)
}

/// The CSS variables a merchant may set, and the values they may take: plain
/// colours, lengths and font names, never `url(…)` or anything that could load
/// or inject more than a value.
pub fn theme_variable(name: &str, value: &str) -> Option<(String, String)> {
    const NAMES: [&str; 10] =
        ["accent", "on-accent", "text", "muted", "background", "border", "error", "font", "radius", "spacing"];
    // Not `str::contains`: its searcher is 0.7 KB of the widget.
    let allowed = |c: char| c.is_ascii_alphanumeric() || b" #.,%-()'\"".iter().any(|&b| char::from(b) == c);
    let value = value.trim();
    let safe = !value.is_empty()
        && value.len() <= 100
        && value.chars().all(allowed)
        && !value.as_bytes().windows(3).any(|w| w.eq_ignore_ascii_case(b"url"));
    (NAMES.contains(&name) && safe).then(|| (["--paylet-", name].concat(), value.to_owned()))
}

/// Events for the framing page; `embed.js` turns them into DOM events.
pub enum HostEvent<'a> {
    Ready,
    Resize {
        height: i32,
    },
    Paid {
        order_id: &'a str,
    },
    Failed {
        order_id: Option<&'a str>,
        code: &'a str,
    },
    /// Send the whole page to the gateway's hosted checkout. The order comes
    /// back in the return URL; its secret stays with the Paylet origin.
    Redirect {
        url: &'a str,
    },
}

impl HostEvent<'_> {
    /// `{"type": "ready"}`, `{"type": "paid", "order_id": …}` …
    fn to_json(&self) -> String {
        let mut json = Writer::new();
        match self {
            HostEvent::Ready => json.str("type", "ready"),
            HostEvent::Resize { height } => {
                let digits = json::decimal(u64::from(height.unsigned_abs()));
                json.str("type", "resize").raw("height", &if *height < 0 { ["-", &digits].concat() } else { digits })
            }
            HostEvent::Paid { order_id } => json.str("type", "paid").str("order_id", order_id),
            HostEvent::Failed { order_id, code } => {
                json.str("type", "failed").opt_str("order_id", *order_id).str("code", code)
            }
            HostEvent::Redirect { url } => json.str("type", "redirect").str("url", url),
        };
        json.end()
    }
}

/// What the framing page may ask of the widget.
pub enum HostCommand {
    /// `Paylet.mount(…).update({items})`: the cart changed.
    Update { items: String },
}

impl HostCommand {
    /// `{"type": "update", "items": "SKU:QTY,…"}`.
    fn parse(text: &str) -> Option<HostCommand> {
        let value = json::parse(text)?;
        match json::string(&value, "type")?.as_str() {
            "update" => Some(HostCommand::Update { items: json::string(&value, "items")? }),
            _ => None,
        }
    }
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

    /// Whether the widget is framed by an allowed page it can talk to.
    pub fn is_open(&self) -> bool {
        self.origin.is_some()
    }

    pub fn send(&self, event: &HostEvent<'_>) {
        let (Some(origin), Some(window)) = (&self.origin, web_sys::window()) else {
            return;
        };
        let Ok(Some(parent)) = window.parent() else { return };
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"paylet".into(), &event.to_json().into());
        let _ = parent.post_message(&message, origin);
    }

    /// Calls `on_command` for each command from the framing page; messages from
    /// any other window or origin are ignored.
    pub fn listen(&self, on_command: impl Fn(HostCommand) + 'static) {
        let (Some(origin), Some(window)) = (self.origin.clone(), web_sys::window()) else {
            return;
        };
        let parent = window.parent().ok().flatten();
        let callback = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let from_parent = match (event.source(), &parent) {
                (Some(source), Some(parent)) => js_sys::Object::is(&source, parent),
                _ => false,
            };
            if event.origin() != origin || !from_parent {
                return;
            }
            let text = js_sys::Reflect::get(&event.data(), &"paylet".into()).ok().and_then(|v| v.as_string());
            if let Some(command) = text.and_then(|t| HostCommand::parse(&t)) {
                on_command(command);
            }
        });
        let _ = window.add_event_listener_with_callback("message", callback.as_ref().unchecked_ref());
        // The listener lives as long as the page.
        callback.forget();
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

    #[test]
    fn theme_takes_plain_values_of_known_variables_only() {
        assert_eq!(theme_variable("accent", "#0a84ff"), Some(("--paylet-accent".into(), "#0a84ff".into())));
        assert!(theme_variable("radius", "4px").is_some());
        assert!(theme_variable("background", "rgb(10, 20, 30)").is_some());
        assert!(theme_variable("font", "\"Inter\", sans-serif").is_some());
        assert_eq!(theme_variable("accent", "url(https://evil.example/x.png)"), None);
        assert_eq!(theme_variable("accent", "red; background: red"), None);
        assert_eq!(theme_variable("accent", "red}body{display:none"), None);
        assert_eq!(theme_variable("display", "none"), None);
        assert_eq!(theme_variable("accent", ""), None);
    }

    #[test]
    fn events_are_the_json_embed_js_reads() {
        assert_eq!(HostEvent::Ready.to_json(), r#"{"type":"ready"}"#);
        assert_eq!(HostEvent::Resize { height: 640 }.to_json(), r#"{"type":"resize","height":640}"#);
        assert_eq!(HostEvent::Paid { order_id: "ord_1" }.to_json(), r#"{"type":"paid","order_id":"ord_1"}"#);
        assert_eq!(
            HostEvent::Failed { order_id: None, code: "card_declined" }.to_json(),
            r#"{"type":"failed","order_id":null,"code":"card_declined"}"#
        );
        assert_eq!(
            HostEvent::Redirect { url: "https://g.example/p?a=1&b=\"" }.to_json(),
            r#"{"type":"redirect","url":"https://g.example/p?a=1&b=\""}"#
        );
    }
}
