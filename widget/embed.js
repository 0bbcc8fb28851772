/*! Paylet embed.js: frames the Paylet checkout on a merchant's page. */
(function () {
  "use strict";
  if (window.Paylet) return;

  var script = document.currentScript;
  // The Paylet origin is wherever this script was served from.
  var PAYLET = script ? new URL(script.src).origin : "";
  var THEME = ["scheme", "accent", "on-accent", "text", "muted", "background", "border", "error", "font", "radius", "spacing"];

  // Back from the gateway's hosted page: the return URL names the order. The
  // first checkout mounted picks it up (the widget resumes it only if it sent
  // it there itself); the address bar is tidied.
  var here = new URL(window.location.href);
  var returned = here.searchParams.get("paylet_order") &&
    { order: here.searchParams.get("paylet_order"), outcome: here.searchParams.get("paylet_return") || "" };
  if (returned) {
    here.searchParams.delete("paylet_order");
    here.searchParams.delete("paylet_return");
    try { history.replaceState(history.state, "", here.href); } catch (_) { /* a sandboxed page */ }
  }

  function itemsText(items) {
    if (!items || typeof items === "string") return items || "";
    return items.map(function (i) { return i.sku + ":" + (i.quantity || 1); }).join(",");
  }

  function widgetUrl(opts) {
    var q = new URLSearchParams();
    q.set("store", opts.store);
    if (opts.session) q.set("session", opts.session); else q.set("items", itemsText(opts.items));
    q.set("parent", window.location.origin);
    q.set("return_url", opts.returnUrl || here.href);
    if (opts.locale) q.set("locale", opts.locale);
    var theme = typeof opts.theme === "string" ? { scheme: opts.theme } : opts.theme || {};
    THEME.forEach(function (name) { if (theme[name]) q.set("theme." + name, theme[name]); });
    if (returned) {
      q.set("order", returned.order);
      q.set("returned", returned.outcome);
    }
    returned = null;
    return PAYLET + "/widget/?" + q.toString();
  }

  function emit(el, name, detail) {
    el.dispatchEvent(new CustomEvent("paylet:" + name, { bubbles: true, detail: detail || {} }));
  }

  function mount(el, opts) {
    if (el.paylet) el.paylet.destroy();
    var iframe = document.createElement("iframe");
    iframe.src = widgetUrl(opts);
    iframe.title = "Secure checkout";
    iframe.setAttribute("allow", "payment");
    iframe.style.cssText = "border:0;width:100%;height:480px;display:block;color-scheme:normal";
    el.appendChild(iframe);
    var ready = false;
    var queued = [];

    function send(command) {
      if (!ready) return queued.push(command);
      // Only the Paylet origin can read it, whatever the frame was navigated to.
      iframe.contentWindow.postMessage({ paylet: JSON.stringify(command) }, PAYLET);
    }

    function onMessage(e) {
      // Only the widget this call created, from the Paylet origin, is heard.
      if (e.origin !== PAYLET || e.source !== iframe.contentWindow) return;
      var msg;
      try { msg = JSON.parse(e.data && e.data.paylet); } catch (_) { return; }
      if (!msg || typeof msg.type !== "string") return;
      if (msg.type === "resize") {
        iframe.style.height = Math.max(0, msg.height | 0) + "px";
      } else if (msg.type === "ready") {
        ready = true;
        queued.splice(0).forEach(send);
        emit(el, "ready");
      } else if (msg.type === "paid") {
        emit(el, "paid", { orderId: msg.order_id });
      } else if (msg.type === "failed") {
        emit(el, "failed", { orderId: msg.order_id, code: msg.code });
      } else if (msg.type === "redirect" && /^https?:\/\//.test(msg.url)) {
        // The gateway's hosted page replaces the whole page, then returns here.
        window.location.assign(msg.url);
      }
    }
    window.addEventListener("message", onMessage);

    var handle = {
      update: function (next) {
        if (next && next.items) send({ type: "update", items: itemsText(next.items) });
      },
      destroy: function () {
        window.removeEventListener("message", onMessage);
        iframe.remove();
        el.removeAttribute("data-paylet-mounted");
        delete el.paylet;
      }
    };
    el.setAttribute("data-paylet-mounted", "1");
    el.paylet = handle;
    return handle;
  }

  function mountAll() {
    var els = document.querySelectorAll("[data-paylet-store]:not([data-paylet-mounted])");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var attr = function (name) { return el.getAttribute("data-" + name); };
      var theme = {};
      THEME.forEach(function (name) { if (attr("theme-" + name)) theme[name] = attr("theme-" + name); });
      if (attr("theme")) theme.scheme = attr("theme");
      mount(el, {
        store: attr("paylet-store"),
        items: attr("items"),
        session: attr("session"),
        locale: attr("locale"),
        returnUrl: attr("return-url"),
        theme: theme
      });
    }
  }

  window.Paylet = { mount: mount };
  // Frame the containers already parsed now, without waiting for the rest of
  // the page (an `async` script can run while it is still loading), and any
  // later ones once it is parsed.
  mountAll();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
})();
