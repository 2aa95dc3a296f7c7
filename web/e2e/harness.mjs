// What the end-to-end scripts share (e2e.mjs, widget.mjs, modes.mjs, outside.mjs, probe.mjs):
// the environment, a bounded run, steps that count and report, assertions, headless Chromium
// (Debian's, driven by playwright-core) with the same flags, page and console errors
// collected, screenshots listed, and teardown.
//
// Environment: BASE_URL (http://127.0.0.1:PORT/; without it a static server for the
// repository is started here, on a free loopback port, and stopped at the end: after
// `cargo xtask web`, `node web/e2e/X.mjs` runs on its own), ARTIFACTS (a folder for
// screenshots, target/e2e), CHROMIUM (a binary, /usr/bin/chromium).
import { chromium } from "playwright-core";
import { createReadStream, mkdirSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const ART = process.env.ARTIFACTS ?? "target/e2e";
export const EXE = process.env.CHROMIUM ?? "/usr/bin/chromium";
mkdirSync(ART, { recursive: true });

/** Chromium's flags for a headless run in a container. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".yaml": "text/plain; charset=utf-8",
  ".yml": "text/plain; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** Serves `root`'s files on 127.0.0.1 (a free port): the server and its base URL. */
async function serveStatic(root) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = normalize(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, "index.html");
      statSync(file);
    } catch {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    createReadStream(file).pipe(res);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, base: `http://127.0.0.1:${server.address().port}/` };
}

const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const own = process.env.BASE_URL ? null : await serveStatic(repoRoot);
/** The page's base URL. */
export const BASE = process.env.BASE_URL ?? own.base;

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
export function eq(a, b, msg) {
  const sa = JSON.stringify(a);
  const sb = JSON.stringify(b);
  if (sa !== sb) throw new Error(`${msg}: got ${sa}, want ${sb}`);
}

/**
 * One script's run: `label` names it in its output ("widget e2e"); the whole run ends after
 * `timeoutSeconds` (exit code 2, the browser killed). Returns the run's state and helpers.
 */
export function run(label, { timeoutSeconds, stackLines = 6 } = {}) {
  const r = {
    passed: 0,
    failed: 0,
    /** Screenshots taken: {file, what}. */
    shots: [],
    /** Page errors and console errors of the pages watched. */
    problems: [],
    browser: null,
    /** The browser's server process (its id ends it on a timeout). */
    server: null,
  };
  const deadline = setTimeout(() => {
    console.log(`${label}: timed out after ${timeoutSeconds} s`);
    killBrowser(r);
    process.exit(2);
  }, timeoutSeconds * 1000);

  /** Runs one step: counts it, prints ok or FAIL with its time. */
  r.step = async (name, fn) => {
    const t0 = Date.now();
    try {
      await fn();
      r.passed++;
      console.log(`ok   ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      r.failed++;
      console.log(`FAIL ${name}: ${String(e.stack ?? e).split("\n").slice(0, stackLines).join("\n     ")}`);
    }
  };

  /** Headless Chromium with the flags above, as a process of its own whose id is known. */
  r.launch = async () => {
    r.server = await chromium.launchServer({ executablePath: EXE, args: CHROMIUM_ARGS });
    r.browser = await chromium.connect(r.server.wsEndpoint());
    return r.browser;
  };

  /** Collects `page`'s errors (and its console errors unless `console: false`) into `problems`. */
  r.watch = (page, name, { console: consoleErrors = true, timeout = 20_000 } = {}) => {
    const prefix = name ? `${name}: ` : "";
    page.on("pageerror", (e) => r.problems.push(`${prefix}page error: ${e.message}`));
    if (consoleErrors) {
      page.on("console", (m) => {
        if (m.type() === "error") r.problems.push(`${prefix}console error: ${m.text()}`);
      });
    }
    page.setDefaultTimeout(timeout);
  };

  /** A screenshot of the page (`ARTIFACTS/name.png`), listed with what it shows. */
  r.shot = async (page, name, what, fullPage = true) => {
    await page.screenshot({ path: join(ART, `${name}.png`), fullPage });
    r.shots.push({ file: `${name}.png`, what });
  };

  /** Lists a screenshot taken by other means. */
  r.listed = (file, what) => r.shots.push({ file, what });

  /**
   * Closes the browser (and the static server, if started here), prints the screenshots and
   * the tally, and exits: 1 when a step failed (or, with `problemsFail`, a problem was seen).
   */
  r.finish = async ({ problemsFail = false, listShots = true } = {}) => {
    await r.browser?.close().catch(() => {});
    await r.server?.close().catch(() => killBrowser(r));
    clearTimeout(deadline);
    if (own) {
      own.server.closeAllConnections();
      await new Promise((ok) => own.server.close(ok));
    }
    if (listShots && r.shots.length) {
      console.log(`${label} screenshots (${r.shots.length}) in ${ART}:`);
      for (const s of r.shots) console.log(`  ${s.file}: ${s.what}`);
    }
    if (problemsFail) for (const x of r.problems) console.log(`problem: ${x}`);
    console.log(`${label}: ${r.passed} passed, ${r.failed} failed`);
    process.exit(r.failed > 0 || (problemsFail && r.problems.length > 0) ? 1 : 0);
  };
  return r;
}

/** Ends the browser by its process id (a timed-out run must not leave Chromium behind). */
function killBrowser(r) {
  const pid = r.server?.process()?.pid;
  if (pid == null) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
