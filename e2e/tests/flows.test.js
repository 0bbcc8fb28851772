// The ways a shopper's payment goes with Paylet's card fields, for both
// gateway styles: each brand, 3-D Secure passed and failed, a double click,
// and a lost answer retried (each decline and the hosted page, in both
// card-field modes, are in declines.test.js). Each state is checked with
// axe-core and kept as a screenshot.

import { test } from "node:test";
import assert from "node:assert/strict";
import { withStack } from "../lib/stack.js";
import {
  CARDS, STYLES, assertAccessible, assertNoCspViolations, assertNoCardData, assertPaidOnceAfterLostAnswer, fillForm,
  gatewayPayments, loseFirstPaymentAnswer, openCheckout, orderInDatabase, paidOrderId, screenshot,
} from "../lib/checkout.js";

let stack;
let browser;
withStack((s, b) => { stack = s; browser = b; });

const BRANDS = [
  ["visa", "Visa"], ["mastercard", "Mastercard"], ["amex", "American Express"], ["discover", "Discover"],
  ["jcb", "JCB"], ["diners", "Diners Club"], ["unionpay", "UnionPay"],
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
    await assertPaidOnceAfterLostAnswer(page, stack, sent);
    assertNoCspViolations(page);
    await page.close();
  });
}

test("the server never received card data; the gateway got it from the widget's origin", async () => {
  await assertNoCardData(stack, Object.values(CARDS));
});
