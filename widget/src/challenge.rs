//! The 3-D Secure challenge, in a modal inside the widget: the bank's page in
//! a frame. When that frame comes back to the widget's own origin
//! (`/widget/return`, the return URL the server gave the gateway), the
//! challenge is over and what the page returned is read from its URL.

use leptos::html;
use leptos::prelude::*;

use crate::i18n::Texts;

/// What the challenge page returned, as query pairs, if it came back to this
/// origin; `None` while it shows the gateway's (cross-origin) page.
fn returned(frame: &web_sys::HtmlIFrameElement) -> Option<Vec<(String, String)>> {
    let location = frame.content_window()?.location();
    // Reading another origin's location throws: the challenge is still on.
    let path = location.pathname().ok()?;
    if !path.ends_with("/widget/return") {
        return None;
    }
    let query = web_sys::UrlSearchParams::new_with_str(&location.search().ok()?).ok()?;
    let pairs = js_sys::try_iter(&query).ok()??;
    Some(
        pairs
            .filter_map(|entry| {
                let pair = js_sys::Array::from(&entry.ok()?);
                Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
            })
            .collect(),
    )
}

#[component]
pub fn Challenge(
    url: String,
    t: &'static Texts,
    /// Called once: with the returned pairs, or `None` if the shopper canceled.
    done: Callback<Option<Vec<(String, String)>>>,
) -> impl IntoView {
    let frame = NodeRef::<html::Iframe>::new();
    let dialog = NodeRef::<html::Div>::new();
    // Focus moves into the dialog, so keyboard and screen reader users are there.
    Effect::new(move |_| {
        if let Some(dialog) = dialog.get() {
            let _ = dialog.focus();
        }
    });
    let on_load = move |_| {
        if let Some(pairs) = frame.get_untracked().and_then(|f| returned(&f)) {
            done.run(Some(pairs));
        }
    };
    let cancel = NodeRef::<html::Button>::new();
    // Escape closes; Tab goes round the dialog (it, the bank's page, Cancel)
    // instead of leaving for the merchant's page behind it.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            return done.run(None);
        }
        let (Some(dialog), Some(cancel)) = (dialog.get_untracked(), cancel.get_untracked()) else { return };
        let active = web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element());
        let is = |element: &web_sys::Element| active.as_ref() == Some(element);
        if ev.key() == "Tab" && !ev.shift_key() && is(&cancel) {
            ev.prevent_default();
            let _ = dialog.focus();
        } else if ev.key() == "Tab" && ev.shift_key() && is(&dialog) {
            ev.prevent_default();
            let _ = cancel.focus();
        }
    };
    view! {
        <div class="modal-backdrop">
            <div class="modal" role="dialog" aria-modal="true" aria-labelledby="challenge-title"
                aria-describedby="challenge-hint" tabindex="-1" node_ref=dialog on:keydown=on_key>
                <h2 id="challenge-title">{t.challenge_title}</h2>
                <p id="challenge-hint">{t.challenge_hint}</p>
                <iframe node_ref=frame src=url title=t.challenge_title on:load=on_load></iframe>
                <button type="button" class="secondary" node_ref=cancel on:click=move |_| done.run(None)>{t.cancel}</button>
            </div>
        </div>
    }
}
