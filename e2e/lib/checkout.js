// What a shopper does in the widget, shared by the e2e suites.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import assert from "node:assert/strict";
import { ARTIFACTS, readLatin1 } from "./stack.js";
import { findPans } from "./pan.js";

/** The sandbox's test cards, one that pays per brand, then the outcomes. */
export const CARDS = {
  visa: "4242 4242 4242 4242",
  mastercard: "5555 5555 5555 4444",
  amex: "3782 822463 10005",
  discover: "6011 1111 1111 1117",
  jcb: "3566 0020 2036 0505",
  diners: "3622 720627 1667",
  unionpay: "6200 0000 0000 0005",
  declined: "4000 0000 0000 0002",
  insufficientFunds: "4000 0000 0000 9995",
  lostCard: "4000 0000 0000 9987",
  expired: "4000 0000 0000 0069",
  incorrectCvc: "4000 0000 0000 0127",
  processingError: "4000 0000 0000 0119",
  threeDSecure: "4000 0025 0000 3155",
};

/** The gateway styles the demo runs: its shop's `?gateway=` and store id. */
export const STYLES = [
  { name: "stripe", query: "", store: "st_demo" },
  { name: "square", query: "&gateway=square", store: "st_demosquare" },
];

/** The same two shops taking the card in the gateway's own card fields (the sandbox's SDK stand-ins). */
export const GATEWAY_FIELD_STYLES = [
  { name: "stripe", query: "&fields=gateway", store: "st_demofields", fields: "gateway" },
  { name: "square", query: "&gateway=square&fields=gateway", store: "st_demosquarefields", fields: "gateway" },
];

export const WIDGET = 'iframe[title="Secure checkout"]';
/**
 * A merchant page of our own on the shop's origin (or `origin`), holding
 * `body` and the snippet's embed.js: a real page from there, its content then
 * replaced, so the browser treats it as that origin on the loopback network,
 * as it would the merchant's real page.
 */
export async function merchantPage(browser, stack, body, { origin = stack.shop, context = browser } = {}) {
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.setContent(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
    <body><main>${body}</main><script src="${stack.server}/embed.js"></script></body></html>`);
  await page.waitForFunction(() => window.Paylet);
  return page;
}

/** The gateway SDK's card frame inside the widget. */
export const CARD_FRAME = 'iframe[title="Secure card payment input frame"]';

/** Where the card is typed: the widget itself, or the gateway's frame in it. */
export function cardInputs(widget, style = STYLES[0]) {
  return style.fields === "gateway" ? widget.frameLocator(CARD_FRAME) : widget;
}

/** The demo shop with `item` in the checkout; its page and the widget frame. */
export async function openCheckout(browser, stack, item, style = STYLES[0], extra = "") {
  const page = await newShopPage(browser);
  await page.goto(`${stack.shop}/?item=${item}${style.query}${extra}`);
  const widget = page.frameLocator(WIDGET);
  await cardInputs(widget, style).getByLabel("Card number").waitFor();
  return { page, widget };
}

/** A new page that notes anything the widget's Content-Security-Policy refused, from any frame. */
export async function newShopPage(browser) {
  const page = await browser.newPage();
  page.cspViolations = [];
  page.on("console", (m) => {
    if (m.text().includes("Content Security Policy")) page.cspViolations.push(m.text());
  });
  return page;
}

/** The widget did all it did within its Content-Security-Policy. */
export function assertNoCspViolations(page) {
  assert.deepEqual(page.cspViolations, [], "Content-Security-Policy violations");
}

/** Fills contact, billing address and card as a shopper types them. */
export async function fillForm(widget, number, { cvc, email = "ada@example.com", style = STYLES[0] } = {}) {
  await widget.getByLabel("Email").fill(email);
  await widget.getByLabel("Name on card").fill("Ada Lovelace");
  await widget.getByLabel("Address", { exact: true }).fill("1 Main St");
  await widget.getByLabel("City").fill("Springfield");
  await widget.getByLabel("ZIP code").fill("94103");
  await fillCard(widget, number, cvc, style);
}

export async function fillCard(widget, number, cvc, style = STYLES[0]) {
  const gateway = style.fields === "gateway";
  const inputs = cardInputs(widget, style);
  await inputs.getByLabel("Card number").fill(number);
  await inputs.getByLabel(gateway ? "Expiry" : "Expiry (MM / YY)").fill("12 / 34");
  const digits = number.replaceAll(" ", "");
  await inputs.getByLabel(gateway ? "CVC" : "Security code").fill(cvc ?? (/^3[47]/.test(digits) ? "1234" : "123"));
}

/**
 * The first payment request reaches the server and the card is charged, but
 * its answer never reaches the widget: the network dropped it. Returns how
 * many payment requests the page has sent.
 */
export async function loseFirstPaymentAnswer(page) {
  let sent = 0;
  await page.route(/\/v1\/orders\/ord_\w+\/payments$/, async (route) => {
    if (sent++ === 0) {
      await route.fetch();
      return route.abort("connectionreset");
    }
    return route.continue();
  });
  return () => sent;
}

/** The order id the merchant page's `paylet:paid` listener showed. */
export async function paidOrderId(page) {
  const thanks = page.locator("#thanks");
  await thanks.waitFor();
  return (await thanks.textContent()).match(/ord_\w+/)[0];
}

/**
 * The retry after a lost answer paid the page's order, and the card was
 * charged once: `sent` counts the payment requests (loseFirstPaymentAnswer).
 */
export async function assertPaidOnceAfterLostAnswer(page, stack, sent) {
  const orderId = await paidOrderId(page);
  assert.equal(sent(), 2, "the first payment request and its retry");
  assert.equal(await gatewayPayments(stack, orderId), 1);
}

/** The order's status and total in the server's SQLite file. */
export function orderInDatabase(stack, orderId) {
  const script = "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); " +
    "r=c.execute('select status, total_amount from orders where id=?',(sys.argv[2],)).fetchone(); " +
    "print(r[0] + ' ' + str(r[1]) if r else '')";
  const [status, total] = execFileSync("python3", ["-c", script, stack.files.db, orderId]).toString().trim().split(" ");
  return { status, total: Number(total) };
}

/** How many payments for the order the gateway itself reports as taken. */
export async function gatewayPayments(stack, orderId) {
  const script = "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); " +
    "print(' '.join(r[0] for r in c.execute('select gateway_payment_id from payment_attempts " +
    "where order_id=? and gateway_payment_id is not null',(sys.argv[2],))))";
  const ids = execFileSync("python3", ["-c", script, stack.files.db, orderId]).toString().trim().split(" ").filter(Boolean);
  let taken = 0;
  for (const id of ids) {
    const square = !id.startsWith("pi_");
    const url = square ? `${stack.sandbox}/v2/payments/${id}` : `${stack.sandbox}/v1/payment_intents/${id}`;
    const key = square ? "EAAAEpaylet_demo" : "sk_test_paylet_demo";
    const body = await (await fetch(url, { headers: { authorization: `Bearer ${key}` } })).json();
    const status = square ? body.payment?.status : body.status;
    if (status === "COMPLETED" || status === "succeeded") taken += 1;
  }
  return taken;
}

// A full-page capture resizes the view while it shoots, and the widget's frame,
// drawn by another process, was caught mid-relayout: shifted or narrow. So the
// view is made as tall as the page first, every frame paints at that size, and
// the shot is of the view.
export async function screenshot(page, name) {
  const before = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: before.width, height: Math.max(height, before.height) });
  for (const frame of page.frames()) {
    await frame.evaluate(() => new Promise((painted) => requestAnimationFrame(() => requestAnimationFrame(painted))));
  }
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  await page.setViewportSize(before);
}

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/**
 * axe-core on the widget as it is now: every WCAG 2 A/AA rule, zero
 * violations allowed. The context bypasses CSP so the checker can be added.
 */
export async function assertAccessible(page, what) {
  const frame = page.frames().find((f) => f.url().includes("/widget/"));
  assert.ok(frame, `${what}: the widget frame`);
  await frame.evaluate(AXE);
  const result = await frame.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  const problems = result.violations.map((v) =>
    `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  assert.deepEqual(problems, [], `${what}: accessibility violations`);
}

/**
 * Every text (and blob) value in the database, one per line. The raw file runs one
 * column's text into the next: a UUID's all-digit last group followed by
 * another column's digits once made a Luhn-valid run by chance. (Numbers are
 * left out: a millisecond timestamp is 13 digits, Luhn-valid one time in ten.)
 */
function databaseTexts(stack) {
  const script = "import sqlite3,sys\nc = sqlite3.connect(sys.argv[1])\n" +
    "for (t,) in c.execute(\"select name from sqlite_master where type = 'table'\").fetchall():\n" +
    "    for row in c.execute('select * from \"%s\"' % t):\n" +
    "        print('\\n'.join(v if isinstance(v, str) else v.decode('latin1') for v in row if isinstance(v, (str, bytes))))";
  return execFileSync("python3", ["-c", script, stack.files.db], { maxBuffer: 1 << 28 }).toString();
}

/**
 * No card number in what the server received, logged or stored; all
 * tokenization went to the gateway, from the origins in `tokenizedBy` (the
 * widget's with Paylet's card fields, the gateway's own with its fields).
 * The test cards are looked for in the raw files (the database's free pages
 * and journal included); any card-number-shaped run in the same texts, with
 * the database read as its text values.
 * @param {any} stack
 * @param {string[]} cards
 * @param {{ tokenizedBy?: string[] }} [options]
 */
export async function assertNoCardData(stack, cards, { tokenizedBy = [new URL(stack.server).origin] } = {}) {
  const recorded = readLatin1(stack.files.recorder);
  assert.ok(recorded.includes("POST /v1/orders/"), "the recorder saw the payment requests");
  const log = readLatin1(stack.files.log);
  const files = {
    "requests to the server": recorded,
    "server log": log,
    "database file": ["", "-wal", "-shm"].map((s) => readLatin1(stack.files.db + s)).join("\n"),
  };
  for (const [place, text] of Object.entries(files)) {
    for (const card of cards) {
      assert.ok(!text.includes(card) && !text.includes(card.replaceAll(" ", "")), `${card} found in ${place}`);
    }
  }
  const texts = { "requests to the server": recorded, "server log": log, "database": databaseTexts(stack) };
  for (const [place, text] of Object.entries(texts)) {
    assert.deepEqual(findPans(text), [], `card-number-shaped data in ${place}`);
  }
  const requests = await (await fetch(`${stack.sandbox}/_sandbox/requests`)).json();
  const tokenizations = requests.filter((r) =>
    r.method === "POST" && /^\/v1\/tokens$|^\/v1\/payment_methods$|^\/v2\/card-nonces$/.test(r.path));
  assert.ok(tokenizations.length > 0, "cards were tokenized at the gateway");
  for (const r of tokenizations) assert.ok(tokenizedBy.includes(r.origin), `${r.path} from ${r.origin}`);
  return tokenizations.length;
}
