// `cargo xtask bench widget`, the timing half: how long a shopper waits for the
// card fields. Starts `paylet demo` from the release build (the recorder off),
// opens the demo shop's checkout page (the real snippet) in headless Chromium
// many times, and prints median and p90. Nothing here asserts a speed.
//
//   node bench/load.js [--samples 20] [--item TEE-CLASSIC]    (from e2e/)
//
// What is timed, inside the merchant's page: from the end of embed.js's
// download (its PerformanceResourceTiming `responseEnd`) to the `paylet:ready`
// event embed.js dispatches on the container when the widget says its card
// fields are rendered. embed.js is an `async` script, so it runs as soon as it
// has arrived: `responseEnd` is when it starts executing, give or take a task,
// it is there for any script without changing embed.js, and it leaves out the
// download of embed.js itself, which depends on where and how the merchant's
// page loads the snippet. (A cross-origin entry without Timing-Allow-Origin
// still has `fetchStart` and `responseEnd`.) The figure from `fetchStart` is
// printed too, and so is when embed.js really began: a getter on
// `window.Paylet`, installed before the page's scripts, notes the first time
// embed.js reads it, which is its first statement.
//
// Cold: a fresh browser context per sample (empty HTTP cache, no connections).
// Warm: a fresh context loads the page once, waits a second (as a shopper
// coming back would, and so Chromium can store what it caches in the
// background, such as compiled WASM), then the page is reloaded and timed.
// The first two cold loads after the browser starts are not counted.
//
// Both card-field modes: Paylet's own fields (the demo's `st_demo`), and the
// gateway's (`?fields=gateway`, `st_demofields`: the sandbox's stand-in for
// Stripe.js mounts its card frame), where `paylet:ready` waits for the SDK's
// card fields. The SDK's bytes are the gateway's, not the widget's (and a
// cross-origin resource without Timing-Allow-Origin reports no size here).
//
// The floor: the same loads with the widget page replaced by a blank page
// whose first script says `ready` (the same server, origin and snippet). It is
// what any checkout in a cross-site frame pays before its own code runs here:
// the frame's navigation, its renderer process, and the messages between them.

import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WIDGET_DIST, startStack, launchBrowser } from "../lib/stack.js";

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const SAMPLES = Number(arg("--samples", "20"));
const ITEM = arg("--item", "TEE-CLASSIC");
const BUDGET = { cold: 300, warm: 100 };
const log = (...a) => console.error(...a);

// Runs in the merchant's page before any of its scripts.
function instrument() {
  const t = (window.__paylet = { ready: undefined, embedRuns: undefined });
  document.addEventListener("paylet:ready", () => { t.ready ??= performance.now(); }, true);
  let paylet;
  Object.defineProperty(window, "Paylet", {
    configurable: true,
    get() { t.embedRuns ??= performance.now(); return paylet; },
    set(v) { paylet = v; },
  });
}

async function timeLoad(page, load) {
  await load();
  await page.waitForFunction(() => window.__paylet?.ready !== undefined, null, { timeout: 30_000 });
  const parent = await page.evaluate(() => {
    const embed = performance.getEntriesByType("resource").find((e) => /\/embed\.js(\?|$)/.test(e.name));
    return {
      origin: performance.timeOrigin,
      ready: window.__paylet.ready,
      embedRuns: window.__paylet.embedRuns,
      embed: embed && { name: embed.name, fetchStart: embed.fetchStart, responseEnd: embed.responseEnd },
    };
  });
  if (!parent.embed) throw new Error("no resource timing entry for embed.js on the shop page");
  const frame = page.frames().find((f) => f.url().includes("/widget/"));
  const widget = frame && await frame.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const entry = (e) => ({
      name: e.name, fetchStart: e.fetchStart, responseEnd: e.responseEnd,
      transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize,
    });
    return { origin: performance.timeOrigin, nav: entry(nav), resources: performance.getEntriesByType("resource").map(entry) };
  });
  return sample(parent, widget);
}

// One load's figures, in ms, on the merchant page's clock from embed.js's responseEnd.
function sample(parent, widget) {
  const start = parent.embed.responseEnd;
  const s = {
    total: parent.ready - start,
    fromFetch: parent.ready - parent.embed.fetchStart,
    embedRuns: parent.embedRuns === undefined ? undefined : parent.embedRuns - start,
  };
  if (!widget) return s;
  // The widget frame's times, moved onto the parent's clock.
  const at = (t) => widget.origin + t - parent.origin - start;
  const find = (re) => widget.resources.filter((r) => re.test(new URL(r.name).pathname));
  const code = find(/\/widget\/.*\.(js|wasm)$/);
  const wasm = find(/\.wasm$/)[0];
  const config = find(/\/checkout-config$/)[0] ?? find(/\/v1\//)[0];
  const codeEnd = Math.max(...code.map((r) => r.responseEnd));
  s.phases = {
    "embed.js runs, frames the widget": at(0),
    "widget page (HTML)": at(widget.nav.responseEnd) - at(0),
    "scripts and WASM arrive": at(codeEnd) - at(widget.nav.responseEnd),
    "WASM compiles and starts": config ? at(config.fetchStart) - at(codeEnd) : NaN,
    "checkout config (API)": config ? at(config.responseEnd) - at(config.fetchStart) : NaN,
    "render, ready message": config ? s.total - at(config.responseEnd) : NaN,
  };
  s.wasm = wasm && { transfer: wasm.transfer, encoded: wasm.encoded, decoded: wasm.decoded };
  s.page = { transfer: widget.nav.transfer, encoded: widget.nav.encoded };
  return s;
}

async function cold(browser, url) {
  const context = await browser.newContext();
  await context.addInitScript(instrument);
  const page = await context.newPage();
  try {
    return await timeLoad(page, () => page.goto(url));
  } finally {
    await context.close();
  }
}

async function warm(browser, url) {
  const context = await browser.newContext();
  await context.addInitScript(instrument);
  const page = await context.newPage();
  try {
    await timeLoad(page, () => page.goto(url));
    await page.waitForTimeout(1000);
    return await timeLoad(page, () => page.reload());
  } finally {
    await context.close();
  }
}

const sorted = (xs) => xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
function median(xs) {
  const s = sorted(xs);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function p90(xs) {
  const s = sorted(xs);
  return s.length ? s[Math.ceil(0.9 * s.length) - 1] : NaN;
}
const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : "n/a");
const kb = (x) => (Number.isFinite(x) ? `${(x / 1000).toFixed(1)} KB` : "n/a");

function summary(name, runs, budget) {
  const total = runs.map((r) => r.total);
  const fromFetch = runs.map((r) => r.fromFetch);
  const verdict = median(total) < budget ? "within budget" : "OVER BUDGET";
  return [
    `${name}: embed.js loaded -> paylet:ready: median ${ms(median(total))}, p90 ${ms(p90(total))} ` +
      `(min ${ms(sorted(total)[0])}, max ${ms(sorted(total).at(-1))}; ${runs.length} samples) ` +
      `- budget median < ${budget} ms: ${verdict}`,
    `${name}: embed.js fetchStart -> paylet:ready: median ${ms(median(fromFetch))}, p90 ${ms(p90(fromFetch))}`,
    `${name}: embed.js began executing ${ms(median(runs.map((r) => r.embedRuns)))} after its responseEnd (median)`,
  ];
}

function breakdown(byName) {
  const names = Object.keys(byName);
  const phases = Object.keys(byName[names[0]][0].phases ?? {});
  const lines = [`where the time goes (medians; phases on the merchant page's clock): ${names.join(" / ")}`];
  for (const phase of phases) {
    lines.push(`  ${phase.padEnd(36)} ${names.map((n) => ms(median(byName[n].map((r) => r.phases?.[phase])))).join(" / ")}`);
  }
  for (const n of names) {
    const wasm = byName[n].map((r) => r.wasm).filter(Boolean);
    const fromCache = wasm.filter((w) => w.transfer === 0).length;
    lines.push(
      `  ${n}: WASM ${kb(median(wasm.map((w) => w.encoded)))} on the wire, ${kb(median(wasm.map((w) => w.decoded)))} decoded, ` +
        `from the HTTP cache in ${fromCache}/${wasm.length}; widget page ${kb(median(byName[n].map((r) => r.page?.transfer)))} transferred`,
    );
  }
  return lines;
}

// widget/dist with a blank page in place of the widget's, for the floor.
function blankWidgetDir() {
  const dir = mkdtempSync(join(tmpdir(), "paylet-floor-"));
  for (const file of readdirSync(WIDGET_DIST).filter((f) => !f.startsWith("index.html"))) {
    symlinkSync(join(WIDGET_DIST, file), join(dir, file));
  }
  writeFileSync(join(dir, "index.html"), `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>blank</title>
<script type="module">
parent.postMessage({ paylet: JSON.stringify({ type: "ready" }) }, new URLSearchParams(location.search).get("parent"));
</script>
</head><body></body></html>
`);
  return dir;
}

// Cold and warm samples of one stack's shop page; the first two cold loads are not counted.
async function sampleAll(browser, stack, label, query = "") {
  const url = `${stack.shop}/?item=${encodeURIComponent(ITEM)}${query}`;
  log(`${label}: ${url}, ${SAMPLES} cold and ${SAMPLES} warm samples`);
  for (let i = 0; i < 2; i++) await cold(browser, url);
  const runs = { cold: [], warm: [] };
  for (let i = 0; i < SAMPLES; i++) {
    runs.cold.push(await cold(browser, url));
    runs.warm.push(await warm(browser, url));
    log(`  sample ${i + 1}: cold ${ms(runs.cold.at(-1).total)}, warm ${ms(runs.warm.at(-1).total)}`);
  }
  return runs;
}

// Runs `use` against a release `paylet demo`, stopped and removed after.
async function withDemo(options, use) {
  const stack = await startStack({ profile: "release", recordRequests: false, ...options });
  try {
    return await use(stack);
  } finally {
    await stack.stop();
    rmSync(stack.dir, { recursive: true, force: true });
  }
}

const browser = await launchBrowser();
const floorDir = blankWidgetDir();
try {
  const { runs, gateway } = await withDemo({}, async (stack) => ({
    runs: await sampleAll(browser, stack, "widget load, Paylet's card fields"),
    gateway: await sampleAll(browser, stack, "widget load, the gateway's card fields", "&fields=gateway"),
  }));
  const floor = await withDemo({ widgetDir: floorDir }, (stack) => sampleAll(browser, stack, "floor, a blank widget page"));
  const lines = [
    ...summary("cold", runs.cold, BUDGET.cold),
    ...summary("warm", runs.warm, BUDGET.warm),
    ...breakdown(runs),
    ...summary("gateway card fields cold", gateway.cold, BUDGET.cold).slice(0, 1),
    ...summary("gateway card fields warm", gateway.warm, BUDGET.warm).slice(0, 1),
    ...breakdown(gateway),
    ...summary("floor cold (a blank page in the frame)", floor.cold, BUDGET.cold).slice(0, 1),
    ...summary("floor warm (a blank page in the frame)", floor.warm, BUDGET.warm).slice(0, 1),
    `browser: ${browser.version()}`,
  ];
  console.log(lines.join("\n"));
} finally {
  await browser.close();
  rmSync(floorDir, { recursive: true, force: true });
}
