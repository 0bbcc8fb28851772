// A checkout the merchant's backend priced (a checkout session), paid in the
// framed widget; then proof that no card data reached the Paylet server.
// (Every payment flow, per gateway style, is in flows.test.js.)

import { test } from "node:test";
import assert from "node:assert/strict";
import { withStack } from "../lib/stack.js";
import { CARDS, WIDGET, assertNoCardData, fillForm, orderInDatabase, paidOrderId, screenshot } from "../lib/checkout.js";

let stack;
let browser;
withStack((s, b) => { stack = s; browser = b; });

test("a gift set the shop's backend priced is paid through its checkout session", async () => {
  const page = await browser.newPage();
  await page.goto(`${stack.shop}/?bundle=GIFT-SET`);
  const sessionId = await page.locator("[data-session]").getAttribute("data-session");
  assert.match(sessionId, /^cs_/);
  const widget = page.frameLocator(WIDGET);
  await widget.getByText("Gift wrapping").waitFor();
  await fillForm(widget, CARDS.visa);
  await widget.getByRole("button", { name: "Pay $39.00" }).click();
  await widget.getByRole("heading", { name: "Paid" }).waitFor();
  const orderId = await paidOrderId(page);
  assert.deepEqual(orderInDatabase(stack, orderId), { status: "paid", total: 3900 });
  await screenshot(page, "checkout-session-paid");
  await page.close();

  // The session is spent: opening its checkout again cannot pay it twice.
  const session = await (await fetch(`${stack.server}/v1/checkout-sessions/${sessionId}`)).json();
  assert.equal(session.status, "complete");
  const again = await browser.newPage();
  await again.goto(`${stack.server}/widget/?store=st_demo&session=${sessionId}`);
  await again.getByRole("alert").filter({ hasText: "already been paid" }).waitFor();
  await again.close();
});

test("the server never received card data; the gateway got it from the widget's origin", async () => {
  assert.equal(await assertNoCardData(stack, [CARDS.visa]), 1);
});
