// The same checkout with the gateway's own card fields (`card_fields =
// gateway`), for both styles, against the sandbox's stand-ins of Stripe.js and
// Square's Web Payments SDK: the card is typed into the SDK's frame on the
// gateway's origin, so neither the Paylet server nor the Paylet frame's own
// code ever holds it. Each brand, 3-D Secure passed and failed (in the SDK's
// own challenge), a double click, a lost answer retried, with and without a
// challenge. Declines and the hosted page are in flows.test.js, a hostile
// merchant page in embedding.test.js, for both kinds of card fields.

import { test } from "node:test";
import assert from "node:assert/strict";
import { payletCommand, withStack } from "../lib/stack.js";
import {
  CARDS, GATEWAY_FIELD_STYLES, STYLES, WIDGET, assertAccessible, assertNoCardData, assertNoCspViolations,
  assertPaidOnceAfterLostAnswer, cardInputs, fillCard, fillForm, gatewayPayments, loseFirstPaymentAnswer, merchantPage,
  newShopPage, openCheckout, orderInDatabase, paidOrderId, screenshot,
} from "../lib/checkout.js";

let stack;
let browser;
withStack((s, b) => { stack = s; browser = b; });

/** The challenge the SDK opens in the Paylet frame, on the gateway's origin. */
const SDK_CHALLENGE = 'iframe[title="3D Secure authentication"]';

for (const style of GATEWAY_FIELD_STYLES) {
  test(`${style.name} with the gateway's card fields: each brand pays, typed into the gateway's frame`, async () => {
    for (const card of ["visa", "mastercard", "amex", "discover", "jcb", "diners", "unionpay"]) {
      const { page, widget } = await openCheckout(browser, stack, "CAP-CANVAS", style);
      // The card inputs are a frame of the gateway's origin, not the Paylet frame's.
      const cardFrame = page.frames().find((f) => f.url().includes("/js/card-frame.html"));
      assert.equal(new URL(cardFrame.url()).origin, new URL(stack.sandbox).origin);
      await fillForm(widget, CARDS[card], { style });
      // The Paylet frame's own document holds no card number.
      const paylet = page.frames().find((f) => f.url().includes("/widget/?"));
      const digits = CARDS[card].replaceAll(" ", "");
      const seen = await paylet.evaluate(() =>
        document.documentElement.outerHTML + [...document.querySelectorAll("input")].map((i) => i.value).join(" "));
      assert.ok(!seen.includes(digits) && !seen.includes(CARDS[card]), `${card} in the Paylet frame`);
      await widget.getByRole("button", { name: "Pay $22.00" }).click();
      await widget.getByRole("heading", { name: "Paid" }).waitFor();
      const orderId = await paidOrderId(page);
      assert.equal(orderInDatabase(stack, orderId).status, "paid", card);
      assert.equal(await gatewayPayments(stack, orderId), 1, card);
      if (card === "visa") {
        await assertAccessible(page, "paid with the gateway's fields");
        await screenshot(page, `${style.name}-gateway-fields-paid`);
      }
      assertNoCspViolations(page);
      await page.close();
    }
  });

  test(`${style.name} with the gateway's card fields: paylet:ready waits until the card can be typed`, async () => {
    const page = await newShopPage(browser);
    await page.addInitScript(() => {
      document.addEventListener("paylet:ready", () => { window.readyAt ??= performance.now(); }, true);
    });
    // The gateway's SDK is slow to arrive.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route(style.name === "stripe" ? /\/js\/stripe\/v3\/$/ : /\/js\/square\/v1\/square\.js$/, async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${stack.shop}/?item=TEE-CLASSIC${style.query}`);
    const widget = page.frameLocator(WIDGET);
    await widget.getByRole("button", { name: "Pay $25.00" }).waitFor();
    // embed.js has applied the widget's height, which the widget reports
    // after rendering; a ready sent at rendering would have arrived first.
    await page.waitForFunction((frame) => document.querySelector(frame).style.height !== "480px", WIDGET);
    assert.equal(await page.evaluate(() => window.readyAt), undefined, "ready before the card fields exist");
    release();
    await page.waitForFunction(() => window.readyAt !== undefined);
    await cardInputs(widget, style).getByLabel("Card number").fill(CARDS.visa);
    assertNoCspViolations(page);
    await page.close();
  });

  test(`${style.name} with the gateway's card fields: 3-D Secure in the SDK's challenge, failed then passed`, async () => {
    const { page, widget } = await openCheckout(browser, stack, "TEE-CLASSIC", style);
    await fillForm(widget, CARDS.threeDSecure, { style });
    await widget.getByRole("button", { name: "Pay $25.00" }).click();
    const bank = widget.frameLocator(SDK_CHALLENGE);
    await bank.getByRole("button", { name: /^Fail/ }).click();
    await widget.getByRole("alert").filter({ hasText: "could not confirm this payment" }).waitFor();
    await widget.locator(SDK_CHALLENGE).waitFor({ state: "detached" });

    await fillForm(widget, CARDS.threeDSecure, { style });
    await widget.getByRole("button", { name: "Pay $25.00" }).click();
    await screenshot(page, `${style.name}-gateway-fields-challenge`);
    await widget.frameLocator(SDK_CHALLENGE).getByRole("button", { name: /^Complete/ }).click();
    const orderId = await paidOrderId(page);
    assert.equal(orderInDatabase(stack, orderId).status, "paid");
    assert.equal(await gatewayPayments(stack, orderId), 1);
    assertNoCspViolations(page);
    await page.close();
  });

  test(`${style.name} with the gateway's card fields: a double click and a lost answer each charge once`, async () => {
    const first = await openCheckout(browser, stack, "TEE-CLASSIC", style);
    await fillForm(first.widget, CARDS.visa, { style });
    await first.widget.getByRole("button", { name: "Pay $25.00" }).dblclick();
    assert.equal(await gatewayPayments(stack, await paidOrderId(first.page)), 1);
    await first.page.close();

    const { page, widget } = await openCheckout(browser, stack, "TEE-CLASSIC", style);
    const sent = await loseFirstPaymentAnswer(page);
    await fillForm(widget, CARDS.visa, { style });
    await widget.getByRole("button", { name: "Pay $25.00" }).click();
    const alert = widget.getByRole("alert").filter({ hasText: "could not reach the payment service" });
    await alert.getByRole("button", { name: "Try again" }).click();
    await assertPaidOnceAfterLostAnswer(page, stack, sent);
    assertNoCspViolations(page);
    await page.close();
  });

  test(`${style.name} with the gateway's card fields: a challenged payment whose answer was lost is challenged again, and charges once`, async () => {
    const { page, widget } = await openCheckout(browser, stack, "TEE-CLASSIC", style);
    const sent = await loseFirstPaymentAnswer(page);
    await fillForm(widget, CARDS.threeDSecure, { style });
    await widget.getByRole("button", { name: "Pay $25.00" }).click();
    const complete = () => widget.frameLocator(SDK_CHALLENGE).getByRole("button", { name: /^Complete/ }).click();
    // Square's SDK verifies the buyer before the charge; Stripe's challenge
    // comes in the charge's answer, which is the one lost.
    if (style.name === "square") await complete();
    const alert = widget.getByRole("alert").filter({ hasText: "could not reach the payment service" });
    await alert.getByRole("button", { name: "Try again" }).click();
    if (style.name === "stripe") await complete();
    await assertPaidOnceAfterLostAnswer(page, stack, sent);
    assertNoCspViolations(page);
    await page.close();
  });
}

test("with the gateway's card fields, its errors and the gateway's declines are said in the checkout's language", async () => {
  // The checkout's own texts (widget/src/i18n.rs), as Paylet's card fields say them.
  const expected = {
    de: { number: "Die Kartennummer ist falsch. Bitte prüfen Sie sie und versuchen Sie es erneut.",
      declined: "Ihre Karte wurde abgelehnt. Bitte verwenden Sie eine andere Karte." },
    fr: { number: "Le numéro de carte est incorrect. Vérifiez-le et réessayez.",
      declined: "Votre carte a été refusée. Veuillez utiliser une autre carte." },
    es: { number: "El número de tarjeta es incorrecto. Revísalo e inténtalo de nuevo.",
      declined: "Tu tarjeta ha sido rechazada. Usa otra tarjeta." },
  };
  for (const style of GATEWAY_FIELD_STYLES) {
    for (const [locale, want] of Object.entries(expected)) {
      const page = await merchantPage(browser, stack,
        `<div data-paylet-store="${style.store}" data-items="TEE-CLASSIC:1" data-locale="${locale}"></div>`);
      const widget = page.frameLocator(WIDGET);
      const alert = widget.getByRole("alert");
      // The checkout's labels are in the locale; the stand-in's card frame's are not.
      const fields = { email: "ada@example.com", name: "Ada Lovelace", "billing-line1": "1 Main St",
        "billing-city": "Springfield", "billing-postal": "94103" };
      for (const [id, value] of Object.entries(fields)) await widget.locator(`#${id}`).fill(value);
      // The gateway refuses a number that fails its check; then it declines a card.
      await fillCard(widget, "4242 4242 4242 4241", undefined, style);
      await widget.locator("button.pay").click();
      await alert.filter({ hasText: want.number }).waitFor();
      await fillCard(widget, CARDS.declined, undefined, style);
      await widget.locator("button.pay").click();
      await alert.filter({ hasText: want.declined }).waitFor();
      await page.close();
    }
  }
});

test("a shopper whose browser kept the checkout from before the store switched to the gateway's card fields pays in them", async () => {
  const [paylet, gateway] = [STYLES[0], GATEWAY_FIELD_STYLES[0]];
  const { page, widget } = await openCheckout(browser, stack, "CAP-CANVAS", paylet);
  await payletCommand(stack, ["store", "card-fields", "--store", paylet.store, "gateway"]);
  try {
    // Within the minute the browser keeps the widget's page, it has the build
    // for Paylet's fields; the widget sees the store's new kind and loads the
    // page again under a URL no cache holds.
    await page.goto(`${stack.shop}/?item=CAP-CANVAS`);
    await fillForm(widget, CARDS.visa, { style: gateway });
    const frame = page.frames().find((f) => f.url().includes("/widget/?"));
    assert.ok(frame.url().endsWith("&fresh"), `the cached page was not used: ${frame.url()}`);
    await widget.getByRole("button", { name: "Pay $22.00" }).click();
    await widget.getByRole("heading", { name: "Paid" }).waitFor();
    assert.equal(await gatewayPayments(stack, await paidOrderId(page)), 1);
    assertNoCspViolations(page);
  } finally {
    await payletCommand(stack, ["store", "card-fields", "--store", paylet.store, "paylet"]);
    await page.close();
  }
});

test("with the gateway's card fields the page's policy adds the SDK's origin, and the server never saw a card", async () => {
  for (const style of GATEWAY_FIELD_STYLES) {
    const page = await fetch(`${stack.server}/widget/?store=${style.store}`);
    const csp = page.headers.get("content-security-policy");
    const sandbox = new URL(stack.sandbox).origin;
    for (const directive of ["script-src", "frame-src", "connect-src"]) {
      const sources = csp.split(";").map((d) => d.trim()).find((d) => d.startsWith(`${directive} `));
      assert.ok(sources.split(" ").includes(sandbox), `${style.name}: ${directive} allows ${sandbox}: ${sources}`);
    }
  }
  // The Paylet-fields store's page does not load scripts from the gateway.
  const paylet = (await fetch(`${stack.server}/widget/?store=st_demo`)).headers.get("content-security-policy");
  assert.ok(!paylet.split(";").find((d) => d.trim().startsWith("script-src ")).includes(new URL(stack.sandbox).host));

  const recorded = await (await fetch(`${stack.sandbox}/_sandbox/requests`)).json();
  const tokenizations = recorded.filter((r) => r.method === "POST" && /^\/v1\/payment_methods$|^\/v2\/card-nonces$/.test(r.path));
  assert.ok(tokenizations.length > 0);
  // Every card went from the SDK's frame on the gateway's own origin.
  for (const r of tokenizations) assert.equal(r.origin, new URL(stack.sandbox).origin, r.path);
  await assertNoCardData(stack, Object.values(CARDS), { tokenizedBy: [new URL(stack.sandbox).origin] });
});
