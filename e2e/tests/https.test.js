// The checkout over HTTPS: `paylet demo --tls-cert …` serves the Paylet server
// with a certificate this test issues from its own CA, and Chromium is told to
// trust that one certificate's key (not to ignore certificate errors).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, launchBrowser } from "../lib/stack.js";
import { CARDS, assertNoCardData, assertNoCspViolations, fillForm, openCheckout, orderInDatabase, paidOrderId, screenshot }
  from "../lib/checkout.js";

/** A private CA and a certificate it issued for 127.0.0.1 and localhost, by Debian's openssl. */
function issueCertificate() {
  const dir = mkdtempSync(join(tmpdir(), "paylet-tls-"));
  const openssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=Paylet e2e CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
  openssl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
  writeFileSync(join(dir, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf");
  const leaf = readFileSync(join(dir, "server.pem"), "utf8");
  writeFileSync(join(dir, "chain.pem"), leaf + readFileSync(join(dir, "ca.pem"), "utf8"));
  // What Chromium's --ignore-certificate-errors-spki-list names: this key, and no other.
  const spki = new X509Certificate(leaf).publicKey.export({ type: "spki", format: "der" });
  return { cert: join(dir, "chain.pem"), key: join(dir, "server.key"), spki: createHash("sha256").update(spki).digest("base64") };
}

let stack;
let browser;
let tls;
before(async () => {
  tls = issueCertificate();
  stack = await startStack({ tls });
  browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${tls.spki}`]);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("a shopper pays over HTTPS, and the widget is served with HSTS", async () => {
  assert.match(stack.server, /^https:\/\/127\.0\.0\.1:\d+$/);
  const widgetPages = [];
  const { page, widget } = await openCheckout(browser, stack, "TEE-CLASSIC");
  page.on("response", (r) => r.url().includes("/widget/") && widgetPages.push(r));
  // The frame already loaded; load it again with the listener on. The widget
  // page is cached for a minute, so from a page address it was not cached for
  // (its URL carries the return URL).
  await page.goto(`${page.url()}&visit=2`);
  await widget.getByLabel("Card number").waitFor();
  const frame = widgetPages.find((r) => r.url().startsWith(`${stack.server}/widget/`));
  assert.ok(frame, "the widget came from the HTTPS server");
  assert.equal((await frame.allHeaders())["strict-transport-security"], "max-age=63072000; includeSubDomains");
  assert.equal(await widget.locator("body").evaluate(() => window.isSecureContext), true);
  await widget.getByText("your card goes straight to").waitFor();

  await fillForm(widget, CARDS.visa);
  await widget.getByRole("button", { name: "Pay $25.00" }).click();
  await widget.getByRole("heading", { name: "Paid" }).waitFor();
  const orderId = await paidOrderId(page);
  assert.deepEqual(orderInDatabase(stack, orderId), { status: "paid", total: 2500 });
  assertNoCspViolations(page);
  await screenshot(page, "https-paid");
  await page.close();
});

test("a browser not told to trust the certificate refuses the server", async () => {
  const untrusting = await launchBrowser();
  try {
    const page = await untrusting.newPage();
    await assert.rejects(page.goto(`${stack.server}/healthz`), /ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    await untrusting.close();
  }
});

test("the server never received card data over HTTPS either", async () => {
  assert.equal(await assertNoCardData(stack, [CARDS.visa]), 1);
});
