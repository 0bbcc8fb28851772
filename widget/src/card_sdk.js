// @ts-check
// The widget's one piece of JavaScript: the glue between the checkout (Rust)
// and the gateway's own browser SDK, Stripe.js or Square's Web Payments SDK,
// for stores with `gateway` card fields. The SDK mounts its card inputs in
// frames of the gateway's origin inside `container`; this code never sees the
// card, only the token the SDK makes of it. Written against the SDKs' own
// type definitions (`@stripe/stripe-js`, `@square/web-payments-sdk-types`),
// which `npm test` in e2e/ checks it with.
//
// Each function resolves with a plain object the Rust side reads:
// `{ token }`, `{ verification_token }`, `{}`; or `{ error: { field, message, network } }`
// where `field` names the card field as Stripe's API does ("number",
// "exp_month", "cvc") or is null, and `network` says the gateway was not reached.

/** @typedef {{ field: string | null, message: string, network?: boolean }} GlueError */

/**
 * The mounted card: its SDK and its card, one per page.
 * @type {{ style: "stripe", stripe: import("@stripe/stripe-js").Stripe, card: import("@stripe/stripe-js").StripeCardElement }
 *      | { style: "square", payments: import("@square/web-payments-sdk-types").Payments, card: import("@square/web-payments-sdk-types").Card }
 *      | null}
 */
let mounted = null;

/** @param {string} url */
function load(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.addEventListener("load", resolve, { once: true });
    script.addEventListener("error", () => reject(new Error(`could not load ${url}`)), { once: true });
    document.head.append(script);
  });
}

/** The checkout's own look, for the SDK's inputs. */
function look() {
  const css = getComputedStyle(document.documentElement);
  const variable = (/** @type {string} */ name) => css.getPropertyValue(name).trim();
  return { color: variable("--paylet-text"), muted: variable("--paylet-muted"), error: variable("--paylet-error"),
    font: variable("--paylet-font"), size: "16px" };
}

/**
 * Loads the SDK and mounts its card inputs in `container`.
 * @param {string} style "stripe" or "square"
 * @param {string} sdkUrl
 * @param {string} publicKey publishable key or application id
 * @param {string} locationId Square's location ("" for Stripe)
 * @param {string} locale
 * @param {HTMLElement} container
 * @returns {Promise<{ error?: GlueError }>}
 */
export async function mount(style, sdkUrl, publicKey, locationId, locale, container) {
  try {
    await load(sdkUrl);
    const theme = look();
    if (style === "stripe") {
      const stripe = /** @type {import("@stripe/stripe-js").StripeConstructor} */ (/** @type {any} */ (window).Stripe)(publicKey);
      const elements = stripe.elements({ locale: /** @type {import("@stripe/stripe-js").StripeElementLocale} */ (locale) });
      const card = elements.create("card", {
        hidePostalCode: true,
        style: { base: { color: theme.color, fontFamily: theme.font, fontSize: theme.size, "::placeholder": { color: theme.muted } },
          invalid: { color: theme.error } },
      });
      await new Promise((ready) => { card.on("ready", () => ready(undefined)); card.mount(container); });
      mounted = { style: "stripe", stripe, card };
    } else {
      const square = /** @type {import("@square/web-payments-sdk-types").Square} */ (/** @type {any} */ (window).Square);
      const payments = square.payments(publicKey, locationId);
      const card = await payments.card({
        style: { input: { color: theme.color, fontSize: theme.size }, "input::placeholder": { color: theme.muted },
          ".input-container.is-error": { borderColor: theme.error } },
      });
      await card.attach(container);
      mounted = { style: "square", payments, card };
    }
    return {};
  } catch (e) {
    return { error: { field: null, message: String(e), network: true } };
  }
}

/** Stripe.js's error codes and Square's field names, as the card field they are about. */
const FIELDS = /** @type {Record<string, string>} */ ({
  incomplete_number: "number", invalid_number: "number", incorrect_number: "number", cardNumber: "number",
  incomplete_expiry: "exp_month", invalid_expiry_month: "exp_month", invalid_expiry_year: "exp_month",
  invalid_expiry_year_past: "exp_month", invalid_expiry_month_past: "exp_month", expired_card: "exp_month",
  expirationDate: "exp_month", incomplete_cvc: "cvc", invalid_cvc: "cvc", incorrect_cvc: "cvc", cvv: "cvc",
});

/**
 * Turns the card into the gateway's single-use token.
 * @param {{ name?: string, email: string, line1?: string, city?: string, postal_code?: string, country?: string }} billing
 * @returns {Promise<{ token?: string, error?: GlueError }>}
 */
export async function tokenize(billing) {
  if (!mounted) return { error: { field: null, message: "The card fields are not ready.", network: true } };
  try {
    if (mounted.style === "stripe") {
      const { stripe, card } = mounted;
      const result = await stripe.createPaymentMethod({
        type: "card",
        card,
        billing_details: { name: billing.name, email: billing.email,
          address: { line1: billing.line1, city: billing.city, postal_code: billing.postal_code, country: billing.country } },
      });
      if (result.error) {
        const network = result.error.type === "api_connection_error";
        return { error: { field: FIELDS[result.error.code ?? ""] ?? null, message: result.error.message ?? "", network } };
      }
      return { token: result.paymentMethod.id };
    }
    const result = await mounted.card.tokenize();
    if (result.status === "OK" && result.token) return { token: result.token };
    const first = "errors" in result ? result.errors[0] : undefined;
    const network = result.status === "Error";
    const field = first && "field" in first ? first.field ?? "" : "";
    return { error: { field: FIELDS[field] ?? null, message: first?.message ?? "", network } };
  } catch (e) {
    return { error: { field: null, message: String(e), network: true } };
  }
}

/**
 * Square style: verifies the buyer for the charge (3-D Secure, with the
 * bank's challenge when it asks for one).
 * @param {string} token
 * @param {{ amount: string, currency: string, email: string, name?: string, line1?: string, city?: string,
 *           postal_code?: string, country?: string }} details
 * @returns {Promise<{ verification_token?: string, error?: GlueError }>}
 */
export async function verifyBuyer(token, details) {
  if (mounted?.style !== "square") return {};
  const [givenName, ...rest] = (details.name ?? "").trim().split(/\s+/);
  try {
    const result = await mounted.payments.verifyBuyer(token, {
      amount: details.amount,
      currencyCode: details.currency,
      intent: "CHARGE",
      billingContact: { givenName, familyName: rest.join(" "), email: details.email, countryCode: details.country,
        city: details.city, postalCode: details.postal_code, addressLines: details.line1 ? [details.line1] : [] },
    });
    return result?.token ? { verification_token: result.token } : { error: { field: null, message: "" } };
  } catch (e) {
    // The SDK's VerifyBuyerError is the buyer failing verification; anything
    // else is the SDK not reaching Square.
    const failed = e instanceof Error && e.name === "VerifyBuyerError";
    return { error: { field: null, message: String(e), network: !failed } };
  }
}

/**
 * Stripe style: takes the PaymentIntent's next action (the bank's challenge).
 * Resolves when it is over, either way: the server then reads the outcome.
 * @param {string} clientSecret
 * @returns {Promise<{ error?: GlueError }>}
 */
export async function handleNextAction(clientSecret) {
  if (mounted?.style !== "stripe") return {};
  try {
    const result = await mounted.stripe.handleNextAction({ clientSecret });
    return result.error ? { error: { field: null, message: result.error.message ?? "" } } : {};
  } catch (e) {
    return { error: { field: null, message: String(e), network: true } };
  }
}
