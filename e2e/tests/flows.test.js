// Every way a shopper's payment goes, for both gateway styles: each brand,
// each decline, 3-D Secure passed and failed, the gateway's hosted page, a
// double click, and a lost answer retried. Declines and the hosted page also
// with the gateway's own card fields (gateway-fields.test.js has the rest of
// that mode). Each state is checked with axe-core and kept as a screenshot.

import { test } from "node:test";
import assert from "node:assert/strict";
import { withStack } from "../lib/stack.js";
import {
  CARDS, GATEWAY_FIELD_STYLES, STYLES, assertAccessible, assertNoCspViolations, assertNoCardData, fillForm, gatewayPayments,
  loseFirstPaymentAnswer, openCheckout, orderInDatabase, paidOrderId, screenshot,
} from "../lib/checkout.js";

let stack;
let browser;
withStack((s, b) => { stack = s; browser = b; });

const BRANDS = [
  ["visa", "Visa"], ["mastercard", "Mastercard"], ["amex", "American Express"], ["discover", "Discover"],
  ["jcb", "JCB"], ["diners", "Diners Club"], ["unionpay", "UnionPay"],
];

const DECLINES = [
  ["declined", /Your card was declined/],
  ["lostCard", /Your card was declined/],
  ["insufficientFunds", /insufficient funds/],
  ["expired", /Your card has expired/],
  ["incorrectCvc", /security code is incorrect/],
  ["processingError", /could not process your card/],
];

for (const style of STYLES) {
  test(`${style.name}: each brand is recognised as typed and pays`, async () => {
    const { page, widget } = await openCheckout(browser, stack, "MUG-ENAMEL", style);
    await assertAccessible(page, "the empty form");
    // The billing country starts as the browser's region, and the postal code follows it.
    assert.equal(await widget.getByLabel("Country").inputValue(), "US");
    await widget.getByLabel("Country").selectOption("DE");
    await widget.getByLabel("Postal code").waitFor();
    await widget.getByLabel("Country").selectOption("US");
    for (const [card, name] of BRANDS) {
      await fillForm(widget, CARDS[card]);
      assert.equal(await widget.locator(".brand").textContent(), name, card);
      // Grouped as the brand prints it: Amex and Diners 4-6-5 and 4-6-4.
      assert.equal(await widget.getByLabel("Card number").inputValue(), CARDS[card], card);
    }
    assertNoCspViolations(page);
    await page.close();

    for (const [card] of BRANDS) {
      const { page, widget } = await openCheckout(browser, stack, "CAP-CANVAS", style);
      await fillForm(widget, CARDS[card]);
      await widget.getByRole("button", { name: "Pay $22.00" }).click();
      await widget.getByRole("heading", { name: "Paid" }).waitFor();
      const orderId = await paidOrderId(page);
      assert.equal(orderInDatabase(stack, orderId).status, "paid", card);
      if (card === "visa") {
        await assertAccessible(page, "paid");
        await screenshot(page, `${style.name}-paid`);
      }
      assertNoCspViolations(page);
    await page.close();
    }
  });

  test(`${style.name}: 3-D Secure in a modal, passed and failed`, async () => {
    const { page, widget } = await openCheckout(browser, stack, "TEE-CLASSIC", style);
    await fillForm(widget, CARDS.threeDSecure);
    await widget.getByRole("button", { name: "Pay $25.00" }).click();
    const dialog = widget.getByRole("dialog", { name: "Confirm your payment" });
    await dialog.waitFor();
    await assertAccessible(page, "3-D Secure challenge");
    await screenshot(page, `${style.name}-challenge`);
    // The keyboard goes round the dialog: it, the bank's page, Cancel, and back.
    const frame = page.frames().find((f) => f.url().includes("/widget/?"));
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press("Tab");
      assert.ok(await frame.evaluate(() => document.activeElement.closest(".modal") !== null), `Tab ${i + 1}`);
    }
    const bank = dialog.frameLocator("iframe");
    await bank.getByRole("button", { name: /^Fail/ }).click();
    await widget.getByRole("alert").filter({ hasText: "could not confirm this payment" }).waitFor();
    await dialog.waitFor({ state: "detached" });

    await fillForm(widget, CARDS.threeDSecure);
    await widget.getByRole("button", { name: "Pay $25.00" }).click();
    await dialog.frameLocator("iframe").getByRole("button", { name: /^Complete/ }).click();
    const orderId = await paidOrderId(page);
    assert.equal(orderInDatabase(stack, orderId).status, "paid");
    assert.equal(await gatewayPayments(stack, orderId), 1);
    assertNoCspViolations(page);
    await page.close();
  });

  test(`${style.name}: a double click pays once`, async () => {
    const { page, widget } = await openCheckout(browser, stack, "TEE-CLASSIC", style);
    await fillForm(widget, CARDS.visa);
    await widget.getByRole("button", { name: "Pay $25.00" }).dblclick();
    const orderId = await paidOrderId(page);
    assert.equal(await gatewayPayments(stack, orderId), 1);
    assertNoCspViolations(page);
    await page.close();
  });

  test(`${style.name}: a payment whose answer is lost is retried and charged once`, async () => {
    const { page, widget } = await openCheckout(browser, stack, "TEE-CLASSIC", style);
    const sent = await loseFirstPaymentAnswer(page);
    await fillForm(widget, CARDS.visa);
    await widget.getByRole("button", { name: "Pay $25.00" }).click();
    const alert = widget.getByRole("alert").filter({ hasText: "could not reach the payment service" });
    await alert.waitFor();
    await assertAccessible(page, "network error");
    await screenshot(page, `${style.name}-network-error`);
    await alert.getByRole("button", { name: "Try again" }).click();
    const orderId = await paidOrderId(page);
    assert.equal(sent(), 2);
    assert.equal(await gatewayPayments(stack, orderId), 1);
    assertNoCspViolations(page);
    await page.close();
  });
}

/** The style's name in a test's, with its card-field mode when it is the gateway's. */
const named = (style) => (style.fields ? `${style.name} with the gateway's card fields` : style.name);
/** The style's prefix in a screenshot's name. */
const shot = (style) => (style.fields ? `${style.name}-gateway-fields` : style.name);

// With either card fields: the same words for the same declines, and the
// same way out to the gateway's page.
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
