// Each decline and the gateway's hosted page, for both gateway styles, with
// Paylet's card fields and with the gateway's own (the sandbox's stand-ins of
// Stripe.js and the Web Payments SDK): the same words for the same declines,
// and the same way out to the gateway's page.

import { test } from "node:test";
import assert from "node:assert/strict";
import { withStack } from "../lib/stack.js";
import {
  CARDS, GATEWAY_FIELD_STYLES, STYLES, assertAccessible, assertNoCspViolations, assertNoCardData, fillForm,
  gatewayPayments, openCheckout, orderInDatabase, paidOrderId, screenshot,
} from "../lib/checkout.js";

let stack;
let browser;
withStack((s, b) => { stack = s; browser = b; });

const DECLINES = [
  ["declined", /Your card was declined/],
  ["lostCard", /Your card was declined/],
  ["insufficientFunds", /insufficient funds/],
  ["expired", /Your card has expired/],
  ["incorrectCvc", /security code is incorrect/],
  ["processingError", /could not process your card/],
];

/** The style's name in a test's, with its card-field mode when it is the gateway's. */
const named = (style) => (style.fields ? `${style.name} with the gateway's card fields` : style.name);
/** The style's prefix in a screenshot's name. */
const shot = (style) => (style.fields ? `${style.name}-gateway-fields` : style.name);

for (const style of [...STYLES, ...GATEWAY_FIELD_STYLES]) {
  test(`${named(style)}: each decline says why in plain words and the shopper can fix the card`, async () => {
    const { page, widget } = await openCheckout(browser, stack, "TEE-CLASSIC", style);
    const failed = page.evaluate(() => new Promise((resolve) =>
      document.addEventListener("paylet:failed", (e) => resolve(e.detail), { once: true })));
    for (const [card, reason] of DECLINES) {
      await fillForm(widget, CARDS[card], { style });
      await widget.getByRole("button", { name: "Pay $25.00" }).click();
      const alert = widget.getByRole("alert").filter({ hasText: reason });
      await alert.waitFor();
      assert.equal(await widget.getByRole("button", { name: "Pay $25.00" }).isEnabled(), true, card);
      if (card === "declined") {
        assert.match((await failed).code, /card_declined/);
        await assertAccessible(page, "declined");
        await screenshot(page, `${shot(style)}-declined`);
      }
    }
    // The same order, now paid with a good card.
    await fillForm(widget, CARDS.visa, { style });
    await widget.getByRole("button", { name: "Pay $25.00" }).click();
    const orderId = await paidOrderId(page);
    assert.equal(orderInDatabase(stack, orderId).status, "paid");
    assert.equal(await gatewayPayments(stack, orderId), 1);
    assertNoCspViolations(page);
    await page.close();
  });

  test(`${named(style)}: the gateway's hosted page, and back to the shop`, async () => {
    const { page, widget } = await openCheckout(browser, stack, "MUG-ENAMEL", style);
    await fillForm(widget, CARDS.visa, { style });
    await widget.getByRole("button", { name: /^Pay on .* page instead$/ }).click();
    await page.waitForURL((url) => url.pathname.startsWith("/hosted/"));
    // The gateway's own page: the card is typed there, not in the widget.
    await page.getByLabel("Card number").fill(CARDS.visa);
    await page.getByLabel("Expiry (MM / YY)").fill("12 / 34");
    await page.getByLabel("Security code").fill("123");
    if (style.name === "square") await page.getByLabel("Postal code").fill("94103");
    await page.getByRole("button", { name: /^Pay / }).click();
    await page.waitForURL((url) => url.origin === stack.shop);
    const widgetAgain = page.frameLocator('iframe[title="Secure checkout"]');
    await widgetAgain.getByRole("heading", { name: "Paid" }).waitFor();
    const orderId = await paidOrderId(page);
    assert.equal(orderInDatabase(stack, orderId).status, "paid");
    // The shop's address bar no longer carries the order.
    assert.ok(!page.url().includes("paylet_order"), page.url());
    await screenshot(page, `${shot(style)}-hosted-paid`);
    assertNoCspViolations(page);
    await page.close();
  });
}

test("the server never received card data; the gateway got it from the widget's origin or its own", async () => {
  const origins = [new URL(stack.server).origin, new URL(stack.sandbox).origin];
  await assertNoCardData(stack, Object.values(CARDS), { tokenizedBy: origins });
});
