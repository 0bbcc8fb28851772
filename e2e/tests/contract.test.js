// The other side of each conversation is the gateway's or the standard's own
// official package, not Paylet's code: the `stripe` SDK (pinned in
// package-lock.json; its apiVersion is the one Paylet pins) drives the
// sandbox and checks its signatures, and signs the events Paylet must take;
// `standardwebhooks` checks every notification Paylet sends a merchant.

import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { fromSchema } from "@openapi-contrib/openapi-schema-to-json-schema";
import Stripe from "stripe";
import { Webhook } from "standardwebhooks";
import { payletCommand, payletEnv, withStack } from "../lib/stack.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PINNED = "2026-11-18.endive"; // crates/paylet-gateway/src/stripe.rs, API_VERSION

let stack;
withStack((s) => { stack = s; });

/** The official client, pointed at the sandbox instead of api.stripe.com. */
function stripeClient(key) {
  const url = new URL(stack.sandbox);
  return new Stripe(key, { host: url.hostname, port: Number(url.port), protocol: "http", maxNetworkRetries: 0 });
}

/** `paylet` on the stack's own database, as its operator would run it. */
function paylet(args) {
  return execFileSync(join(ROOT, "target", "debug", "paylet"), args, { env: payletEnv(stack) }).toString();
}

/** The same, without blocking this process (which may serve what it calls). */
const payletAsync = (args) => payletCommand(stack, args);

/** Stripe's canonical example of each resource (../shared/reference, see its README). */
const FIXTURES = JSON.parse(readFileSync(join(ROOT, "..", "shared", "reference", "stripe-fixtures3.json"), "utf8"))
  .resources;

const kind = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/**
 * Where `object` (as the sandbox rendered it) uses a field Stripe's fixture of
 * its resource does not have, or a value of another JSON type. A fixture shows
 * every field of the resource itself, but of a nested object only the fields
 * Stripe's spec requires, so below the top only the types of the fields it
 * shows are compared. A null in either is any type; an empty fixture object is
 * a free map (metadata).
 */
function drift(object, fixture, path, top = true) {
  const found = [];
  for (const [key, value] of Object.entries(object)) {
    const where = `${path}.${key}`;
    if (!(key in fixture)) {
      if (top) found.push(`${where} is not a field Stripe has`);
      continue;
    }
    const example = fixture[key];
    if (value === null || example === null) continue;
    if (kind(value) !== kind(example)) {
      found.push(`${where} is ${kind(value)}, Stripe's is ${kind(example)}`);
    } else if (kind(value) === "object" && Object.keys(example).length > 0) {
      found.push(...drift(value, example, where, false));
    } else if (kind(value) === "array" && kind(example[0]) === "object") {
      value.filter((v) => kind(v) === "object").forEach((v, i) => found.push(...drift(v, example[0], `${where}[${i}]`, false)));
    }
  }
  return found;
}

/** Square's OpenAPI document (../shared/reference): its schemas, by name. */
const squareSchemas = (() => {
  const openapi = JSON.parse(readFileSync(join(ROOT, "..", "shared", "reference", "square-openapi.json"), "utf8"));
  // OpenAPI 3.0 schemas (`nullable`) as JSON Schema; `x-…` annotations and
  // formats are not Ajv's to check.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const schemas = Object.fromEntries(Object.entries(openapi.components.schemas).map(([k, v]) => [k, fromSchema(v)]));
  // The document (2025-08-20) refers to one schema it does not define.
  schemas.CatalogModifierToggleOverrideType ??= {};
  ajv.addSchema({ components: { schemas } }, "square");
  return (name) => ajv.getSchema(`square#/components/schemas/${name}`);
})();

/** `body` is a valid `name` of Square's API. */
function assertSquare(name, body) {
  const validate = squareSchemas(name);
  assert.ok(validate(body), `${name}: ${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(body)}`);
}

/** A card nonce, as the sandbox's stand-in for Square's Web Payments SDK makes it in a browser. */
async function squareNonce() {
  const answer = await fetch(`${stack.sandbox}/v2/card-nonces`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ application_id: "sandbox-sq0idb-paylet-demo",
      card: { number: "4242424242424242", exp_month: 12, exp_year: 2034, cvv: "123", postal_code: "94103" } }),
  });
  return (await answer.json()).card_nonce;
}

/** The port a local server listens on. */
function port(server) {
  return /** @type {import("node:net").AddressInfo} */ (server.address()).port;
}

/**
 * Stops a local server. `close` alone waits for every open connection, and a
 * client that keeps one alive (the sandbox's and Paylet's pooled HTTP
 * clients, mid-delivery when it is called) holds it open for as long as its
 * pool does: the test would hang. Nothing here needs a graceful end.
 * @param {http.Server} server
 */
function shut(server) {
  return new Promise((resolve) => {
    server.close(resolve);
    server.closeAllConnections();
  });
}

/** A local endpoint that records every request it gets and answers 200. */
async function receiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  return {
    url: `http://127.0.0.1:${port(server)}/hooks`,
    got,
    async until(done) {
      for (let i = 0; i < 200 && !done(got); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(done(got), `deliveries: ${got.map((g) => g.body.slice(0, 80)).join("\n")}`);
    },
    close: () => shut(server),
  };
}

test("the official stripe SDK pins the same API version as Paylet", () => {
  assert.equal(Stripe.API_VERSION, PINNED);
});

test("the official stripe SDK drives the sandbox, and constructEvent accepts every delivery", async () => {
  const secret = stripeClient("sk_test_paylet_demo");
  const browser = stripeClient("pk_test_paylet_demo");
  const hook = await receiver();
  const endpoint = await secret.webhookEndpoints.create({ url: hook.url, enabled_events: ["*"], api_version: PINNED });
  assert.match(endpoint.secret, /^whsec_/);
  assert.equal(endpoint.api_version, PINNED);

  const card = { number: "4242424242424242", exp_month: "12", exp_year: "2034", cvc: "123" };
  // A token charged through payment_method_data[card][token], as Stripe's
  // Charges-to-PaymentIntents migration guide shows; the SDK's types omit
  // `card` there (raw card data is for accounts enabled for it), hence `any`.
  /** @param {string} id @returns {any} */
  const tokenData = (id) => ({ type: "card", card: { token: id } });
  const token = await browser.tokens.create({ card });
  const paid = await secret.paymentIntents.create({
    amount: 2500, currency: "usd", confirm: true, return_url: "https://shop.example/back",
    payment_method_data: tokenData(token.id),
  });
  assert.equal(paid.status, "succeeded");
  assert.equal((await secret.paymentIntents.retrieve(paid.id)).amount_received, 2500);
  const refund = await secret.refunds.create({ payment_intent: paid.id, amount: 500 });
  assert.equal(refund.amount, 500);
  // Created first, confirmed after, as a client that collects the card later.
  const another = await browser.tokens.create({ card });
  const pending = await secret.paymentIntents.create({
    amount: 1200, currency: "usd", payment_method_data: tokenData(another.id),
  });
  assert.equal(pending.status, "requires_confirmation");
  const confirmed = await secret.paymentIntents.confirm(pending.id, { return_url: "https://shop.example/back" });
  assert.equal(confirmed.status, "succeeded");
  const later = await secret.paymentIntents.create({ amount: 1800, currency: "usd" });
  assert.equal((await secret.paymentIntents.cancel(later.id)).status, "canceled");
  const session = await secret.checkout.sessions.create({
    mode: "payment", success_url: "https://shop.example/ok", cancel_url: "https://shop.example/no",
    line_items: [{ quantity: 1, price_data: { currency: "usd", unit_amount: 1200, product_data: { name: "Mug" } } }],
  });
  assert.match(session.url, /^http/);
  assert.equal((await secret.checkout.sessions.expire(session.id)).status, "expired");
  // A declined card and one that asks for 3-D Secure, for their events.
  const declinedCard = await browser.tokens.create({ card: { ...card, number: "4000000000000002" } });
  await assert.rejects(secret.paymentIntents.create({
    amount: 900, currency: "usd", confirm: true, payment_method_data: tokenData(declinedCard.id),
  }), Stripe.errors.StripeCardError);
  const challenged = await browser.tokens.create({ card: { ...card, number: "4000002500003155" } });
  const waiting = await secret.paymentIntents.create({
    amount: 700, currency: "usd", confirm: true, return_url: "https://shop.example/back",
    payment_method_data: tokenData(challenged.id),
  });
  assert.equal(waiting.status, "requires_action");

  const expected = [
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.requires_action",
    "payment_intent.canceled", "refund.created", "charge.refunded", "checkout.session.expired",
  ];
  const events = [];
  try {
    await hook.until((got) => expected.every((type) => got.some((d) => JSON.parse(d.body).type === type)));
    for (const delivery of hook.got) {
      const event = secret.webhooks.constructEvent(delivery.body, delivery.headers["stripe-signature"], endpoint.secret);
      assert.equal(event.api_version, PINNED, event.type);
      events.push(event);
    }
  } finally {
    await hook.close();
  }

  // Every object the sandbox returned, in Stripe's own fields and types. The
  // SDK adds `lastResponse`; `secret` is shown once, on creation only.
  const { lastResponse: _, secret: __, ...endpointShown } = endpoint;
  /** @type {Array<[string, any]>} */
  const objects = [
    ["token", token], ["payment_intent", paid], ["payment_intent", pending], ["payment_intent", confirmed],
    ["refund", refund], ["payment_intent", later], ["payment_intent", waiting],
    ["checkout.session", session], ["webhook_endpoint", endpointShown],
    // An event's data.object is checked as its own resource (the fixture's is a plan).
    ...events.flatMap(({ data, ...event }) => /** @type {Array<[string, any]>} */ ([
      ["event", event], [data.object.object, data.object],
    ])),
  ];
  const found = objects.flatMap(([resource, object]) => {
    const { lastResponse: _, ...fields } = object;
    return drift(fields, FIXTURES[resource], resource);
  });
  assert.deepEqual([...new Set(found)], []);
});

test("Paylet accepts Stripe-style events the official SDK signs, and only those", async () => {
  const sdk = stripeClient("sk_test_paylet_demo");
  const signing = `whsec_${randomBytes(24).toString("base64")}`;
  paylet(["store", "webhook", "--store", "st_demo", "--secret", signing, "--overlap", "1h"]);
  const post = (body, signature) => fetch(`${stack.server}/v1/webhooks/st_demo/stripe`, {
    method: "POST", headers: { "content-type": "application/json", "stripe-signature": signature }, body,
  });
  const event = (id) => JSON.stringify({
    id, object: "event", api_version: PINNED, created: Math.floor(Date.now() / 1000), type: "customer.created",
    data: { object: { id: "cus_contract", object: "customer" } }, livemode: false, pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
  });

  const signed = event("evt_contract_plain");
  const plain = sdk.webhooks.generateTestHeaderString({ payload: signed, secret: signing });
  assert.equal((await post(signed, plain)).status, 200);

  // Several v1 (one of them right) and a v0, as Stripe sends during a secret roll.
  const rolled = event("evt_contract_rolled");
  const header = sdk.webhooks.generateTestHeaderString({ payload: rolled, secret: signing });
  const t = header.split(",")[0];
  const v1 = header.split(",")[1];
  const crowded = `${t},v1=${"0".repeat(64)},${v1},v0=${"f".repeat(64)}`;
  assert.equal((await post(rolled, crowded)).status, 200);

  const forged = event("evt_contract_forged");
  const wrong = sdk.webhooks.generateTestHeaderString({ payload: forged, secret: "whsec_not_the_stores" });
  assert.equal((await post(forged, wrong)).status, 400);
});

test("every notification Paylet sends passes the official standardwebhooks verify", async () => {
  const hook = await receiver();
  const out = paylet([
    "store", "notify", "--store", "st_demo", "--url", hook.url, "--allow-http-urls", "--allow-private-notify-urls",
  ]);
  const signing = out.match(/signing secret \(shown once\): (\S+)/)[1];

  const token = await stripeClient("pk_test_paylet_demo").tokens.create({
    card: { number: "4242424242424242", exp_month: "12", exp_year: "2034", cvc: "123" },
  });
  const created = await fetch(`${stack.server}/v1/stores/st_demo/orders`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ items: [{ sku: "MUG-ENAMEL", quantity: 1 }], customer: { email: "ada@example.com" } }),
  });
  const order = await created.json();
  const paid = await fetch(`${stack.server}/v1/orders/${order.id}/payments`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_secret: order.client_secret, token: token.id }),
  });
  assert.equal((await paid.json()).status, "paid");

  try {
    await hook.until((got) => got.some((d) => JSON.parse(d.body).type === "order.paid"));
    const verifier = new Webhook(signing);
    for (const delivery of hook.got) {
      assert.equal(JSON.stringify(verifier.verify(delivery.body, delivery.headers)), delivery.body);
    }
  } finally {
    paylet(["store", "notify", "--store", "st_demo", "--off"]);
    await hook.close();
  }
});

test("the official square SDK drives the sandbox, and WebhooksHelper accepts every delivery", async () => {
  const { SquareClient, WebhooksHelper } = await import("square");
  const square = new SquareClient({ token: "EAAAEpaylet_demo", baseUrl: stack.sandbox, maxRetries: 0 });
  const hook = await receiver();
  try {
    await squareConversation(square, WebhooksHelper, hook);
  } finally {
    await hook.close();
  }
});

async function squareConversation(square, WebhooksHelper, hook) {
  const created = await square.webhooks.subscriptions.create({
    idempotencyKey: randomBytes(8).toString("hex"),
    subscription: {
      name: "contract", notificationUrl: hook.url,
      eventTypes: ["payment.created", "payment.updated", "refund.created", "refund.updated"],
    },
  });
  const signatureKey = created.subscription.signatureKey;
  assert.ok(signatureKey);

  const money = (amount) => ({ amount: BigInt(amount), currency: "USD" });
  const paid = await square.payments.create({
    sourceId: await squareNonce(), idempotencyKey: randomBytes(8).toString("hex"), amountMoney: money(2500), referenceId: "contract-1",
  });
  assert.equal(paid.payment.status, "COMPLETED");
  assert.equal((await square.payments.get({ paymentId: paid.payment.id })).payment.id, paid.payment.id);
  const held = await square.payments.create({
    sourceId: await squareNonce(), idempotencyKey: randomBytes(8).toString("hex"), amountMoney: money(1800), autocomplete: false,
  });
  assert.equal((await square.payments.complete({ paymentId: held.payment.id })).payment.status, "COMPLETED");
  const canceled = await square.payments.create({
    sourceId: await squareNonce(), idempotencyKey: randomBytes(8).toString("hex"), amountMoney: money(1200), autocomplete: false,
  });
  assert.equal((await square.payments.cancel({ paymentId: canceled.payment.id })).payment.status, "CANCELED");
  const refund = await square.refunds.refundPayment({
    idempotencyKey: randomBytes(8).toString("hex"), paymentId: paid.payment.id, amountMoney: money(500),
  });
  assert.equal(refund.refund.amountMoney.amount, 500n);
  const link = await square.checkout.paymentLinks.create({
    idempotencyKey: randomBytes(8).toString("hex"),
    quickPay: { name: "Mug", priceMoney: money(1800), locationId: "LDEMO0000000" },
  });
  assert.match(link.paymentLink.url, /^http/);

  await hook.until((got) => ["payment.created", "payment.updated", "refund.created"].every(
    (type) => got.some((d) => JSON.parse(d.body).type === type)));
  const eventSchema = {
    "payment.created": "PaymentCreatedEvent", "payment.updated": "PaymentUpdatedEvent",
    "refund.created": "RefundCreatedEvent", "refund.updated": "RefundUpdatedEvent",
  };
  for (const delivery of hook.got) {
    const valid = await WebhooksHelper.verifySignature({
      requestBody: delivery.body, signatureHeader: delivery.headers["x-square-hmacsha256-signature"],
      signatureKey, notificationUrl: hook.url,
    });
    assert.ok(valid, delivery.body.slice(0, 120));
    const event = JSON.parse(delivery.body);
    assertSquare(eventSchema[event.type], event);
  }
}

test("every Square-style answer the sandbox gives is valid under Square's OpenAPI schemas", async () => {
  const call = async (method, path, body) => {
    const answer = await fetch(`${stack.sandbox}${path}`, {
      method, headers: { authorization: "Bearer EAAAEpaylet_demo", "content-type": "application/json" },
      body: body && JSON.stringify({ idempotency_key: randomBytes(8).toString("hex"), ...body }),
    });
    return answer.json();
  };
  const money = (amount) => ({ amount, currency: "USD" });

  const paid = await call("POST", "/v2/payments", { source_id: await squareNonce(), amount_money: money(2500), reference_id: "ord_c" });
  assertSquare("CreatePaymentResponse", paid);
  assertSquare("GetPaymentResponse", await call("GET", `/v2/payments/${paid.payment.id}`));
  const held = await call("POST", "/v2/payments", { source_id: await squareNonce(), amount_money: money(900), autocomplete: false });
  assertSquare("CancelPaymentResponse", await call("POST", `/v2/payments/${held.payment.id}/cancel`, {}));
  const refund = await call("POST", "/v2/refunds", { payment_id: paid.payment.id, amount_money: money(500) });
  assertSquare("RefundPaymentResponse", refund);
  assertSquare("GetPaymentRefundResponse", await call("GET", `/v2/refunds/${refund.refund.id}`));
  const link = await call("POST", "/v2/online-checkout/payment-links", {
    quick_pay: { name: "Mug", price_money: money(1800), location_id: "LDEMO0000000" },
  });
  assertSquare("CreatePaymentLinkResponse", link);
  assertSquare("RetrievePaymentLinkResponse", await call("GET", `/v2/online-checkout/payment-links/${link.payment_link.id}`));
  assertSquare("RetrieveOrderResponse", await call("GET", `/v2/orders/${link.payment_link.order_id}`));
  assertSquare("DeletePaymentLinkResponse", await call("DELETE", `/v2/online-checkout/payment-links/${link.payment_link.id}`));
  const subscription = await call("POST", "/v2/webhooks/subscriptions", { subscription: {
    name: "schema", event_types: ["payment.updated"], notification_url: "https://shop.example/hooks" } });
  assertSquare("CreateWebhookSubscriptionResponse", subscription);
  assertSquare("ListWebhookSubscriptionsResponse", await call("GET", "/v2/webhooks/subscriptions"));
  assertSquare("DeleteWebhookSubscriptionResponse",
    await call("DELETE", `/v2/webhooks/subscriptions/${subscription.subscription.id}`));
  // An error, in Square's error shape.
  assertSquare("GetPaymentResponse", await call("GET", "/v2/payments/no-such-payment"));
});

test("Paylet accepts Square events signed as the official WebhooksHelper checks them, the test event included", async () => {
  const { WebhooksHelper } = await import("square");
  const { createHmac } = await import("node:crypto");
  const key = randomBytes(16).toString("base64url");
  paylet(["store", "webhook", "--store", "st_demosquare", "--secret", key, "--overlap", "1h"]);
  const url = `${stack.server}/v1/webhooks/st_demosquare/square`;
  const send = async (event, signingKey = key) => {
    const body = JSON.stringify(event);
    const signature = createHmac("sha256", signingKey).update(url + body).digest("base64");
    assert.equal(await WebhooksHelper.verifySignature(
      { requestBody: body, signatureHeader: signature, signatureKey: signingKey, notificationUrl: url }), true);
    return (await fetch(url, { method: "POST", headers: { "content-type": "application/json",
      "x-square-hmacsha256-signature": signature }, body })).status;
  };
  const base = { merchant_id: "MLCONTRACT", created_at: new Date().toISOString() };
  // What the dashboard's "send test event" posts: data {type, id}, no object.
  assert.equal(await send({ ...base, type: "payment.updated", event_id: `test-${randomBytes(6).toString("hex")}`,
    data: { type: "payment", id: "KkAkhdMsgzn59SM8A89WgKwekxLZY" } }), 200);
  // A payment Paylet knows nothing of: acknowledged and kept for a person.
  assert.equal(await send({ ...base, type: "payment.updated", event_id: randomBytes(8).toString("hex"),
    data: { type: "payment", id: "pay_x", object: { payment: { id: "pay_x", status: "COMPLETED",
      amount_money: { amount: 100, currency: "USD" } } } } }), 200);
  // Signed with another key: refused.
  assert.equal(await send({ ...base, type: "payment.updated", event_id: randomBytes(8).toString("hex"),
    data: { type: "payment", id: "pay_y" } }, "not-the-stores-key"), 400);
});

test("every request Paylet's Square adapter sends is valid under Square's OpenAPI request schemas", async () => {
  // A recording proxy in front of the sandbox, as the store's gateway URL.
  const sent = [];
  const sandbox = new URL(stack.sandbox);
  const proxy = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      sent.push({ method: req.method, path: req.url.split("?")[0], body: body.toString("utf8") });
      const upstream = http.request({ host: sandbox.hostname, port: sandbox.port, path: req.url, method: req.method,
        headers: { ...req.headers, host: sandbox.host } }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      upstream.end(body);
    });
  });
  await new Promise((resolve) => proxy.listen(0, "127.0.0.1", () => resolve(undefined)));
  const gateway = `http://127.0.0.1:${port(proxy)}`;
  try {
    const created = JSON.parse(await payletAsync([
      "store", "create", "--name", "Square contract", "--origin", stack.shop, "--currency", "usd", "--gateway", "square",
      "--gateway-url", gateway, "--public-key", "sandbox-sq0idb-paylet-demo", "--secret-key", "EAAAEpaylet_demo",
      "--location-id", "LDEMO0000000", "--payment-methods", "card,hosted", "--public-url", stack.server,
      "--allow-http-urls", "--json",
    ]));
    const store = created.store_id;
    paylet(["product", "add", "--store", store, "--sku", "TEE", "--name", "Tee", "--price", "25.00"]);
    const api = async (path, body, headers = {}) => (await fetch(`${stack.server}${path}`, {
      method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body),
    })).json();
    const order = () => api(`/v1/stores/${store}/orders`,
      { items: [{ sku: "TEE", quantity: 1 }], customer: { email: "ada@example.com" } });

    // Paid by card, then refunded in part; another opens the hosted page and is then paid by card.
    const first = await order();
    assert.equal((await api(`/v1/orders/${first.id}/payments`, { client_secret: first.client_secret, token: await squareNonce() })).status, "paid");
    const refund = await api(`/v1/admin/orders/${first.id}/refunds`, { amount: { amount: 700, currency: "USD" } },
      { authorization: `Bearer ${created.admin_key}` });
    assert.equal(refund.amount.amount, 700, JSON.stringify(refund));
    const second = await order();
    const page = await api(`/v1/orders/${second.id}/hosted-session`,
      { client_secret: second.client_secret, return_url: `${stack.shop}/` });
    assert.match(page.url, /^http/, JSON.stringify(page));
    assert.equal((await api(`/v1/orders/${second.id}/payments`, { client_secret: second.client_secret, token: await squareNonce() })).status, "paid");
  } finally {
    await shut(proxy);
  }

  /** @type {Array<[RegExp, string | null]>} */
  const schemaOf = [
    [/^\/v2\/payments$/, "CreatePaymentRequest"],
    [/^\/v2\/payments\/[^/]+\/complete$/, "CompletePaymentRequest"],
    [/^\/v2\/payments\/[^/]+\/cancel$/, null], // CancelPayment takes no body
    [/^\/v2\/refunds$/, "RefundPaymentRequest"],
    [/^\/v2\/online-checkout\/payment-links$/, "CreatePaymentLinkRequest"],
    [/^\/v2\/webhooks\/subscriptions$/, "CreateWebhookSubscriptionRequest"],
  ];
  const bodies = sent.filter((r) => r.method === "POST");
  const paths = new Set(bodies.map((r) => r.path.replace(/\/v2\/payments\/[^/]+\//, "/v2/payments/{id}/")));
  for (const path of ["/v2/payments", "/v2/refunds", "/v2/online-checkout/payment-links", "/v2/webhooks/subscriptions"]) {
    assert.ok(paths.has(path), `no ${path} among ${[...paths]}`);
  }
  for (const request of bodies) {
    const match = schemaOf.find(([pattern]) => pattern.test(request.path));
    assert.ok(match, `a request to ${request.path} with no schema mapped here`);
    if (match[1]) assertSquare(match[1], JSON.parse(request.body));
  }
});
