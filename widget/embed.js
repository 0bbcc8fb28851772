/*! Paylet embed.js: frames the Paylet checkout on a merchant's page. */
(function () {
  "use strict";
  if (window.Paylet) return;

  var script = document.currentScript;
  // The Paylet origin is wherever this script was served from.
  var PAYLET = script ? new URL(script.src).origin : "";

  function widgetUrl(opts) {
    // A checkout session (priced by the merchant's backend) or catalog items.
    var cart = opts.session ? "&session=" + encodeURIComponent(opts.session)
      : "&items=" + encodeURIComponent(opts.items || "");
    return PAYLET + "/widget/?store=" + encodeURIComponent(opts.store) + cart +
      "&parent=" + encodeURIComponent(window.location.origin);
  }

  function emit(el, name, detail) {
    el.dispatchEvent(new CustomEvent("paylet:" + name, { bubbles: true, detail: detail || {} }));
  }

  function mount(el, opts) {
    var iframe = document.createElement("iframe");
    iframe.src = widgetUrl(opts);
    iframe.title = "Secure checkout";
    iframe.setAttribute("allow", "payment");
    iframe.style.cssText = "border:0;width:100%;height:420px;display:block;color-scheme:normal";
    el.appendChild(iframe);

    function onMessage(e) {
      // Only the widget this call created, from the Paylet origin, is heard.
      if (e.origin !== PAYLET || e.source !== iframe.contentWindow) return;
      var msg;
      try { msg = JSON.parse(e.data && e.data.paylet); } catch (_) { return; }
      if (!msg || typeof msg.type !== "string") return;
      if (msg.type === "resize") {
        iframe.style.height = Math.max(0, msg.height | 0) + "px";
      } else if (msg.type === "ready") {
        emit(el, "ready");
      } else if (msg.type === "paid") {
        emit(el, "paid", { orderId: msg.order_id });
      } else if (msg.type === "failed") {
        emit(el, "failed", { orderId: msg.order_id, code: msg.code });
      }
    }
    window.addEventListener("message", onMessage);

    return {
      destroy: function () {
        window.removeEventListener("message", onMessage);
        iframe.remove();
      }
    };
  }

  function mountAll() {
    var els = document.querySelectorAll("[data-paylet-store]");
    for (var i = 0; i < els.length; i++) {
      if (els[i].getAttribute("data-paylet-mounted")) continue;
      els[i].setAttribute("data-paylet-mounted", "1");
      mount(els[i], {
        store: els[i].getAttribute("data-paylet-store"),
        items: els[i].getAttribute("data-items"),
        session: els[i].getAttribute("data-checkout-session")
      });
    }
  }

  window.Paylet = { mount: mount };
  // `async` scripts can run before the page is parsed: wait for the containers.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})();
