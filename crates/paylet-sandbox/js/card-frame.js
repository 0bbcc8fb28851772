// @ts-check
// The card inputs of the sandbox's SDK stand-ins, in a frame on the
// sandbox's origin: the card is typed here and tokenized from here, so the
// page around the frame (the Paylet checkout) never holds it. The page speaks
// to this frame only over the MessageChannel it hands over first.

const query = new URLSearchParams(location.search);
const style = query.get("style") === "square" ? "square" : "stripe";
const key = query.get("key") ?? "";

/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));
const number = input("number");
const expiry = input("expiry");
const cvc = input("cvc");
const postal = input("postal");
const errorText = /** @type {HTMLElement} */ (document.getElementById("error"));

const look = document.body.style;
if (query.get("color")) look.color = /** @type {string} */ (query.get("color"));
if (query.get("font")) look.fontFamily = /** @type {string} */ (query.get("font"));
if (query.get("size")) look.fontSize = /** @type {string} */ (query.get("size"));
if (query.get("invalid")) look.setProperty("--invalid", /** @type {string} */ (query.get("invalid")));
if (style === "square") /** @type {HTMLElement} */ (document.getElementById("postal-field")).hidden = false;

/** @param {string} value */
const digits = (value) => value.replace(/\D/g, "");
number.addEventListener("input", () => {
  number.value = digits(number.value).slice(0, 19).replace(/(\d{4})(?=\d)/g, "$1 ");
});
expiry.addEventListener("input", () => {
  const d = digits(expiry.value).slice(0, 4);
  expiry.value = d.length > 2 ? `${d.slice(0, 2)} / ${d.slice(2)}` : d;
});
cvc.addEventListener("input", () => { cvc.value = digits(cvc.value).slice(0, 4); });

/** The card as typed, or the first field that is not complete. */
function read() {
  for (const field of [number, expiry, cvc]) field.removeAttribute("aria-invalid");
  const card = { number: digits(number.value), month: digits(expiry.value).slice(0, 2), year: digits(expiry.value).slice(2) };
  /** @type {[HTMLInputElement, string, string, string] | null} */
  const incomplete =
    card.number.length < 12 ? [number, "incomplete_number", "cardNumber", "Your card number is incomplete."]
    : card.month.length < 2 || card.year.length < 2 ? [expiry, "incomplete_expiry", "expirationDate", "Your card's expiration date is incomplete."]
    : digits(cvc.value).length < 3 ? [cvc, "incomplete_cvc", "cvv", "Your card's security code is incomplete."]
    : null;
  if (incomplete) {
    incomplete[0].setAttribute("aria-invalid", "true");
    errorText.textContent = incomplete[3];
  } else {
    errorText.textContent = "";
  }
  return { card, incomplete };
}

/** @param {string} param Stripe's or Square's name of a field */
function mark(param) {
  const field = { number: number, exp_month: expiry, exp_year: expiry, cvc: cvc,
    cardNumber: number, expirationDate: expiry, cvv: cvc, postalCode: postal }[param];
  field?.setAttribute("aria-invalid", "true");
}

/** Stripe.js's `createPaymentMethod`, at the sandbox's `POST /v1/payment_methods`. */
async function stripePaymentMethod(/** @type {any} */ billing) {
  const { card, incomplete } = read();
  if (incomplete) {
    return { error: { type: "validation_error", code: incomplete[1], message: incomplete[3] } };
  }
  const form = new URLSearchParams({
    key, type: "card", "card[number]": card.number, "card[exp_month]": card.month,
    "card[exp_year]": `20${card.year}`, "card[cvc]": digits(cvc.value),
  });
  for (const [name, value] of Object.entries(billing ?? {})) {
    if (typeof value === "string") form.append(`billing_details[${name}]`, value);
  }
  for (const [name, value] of Object.entries(billing?.address ?? {})) {
    if (typeof value === "string") form.append(`billing_details[address][${name}]`, value);
  }
  const response = await fetch("/v1/payment_methods", { method: "POST", body: form });
  const body = await response.json();
  if (!response.ok) {
    if (body.error?.param) mark(body.error.param);
    errorText.textContent = body.error?.message ?? "";
    return { error: body.error };
  }
  return { paymentMethod: body };
}

/** The Web Payments SDK's `card.tokenize()`, at the sandbox's `POST /v2/card-nonces`. */
async function squareToken() {
  const { card, incomplete } = read();
  if (incomplete) {
    return { status: "Invalid", errors: [{ type: "VALIDATION_ERROR", field: incomplete[2], message: incomplete[3] }] };
  }
  const response = await fetch("/v2/card-nonces", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      application_id: key,
      card: { number: card.number, exp_month: Number(card.month), exp_year: Number(`20${card.year}`),
        cvv: digits(cvc.value), postal_code: postal.value.trim() || undefined },
    }),
  });
  const body = await response.json();
  if (!response.ok) {
    const errors = (body.errors ?? []).map((/** @type {any} */ e) => {
      const field = { "card.number": "cardNumber", "card.exp_month": "expirationDate", "card.exp_year": "expirationDate",
        "card.cvv": "cvv", "card.postal_code": "postalCode" }[/** @type {string} */ (e.field)] ?? "cardNumber";
      mark(field);
      return { type: "VALIDATION_ERROR", field, message: e.detail ?? "Invalid card." };
    });
    errorText.textContent = errors[0]?.message ?? "";
    return { status: "Invalid", errors };
  }
  const details = { method: "Card", card: { brand: body.card.card_brand, last4: body.card.last_4,
    expMonth: body.card.exp_month, expYear: body.card.exp_year }, billing: { postalCode: postal.value.trim() } };
  return { status: "OK", token: body.card_nonce, details };
}

let connected = false;
window.addEventListener("message", (event) => {
  const port = event.ports[0];
  if (connected || event.source !== window.parent || event.data?.type !== "connect" || !port) return;
  connected = true;
  port.onmessage = async (message) => {
    if (message.data?.type !== "tokenize") return;
    try {
      port.postMessage(style === "stripe" ? await stripePaymentMethod(message.data.billing_details) : await squareToken());
    } catch {
      const text = "We could not reach the payment network. Check your connection and try again.";
      port.postMessage(style === "stripe"
        ? { error: { type: "api_connection_error", message: text } }
        : { status: "Error", errors: [{ type: "NETWORK_ERROR", message: text }] });
    }
  };
  port.postMessage({ type: "ready" });
});
