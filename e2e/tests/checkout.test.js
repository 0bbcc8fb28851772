// The walking skeleton, as a shopper does it: pick a product in the demo shop,
// pay in the framed widget, see the outcome. Then prove no card data reached
// the Paylet server.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { startStack, launchBrowser, readLatin1, ARTIFACTS } from "../lib/stack.js";
import { findPans } from "../lib/pan.js";

const CARDS = { success: "4242 4242 4242 4242", declined: "4000 0000 0000 0002" };
let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function openCheckout(item) {
  const page = await browser.newPage();
  await page.goto(`${stack.shop}/?item=${item}`);
  const widget = page.frameLocator('iframe[title="Secure checkout"]');
  return { page, widget };
}

async function fillCard(widget, number) {
  await widget.getByLabel("Email").fill("ada@example.com");
  await widget.getByLabel("Card number").fill(number);
  await widget.getByLabel("Expiry (MM / YY)").fill("12 / 34");
  await widget.getByLabel("Security code").fill("123");
}

function orderInDatabase(orderId) {
  const script = "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); " +
    "r=c.execute('select status, total_amount from orders where id=?',(sys.argv[2],)).fetchone(); " +
    "print(r[0] + ' ' + str(r[1]) if r else '')";
  const [status, total] = execFileSync("python3", ["-c", script, stack.files.db, orderId]).toString().trim().split(" ");
  return { status, total: Number(total) };
}

test("a shopper pays with a good card and the shop hears about it", async () => {
  const { page, widget } = await openCheckout("TEE-CLASSIC");
  await assert.doesNotReject(widget.getByText("$25.00").first().waitFor());
  await fillCard(widget, CARDS.success);
  await widget.getByRole("button", { name: "Pay $25.00" }).click();

  await widget.getByRole("heading", { name: "Paid" }).waitFor();
  const thanks = page.locator("#thanks");
  await thanks.waitFor();
  const orderId = (await thanks.textContent()).match(/ord_\w+/)[0];
  await page.screenshot({ path: join(ARTIFACTS, "checkout-paid.png"), fullPage: true });

  assert.equal(orderInDatabase(orderId).status, "paid");
  await page.close();
});

test("a gift set the shop's backend priced is paid through its checkout session", async () => {
  const page = await browser.newPage();
  await page.goto(`${stack.shop}/?bundle=GIFT-SET`);
  const sessionId = await page.locator("[data-checkout-session]").getAttribute("data-checkout-session");
  assert.match(sessionId, /^cs_/);
  const widget = page.frameLocator('iframe[title="Secure checkout"]');
  await widget.getByText("Gift wrapping").waitFor();
  await fillCard(widget, CARDS.success);
  await widget.getByRole("button", { name: "Pay $39.00" }).click();
  await widget.getByRole("heading", { name: "Paid" }).waitFor();
  const orderId = (await page.locator("#thanks").textContent()).match(/ord_\w+/)[0];
  assert.deepEqual(orderInDatabase(orderId), { status: "paid", total: 3900 });
  await page.screenshot({ path: join(ARTIFACTS, "checkout-session-paid.png"), fullPage: true });
  await page.close();

  // The session is spent: opening its checkout again cannot pay it twice.
  const session = await (await fetch(`${stack.server}/v1/checkout-sessions/${sessionId}`)).json();
  assert.equal(session.status, "complete");
  const again = await browser.newPage();
  await again.goto(`${stack.server}/widget/?store=st_demo&session=${sessionId}`);
  await again.getByRole("alert").filter({ hasText: "already been paid" }).waitFor();
  await again.close();
});

test("a declined card shows why and leaves the shopper on the form", async () => {
  const { page, widget } = await openCheckout("MUG-ENAMEL");
  await fillCard(widget, CARDS.declined);
  await widget.getByRole("button", { name: "Pay $18.00" }).click();

  const alert = widget.getByRole("alert").filter({ hasText: "declined" });
  await alert.waitFor();
  assert.match(await alert.textContent(), /Your card was declined/);
  assert.equal(await widget.getByRole("button", { name: "Pay $18.00" }).isEnabled(), true);
  await page.screenshot({ path: join(ARTIFACTS, "checkout-declined.png"), fullPage: true });
  await page.close();
});

test("the server never received card data; the gateway got it from the widget's origin", async () => {
  const recorded = readLatin1(stack.files.recorder);
  assert.ok(recorded.includes("POST /v1/orders/"), "the recorder saw the payment requests");

  const places = {
    "requests to the server": recorded,
    "server log": readLatin1(stack.files.log),
    "database": ["", "-wal", "-shm"].map((s) => readLatin1(stack.files.db + s)).join("\n"),
  };
  for (const [place, text] of Object.entries(places)) {
    for (const card of Object.values(CARDS)) {
      assert.ok(!text.includes(card) && !text.includes(card.replaceAll(" ", "")), `${card} found in ${place}`);
    }
    assert.deepEqual(findPans(text), [], `card-number-shaped data in ${place}`);
  }

  const requests = await (await fetch(`${stack.sandbox}/_sandbox/requests`)).json();
  const tokenizations = requests.filter((r) => r.method === "POST" && r.path === "/v1/tokens");
  assert.equal(tokenizations.length, 3);
  for (const r of tokenizations) assert.equal(r.origin, new URL(stack.server).origin);
});
