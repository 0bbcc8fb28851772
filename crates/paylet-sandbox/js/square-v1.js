// @ts-check
// The sandbox's stand-in for Square's Web Payments SDK
// (https://web.squarecdn.com/v1/square.js): the same global `Square`, and of
// it what a card payment uses: `Square.payments(appId, locationId)`,
// `payments.card()`, `card.attach()`, `card.tokenize()` and
// `payments.verifyBuyer()`, with the SDK's results and errors
// (`@square/web-payments-sdk-types` checks them). The card is typed into a
// frame on the sandbox's origin and tokenized from there.

/**
 * @param {string} applicationId
 * @param {string} locationId
 */
function payments(applicationId, locationId) {
  if (typeof applicationId !== "string" || !applicationId) {
    throw Object.assign(new Error("The Payment 'applicationId' option is not in the correct format."), {
      name: "InvalidApplicationIdError",
    });
  }

  /**
   * @param {{ style?: Record<string, Record<string, string>> }} [options]
   */
  async function card(options) {
    /** @type {Promise<{ ask: (message: object) => Promise<any> }> | null} */
    let mounted = null;
    return {
      /** @param {string | HTMLElement} target */
      async attach(target) {
        const container = typeof target === "string" ? document.querySelector(target) : target;
        if (!(container instanceof HTMLElement)) {
          throw Object.assign(new Error("Element not found."), { name: "ElementNotFoundError" });
        }
        const input = options?.style?.input ?? {};
        mounted = mountCardFrame(container, {
          style: "square",
          key: applicationId,
          color: input.color ?? "",
          placeholder: options?.style?.["input::placeholder"]?.color ?? "",
          font: input.fontFamily ?? "",
          size: input.fontSize ?? "",
          invalid: options?.style?.[".input-container.is-error"]?.borderColor ?? "",
        });
        await mounted;
      },
      /** @returns {Promise<import("@square/web-payments-sdk-types").TokenResult>} */
      async tokenize() {
        if (!mounted) {
          throw Object.assign(new Error("The card must be attached before tokenizing."), { name: "PaymentMethodNotAttachedError" });
        }
        return (await mounted).ask({ type: "tokenize" });
      },
      async destroy() {
        mounted = null;
        return true;
      },
    };
  }

  /**
   * Verifies the buyer for 3-D Secure: without a challenge when the card's
   * bank asks for none, else in a modal frame of the gateway's origin.
   * @param {string} source a card token from `tokenize()`
   * @param {import("@square/web-payments-sdk-types").ChargeVerifyBuyerDetails} details
   * @returns {Promise<import("@square/web-payments-sdk-types").VerifyBuyerResponseDetails>}
   */
  async function verifyBuyer(source, details) {
    const response = await fetch(`${SDK_ORIGIN}/js/square/v1/verifications`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        application_id: applicationId,
        location_id: locationId,
        source_id: source,
        intent: details?.intent,
        amount: details?.amount,
        currency_code: details?.currencyCode,
      }),
    });
    const answer = await response.json();
    if (answer.token) return { token: answer.token, userChallenged: false };
    if (!answer.challenge_url) {
      throw Object.assign(new Error(answer.message ?? "Buyer verification failed."), { name: "VerifyBuyerError" });
    }
    const done = await challengeInModal(`${answer.challenge_url}?sdk=${encodeURIComponent(location.origin)}`, "paylet-sandbox:verify");
    if (!done.verification_token) {
      throw Object.assign(new Error("The buyer did not pass verification."), { name: "VerifyBuyerError" });
    }
    return { token: done.verification_token, userChallenged: true };
  }

  return { card, verifyBuyer };
}

window.Square = /** @type {any} */ ({ payments: (/** @type {string} */ a, /** @type {string} */ l) => payments(a, l) });
