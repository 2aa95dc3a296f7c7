// The embeddable widget end to end in headless Chromium (playwright-core), against the page
// `cargo xtask serve` serves: the lesson page (three widgets, a quiz fed by on("connection")),
// mount's strictness, the handle (send, on, setManifest, destroy, replacement), style
// isolation, a 2,000-Service manifest (paste, keystroke and send timings, the link's size), history
// and undo, a link that replays its connections, and accessibility (skip link, Pod action
// names, the live region, the picture as text). Screenshots at 1280 px and 390 px in $ARTIFACTS.
//
// Environment: BASE_URL, ARTIFACTS, CHROMIUM (as e2e.mjs).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ART, BASE, assert, eq, run } from "./harness.mjs";

const suite = run("widget e2e", { timeoutSeconds: 300 });
const { step, shot, shots, problems } = suite;
const metrics = {};
const browser = await suite.launch();
const watch = (page, label) => suite.watch(page, label);
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });

await step("the lesson page: three widgets in shadow roots, a quiz fed by on(\"connection\")", async () => {
  const p = await ctx.newPage();
  watch(p, "lesson");
  await p.goto(new URL("examples/embed.html", BASE).href);
  await p.locator("#ports [data-testid=modes]").waitFor();
  for (const id of ["clusterip", "affinity", "ports"]) {
    eq(await p.evaluate((i) => document.getElementById(i).shadowRoot?.mode, id), "open", `#${id} shadow root`);
  }
  eq(await p.locator("#clusterip [data-testid=title]").innerText(), "ClusterIP · round robin", "title option");
  assert((await p.locator("#clusterip [data-testid=try]").innerText()).startsWith("Send six connections"), "prompt option");
  eq(await p.locator("#affinity [data-testid=lang]").count(), 0, "showLanguage: false");
  eq(await p.locator("#clusterip [data-testid=client] option").allInnerTexts(), ["alice 10.244.0.50 (Pod on node-1)", "bob 10.244.1.50 (Pod on node-2)", "all clients, in turn"], "clients option");
  // The page's script sends through the handle; the quiz hears it through on("connection").
  await p.click("#send-six");
  await p.locator("#clusterip [data-testid=conn]").nth(5).waitFor();
  await p.check("#quiz-rr input[value='2/2/2']");
  // The burst button counts the teacher's two clients, not the scenario's three.
  eq(await p.locator("#clusterip [data-testid=burst]").innerText(), "Burst: 6 connections from 2 clients", "the burst label");
  await p.locator("#quiz-rr .verdict.right").waitFor();
  // Sent from the widget's own button: the event fires too.
  // The lesson's own clients (the quiz asks about carol, 10.244.0.60, the first).
  await p.locator("#affinity [data-testid=client]").selectOption({ index: 0 });
  for (let i = 0; i < 3; i++) await p.locator("#affinity [data-testid=send-one]").click();
  await p.check("#quiz-affinity input[value='spread']");
  await p.locator("#quiz-affinity .verdict.wrong").waitFor();
  assert((await p.locator("#quiz-affinity .verdict").innerText()).includes("pins the client"), "affinity verdict");
  // The modes view: three renderings side by side; the seed's numbers in them.
  const modes = await p.locator("#ports [data-testid^=mode-]").allInnerTexts();
  eq(modes.length, 3, "three modes");
  for (const m of modes) assert(m.includes("3017") || m.includes("31122"), `ports in ${m.slice(0, 80)}`);
  await p.locator("#ports [data-testid=target]").selectOption({ index: 1 });
  const target = await p.locator("#ports [data-testid=target]").inputValue();
  if (target.endsWith(":31122")) {
    await p.locator("#ports [data-testid=send-one]").click();
    await p.check("#quiz-ports input[value='5003']");
    await p.locator("#quiz-ports .verdict.right").waitFor();
  }
  await p.waitForTimeout(1500);
  await shot(p, "20-lesson-1280", "examples/embed.html at 1280 px: three widgets and the quiz");
  await p.setViewportSize({ width: 390, height: 844 });
  await p.waitForTimeout(300);
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  assert(width <= 390, `lesson page is ${width} px wide at 390 px`);
  await shot(p, "20b-lesson-390", "examples/embed.html at 390 px");
  await p.close();
});

// A blank page with the module loaded, for the handle's contract.
const api = await ctx.newPage();
watch(api, "api");
await api.goto(new URL("examples/embed.html", BASE).href);
await api.locator("#ports [data-testid=modes]").waitFor();
await api.evaluate(async () => {
  window.sr = await import("/pkg/svcroute_web.js");
  document.body.insertAdjacentHTML("beforeend", '<div id="w1"></div>');
});

await step("mount is strict: unknown option, scenario, language, view, scheduler, client", async () => {
  const errors = await api.evaluate(() => {
    const el = document.getElementById("w1");
    const tries = [
      { colour: "red" },
      { scenario: "clusterIP" },
      { lang: "fr" },
      { view: "tiny" },
      { scheduler: "lblc" },
      { scheduler: "fastest" },
      { clients: [{ address: "10.0.0.1", where: "moon" }] },
      { clients: [{ address: "not-an-ip" }] },
      { clients: [{ address: "10.0.0.1", node: "node-9" }] },
      { manifest: "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  port: 80\n" },
      { compact: true, view: "full" },
    ];
    return tries.map((o) => {
      try {
        window.sr.mount(el, o);
        return "no error";
      } catch (e) {
        return `${e instanceof Error}|${e.message}`;
      }
    });
  });
  const want = [
    ["unknown option \"colour\"", "scenario", "showLanguage"],
    ["unknown scenario \"clusterIP\"", "clusterip", "headless", "affinity"],
    ["\"fr\"", "en, zh"],
    ["\"tiny\"", "full, compact, modes"],
    ["\"lblc\" is not simulated", "rr", "wrr", "mh"],
    ["\"fastest\"", "rr"],
    ["\"moon\"", "pod, node, outside"],
    ["not-an-ip"],
    ["node-9", "node-1"],
    ["spec.port"],
    ["compact"],
  ];
  want.forEach((parts, i) => {
    assert(errors[i].startsWith("true|"), `try ${i}: ${errors[i]}`);
    for (const part of parts) assert(errors[i].includes(part), `try ${i}: ${errors[i]} lacks ${part}`);
  });
  eq(await api.evaluate(() => document.getElementById("w1").shadowRoot?.childElementCount ?? 0), 0, "nothing mounted by a bad call");
});

await step("mount, send's target, setManifest and on check their arguments' types (no trap in the module)", async () => {
  const r = await api.evaluate(async () => {
    const el = document.getElementById("w1");
    const out = {};
    const msg = (f) => {
      try {
        f();
        return "no error";
      } catch (e) {
        return `${e instanceof Error}|${e.name}|${e.message}`;
      }
    };
    // Not an element: a clear Error, not a TypeError from inside the binding.
    out.nullElement = msg(() => window.sr.mount(null, {}));
    out.selector = msg(() => window.sr.mount("#w1", {}));
    // A target given as an address must be one of the cluster's entry points.
    out.target = msg(() => window.sr.mount(el, { scenario: "clusterip", target: "10.1.2.3:80" }));
    const h = window.sr.mount(el, { scenario: "clusterip", view: "compact", lang: "en" });
    // A number where text belongs used to trap the module ("memory access out of bounds").
    out.setNumber = msg(() => h.setManifest(42));
    out.onNumber = msg(() => h.on(5, () => {}));
    out.onNotFunction = msg(() => h.on("connection", 5));
    out.stillSends = (await h.send({})).length;
    h.destroy();
    return out;
  });
  assert(r.nullElement.startsWith("true|SvcrouteError|") && r.nullElement.includes("DOM element"), r.nullElement);
  assert(r.selector.startsWith("true|SvcrouteError|") && r.selector.includes("DOM element"), r.selector);
  assert(r.target.startsWith("true|SvcrouteError|") && r.target.includes("10.97.97.97:80"), `the valid targets named: ${r.target}`);
  assert(r.setNumber.startsWith("true|SvcrouteError|") && r.setNumber.includes("string"), r.setNumber);
  assert(r.onNumber.startsWith("true|SvcrouteError|") && r.onNumber.includes("connection"), r.onNumber);
  assert(r.onNotFunction.startsWith("true|SvcrouteError|") && r.onNotFunction.includes("function"), r.onNotFunction);
  eq(r.stillSends, 1, "the widget still works");
});

await step("mount draws before it returns: the picture, the rules and the controls are there at once", async () => {
  const r = await api.evaluate(() => {
    const el = document.getElementById("w1");
    const h = window.sr.mount(el, { scenario: "nodeport", lang: "en", url: false });
    // No await between mount and these reads: what a host page's next line sees.
    const root = el.shadowRoot;
    const out = {
      pods: root.querySelectorAll("[data-testid=picture] [data-testid=pod]").length,
      rules: root.querySelector("[data-testid=rules]")?.textContent ?? "",
      send: !!root.querySelector("[data-testid=send-one]"),
    };
    h.destroy();
    return out;
  });
  eq(r.pods, 3, "the scenario's three Pods drawn");
  assert(r.rules.includes("TCP") && r.rules.includes("rr"), `the ipvsadm -Ln view filled: ${r.rules.slice(0, 120)}`);
  assert(r.send, "the send button is there");
});

await step("the host page's inherited styles (font, letter-spacing, text-transform, alignment) stop at the shadow root", async () => {
  const look = (hostile) =>
    api.evaluate(async (hostile) => {
      const el = document.createElement("div");
      if (hostile) {
        el.style.cssText =
          "font: italic 27px/3 'Courier New', monospace; color: rgb(200, 0, 0); letter-spacing: 4px; text-transform: uppercase; text-align: right; word-spacing: 9px; white-space: pre";
      }
      document.body.append(el);
      const h = window.sr.mount(el, { scenario: "clusterip", view: "compact", lang: "en" });
      await new Promise((r) => setTimeout(r, 100));
      const pick = (sel) => {
        const s = getComputedStyle(el.shadowRoot.querySelector(sel));
        return [s.fontFamily, s.fontSize, s.fontStyle, s.color, s.letterSpacing, s.textTransform, s.textAlign, s.wordSpacing, s.lineHeight, s.whiteSpace].join(" | ");
      };
      const out = { try: pick("[data-testid=try]"), button: pick("[data-testid=send-one]"), label: pick("[data-testid=picture] text") };
      h.destroy();
      el.remove();
      return out;
    }, hostile);
  eq(await look(true), await look(false), "the widget's text looks the same inside a hostile element");
});

await step("the handle: send, on (page and API), setManifest, replacement, destroy", async () => {
  const r = await api.evaluate(async () => {
    const el = document.getElementById("w1");
    const h = window.sr.mount(el, {
      scenario: "clusterip",
      view: "compact",
      clients: [{ address: "10.244.0.77", where: "pod", name: "alice" }, { address: "203.0.113.9", where: "outside", name: "laptop" }],
      target: "10.97.97.97:80",
      scheduler: "rr",
      lang: "en",
    });
    const heard = [];
    const off = h.on("connection", (c) => heard.push(c));
    const sent = await h.send({ from: "alice", count: 3 });
    await new Promise((r) => setTimeout(r, 100));
    // From the page's own button: the event fires too.
    el.shadowRoot.querySelector("[data-testid=send-one]").click();
    await new Promise((r) => setTimeout(r, 100));
    const afterPage = heard.length;
    off();
    await h.send({ from: "10.244.0.77" });
    await new Promise((r) => setTimeout(r, 100));
    const afterOff = heard.length;
    let badFrom = null;
    try { await h.send({ from: "carol" }); } catch (e) { badFrom = e.message; }
    let badKey = null;
    try { await h.send({ form: "alice" }); } catch (e) { badKey = e.message; }
    let badEvent = null;
    try { h.on("click", () => {}); } catch (e) { badEvent = e.message; }
    // setManifest: a broken text throws its diagnostics, the last good state stays.
    const good = window.sr.scenarios()[0].manifest;
    let diag = null;
    try { h.setManifest(good.replace("\n  ports:\n", "\n  port:\n")); } catch (e) { diag = { name: e.name, line: e.line, n: e.diagnostics.length, msg: e.message }; }
    await new Promise((r) => setTimeout(r, 100));
    const podsKept = el.shadowRoot.querySelectorAll("[data-testid=picture] [data-testid=pod]").length;
    h.setManifest(good.replace("replicas: 3", "replicas: 5"));
    await new Promise((r) => setTimeout(r, 150));
    const podsAfter = el.shadowRoot.querySelectorAll("[data-testid=picture] [data-testid=pod]").length;
    // Mounting again into the element replaces the widget; the old handle is inert.
    const h2 = window.sr.mount(el, { scenario: "nodeport", view: "compact", lang: "en" });
    await new Promise((r) => setTimeout(r, 50)); // Yew draws in a task after mount returns
    const playgrounds = el.shadowRoot.querySelectorAll("[data-testid=playground]").length;
    let inert = null;
    try { await h.send({ count: 1 }); } catch (e) { inert = e.message; }
    const oldDestroy = (() => { try { h.destroy(); return "ok"; } catch (e) { return e.message; } })();
    const stillThere = el.shadowRoot.querySelectorAll("[data-testid=playground]").length;
    const viaH2 = await h2.send({});
    h2.unmount(); // the first API's name
    const afterDestroy = el.shadowRoot.childElementCount;
    return { sent, afterPage, afterOff, heard: heard.slice(0, 3), badFrom, badKey, badEvent, diag, podsKept, podsAfter, playgrounds, inert, oldDestroy, stillThere, viaH2, afterDestroy };
  });
  eq(r.sent.length, 3, "send resolves to the connections");
  for (const c of r.sent) {
    eq(c.from, "10.244.0.77", "from a client's name");
    eq(c.to, "10.97.97.97:80", "to defaults to the target option");
    assert(Number.isInteger(c.sourcePort) && c.sourcePort > 0, `sourcePort ${c.sourcePort}`);
    eq(c.refused, false, "refused");
    assert(typeof c.reason === "string" && c.reason.startsWith("rr: "), `reason ${c.reason}`);
    assert(c.pod && c.backend && c.node && c.virtualServer, `route -o json fields: ${JSON.stringify(c)}`);
  }
  eq(new Set(r.sent.map((c) => c.pod)).size, 3, "rr over three Pods");
  eq(r.heard, r.sent, "on(\"connection\") hears the API's connections, the same objects");
  eq(r.afterPage, 4, "and the page's");
  eq(r.afterOff, 4, "unsubscribed");
  assert(r.badFrom.includes("carol") && r.badFrom.includes("alice") && r.badFrom.includes("laptop"), `bad from: ${r.badFrom}`);
  assert(r.badKey.includes("form"), `bad key: ${r.badKey}`);
  assert(r.badEvent.includes("connection"), `bad event: ${r.badEvent}`);
  assert(r.diag && r.diag.name === "SvcrouteError" && r.diag.n >= 1 && r.diag.msg.includes("spec.port"), `diagnostics: ${JSON.stringify(r.diag)}`);
  eq(r.podsKept, 3, "the last good state stays");
  eq(r.podsAfter, 5, "a good text is taken");
  eq(r.playgrounds, 1, "one widget after mounting again");
  assert(r.inert && r.inert.includes("destroyed or replaced"), `old handle: ${r.inert}`);
  eq(r.oldDestroy, "ok", "destroying an inert handle is harmless");
  eq(r.stillThere, 1, "the old handle does not touch the new widget");
  eq(r.viaH2.length, 1, "the new handle sends");
  eq(r.afterDestroy, 0, "destroy empties the shadow root");
});

await step("styles are isolated: the host page's CSS does not reach in, ours does not leak out", async () => {
  const r = await api.evaluate(async () => {
    document.head.insertAdjacentHTML("beforeend", "<style>button { color: rgb(255, 0, 0) !important; font-size: 40px; } .sr-title { display: none; }</style>");
    document.body.insertAdjacentHTML("beforeend", '<div id="w2"></div><button id="outside">outside</button><p class="sr-try" id="host-try">x</p>');
    const el = document.getElementById("w2");
    window.sr.mount(el, { view: "compact", lang: "en" });
    await new Promise((r) => setTimeout(r, 50));
    const inner = el.shadowRoot.querySelector("[data-testid=send-one]");
    const title = el.shadowRoot.querySelector(".sr-title");
    return {
      innerColour: getComputedStyle(inner).color,
      innerSize: getComputedStyle(inner).fontSize,
      titleShown: getComputedStyle(title).display !== "none",
      hostTryBg: getComputedStyle(document.getElementById("host-try")).backgroundColor,
      styleInHead: !!document.getElementById("svcroute-style"),
    };
  });
  assert(r.innerColour !== "rgb(255, 0, 0)" && r.innerSize !== "40px", `host CSS reached in: ${JSON.stringify(r)}`);
  assert(r.titleShown, "host .sr-title rule reached in");
  eq(r.hostTryBg, "rgba(0, 0, 0, 0)", "our .sr-try leaked out");
  eq(r.styleInHead, false, "no stylesheet in the host's head");
});

await step("\"What to try\": the teacher's prompt, a general one over the teacher's own manifest, else the scenario's", async () => {
  const r = await api.evaluate(async () => {
    document.body.insertAdjacentHTML("beforeend", '<div id="w5"></div>');
    const el = document.getElementById("w5");
    const own = window.sr.scenarios().find((s) => s.id === "clusterip").manifest;
    const tryText = () => el.shadowRoot.querySelector("[data-testid=try]").innerText;
    const out = {};
    window.sr.mount(el, { scenario: "nodeport", lang: "en", url: false });
    out.scenario = tryText();
    window.sr.mount(el, { scenario: "nodeport", manifest: own, lang: "en", url: false });
    out.own = tryText();
    window.sr.mount(el, { scenario: "nodeport", manifest: own, lang: "zh", url: false });
    out.ownZh = tryText();
    window.sr.mount(el, { scenario: "nodeport", manifest: own, prompt: "Send two.", lang: "en", url: false });
    out.prompt = tryText();
    window.sr.mount(el, { scenario: "nodeport", manifest: own, view: "compact", lang: "en", url: false });
    out.compactTitle = el.shadowRoot.querySelector("[data-testid=title]").innerText;
    const h = window.sr.mount(el, { scenario: "nodeport", view: "compact", lang: "en", url: false });
    out.scenarioTitle = el.shadowRoot.querySelector("[data-testid=title]").innerText;
    // setManifest gives the widget the teacher's own manifest: the general text and title.
    h.setManifest(own);
    await new Promise((r) => setTimeout(r, 100));
    out.setTitle = el.shadowRoot.querySelector("[data-testid=title]").innerText;
    const h2 = window.sr.mount(el, { scenario: "nodeport", lang: "en", url: false });
    out.setBefore = tryText();
    h2.setManifest(own);
    await new Promise((r) => setTimeout(r, 100));
    out.setAfter = tryText();
    h2.destroy();
    return out;
  });
  assert(r.scenario.includes("NodePort") || r.scenario.includes("nodePort"), `the scenario's own: ${r.scenario}`);
  assert(r.own.includes("Send connections from each client to the Services of these manifests"), `over the teacher's manifest: ${r.own}`);
  assert(!r.own.includes("NodePort"), `not the scenario's: ${r.own}`);
  assert(r.ownZh.includes("从各个客户端向这些清单中的 Service 发送连接"), `in Chinese: ${r.ownZh}`);
  assert(r.prompt.endsWith("Send two."), `the prompt: ${r.prompt}`);
  // The compact view's title names the scenario only over the scenario's own manifest.
  eq([r.compactTitle, r.scenarioTitle, r.setTitle], ["svcroute", "svcroute · NodePort", "svcroute"], "compact titles");
  assert(r.setBefore === r.scenario && r.setAfter === r.own, `setManifest: the general text (${r.setBefore} / ${r.setAfter})`);
});

await step("view: modes and compat options (compact: true, url)", async () => {
  const r = await api.evaluate(async () => {
    document.body.insertAdjacentHTML("beforeend", '<div id="w3"></div><div id="w4"></div>');
    window.sr.mount(document.getElementById("w3"), { scenario: "nodeport", view: "modes", lang: "en" });
    window.sr.mount(document.getElementById("w4"), { scenario: "affinity", compact: true, url: false });
    await new Promise((r) => setTimeout(r, 50));
    const q = (id, s) => document.getElementById(id).shadowRoot.querySelectorAll(s).length;
    return { modes: q("w3", "[data-testid^=mode-]"), compact: q("w4", "[data-compact=true]"), hash: location.hash };
  });
  eq(r, { modes: 3, compact: 1, hash: "" }, "views");
});
await api.close();

await step("2,000 Services: paste and keystroke timings, a short link", async () => {
  const p = await ctx.newPage();
  watch(p, "large");
  await p.goto(BASE);
  await p.locator("[data-testid=picture] [data-testid=pod]").nth(2).waitFor();
  const base = await p.locator("[data-testid=manifest]").inputValue();
  let big = base;
  for (let i = 0; i < 2000; i++) {
    big += `---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-${i}\n  namespace: dev\nspec:\n  selector:\n    app: nginx-pod\n  ports:\n  - port: ${1000 + (i % 50000)}\n    targetPort: 80\n`;
  }
  // Paste: the text set at once, as a paste does; done when the last Service is in the list.
  const paste = await p.evaluate(async (text) => {
    const ta = document.querySelector("#app").shadowRoot.querySelector("[data-testid=manifest]");
    const t0 = performance.now();
    ta.value = text;
    ta.dispatchEvent(new InputEvent("input", { bubbles: true }));
    const root = document.querySelector("#app").shadowRoot;
    while (![...root.querySelectorAll("[data-testid=service] option")].some((o) => o.value === "dev/svc-1999")) {
      await new Promise((r) => setTimeout(r, 5));
      if (performance.now() - t0 > 60000) throw new Error("never planned");
    }
    return performance.now() - t0;
  }, big);
  metrics.paste2000Ms = Math.round(paste);
  // The paste's 10,000 changes are drawn to 200 rows until asked.
  eq(await p.locator("[data-testid=op]").count(), 200, "changes drawn");
  assert((await p.locator("[data-testid=diff]").innerText()).includes("200 of 10"), "the change list says how many are shown");
  // A keystroke typed as a user types (the browser's own insertText edit, not a new value for
  // the whole textarea) right after `after`: the input event handled (the page free again),
  // and then planned, once an element matching `selector` has `prop` containing `want`.
  const typed = (after, text, selector, prop, want) =>
    p.evaluate(async ([after, text, selector, prop, want]) => {
      const root = document.querySelector("#app").shadowRoot;
      const ta = root.querySelector("[data-testid=manifest]");
      const at = ta.value.indexOf(after) + after.length;
      ta.focus();
      ta.setSelectionRange(at, at);
      const t0 = performance.now();
      document.execCommand("insertText", false, text);
      const input = performance.now() - t0;
      while (![...root.querySelectorAll(selector)].some((o) => o[prop].includes(want))) {
        await new Promise((r) => setTimeout(r, 5));
        if (performance.now() - t0 > 60000) throw new Error("never planned");
      }
      return { input, planned: performance.now() - t0 };
    }, [after, text, selector, prop, want]);
  // A new name is another object: the whole text is read again.
  const key = await typed("name: svc-1999", "x", "[data-testid=service] option", "value", "dev/svc-1999x");
  metrics.keystrokeInputMs = +key.input.toFixed(1);
  metrics.keystrokePlannedMs = Math.round(key.planned);
  // A keystroke in the same Service's port (2999 -> 29991): one document changed in place,
  // read alone and applied to the page's live cluster. The change list shows just that
  // Service's virtual servers moving.
  const portKey = await typed("- port: 2999", "1", "[data-testid=op]", "textContent", ":29991");
  metrics.portKeystrokePlannedMs = Math.round(portKey.planned);
  const ops = await p.locator("[data-testid=op]").allInnerTexts();
  assert(ops.length > 0 && ops.length < 20 && ops.every((o) => o.includes(":2999")), `only svc-1999's changes: ${ops.slice(0, 5)}`);
  // A send (the modes panel closed, so not replayed in the four modes): click to the log's
  // new entry, the median of three.
  const sends = [];
  for (let i = 0; i < 3; i++) {
    sends.push(await p.evaluate(async () => {
      const root = document.querySelector("#app").shadowRoot;
      const seq = () => Number(root.querySelector("[data-testid=conn]")?.dataset.seq ?? 0);
      const before = seq();
      const t0 = performance.now();
      root.querySelector("[data-testid=send-one]").click();
      while (seq() <= before) {
        await new Promise((r) => setTimeout(r, 1));
        if (performance.now() - t0 > 60000) throw new Error("never sent");
      }
      return performance.now() - t0;
    }));
  }
  metrics.send2000Ms = Math.round(sends.sort((a, b) => a - b)[1]);
  eq(await p.locator("[data-testid=modes-panel]").getAttribute("data-pending"), "3", "the sends wait for the modes panel");
  eq(await p.locator("[data-testid=editor]").getAttribute("data-windowed"), "true", "only visible lines drawn");
  // The long lists are drawn to 200 rows until asked (6,000 DNS records).
  eq(await p.locator("[data-testid=dns] tr").count(), 200, "DNS records drawn");
  await p.click("[data-testid=dns-all]");
  await p.locator("[data-testid=dns] tr").nth(2000).waitFor();
  eq(await p.locator("[data-testid=dns-all]").count(), 0, "the button goes once all are drawn");
  const drawn = await p.locator("[data-testid=editor] .sr-ln").count();
  assert(drawn < 600, `${drawn} gutter lines drawn`);
  await p.waitForFunction(() => location.hash.includes("z="));
  metrics.link2000Bytes = (await p.evaluate(() => location.href)).length;
  metrics.manifest2000Bytes = big.length;
  assert(metrics.link2000Bytes * 10 < big.length, `link ${metrics.link2000Bytes} bytes for ${big.length}`);
  await shot(p, "21-large", "2,000 Services pasted", false);
  // The link opens the same text.
  const again = await ctx.newPage();
  watch(again, "large-link");
  await again.goto(await p.evaluate(() => location.href));
  await again.locator("[data-testid=service] option[value='dev/svc-1999x']").waitFor({ state: "attached" });
  await again.close();
  await p.close();
});

await step("history: Back/Forward move through actions, undo, edits kept per scenario", async () => {
  const p = await ctx.newPage();
  watch(p, "history");
  await p.goto(BASE);
  await p.locator("[data-testid=picture] [data-testid=pod]").nth(2).waitFor();
  const area = p.locator("[data-testid=manifest]");
  const edited = (await area.inputValue()).replace("replicas: 3", "replicas: 4");
  await area.fill(edited);
  await p.locator("[data-testid=picture] [data-testid=pod]").nth(3).waitFor();
  await p.click("[data-testid=scenario-nodeport]");
  await p.locator('[data-testid=entry][data-target$=":30002"]').first().waitFor();
  await p.click("[data-testid=scenario-clusterip]");
  eq(await area.inputValue(), edited, "the edit came back with its scenario");
  await p.click("[data-testid=scenario-nodeport]");
  await p.locator('[data-testid=entry][data-target$=":30002"]').first().waitFor();
  await p.goBack();
  await p.locator("[data-testid=scenario-clusterip][aria-pressed=true]").waitFor();
  eq(await area.inputValue(), edited, "Back: the previous action's state");
  await p.goForward();
  await p.locator("[data-testid=scenario-nodeport][aria-pressed=true]").waitFor();
  // Undo: a Pod made not ready, then undone.
  const row = p.locator("[data-testid=pod-row]").first();
  await row.locator("[data-testid=make-not-ready]").click();
  await p.locator("[data-testid=pod][data-state=not-ready]").waitFor();
  await p.click("[data-testid=undo-action]");
  await p.waitForFunction(() => !document.querySelector("#app").shadowRoot.querySelector("[data-testid=pod][data-state=not-ready]"));
  await p.close();
});

await step("a link carries the connections sent: affinity pins survive sharing", async () => {
  const p = await ctx.newPage();
  watch(p, "pins");
  await p.goto(`${BASE}#s=affinity`);
  await p.locator("[data-testid=picture] [data-testid=pod]").nth(2).waitFor();
  // The second default client (a node's own process), not the first: the link keeps the choice.
  await p.selectOption("[data-testid=client]", { index: 1 });
  const chosen = (await p.locator("[data-testid=client] option").nth(1).innerText()).match(/\d+\.\d+\.\d+\.\d+/)[0];
  await p.click("[data-testid=send-one]");
  await p.locator("[data-testid=conn]").first().waitFor();
  const pinned = await p.locator("[data-testid=conn]").first().getAttribute("data-pod");
  const url = await p.evaluate(() => location.href);
  assert(url.includes("&k="), `sends in ${url}`);
  const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
  const q = await fresh.newPage();
  watch(q, "pins-link");
  await q.goto(url);
  await q.locator("[data-testid=conn]").first().waitFor();
  await q.click("[data-testid=send-one]");
  await q.locator("[data-testid=conn]").nth(1).waitFor();
  eq(await q.locator("[data-testid=conn]").first().getAttribute("data-pod"), pinned, "the pin survived the link");
  assert((await q.locator("[data-testid=reason]").first().innerText()).includes(`the persistence template pins ${chosen}`), "pinned reason");
  await fresh.close();
  await p.close();
});

await step("accessibility: skip link after the scenario bar, Pod actions named, results announced, picture as text", async () => {
  for (const [w, h, name] of [[1280, 900, "22-a11y-1280"], [390, 844, "22b-a11y-390"]]) {
    const c = await browser.newContext({ viewport: { width: w, height: h }, locale: "en-US" });
    const p = await c.newPage();
    watch(p, `a11y-${w}`);
    await p.goto(BASE);
    await p.locator("[data-testid=picture] [data-testid=pod]").nth(2).waitFor();
    const deep = () => p.evaluate(() => {
      let a = document.activeElement;
      while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
      return a?.dataset?.testid ?? a?.tagName;
    });
    // Tab order: …the last scenario button, then the skip link; Enter lands in the traffic controls.
    await p.locator(".sr-scenario-buttons button").last().focus();
    await p.keyboard.press("Tab");
    eq(await deep(), "skip", "after the scenario bar");
    if (w === 1280) await shot(p, "22c-skip-link", "the skip link, focused", false);
    await p.keyboard.press("Enter");
    const landed = await deep();
    assert(["service", "target", "client"].includes(landed), `skip link led to ${landed}`);
    const names = await p.locator("[data-testid=pod-row]").evaluateAll((rows) => rows.map((r) => [r.dataset.pod, [...r.querySelectorAll("button")].map((b) => b.getAttribute("aria-label"))]));
    for (const [pod, labels] of names) for (const l of labels) assert(l && l.includes(pod), `a Pod action without its Pod: ${l} (${pod})`);
    const scales = await p.locator("[data-testid=workload]").evaluateAll((rows) => rows.map((r) => [r.dataset.workload, [...r.querySelectorAll("button")].map((b) => b.getAttribute("aria-label"))]));
    assert(scales.length > 0, "a workload row");
    for (const [w, labels] of scales) for (const l of labels) assert(l && l.includes(w), `a scale button without its workload: ${l} (${w})`);
    await p.click("[data-testid=burst]");
    await p.locator("[data-testid=conn]").nth(5).waitFor();
    const live = p.locator("[data-testid=announce]");
    eq(await live.getAttribute("aria-live"), "polite", "live region");
    const said = await live.innerText();
    assert(said.includes("Connection 6:") && said.includes("rr: "), `announced: ${said}`);
    const text = await p.locator("[data-testid=picture-text]").innerText();
    assert(text.includes("10.97.97.97:80") && text.includes("node-1") && text.includes("node-2") && /pc-deployment-\S+ 10\.244\./.test(text), `picture as text: ${text}`);
    await shot(p, name, `the playground at ${w} px after a burst`);
    await c.close();
  }
});

await step("flattened YAML from the notes gets a hint in the status line", async () => {
  const p = await ctx.newPage();
  watch(p, "flat");
  await p.goto(BASE);
  await p.locator("[data-testid=picture] [data-testid=pod]").nth(2).waitFor();
  const flat = (await p.locator("[data-testid=manifest]").inputValue()).split("\n").map((l) => l.trimStart()).join("\n");
  await p.locator("[data-testid=manifest]").fill(flat);
  const hint = await p.locator("[data-testid=status] [data-testid=indent-hint]").innerText();
  assert(hint.includes("lost its indentation"), hint);
  await shot(p, "23-flattened", "the notes' flattened YAML: the hint in the status line", false);
  await p.close();
});

await step("no page errors, no console errors", async () => {
  eq(problems, [], "problems");
});

writeFileSync(join(ART, "widget-shots.json"), JSON.stringify({ metrics, shots }, null, 2));
console.log(`widget e2e metrics: 2,000 Services (${metrics.manifest2000Bytes} bytes): paste ${metrics.paste2000Ms} ms to the planned picture; keystroke: input handled in ${metrics.keystrokeInputMs} ms, planned after ${metrics.keystrokePlannedMs} ms (a new name: all read again), ${metrics.portKeystrokePlannedMs} ms (a port: one document); a send ${metrics.send2000Ms} ms; link ${metrics.link2000Bytes} bytes`);
await suite.finish();
