// An independent probe of issue 12, written from the words and nothing else: the
// embed API exactly as the issue states it (mount's strictness and options, the handle's
// send/on/setManifest/destroy, replacement, the shadow root's isolation both ways, embed.js,
// the lesson page), then the page's lessons as a student meets them. It uses the page's
// visible text, roles and accessible names where it can, and the module's own `route()` as
// the oracle for what `send` must return. Screenshots at 1280 px and 390 px in $ARTIFACTS
// (probe-*.png).
//
// Run: `cargo xtask web`, then `node web/e2e/probe.mjs` (a static server is started when
// BASE_URL is not set; see harness.mjs).
import { join } from "node:path";
import { ART, BASE, assert, eq, run } from "./harness.mjs";

const suite = run("probe", { timeoutSeconds: 420 });
const { step } = suite;
const browser = await suite.launch();
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });

/** Screenshots of `what` (a page or a locator) at 1280 px and 390 px. */
async function look(page, name, what = page) {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(200);
    const file = `probe-${name}-${width}.png`;
    const opts = { path: join(ART, file) };
    if (what === page) opts.fullPage = true;
    await what.screenshot(opts);
    suite.listed(file, `${name} at ${width} px`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

// A host page of the probe's own, hostile on purpose: its styles would spoil a widget that
// inherited them, and a widget whose styles leaked would change the page's own elements.
const HOST = new URL("probe-host.html", BASE).href;
const HOST_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>probe host</title>
<style>
  body { font: italic 27px/3 "Courier New", monospace; color: rgb(200, 0, 0); letter-spacing: 4px;
         text-transform: uppercase; text-align: right; word-spacing: 9px; }
  button, select, p, div, span, pre, li { color: rgb(200, 0, 0) !important; }
  .hostile * { border: 5px dotted rgb(0, 200, 0) !important; }
</style></head>
<body>
  <p id="host-p">host text</p><button id="host-b" class="sr-primary">host button</button>
  <pre id="host-pre">host pre</pre>
  <div id="w1" class="hostile"></div><div id="w2"></div><div id="w3"></div>
  <script type="module">
    import init, * as sr from "/pkg/svcroute_web.js";
    await init();
    window.sr = sr;
    window.ready = true;
  </script>
</body></html>`;
const NEUTRAL_HTML = HOST_HTML.replace(/<style>[\s\S]*?<\/style>/, "");
await ctx.route(HOST, (r) => r.fulfill({ contentType: "text/html", body: HOST_HTML }));
await ctx.route(new URL("probe-neutral.html", BASE).href, (r) => r.fulfill({ contentType: "text/html", body: NEUTRAL_HTML }));

async function host(name, url = HOST) {
  const p = await ctx.newPage();
  suite.watch(p, name);
  await p.goto(url);
  await p.waitForFunction(() => window.ready === true);
  return p;
}

// ------------------------------------------------------------------------------- the API
const api = await host("api");

await step("mount is synchronous and returns a handle with send/on/setManifest/destroy/unmount", async () => {
  const r = await api.evaluate(() => {
    const h = window.sr.mount(document.getElementById("w2"), { scenario: "clusterip", lang: "en" });
    const out = {
      promise: h instanceof Promise || typeof h?.then === "function",
      methods: ["send", "on", "setManifest", "destroy", "unmount"].filter((m) => typeof h[m] === "function"),
      shadow: document.getElementById("w2").shadowRoot?.mode ?? null,
      // Drawn by the time mount returns?
      drawnAtOnce: !!document.getElementById("w2").shadowRoot?.querySelector("svg, button"),
    };
    // Drawn before anything the page awaits next.
    return Promise.resolve().then(() => {
      out.drawnAfterATick = !!document.getElementById("w2").shadowRoot?.querySelector("svg, button");
      h.destroy();
      return out;
    });
  });
  eq(r.promise, false, "mount returns the handle itself, not a Promise");
  eq(r.methods, ["send", "on", "setManifest", "destroy", "unmount"], "the handle's methods");
  eq(r.shadow, "open", "an open shadow root");
  console.log(`     (drawn when mount returns: ${r.drawnAtOnce}; after one await: ${r.drawnAfterATick})`);
  eq(r.drawnAfterATick, true, "drawn after one await");
});

// Every bad option throws an Error (synchronously) whose message names the valid values.
const STRICT = [
  ["an unknown option", { colour: "red" }, ["scenario", "manifest", "lang", "title", "prompt", "clients", "target", "scheduler", "view", "showLanguage"]],
  ["an unknown scenario", { scenario: "ingress" }, ["clusterip", "headless", "nodeport", "loadbalancer", "externalname", "affinity", "local", "seed-ports"]],
  ["an unknown language", { lang: "fr" }, ["en", "zh"]],
  ["a language in the wrong case", { lang: "EN" }, ["en", "zh"]],
  ["a scheduler not simulated (lblc)", { scheduler: "lblc" }, ["rr", "wrr", "lc", "wlc", "sh", "dh", "sed", "nq", "mh"]],
  ["a scheduler not simulated (fo)", { scheduler: "fo" }, ["rr", "sh"]],
  ["no such scheduler", { scheduler: "fastest" }, ["rr", "sh"]],
  ["an unknown view", { view: "mini" }, ["full", "compact", "modes"]],
  ["a client's unknown where", { clients: [{ address: "10.244.0.9", where: "cloud", name: "c" }] }, ["pod", "node", "outside"]],
  ["a client's unknown key", { clients: [{ address: "10.244.0.9", where: "pod", name: "c", zone: "a" }] }, ["address", "where", "name"]],
  ["a client without an address", { clients: [{ where: "pod", name: "c" }] }, ["address"]],
  ["a client on a node the cluster lacks", { scenario: "clusterip", clients: [{ address: "10.244.0.9", where: "pod", name: "c", node: "node-9" }] }, ["node-1"]],
  ["a title that is no string", { title: 12 }, ["title"]],
  ["a prompt that is no string", { prompt: { en: "x" } }, ["prompt"]],
  ["showLanguage that is no boolean", { showLanguage: "no" }, ["showLanguage"]],
  ["a broken manifest", { manifest: "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: 99999\n" }, ["99999"]],
];
for (const [what, options, names] of STRICT) {
  await step(`strict: ${what} throws an Error naming ${names.slice(0, 4).join(", ")}${names.length > 4 ? ", …" : ""}`, async () => {
    const r = await api.evaluate((options) => {
      const el = document.getElementById("w3");
      try {
        const h = window.sr.mount(el, options);
        h.destroy();
        return { threw: false };
      } catch (e) {
        return { threw: true, error: e instanceof Error, message: String(e?.message ?? e), left: el.shadowRoot?.childElementCount ?? 0 };
      }
    }, options);
    assert(r.threw, `mount(${JSON.stringify(options)}) did not throw`);
    assert(r.error, `thrown value is no Error: ${r.message}`);
    const missing = names.filter((n) => !r.message.includes(n));
    eq(missing, [], `names missing from "${r.message}"`);
  });
}

await step("strict: a failed mount leaves the element's widget in place", async () => {
  const r = await api.evaluate(() => {
    const el = document.getElementById("w3");
    const h = window.sr.mount(el, { scenario: "nodeport", view: "compact", lang: "en" });
    let threw = false;
    try {
      window.sr.mount(el, { scenario: "nodeport", view: "mini" });
    } catch {
      threw = true;
    }
    return Promise.resolve().then(() => {
    const still = !!el.shadowRoot.querySelector("[data-testid=playground], svg");
    return h.send({}).then(
      (cs) => ({ threw, still, sent: cs.length }),
      (e) => ({ threw, still, sent: `rejected: ${e.message}` }),
    ).finally(() => h.destroy());
    });
  });
  eq(r, { threw: true, still: true, sent: 1 }, "the old widget stays and works");
});

await step("send({from, to, count}): the objects of route -o json (the module's route() as oracle)", async () => {
  const r = await api.evaluate(async () => {
    const sr = window.sr;
    const manifest = sr.scenarios().find((s) => s.id === "clusterip").manifest;
    const el = document.getElementById("w2");
    const h = sr.mount(el, {
      manifest,
      lang: "en",
      view: "compact",
      clients: [
        { address: "10.244.0.77", where: "pod", name: "alice" },
        { address: "10.244.1.77", where: "pod", name: "bob", node: "node-2" },
        { address: "203.0.113.5", where: "outside", name: "laptop" },
        { address: "192.168.49.2", where: "node", name: "n2", node: "node-2" },
      ],
      target: "10.97.97.97:80",
    });
    const three = await h.send({ from: "alice", count: 3 });
    const byAddress = await h.send({ from: "10.244.0.77" });
    const bob = await h.send({ from: "bob", to: "10.97.97.97:80" });
    const laptop = await h.send({ from: "laptop" });
    const oracle = sr.route(manifest, { to: "10.97.97.97:80", from: "10.244.0.77", count: 1 });
    let badFrom;
    try {
      await h.send({ from: "mallory" });
      badFrom = "resolved";
    } catch (e) {
      badFrom = e instanceof Error ? e.message : `non-Error ${e}`;
    }
    let badKey;
    try {
      await h.send({ form: "alice" });
      badKey = "resolved";
    } catch (e) {
      badKey = e instanceof Error ? e.message : `non-Error ${e}`;
    }
    h.destroy();
    return { three, byAddress, bob, laptop, oracle, badFrom, badKey };
  });
  assert(Array.isArray(r.three), "send resolves to an array");
  eq(r.three.length, 3, "count: 3 → three connections");
  const keys = (c) => Object.keys(c).sort();
  const oracleConn = (r.oracle.connections ?? r.oracle)[0];
  eq(keys(r.three[0]), keys(oracleConn), "a connection has route -o json's keys");
  for (const c of [...r.three, ...r.byAddress, ...r.bob, ...r.laptop]) {
    eq([typeof c.sourcePort, typeof c.refused, typeof c.reason], ["number", "boolean", "string"], `types in ${JSON.stringify(c)}`);
    assert(c.reason.length > 0, "a reason");
  }
  eq(r.three.map((c) => c.from), ["10.244.0.77", "10.244.0.77", "10.244.0.77"], "from a client's name");
  eq(r.byAddress[0].from, "10.244.0.77", "from a client's address");
  eq(r.three[0].to, "10.97.97.97:80", "to defaults to the target option");
  eq(r.three[0].node, "node-1", "a pod client is placed on the first node");
  eq(r.bob[0].node, "node-2", "a pod client names its node");
  eq(new Set(r.three.map((c) => c.pod)).size, 3, `rr spreads three connections: ${r.three.map((c) => c.pod)}`);
  eq(r.laptop[0].refused, true, "outside → ClusterIP is refused");
  assert(/outside|unreachable|cluster/i.test(r.laptop[0].reason), `outside's reason: ${r.laptop[0].reason}`);
  assert(r.badFrom.includes("alice") && r.badFrom.includes("laptop"), `an unknown from names the clients: ${r.badFrom}`);
  assert(r.badKey !== "resolved", "send rejects an unknown key");
});

await step("on(\"connection\"): hears send and the page's own button; the returned function unsubscribes", async () => {
  const el = "#w2";
  await api.evaluate(() => {
    window.heard = [];
    window.h = window.sr.mount(document.getElementById("w2"), { scenario: "clusterip", lang: "en", view: "compact" });
    window.off = window.h.on("connection", (c) => window.heard.push(c));
  });
  eq(await api.evaluate(() => typeof window.off), "function", "on returns a function");
  await api.evaluate(() => window.h.send({ count: 2 }));
  eq(await api.evaluate(() => window.heard.length), 2, "two sends heard");
  await api.locator(`${el} [data-testid=playground]`).getByRole("button", { name: /^send one/i }).click();
  await api.waitForFunction(() => window.heard.length === 3);
  const c = await api.evaluate(() => window.heard[2]);
  eq([typeof c.sourcePort, typeof c.refused, typeof c.reason], ["number", "boolean", "string"], "the page's connection is a route -o json object");
  await api.evaluate(() => window.off());
  await api.evaluate(() => window.h.send({ count: 2 }));
  await api.locator(`${el} [data-testid=playground]`).getByRole("button", { name: /^send one/i }).click();
  await api.waitForTimeout(300);
  eq(await api.evaluate(() => window.heard.length), 3, "nothing heard after unsubscribing");
  const bad = await api.evaluate(() => {
    try {
      window.h.on("click", () => {});
      return "no throw";
    } catch (e) {
      return e.message;
    }
  });
  assert(bad.includes("connection"), `on("click") names "connection": ${bad}`);
  await api.evaluate(() => window.h.destroy());
});

await step("setManifest: a broken text throws its diagnostics and the last good state stays", async () => {
  const r = await api.evaluate(async () => {
    const sr = window.sr;
    const text = sr.scenarios().find((s) => s.id === "clusterip").manifest;
    const el = document.getElementById("w2");
    const h = sr.mount(el, { manifest: text, lang: "en", view: "compact", target: "10.97.97.97:80" });
    const pods = () => el.shadowRoot.querySelectorAll("[data-testid=picture] [data-testid=pod]").length;
    await h.send({});
    const before = pods();
    let err;
    try {
      h.setManifest(text.replace("port: 80", "port: 99999"));
    } catch (e) {
      err = { isError: e instanceof Error, message: e.message, diagnostics: e.diagnostics, line: e.line };
    }
    await new Promise((r) => setTimeout(r, 100));
    const after = pods();
    const still = await h.send({});
    // A good text takes effect: five replicas.
    h.setManifest(text.replace(/replicas: *3/, "replicas: 5"));
    await new Promise((r) => setTimeout(r, 200));
    const five = pods();
    h.destroy();
    return { err, before, after, still, five };
  });
  assert(r.err, "a broken text throws");
  assert(r.err.isError, "an Error");
  assert(Array.isArray(r.err.diagnostics) && r.err.diagnostics.length > 0, `diagnostics: ${JSON.stringify(r.err)}`);
  assert(typeof r.err.diagnostics[0].line === "number", `a diagnostic's line: ${JSON.stringify(r.err.diagnostics[0])}`);
  eq(r.after, r.before, "the picture keeps its Pods");
  eq(r.still.length, 1, "send still works");
  eq(r.still[0].refused, false, "and reaches a Pod");
  eq(r.five, 5, "a good text takes effect (5 replicas)");
});

await step("mounting into an element that holds a widget replaces it; the old handle is inert", async () => {
  const r = await api.evaluate(async () => {
    const sr = window.sr;
    const el = document.getElementById("w2");
    const oldHeard = [];
    const a = sr.mount(el, { scenario: "clusterip", lang: "en", view: "compact" });
    a.on("connection", (c) => oldHeard.push(c));
    const b = sr.mount(el, { scenario: "nodeport", lang: "en", view: "compact" });
    const newHeard = [];
    b.on("connection", (c) => newHeard.push(c));
    await Promise.resolve();
    const widgets = el.shadowRoot.querySelectorAll("[data-testid=playground]").length;
    const oldSend = await a.send({}).then(() => "resolved", (e) => `rejected: ${e.message}`);
    let oldSet = "no throw";
    try {
      a.setManifest("kind: List\napiVersion: v1\nitems: []\n");
    } catch (e) {
      oldSet = e.message;
    }
    // The old handle's destroy must not take the new widget down.
    a.destroy();
    a.unmount();
    const afterOldDestroy = el.shadowRoot.querySelectorAll("[data-testid=playground]").length;
    const sent = await b.send({});
    const out = { widgets, oldSend, oldSet, afterOldDestroy, sent: sent.length, oldHeard: oldHeard.length, newHeard: newHeard.length };
    b.unmount();
    out.afterUnmount = el.shadowRoot.querySelectorAll("[data-testid=playground]").length;
    out.afterUnmountSend = await b.send({}).then(() => "resolved", (e) => "rejected");
    // The element takes a widget again after destroy.
    const c = sr.mount(el, { scenario: "headless", lang: "en", view: "compact" });
    await new Promise((r) => setTimeout(r, 300));
    out.again = el.shadowRoot.querySelectorAll("[data-testid=playground]").length;
    c.destroy();
    return out;
  });
  eq(r.widgets, 1, "one widget in the element");
  assert(r.oldSend.startsWith("rejected"), `the old handle's send: ${r.oldSend}`);
  assert(r.oldSet !== "no throw", "the old handle's setManifest throws");
  eq(r.afterOldDestroy, 1, "the old handle's destroy()/unmount() leave the new widget");
  eq(r.sent, 1, "the new widget sends");
  eq(r.oldHeard, 0, "the old listener hears nothing");
  eq(r.newHeard, 1, "the new listener hears its send");
  eq(r.afterUnmount, 0, "unmount() = destroy()");
  eq(r.afterUnmountSend, "rejected", "a destroyed handle's send rejects");
  eq(r.again, 1, "the element takes a new widget");
});

await step("options: lang, title, prompt (replaces the built-in text), view, showLanguage, scheduler, compact, url", async () => {
  const r = await api.evaluate(async () => {
    const sr = window.sr;
    const el = document.getElementById("w2");
    const builtIn = sr.scenarios().find((s) => s.id === "affinity");
    // The visible text (the manifest editor holds the scenario's comments, which may repeat it).
    const txt = () => [...el.shadowRoot.querySelectorAll("*")].filter((e) => !e.closest("textarea, style, pre")).map((e) => [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("")).join(" ");
    const view = () => el.shadowRoot.querySelector("[data-view]")?.dataset.view;
    const langButton = () =>
      [...el.shadowRoot.querySelectorAll("button, select, [role=switch]")].some((b) => /中文|English|language|语言/i.test(b.textContent + (b.getAttribute("aria-label") ?? "")));
    const out = {};
    let h = sr.mount(el, { scenario: "affinity", lang: "en", title: "Lesson 4: stickiness", prompt: "Send three from alice and look where they land.", view: "compact" });
    await new Promise((r) => setTimeout(r, 50));
    out.title = txt().includes("Lesson 4: stickiness");
    out.prompt = txt().includes("Send three from alice and look where they land.");
    out.builtInGone = !txt().includes(builtIn.tryEn.slice(0, 40));
    out.compact = view();
    out.langShown = langButton();
    h = sr.mount(el, { scenario: "affinity", lang: "zh", prompt: "老师的提示：发送三次。", showLanguage: false, view: "full", url: false });
    await new Promise((r) => setTimeout(r, 50));
    out.zhPrompt = txt().includes("老师的提示：发送三次。");
    out.zhBuiltInGone = !txt().includes(builtIn.tryZh.match(/[\u4e00-\u9fff，。：；]{10,}/)[0]);
    out.zhLang = el.shadowRoot.querySelector("[lang]")?.getAttribute("lang");
    out.zhHasHan = /[\u4e00-\u9fff]{4}/.test(txt());
    out.full = view();
    out.langHidden = !langButton();
    const settle = () => new Promise((r) => setTimeout(r, 100));
    h = sr.mount(el, { scenario: "clusterip", compact: true, lang: "en" });
    await settle();
    out.compactTrue = view();
    h = sr.mount(el, { scenario: "clusterip", view: "modes", lang: "en" });
    await settle();
    out.modes = view();
    // The scheduler: sh keeps one client on one Pod, rr spreads.
    h = sr.mount(el, { scenario: "clusterip", scheduler: "sh", lang: "en", view: "compact", clients: [{ address: "10.244.0.60", where: "pod", name: "c" }] });
    const sh = await h.send({ count: 4 });
    out.shPods = new Set(sh.map((c) => c.pod)).size;
    out.shRules = el.shadowRoot.textContent.includes(" sh");
    h = sr.mount(el, { scenario: "clusterip", scheduler: "rr", lang: "en", view: "compact", clients: [{ address: "10.244.0.60", where: "pod", name: "c" }] });
    const rr = await h.send({ count: 4 });
    out.rrPods = new Set(rr.map((c) => c.pod)).size;
    // url: true keeps the state in the fragment.
    const hash0 = location.hash;
    h = sr.mount(el, { scenario: "clusterip", view: "compact", url: true, lang: "en" });
    await h.send({});
    await new Promise((r) => setTimeout(r, 100));
    out.urlChanged = location.hash !== hash0 && location.hash.length > 1;
    h.destroy();
    history.replaceState(null, "", location.pathname);
    return out;
  });
  eq(r.title, true, "the title is shown");
  eq(r.prompt, true, "the teacher's prompt is shown");
  eq(r.builtInGone, true, "the built-in What to try is replaced");
  eq(r.compact, "compact", "view: compact");
  eq(r.langShown, true, "the language switch by default");
  eq(r.zhPrompt, true, "the prompt in a Chinese widget");
  eq(r.zhBuiltInGone, true, "the built-in Chinese text is replaced");
  assert(r.zhLang?.startsWith("zh"), `lang attribute: ${r.zhLang}`);
  eq(r.zhHasHan, true, "Chinese text");
  eq(r.full, "full", "view: full");
  eq(r.langHidden, true, "showLanguage: false hides the switch");
  eq(r.compactTrue, "compact", "compact: true = view: compact");
  eq(r.modes, "modes", "view: modes");
  eq(r.shPods, 1, "sh keeps one source on one Pod");
  eq(r.rrPods, 3, "rr spreads four over three Pods");
  eq(r.urlChanged, true, "url: true writes the fragment");
});

await step("style isolation: the host page's styles do not reach in, the widget's do not leak out", async () => {
  const probe = async () => {
    const el = document.getElementById("w1");
    const before = getComputedStyle(document.getElementById("host-b"));
    const b0 = { bg: before.backgroundColor, font: before.fontFamily, pad: before.padding, border: before.borderTopWidth };
    const h = window.sr.mount(el, { scenario: "clusterip", lang: "en", view: "compact" });
    await new Promise((r) => setTimeout(r, 100));
    const root = el.shadowRoot;
    const pick = (sel) => {
      const e = root.querySelector(sel);
      if (!e) return null;
      const s = getComputedStyle(e);
      return { font: s.fontFamily, size: s.fontSize, style: s.fontStyle, color: s.color, ls: s.letterSpacing, tt: s.textTransform, ta: s.textAlign, ws: s.wordSpacing, lh: s.lineHeight, border: s.borderTopStyle };
    };
    const inside = { play: pick("[data-testid=playground]"), button: pick("[data-testid=send-one]"), select: pick("select"), text: pick("[data-testid=try]") };
    const after = getComputedStyle(document.getElementById("host-b"));
    const b1 = { bg: after.backgroundColor, font: after.fontFamily, pad: after.padding, border: after.borderTopWidth };
    const sheetsInDocument = document.styleSheets.length;
    h.destroy();
    return { inside, b0, b1, sheetsInDocument };
  };
  const hostile = await api.evaluate(probe);
  const neutral = await host("neutral", new URL("probe-neutral.html", BASE).href);
  const calm = await neutral.evaluate(probe);
  await neutral.close();
  eq(hostile.b1, hostile.b0, "the host's button is untouched by the widget's styles");
  eq(hostile.sheetsInDocument, 1, "no stylesheet added to the host document");
  for (const k of Object.keys(calm.inside)) {
    assert(calm.inside[k], `${k} drawn`);
    eq(hostile.inside[k], calm.inside[k], `${k} inside the widget looks the same on a hostile page`);
  }
  await api.evaluate(() => {
    window.hw = window.sr.mount(document.getElementById("w1"), { scenario: "clusterip", lang: "en", view: "compact" });
  });
  await look(api, "hostile-host", api.locator("#w1"));
  await api.evaluate(() => window.hw.destroy());
});

await step("pkg/embed.js: mount(selector, options) is the same handle; strictness the same", async () => {
  const r = await api.evaluate(async () => {
    const e = await import("/pkg/embed.js");
    const h = await e.mount("#w3", { scenario: "loadbalancer", view: "compact", lang: "en" });
    const out = { methods: ["send", "on", "setManifest", "destroy", "unmount"].filter((m) => typeof h[m] === "function") };
    const heard = [];
    h.on("connection", (c) => heard.push(c));
    const cs = await h.send({});
    out.sent = cs.length;
    out.heard = heard.length;
    h.destroy();
    out.bad = await e.mount("#w3", { lang: "de" }).then(() => "resolved", (x) => x.message);
    return out;
  });
  eq(r.methods.length, 5, "the handle's methods");
  eq([r.sent, r.heard], [1, 1], "send and on");
  assert(r.bad.includes("en") && r.bad.includes("zh"), `embed.js mount rejects lang de: ${r.bad}`);
});
await api.close();

// ------------------------------------------------------------------------- the lesson page
await step("examples/embed.html: a short lesson, three live widgets, a quiz driven by on(\"connection\")", async () => {
  const p = await ctx.newPage();
  suite.watch(p, "lesson");
  await p.goto(new URL("examples/embed.html", BASE).href);
  await p.waitForFunction(() => [...document.querySelectorAll("*")].filter((e) => e.shadowRoot?.querySelector("[data-testid=playground]")).length >= 3, null, { timeout: 20_000 });
  const n = await p.evaluate(() => [...document.querySelectorAll("*")].filter((e) => e.shadowRoot?.querySelector("[data-testid=playground]")).length);
  eq(n, 3, "three widgets");
  const radios = await p.getByRole("radio").count();
  assert(radios >= 3, `a quiz (radios: ${radios})`);
  // Answer the first question by sending from the first widget's own button, then choosing.
  const first = p.locator("[data-testid=playground]").first();
  for (let i = 0; i < 6; i++) await first.getByRole("button", { name: /^send one/i }).click();
  const q = p.locator("fieldset").first();
  const options = q.getByRole("radio");
  await options.first().check();
  const verdict = q.locator("[aria-live]");
  await p.waitForFunction((v) => v.textContent.trim().length > 0, await verdict.elementHandle());
  const text = await verdict.innerText();
  assert(!/first|so far/i.test(text), `six connections sent from the widget's own button are heard: ${text}`);
  await look(p, "lesson");
  const w = await p.evaluate(() => document.documentElement.scrollWidth);
  await p.setViewportSize({ width: 390, height: 844 });
  const w390 = await p.evaluate(() => document.documentElement.scrollWidth);
  assert(w390 <= 390, `the lesson is ${w390} px wide at 390 px (${w} at 1280)`);
  await p.close();
});

// ------------------------------------------------------------------ the playground's lessons
const page = await ctx.newPage();
suite.watch(page, "page");
await page.goto(new URL("index.html", BASE).href);
const P = page.locator("[data-testid=playground]");
await P.waitFor();
const scenario = async (name) => {
  await P.getByRole("button", { name, exact: true }).click();
  await P.locator("[data-testid=picture]").waitFor();
};
const clientOption = async (re) => {
  const opts = await P.locator("[data-testid=client] option").allInnerTexts();
  const i = opts.findIndex((o) => re.test(o));
  assert(i >= 0, `a client ${re} among ${JSON.stringify(opts)}`);
  await P.locator("[data-testid=client]").selectOption({ index: i });
};
const targetOption = async (re) => {
  const opts = await P.locator("[data-testid=target] option").evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
  const o = opts.find(([, t]) => re.test(t));
  assert(o, `a target ${re} among ${JSON.stringify(opts)}`);
  await P.locator("[data-testid=target]").selectOption(o[0]);
  return o[0];
};
const sendOne = async () => {
  const n = await P.locator("[data-testid=conn]").count();
  await P.getByRole("button", { name: /^send one/i }).click();
  await P.locator("[data-testid=conn]").nth(n).waitFor();
  return P.locator("[data-testid=conn]").first();
};

await step("page: each node has its own kube-proxy / IPVS table; the connection enters through its node", async () => {
  await scenario("ClusterIP");
  const alt = await P.locator("[data-testid=picture-text]").textContent();
  assert(/kube-proxy/i.test(alt) || (await P.locator("svg").first().textContent()).includes("kube-proxy"), "kube-proxy is named");
  const nodes = await P.locator("[data-testid=picture] [data-testid=node]").count();
  assert(nodes >= 2, `nodes drawn: ${nodes}`);
  const kp = await P.locator("[data-testid=picture]").getByText(/kube-proxy/).count();
  assert(kp >= nodes, `a kube-proxy per node (${kp} for ${nodes} nodes)`);
  const ipvs = await P.locator("[data-testid=picture]").getByText(/kube-ipvs0|IPVS/).count();
  assert(ipvs >= nodes, `an IPVS table / kube-ipvs0 per node (${ipvs})`);
  await targetOption(/ClusterIP|ClusterIp/i);
  // A client on node-2 (the node's own process) enters through node-2's table.
  await clientOption(/node node-2|node-2 .*node/);
  await sendOne();
  const entered = await page.evaluate(() => window.svcroutePlayground.send({}).then((cs) => cs[0].node));
  eq(entered, "node-2", "a client on node-2 enters through node-2");
  await look(page, "enter-node", P.locator("[data-testid=picture]"));
});

await step("page: outside → ClusterIP refused with a reason; → NodePort on a node's address answered, SNAT shown", async () => {
  await scenario("NodePort");
  await targetOption(/ClusterIP|ClusterIp/i);
  await clientOption(/outside/);
  const c = await sendOne();
  const t = await c.innerText();
  assert(/refused|unreachable|not reachable/i.test(t), `refused: ${t}`);
  const np = await targetOption(/NodePort/i);
  assert(/^\d+\.\d+\.\d+\.\d+:3\d{4}$/.test(np), `a NodeIP:nodePort target: ${np}`);
  const ok = await sendOne();
  const u = await ok.innerText();
  assert(!/refused/i.test(u), `outside → ${np} answered: ${u}`);
  const snat = await P.getByText(/SNAT|masquerade|source .*node/i).count();
  assert(snat > 0, "the SNAT is shown");
  await look(page, "nodeport-outside", P.locator("[data-testid=picture]"));
});

await step("page: outside → LoadBalancer IP answered; EXTERNAL-IP <pending> without status", async () => {
  await scenario("LoadBalancer");
  await targetOption(/LoadBalancer/i);
  await clientOption(/outside/);
  const c = await sendOne();
  assert(!/refused/i.test(await c.innerText()), "outside → the LB IP answered");
  const ed = P.locator("textarea").first();
  const text = await ed.inputValue();
  const cut = text.replace(/\nstatus:\n(  .*\n?)*/g, "\n");
  assert(cut !== text, "a status to remove");
  await ed.fill(cut);
  await page.waitForTimeout(600);
  const all = await P.innerText();
  assert(all.includes("<pending>"), "kubectl get svc shows EXTERNAL-IP <pending>");
});

await step("page: deleting a Pod keeps the others' node and IP; the ReplicaSet's replacement has a new name and IP", async () => {
  await scenario("ClusterIP");
  const rows = () => P.locator("[data-testid=pod-row]").evaluateAll((rs) => rs.map((r) => ({ pod: r.dataset.pod, text: r.textContent })));
  const before = await rows();
  assert(before.length === 3, `three Pods: ${JSON.stringify(before)}`);
  const victim = before[1].pod;
  await P.getByRole("button", { name: new RegExp(`^delete .*${victim.split("/").pop()}`, "i") }).click();
  await page.waitForTimeout(400);
  const after = await rows();
  for (const b of before.filter((b) => b.pod !== victim)) {
    const a = after.find((x) => x.pod === b.pod);
    assert(a, `${b.pod} stays`);
    eq(a.text.match(/node-\d+ · [\d.]+/)?.[0], b.text.match(/node-\d+ · [\d.]+/)?.[0], `${b.pod} keeps node and IP`);
  }
  const fresh = after.filter((a) => !before.some((b) => b.pod === a.pod));
  eq(fresh.length, 1, "one replacement");
  const ip = fresh[0].text.match(/\d+\.\d+\.\d+\.\d+/)?.[0];
  assert(ip && !before.some((b) => b.text.includes(ip)), `a new IP: ${ip}`);
  assert(!after.some((a) => a.pod === victim), "the deleted Pod is gone");
});

await step("page: a terminating Pod with connections is weight 0 and drains; ActiveConn/InActConn move; -Lnc counts down", async () => {
  await scenario("ClusterIP");
  await targetOption(/ClusterIP|ClusterIp/i);
  await clientOption(/Pod on node-1/);
  const rules0 = await P.locator("[data-testid=ipvsadm]").innerText();
  for (let i = 0; i < 3; i++) await sendOne();
  const rules1 = await P.locator("[data-testid=ipvsadm]").innerText();
  assert(rules1 !== rules0, "ipvsadm -Ln's counters moved");
  assert(/ActiveConn/.test(rules1) && /InActConn/.test(rules1), "the -Ln header");
  const lnc = await P.locator("[data-testid=ipvsadm-lnc]").innerText();
  const clock = (s) => [...s.matchAll(/(\d\d):(\d\d)/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  const t0 = clock(lnc);
  assert(t0.length > 0, `-Lnc has expiries: ${lnc}`);
  await P.getByRole("button", { name: /\+1 s/ }).click();
  const t1 = clock(await P.locator("[data-testid=ipvsadm-lnc]").innerText());
  assert(t1[0] < t0[0] || t1.length !== t0.length, `the countdown moves: ${t0} → ${t1}`);
  const pod = await P.locator("[data-testid=conn]").first().getAttribute("data-pod");
  const name = pod.split("/").pop();
  await P.getByRole("button", { name: new RegExp(`^terminate .*${name}`, "i") }).click();
  await page.waitForTimeout(300);
  const rules2 = await P.locator("[data-testid=ipvsadm]").innerText();
  const ip = ipOf(await P.locator(`[data-testid=pod-row][data-pod="${pod}"]`).innerText());
  const line = rules2.split("\n").find((l) => l.includes("->") && l.includes(ip));
  assert(line && /Masq\s+0\s/.test(line), `the terminating Pod at weight 0: ${line}\n${rules2}`);
  await look(page, "terminating", P.locator("[data-testid=rules]").first());
});
function ipOf(s) {
  return s.match(/\d+\.\d+\.\d+\.\d+/)?.[0] ?? "<no ip>";
}

await step("page: schedulers that differ choose differently; only simulated ones offered; the affinity timeout can be chosen", async () => {
  await scenario("ClusterIP");
  const offered = await P.locator("[data-testid=scheduler] option").evaluateAll((os) => os.map((o) => o.value));
  for (const x of ["lblc", "lblcr", "fo", "ovf", "twos"]) assert(!offered.includes(x), `${x} (not simulated) is offered: ${offered}`);
  const spread = async (sched) => {
    await P.locator("[data-testid=scheduler]").selectOption(sched);
    await P.getByRole("button", { name: /restart/i }).click();
    await clientOption(/Pod on node-1/);
    const pods = new Set();
    for (let i = 0; i < 3; i++) pods.add(await (await sendOne()).getAttribute("data-pod"));
    return pods.size;
  };
  eq(await spread("rr"), 3, "rr: three Pods");
  eq(await spread("sh"), 1, "sh: one Pod for one source");
  await P.locator("[data-testid=scheduler]").selectOption("rr");
  const timeouts = await P.locator("[data-testid=affinity] option").allInnerTexts();
  assert(timeouts.length >= 3, `affinity choices: ${timeouts}`);
});

await step("page: Chinese reasons carry the English original on hover", async () => {
  const z = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  const p = await z.newPage();
  suite.watch(p, "zh-hover");
  await p.goto(new URL("index.html#s=nodeport", BASE).href);
  const Z = p.locator("[data-testid=playground]");
  await Z.locator("[data-testid=burst]").click();
  const reason = Z.locator("[data-testid=reason]").first();
  await reason.waitFor();
  const [text, title] = [await reason.innerText(), await reason.getAttribute("title")];
  assert(/[\u4e00-\u9fff]/.test(text), `a Chinese reason: ${text}`);
  assert(title && /[a-z]{3,} [a-z]{3,}/.test(title), `its English on hover: ${title}`);
  await z.close();
});

await step("page: headless: the DNS answer, then the client picks a Pod", async () => {
  await scenario("Headless");
  await clientOption(/Pod on/);
  const c = await sendOne();
  const t = await c.innerText();
  assert(/10\.244\.\d+\.\d+/.test(t), `the client reaches a Pod address: ${t}`);
  const all = await P.innerText();
  assert(/\bA\b|DNS/.test(all), "a DNS answer shown");
  await look(page, "headless", P.locator("[data-testid=picture]"));
});

await step("page: the seed's numbers 3017 / 5003 / 31122 in one scenario", async () => {
  const names = await P.locator("[data-testid^=scenario-]").allInnerTexts();
  const seed = names.find((n) => /seed|3017|port/i.test(n));
  assert(seed, `a seed-ports scenario among ${names}`);
  await P.locator("[data-testid=scenario-seed-ports]").click();
  await page.waitForTimeout(300);
  const all = await P.innerText();
  for (const n of ["3017", "5003", "31122"]) assert(all.includes(n), `${n} on the page`);
});

await step("page: kind: Servcie → did you mean Service; flattened indentation → advice", async () => {
  await scenario("ClusterIP");
  const ed = P.locator("textarea").first();
  const text = await ed.inputValue();
  await ed.fill(text.replace("kind: Service", "kind: Servcie"));
  await page.waitForTimeout(500);
  const status = await P.locator("[data-testid=status]").innerText();
  assert(/did you mean.*Service/i.test(status), `status: ${status}`);
  await ed.fill(text.split("\n").map((l) => l.trimStart()).join("\n"));
  await page.waitForTimeout(500);
  const s2 = await P.locator("[data-testid=status]").innerText();
  assert(/indent/i.test(s2), `advice on indentation: ${s2}`);
  await look(page, "flattened", P.locator("[data-testid=status]"));
  await ed.fill(text);
});

await step("page: Back/Forward move through actions; a link carries the connections sent", async () => {
  await scenario("ClusterIP");
  await clientOption(/Pod on node-1/);
  const url0 = page.url();
  await sendOne();
  await sendOne();
  const conns = await P.locator("[data-testid=conn]").evaluateAll((cs) => cs.map((c) => c.dataset.pod));
  const link = page.url();
  assert(link !== url0, "the URL changed with the sends");
  const q = await ctx.newPage();
  suite.watch(q, "link");
  await q.goto(link);
  const Q = q.locator("[data-testid=playground]");
  await Q.locator("[data-testid=conn]").nth(conns.length - 1).waitFor();
  eq(await Q.locator("[data-testid=conn]").evaluateAll((cs) => cs.map((c) => c.dataset.pod)), conns, "the link replays the sends");
  await q.close();
  await page.goBack();
  await page.waitForTimeout(300);
  eq(await P.locator("[data-testid=conn]").count(), conns.length - 1, "Back undoes the last send");
  await page.goForward();
  await page.waitForTimeout(300);
  eq(await P.locator("[data-testid=conn]").count(), conns.length, "Forward redoes it");
});

await step("page: accessibility: tab order, names naming Pods, the picture's text, aria-live", async () => {
  await scenario("ClusterIP");
  await P.getByRole("button", { name: "ClusterIP", exact: true }).focus();
  let landed = "";
  for (let i = 0; i < 15; i++) {
    await page.keyboard.press("Tab");
    landed = await page.evaluate(() => {
      let a = document.activeElement;
      while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
      return `${a?.tagName}|${a?.dataset?.testid ?? ""}|${a?.textContent?.slice(0, 30) ?? ""}`;
    });
    if (!/scenario-/.test(landed)) break;
  }
  assert(/skip|client|target|send|service/i.test(landed), `after the scenario bar: ${landed}`);
  const names = await P.locator("[data-testid=pod-row] button").evaluateAll((bs) => bs.map((b) => [b.getAttribute("aria-label") ?? b.textContent, b.closest("[data-testid=pod-row]").dataset.pod]));
  for (const [n, pod] of names) assert(n.includes(pod.split("/").pop()), `"${n}" names ${pod}`);
  const alt = await P.locator("[data-testid=picture-text]").textContent();
  for (const w of ["node-1", "node-2", "10.97.97.97"]) assert(alt.includes(w), `the text alternative names ${w}`);
  const live = await P.locator("[aria-live]").count();
  assert(live > 0, "a live region");
  await sendOne();
  const said = await P.locator("[aria-live]").allTextContents();
  assert(said.some((s) => /10\.244|refused|pod/i.test(s)), `announced: ${said}`);
});

await step("page: Chinese mode has no English sentence; hover shows the English", async () => {
  const z = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  const p = await z.newPage();
  suite.watch(p, "zh");
  await p.goto(new URL("index.html", BASE).href);
  const Z = p.locator("[data-testid=playground]");
  await Z.waitFor();
  const found = [];
  for (const id of ["clusterip", "headless", "nodeport", "loadbalancer", "externalname", "affinity", "local", "seed-ports"]) {
    await Z.locator(`[data-testid=scenario-${id}]`).click();
    await p.waitForTimeout(150);
    const burst = Z.locator("[data-testid=burst]");
    if (await burst.isEnabled()) await burst.click();
    await p.waitForTimeout(300);
    const texts = await p.evaluate(() => {
      const root = document.getElementById("app").shadowRoot;
      const out = [];
      const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      while (w.nextNode()) {
        const e = w.currentNode.parentElement;
        if (!e || e.closest("style, script, title, textarea, pre, code")) continue;
        out.push(w.currentNode.textContent);
      }
      // Attribute text a screen reader speaks.
      for (const e of root.querySelectorAll("[aria-label]")) out.push(e.getAttribute("aria-label"));
      return out;
    });
    for (const t of texts) for (const m of t.match(/\b[A-Za-z][a-z]+(?:,? [a-z]{2,}){3,}/g) ?? []) found.push(`${id}: "${m}" in "${t.slice(0, 90)}"`);
  }
  const hover = await Z.locator("[title]").count();
  await look(p, "zh", Z);
  await z.close();
  assert(found.length === 0, `English in Chinese mode:\n     ${[...new Set(found)].slice(0, 15).join("\n     ")}`);
  assert(hover > 0, "hover titles hold the English");
});

await step("page: dark palette (prefers-color-scheme)", async () => {
  const d = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US", colorScheme: "dark" });
  const p = await d.newPage();
  suite.watch(p, "dark");
  await p.goto(new URL("index.html", BASE).href);
  const D = p.locator("[data-testid=playground]");
  await D.waitFor();
  const bg = await D.evaluate((e) => getComputedStyle(e).backgroundColor);
  const lum = (c) => {
    const [r, g, b] = c.match(/\d+/g).map(Number);
    return (r + g + b) / 3;
  };
  assert(lum(bg) < 80, `a dark background: ${bg}`);
  await look(p, "dark", D);
  await d.close();
});

await page.close();
await step("no page errors, no console errors", async () => eq(suite.problems, [], "problems"));
await suite.finish();
