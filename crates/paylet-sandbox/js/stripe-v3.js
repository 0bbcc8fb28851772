// @ts-check
// The sandbox's stand-in for Stripe.js v3 (https://js.stripe.com/v3/): the
// same global `Stripe(publishableKey)`, and of it what a card payment
// confirmed on the server uses: `elements()`, `elements.create("card")`,
// `element.mount()`, `createPaymentMethod()` and `handleNextAction()`, with
// Stripe.js's arguments, results and error shapes (`@stripe/stripe-js`'s
// types check them). The card is typed into a frame on the sandbox's origin
// and tokenized from there, at `POST /v1/payment_methods`.

/** @typedef {import("@stripe/stripe-js").StripeElementStyle} ElementStyle */

/**
 * @param {string} publishableKey
 */
function Stripe(publishableKey) {
  if (typeof publishableKey !== "string" || !publishableKey.startsWith("pk_")) {
    throw new Error("Invalid value for Stripe(): apiKey should be a publishable key (pk_...).");
  }

  /**
   * @param {{ locale?: string }} [elementsOptions]
   */
  function elements(elementsOptions) {
    return {
      /**
       * @param {"card"} type
       * @param {{ style?: ElementStyle, hidePostalCode?: boolean }} [options]
       */
      create(type, options) {
        if (type !== "card") throw new Error(`The sandbox's Stripe.js offers the card Element only, not ${type}.`);
        /** @type {Record<string, Array<(event: any) => void>>} */
        const handlers = {};
        /** @type {Promise<{ ask: (message: object) => Promise<any> }> | null} */
        let mounted = null;
        const element = {
          /** @param {string | HTMLElement} target */
          mount(target) {
            const container = typeof target === "string" ? document.querySelector(target) : target;
            if (!(container instanceof HTMLElement)) throw new Error("Element could not be mounted: no such DOM element.");
            const style = options?.style?.base ?? {};
            mounted = mountCardFrame(container, {
              style: "stripe",
              key: publishableKey,
              locale: elementsOptions?.locale ?? "auto",
              color: style.color ?? "",
              placeholder: style["::placeholder"]?.color ?? "",
              font: style.fontFamily ?? "",
              size: style.fontSize ?? "",
              invalid: options?.style?.invalid?.color ?? "",
            });
            mounted.then(() => (handlers.ready ?? []).forEach((h) => h({ elementType: "card" })));
          },
          /** @param {string} event @param {(event: any) => void} handler */
          on(event, handler) {
            (handlers[event] ??= []).push(handler);
            return element;
          },
          destroy() {
            mounted = null;
          },
          /** @internal the card frame, for createPaymentMethod */
          _frame: () => mounted,
        };
        return element;
      },
    };
  }

  /**
   * @param {{ type: "card", card: { _frame: () => Promise<{ ask: (message: object) => Promise<any> }> | null },
   *           billing_details?: import("@stripe/stripe-js").CreatePaymentMethodCardData["billing_details"] }} data
   * @returns {Promise<import("@stripe/stripe-js").PaymentMethodResult>}
   */
  async function createPaymentMethod(data) {
    const frame = data?.card?._frame?.();
    if (data?.type !== "card" || !frame) {
      return { error: { type: "invalid_request_error", message: "createPaymentMethod needs a mounted card Element." } };
    }
    const answer = await (await frame).ask({ type: "tokenize", billing_details: data.billing_details ?? {} });
    return answer.error ? { error: answer.error } : { paymentMethod: answer.paymentMethod };
  }

  /**
   * @param {{ clientSecret: string }} options
   * @returns {Promise<import("@stripe/stripe-js").PaymentIntentResult>}
   */
  async function handleNextAction(options) {
    const id = String(options?.clientSecret ?? "").split("_secret_")[0];
    if (!id.startsWith("pi_")) {
      return { error: { type: "invalid_request_error", message: "Invalid value for handleNextAction: clientSecret." } };
    }
    const done = await challengeInModal(`${SDK_ORIGIN}/hosted/3ds/${encodeURIComponent(id)}?sdk=${encodeURIComponent(location.origin)}`, "paylet-sandbox:3ds");
    const paymentIntent = done.payment_intent;
    if (paymentIntent?.status === "succeeded") return { paymentIntent };
    return {
      error: {
        type: "invalid_request_error",
        code: "payment_intent_authentication_failure",
        message: "We are unable to authenticate your payment method. Please choose a different payment method and try again.",
        payment_intent: paymentIntent,
      },
    };
  }

  return { elements, createPaymentMethod, handleNextAction };
}

window.Stripe = /** @type {any} */ (Stripe);
