// Starts the real product for a test: `paylet demo` (sandbox, server on a fresh
// SQLite file, demo shop) on free ports, with the request recorder on, and
// headless Chromium to drive it.

import { execFile, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, createWriteStream, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { before, after } from "node:test";
import { chromium } from "playwright-core";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ARTIFACTS = join(ROOT, "e2e", "artifacts");
export const WIDGET_DIST = join(ROOT, "widget", "dist");

// `profile` picks the build (`target/<profile>/paylet`); the benchmark runs the
// release build without the recorder, which writes every request to a file.
// `tls` ({ cert, key }: PEM files) serves the Paylet server over HTTPS.
// `widgetDir` serves another widget build than widget/dist.
/** @param {{ profile?: string, recordRequests?: boolean, tls?: { cert: string, key: string }, widgetDir?: string }} [options] */
export async function startStack({ profile = "debug", recordRequests = true, tls, widgetDir = WIDGET_DIST } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "paylet-e2e-"));
  const files = {
    recorder: join(dir, "requests.log"),
    log: join(dir, "server.log"),
    db: join(dir, "paylet.db"),
  };
  const child = spawn(
    join(ROOT, "target", profile, "paylet"),
    [
      "demo",
      "--data-dir", dir,
      "--sandbox-listen", "127.0.0.1:0",
      "--listen", "127.0.0.1:0",
      "--shop-listen", "127.0.0.1:0",
      "--widget-dir", widgetDir,
      // Every test shopper is 127.0.0.1: the per-address limits would
      // stop a file's tests, not a card tester.
      "--rate-limit", "orders_per_ip=1000,payments_per_ip=1000",
      // The contract tests' notification receiver listens on loopback.
      "--allow-private-notify-urls",
      ...(recordRequests ? ["--record-requests", files.recorder] : []),
      ...(tls ? ["--tls-cert", tls.cert, "--tls-key", tls.key] : []),
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  const log = createWriteStream(files.log);
  child.stderr.pipe(log);

  const urls = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`paylet demo did not start:\n${out}`)), 30_000);
    child.on("exit", (code) => reject(new Error(`paylet demo exited with ${code}:\n${out}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const find = (name) => out.match(new RegExp(`${name}:\\s+(https?://\\S+)`))?.[1];
      if (out.includes("Press Ctrl-C")) {
        clearTimeout(timer);
        resolve({ shop: find("shop"), server: find("server"), sandbox: find("sandbox") });
      }
    });
  });

  return {
    ...urls,
    dir,
    files,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.on("exit", resolve));
        child.kill("SIGINT");
        await exited;
      }
      log.end();
    },
  };
}

/** The environment in which `paylet` works on the stack's own database, as its operator's would. */
export function payletEnv(stack) {
  return { ...process.env, PAYLET_DATABASE_URL: `sqlite://${stack.files.db}`, PAYLET_MASTER_KEY_FILE: join(stack.dir, "master.key") };
}

/** `paylet …` as the stack's operator runs it, without blocking this process (which may serve what it calls); its output. */
export async function payletCommand(stack, args) {
  return (await promisify(execFile)(join(ROOT, "target", "debug", "paylet"), args, { env: payletEnv(stack) })).stdout;
}

export async function launchBrowser(args = []) {
  mkdirSync(ARTIFACTS, { recursive: true });
  // Debian's Chromium, as root, on a machine without internet.
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      ...args,
    ],
  });
}

export function readLatin1(path) {
  try {
    return readFileSync(path, "latin1");
  } catch (e) {
    if (e.code === "ENOENT") return "";
    throw e;
  }
}

/**
 * For a suite: starts the product and a browser before its tests, hands them
 * to `use`, and stops both after.
 */
export function withStack(use) {
  let stack;
  let browser;
  before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    use(stack, browser);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });
}
