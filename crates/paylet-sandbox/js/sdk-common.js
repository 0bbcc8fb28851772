// @ts-check
// What both SDK stand-ins share, as the real SDKs each have it: card inputs
// in a frame on the gateway's own origin, spoken to over a private
// MessageChannel, and the bank's challenge in a modal frame of that origin.
// Served inside one function scope with the stand-in's own file
// (crates/paylet-sandbox/src/sdk.rs), which names `SDK_ORIGIN`.

/**
 * The card frame for `style` ("stripe" or "square") in `container`; resolves
 * once its inputs are there, with a function that asks the frame something
 * and resolves with its answer.
 * @param {HTMLElement} container
 * @param {Record<string, string>} query
 * @returns {Promise<{ frame: HTMLIFrameElement, ask: (message: object) => Promise<any> }>}
 */
function mountCardFrame(container, query) {
  const frame = document.createElement("iframe");
  frame.src = SDK_ORIGIN + "/js/card-frame.html?" + new URLSearchParams(query);
  frame.title = "Secure card payment input frame";
  frame.setAttribute("allowtransparency", "true");
  Object.assign(frame.style, { border: "0", width: "100%", height: "8.5rem", display: "block" });
  container.replaceChildren(frame);
  return new Promise((resolve, reject) => {
    frame.addEventListener("error", () => reject(new Error("The card fields could not load.")));
    frame.addEventListener("load", () => {
      const channel = new MessageChannel();
      /** @type {((answer: any) => void) | null} */
      let waiting = null;
      channel.port1.onmessage = (event) => {
        if (event.data && event.data.type === "ready") {
          resolve({
            frame,
            ask: (message) =>
              new Promise((answer) => {
                waiting = answer;
                channel.port1.postMessage(message);
              }),
          });
        } else if (waiting) {
          const answer = waiting;
          waiting = null;
          answer(event.data);
        }
      };
      frame.contentWindow?.postMessage({ type: "connect" }, SDK_ORIGIN, [channel.port2]);
    }, { once: true });
  });
}

/**
 * Shows `url` (a challenge page of the gateway's origin, told this page's
 * origin in its `sdk` parameter) in a modal frame and resolves with the
 * message that page posts to this origin alone when the shopper is done.
 * @param {string} url
 * @param {string} kind the message's `type`
 * @returns {Promise<any>}
 */
function challengeInModal(url, kind) {
  const backdrop = document.createElement("div");
  Object.assign(backdrop.style, {
    position: "fixed", inset: "0", background: "rgba(0,0,0,.45)", display: "flex",
    alignItems: "center", justifyContent: "center", zIndex: "2147483647",
  });
  const frame = document.createElement("iframe");
  frame.src = url;
  frame.title = "3D Secure authentication";
  Object.assign(frame.style, { border: "0", width: "min(26rem, 96vw)", height: "min(30rem, 90vh)", background: "#fff" });
  backdrop.append(frame);
  document.body.append(backdrop);
  return new Promise((resolve) => {
    /** @param {MessageEvent} event */
    const listen = (event) => {
      if (event.source !== frame.contentWindow || event.origin !== SDK_ORIGIN || event.data?.type !== kind) return;
      window.removeEventListener("message", listen);
      backdrop.remove();
      resolve(event.data);
    };
    window.addEventListener("message", listen);
  });
}
