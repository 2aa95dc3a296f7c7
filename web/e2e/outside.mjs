// An outside check of issue 12, item by item, as a student and a teacher would use the page:
// written from the words (not from the other e2e files), one browser, one page per
// group. Pods that stay put on delete and the replacement; outside → ClusterIP refused with a
// reason, → NodePort and LoadBalancer answered; the path through the node's kube-proxy with
// the SNAT; headless DNS then the second hop; the seed's 3017/5003/31122; the kubectl views;
// `ipvsadm -Lnc`; affinity timeouts and simulated schedulers only; the editor's status with
// "did you mean", the flattened-indentation hint and a valid text's warnings (reader's and
// plan's); Back/Forward, undo, a link that carries its sends; tab order, Pod action names, the
// picture's text, the live region; and the widget's API (strict options, send's connections,
// on/unsubscribe, setManifest, replacement, shadow root, views, showLanguage).
// Screenshots at 1280 px and 390 px in $ARTIFACTS (outside-*.png).
//
// Environment: BASE_URL, ARTIFACTS, CHROMIUM (as e2e.mjs).
import { join } from "node:path";
import { ART, BASE, assert, eq, run } from "./harness.mjs";

const suite = run("outside e2e", { timeoutSeconds: 240, stackLines: 5 });
const { step } = suite;
/** A screenshot at 1280 px and at 390 px (the viewport is restored). */
async function shots(page, name) {
  const vp = page.viewportSize();
  await page.screenshot({ path: join(ART, `outside-${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(ART, `outside-${name}-390.png`), fullPage: true });
  await page.setViewportSize(vp);
}

const browser = await suite.launch();
const watch = (page, label) => suite.watch(page, label);
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });

async function open(page, fragment = "") {
  await page.goto(new URL(`index.html${fragment}`, BASE).href);
  await page.locator("[data-testid=picture]").waitFor();
}
async function scenario(page, id) {
  await page.click(`[data-testid=scenario-${id}]`);
  await page.locator(`[data-testid=scenario-${id}][aria-pressed=true]`).waitFor();
}
/** Chooses the first client whose label contains `where` ("outside", "Pod on", "node itself"). */
async function client(page, where) {
  const opts = await page.locator("[data-testid=client] option").allInnerTexts();
  const i = opts.findIndex((o) => o.includes(where));
  assert(i >= 0, `a client "${where}" among ${JSON.stringify(opts)}`);
  await page.selectOption("[data-testid=client]", String(i));
}
/** Chooses the first target whose label contains `kind` (ClusterIP, NodePort, LoadBalancer, DNS). */
async function target(page, kind) {
  const opts = await page.locator("[data-testid=target] option").evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
  const o = opts.find(([, label]) => label.includes(kind));
  assert(o, `a ${kind} target among ${JSON.stringify(opts)}`);
  await page.selectOption("[data-testid=target]", o[0]);
  return o[0];
}
async function sendOne(page) {
  const n = await page.locator("[data-testid=conn]").count();
  await page.click("[data-testid=send-one]");
  await page.locator("[data-testid=conn]").nth(n).waitFor();
  // The log lists the newest first.
  return page.locator("[data-testid=conn]").first();
}
const pods = (page) =>
  page.locator("[data-testid=picture] [data-testid=pod]").evaluateAll((gs) =>
    gs.map((g) => ({ pod: g.dataset.pod, node: g.dataset.node, ip: g.dataset.ip, state: g.dataset.state })),
  );

// ---------------------------------------------------------------- the student's page
const p = await ctx.newPage();
watch(p, "page");
await open(p);

await step("1. delete a Pod: the others keep node and IP; a replacement with a new name and IP", async () => {
  await scenario(p, "clusterip");
  const before = await pods(p);
  assert(before.length >= 2, `pods drawn: ${before.length}`);
  const victim = before[0];
  await p.click(`[data-testid=pod-row][data-pod="${victim.pod}"] [data-testid=delete]`);
  await p.waitForFunction(
    ([v, n]) => {
      const root = document.getElementById("app").shadowRoot ?? document;
      const gs = [...root.querySelectorAll("[data-testid=picture] [data-testid=pod]")];
      return !gs.some((g) => g.dataset.pod === v && g.dataset.state !== "terminating") || gs.length > n;
    },
    [victim.pod, before.length],
  );
  const after = await pods(p);
  for (const o of before.slice(1)) {
    const a = after.find((x) => x.pod === o.pod);
    assert(a, `${o.pod} still there after deleting ${victim.pod}`);
    eq([a.node, a.ip], [o.node, o.ip], `${o.pod} keeps its node and IP`);
  }
  const fresh = after.filter((a) => !before.some((b) => b.pod === a.pod));
  eq(fresh.length, 1, `one replacement (after: ${JSON.stringify(after)})`);
  assert(!before.some((b) => b.ip === fresh[0].ip), `the replacement's IP ${fresh[0].ip} is new`);
  eq(await p.locator("[data-testid=no-change]").count(), 0, "the change list is not 'No change'");
  // Terminate: the Pod stays (terminating) and a replacement starts at once.
  const now = await pods(p);
  const t = now.find((x) => x.state !== "terminating");
  await p.click(`[data-testid=pod-row][data-pod="${t.pod}"] [data-testid=terminate]`);
  await p.locator(`[data-testid=picture] [data-testid=pod][data-pod="${t.pod}"][data-state=terminating]`).waitFor();
  const later = await pods(p);
  eq(later.filter((x) => !now.some((b) => b.pod === x.pod)).length, 1, "terminating makes a replacement");
  await shots(p, "deleted");
});

await step("2+3. outside → ClusterIP refused with a reason; the path enters through its node's kube-proxy", async () => {
  await scenario(p, "clusterip");
  const nodes = await p.locator("[data-testid=picture] [data-testid=node]").count();
  eq(await p.locator("[data-testid=picture] [data-testid=kube-proxy]").count(), nodes, "one kube-proxy per node");
  assert((await p.locator("[data-testid=cluster-boundary]").count()) > 0, "the cluster boundary is drawn");
  await target(p, "ClusterIP");
  await client(p, "outside");
  const c = await sendOne(p);
  const reason = await c.locator("[data-testid=reason]").innerText();
  assert(/outside|not reachable|only inside|cluster/i.test(reason), `a refusal's reason: ${reason}`);
  await p.locator("[data-testid=conn-path][data-refused=true]").first().waitFor();
  // From a Pod: accepted, entering the node the Pod is on.
  await client(p, "Pod on");
  const ok = await sendOne(p);
  assert((await ok.getAttribute("data-pod")) !== "", "a Pod client reaches the ClusterIP");
  const label = await p.locator("[data-testid=client] option:checked").innerText();
  const path = p.locator("[data-testid=conn-path]").last();
  const node = await path.getAttribute("data-node");
  assert(node && label.includes(node), `the connection enters its client's node (${node}; ${label})`);
  await shots(p, "clusterip-outside");
});

await step("2+3. outside → NodePort answered, the Pod sees the node's address (SNAT)", async () => {
  await scenario(p, "nodeport");
  const to = await target(p, "NodePort");
  assert(Number(to.split(":").pop()) >= 30000, `a node port: ${to}`);
  await client(p, "outside");
  const c = await sendOne(p);
  assert((await c.getAttribute("data-pod")) !== "", `outside → ${to} is answered: ${await c.innerText()}`);
  const snat = await p.locator("[data-testid=snat]").last().getAttribute("data-snat");
  assert(snat && snat.length > 0, "the SNAT address is drawn");
});

await step("2+5. LoadBalancer: the device outside; outside → LB IP answered; <pending> without status", async () => {
  await scenario(p, "loadbalancer");
  await p.locator("[data-testid=lb-device]").waitFor();
  const to = await target(p, "LoadBalancer");
  await client(p, "outside");
  const c = await sendOne(p);
  assert((await c.getAttribute("data-pod")) !== "", `outside → ${to} is answered`);
  // Without status.loadBalancer the Service has no EXTERNAL-IP yet.
  const text = await p.locator("[data-testid=manifest]").inputValue();
  const cut = text.replace(/\nstatus:[\s\S]*?(?=\n---|\n[a-z]|$)/g, "");
  assert(cut !== text, "the scenario's Service has a status to remove");
  await p.fill("[data-testid=manifest]", cut);
  await p.locator("[data-testid=kubectl-view][data-cmd^='kubectl get svc']").waitFor({ state: "attached" });
  await p.waitForFunction(() => {
    const root = document.getElementById("app").shadowRoot ?? document;
    return root.querySelector("[data-testid=kubectl-view][data-cmd^='kubectl get svc']")?.textContent.includes("<pending>");
  });
  await shots(p, "lb-pending");
});

await step("5. headless: the DNS answer, then the client's own second hop to a Pod", async () => {
  await scenario(p, "headless");
  await target(p, "DNS");
  await client(p, "Pod on");
  await sendOne(p);
  await p.locator("[data-testid=dns-answer]").first().waitFor();
  await p.locator("[data-testid=conn-hop2]").first().waitFor();
  await shots(p, "headless");
});

await step("5. the seed's ports: 3017, targetPort 5003, nodePort 31122; the kubectl views", async () => {
  await scenario(p, "seed-ports");
  const cmds = await p.locator("[data-testid=kubectl-view]").evaluateAll((es) => es.map((e) => e.dataset.cmd));
  for (const want of [/^kubectl get svc/, /^kubectl describe svc/, /^kubectl get endpoints /, /^kubectl get pods .*-o wide/]) {
    assert(cmds.some((c) => want.test(c)), `${want} among ${JSON.stringify(cmds)}`);
  }
  assert(cmds.some((c) => c.includes("endpointslice")), `EndpointSlices among ${JSON.stringify(cmds)}`);
  const svc = await p.locator("[data-testid=kubectl-view]").first().innerText();
  assert(svc.includes("3017:31122"), `get svc shows 3017:31122: ${svc}`);
  const all = (await p.locator("[data-testid=kubectl-view]").allInnerTexts()).join("\n");
  assert(all.includes("5003"), "a view shows targetPort 5003");
  assert((await p.locator("[data-testid=ipvsadm]").innerText()).includes(":31122"), "ipvsadm -Ln has the node port");
});

await step("4. ipvsadm -Lnc counts down; affinity timeout choices; only simulated schedulers", async () => {
  await scenario(p, "affinity");
  await target(p, "ClusterIP");
  await client(p, "Pod on");
  await sendOne(p);
  const lnc = await p.locator("[data-testid=ipvsadm-lnc]").innerText();
  assert(/ESTABLISHED|NONE/.test(lnc) && /\d\d:\d\d/.test(lnc), `-Lnc has entries with expiry: ${lnc}`);
  const tos = await p.locator("[data-testid=affinity] option").allInnerTexts();
  assert(tos.length >= 3, `affinity choices: ${JSON.stringify(tos)}`);
  const sch = await p.locator("[data-testid=scheduler] option").evaluateAll((os) => os.map((o) => o.value));
  for (const s of sch) assert(["rr", "wrr", "lc", "wlc", "dh", "sh", "sed", "nq", "mh"].includes(s), `scheduler ${s} is simulated`);
});

await step("7. kind: Servcie → did you mean Service, shown in the editor's status", async () => {
  await scenario(p, "clusterip");
  const text = await p.locator("[data-testid=manifest]").inputValue();
  await p.fill("[data-testid=manifest]", text.replace("kind: Service", "kind: Servcie"));
  await p.waitForFunction(() => {
    const root = document.getElementById("app").shadowRoot ?? document;
    return /did you mean/i.test(root.querySelector("[data-testid=status]")?.textContent ?? "");
  });
  const status = await p.locator("[data-testid=status]").innerText();
  assert(status.includes("Service"), status);
  await shots(p, "servcie");
  // Back to the scenario's text (a scenario keeps its edits).
  await p.fill("[data-testid=manifest]", text);
});

await step("7. a valid text's plan warning (targetPort naming no container port) is in the status", async () => {
  await scenario(p, "seed-ports");
  const text = await p.locator("[data-testid=manifest]").inputValue();
  const bad = text.replace(/targetPort: *\S+/, "targetPort: no-such-port");
  assert(bad !== text, "the scenario has a targetPort");
  await p.fill("[data-testid=manifest]", bad);
  await p.locator("[data-testid=status] [data-testid=warning-count]").waitFor();
  const status = await p.locator("[data-testid=status]").innerText();
  assert(status.includes("no-such-port"), `the warning names the port: ${status}`);
  await shots(p, "plan-warning");
});

await step("7. flattened indentation: a hint in the status", async () => {
  const text = await p.locator("[data-testid=manifest]").inputValue();
  await p.fill("[data-testid=manifest]", text.split("\n").map((l) => l.trimStart()).join("\n"));
  await p.locator("[data-testid=indent-hint]").waitFor();
  await shots(p, "flattened");
});

await step("8. undo, Back/Forward through actions; a link carries its sends", async () => {
  await scenario(p, "clusterip");
  await p.click("[data-testid=restart]");
  const n0 = await pods(p);
  await p.click("[data-testid=scale-up]");
  await p.waitForFunction((n) => {
    const root = document.getElementById("app").shadowRoot ?? document;
    return root.querySelectorAll("[data-testid=picture] [data-testid=pod]").length === n + 1;
  }, n0.length);
  await p.click("[data-testid=undo-action]");
  await p.waitForFunction((n) => {
    const root = document.getElementById("app").shadowRoot ?? document;
    return root.querySelectorAll("[data-testid=picture] [data-testid=pod]").length === n;
  }, n0.length);
  await p.click("[data-testid=scale-up]");
  await p.waitForFunction((n) => (document.getElementById("app").shadowRoot ?? document).querySelectorAll("[data-testid=picture] [data-testid=pod]").length === n + 1, n0.length);
  await p.goBack();
  await p.waitForFunction((n) => (document.getElementById("app").shadowRoot ?? document).querySelectorAll("[data-testid=picture] [data-testid=pod]").length === n, n0.length);
  await p.goForward();
  await p.waitForFunction((n) => (document.getElementById("app").shadowRoot ?? document).querySelectorAll("[data-testid=picture] [data-testid=pod]").length === n + 1, n0.length);
  await client(p, "Pod on");
  await sendOne(p);
  await sendOne(p);
  const sent = await p.locator("[data-testid=conn]").evaluateAll((cs) => cs.map((c) => c.dataset.pod));
  const q = await ctx.newPage();
  watch(q, "link");
  await open(q, new URL(p.url()).hash);
  await q.locator("[data-testid=conn]").nth(sent.length - 1).waitFor();
  eq(await q.locator("[data-testid=conn]").evaluateAll((cs) => cs.map((c) => c.dataset.pod)), sent, "the link replays the sends");
  await q.close();
});

await step("10. tab order, Pod action names, the picture's text, the live region", async () => {
  await scenario(p, "clusterip");
  await p.locator("[data-testid=scenario-clusterip]").focus();
  // Tab past the remaining scenario buttons: the next stop is the skip link or a traffic control.
  let where = "";
  for (let i = 0; i < 12; i++) {
    await p.keyboard.press("Tab");
    where = await p.evaluate(() => {
      let a = document.activeElement;
      while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
      return a?.dataset?.testid ?? a?.tagName;
    });
    if (!where.startsWith("scenario-")) break;
  }
  assert(where === "skip" || ["client", "target", "send-one", "service"].includes(where), `after the scenarios: ${where}`);
  for (const b of await p.locator("[data-testid=pod-row] button").all()) {
    const name = await b.getAttribute("aria-label");
    const pod = await b.evaluate((e) => e.closest("[data-testid=pod-row]").dataset.pod);
    assert(name && name.includes(pod.split("/").pop()), `"${name}" names ${pod}`);
  }
  const alt = await p.locator("[data-testid=picture-text]").textContent();
  for (const x of await pods(p)) assert(alt.includes(x.pod.split("/").pop()), `the text alternative lists ${x.pod}`);
  const live = p.locator("[data-testid=announce]");
  assert(["polite", "assertive"].includes(await live.getAttribute("aria-live")) || (await live.getAttribute("role")) === "status", "a live region");
  await target(p, "ClusterIP");
  await sendOne(p);
  await p.waitForFunction(() => ((document.getElementById("app").shadowRoot ?? document).querySelector("[data-testid=announce]")?.textContent ?? "").length > 0);
});

await step("6. Chinese all the way: no English sentence on the page (hover originals aside)", async () => {
  // A fresh page: the scenarios edited above keep their (English) comments, as edits do.
  const p = await ctx.newPage();
  watch(p, "zh");
  await open(p);
  await p.click("[data-testid=lang]");
  const found = [];
  for (const s of ["clusterip", "headless", "nodeport", "loadbalancer", "externalname", "affinity", "local", "seed-ports"]) {
    await scenario(p, s);
    if (await p.locator("[data-testid=burst]").isEnabled()) await p.click("[data-testid=burst]");
    await p.waitForTimeout(200);
    const texts = await p.evaluate(() => {
      const root = document.getElementById("app").shadowRoot ?? document.body;
      const out = [];
      const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      while (w.nextNode()) {
        // SVG <title>s hold the English original on hover; scripts and styles are no text.
        const e = w.currentNode.parentElement;
        // Command output (pre, code) is the program's own text, as on a terminal.
        if (!e || e.closest("title, style, script, pre, code")) continue;
        out.push(w.currentNode.textContent);
      }
      return out;
    });
    assert(texts.join("").length > 500, `${s}: the page's text (${texts.length} nodes)`);
    for (const t of texts) {
      // Three English words in a row; a command (kubectl get svc) is no sentence.
      for (const m of (t.match(/[A-Za-z]{3,}(?: [a-z]{3,}){2,}/g) ?? []).filter((x) => !x.startsWith("kubectl"))) found.push(`${s}: "${m}" in "${t.slice(0, 70)}"`);
    }
  }
  assert(found.length === 0, `English in Chinese mode:\n${[...new Set(found)].slice(0, 12).join("\n")}`);
  await shots(p, "zh-seed-ports");
  await p.click("[data-testid=lang]");
  await p.close();
});

await p.close();

// ---------------------------------------------------------------- the teacher's widget
const w = await ctx.newPage();
watch(w, "widget");
await w.goto(new URL("index.html#s=clusterip", BASE).href);
await w.locator("[data-testid=picture]").waitFor();

await step("11. mount is strict and names the valid values", async () => {
  const errs = await w.evaluate(async () => {
    const m = await import("./pkg/svcroute_web.js");
    const host = document.createElement("div");
    document.body.append(host);
    const out = {};
    for (const [k, o] of Object.entries({
      option: { colour: "red" },
      scenario: { scenario: "nope" },
      lang: { lang: "fr" },
      scheduler: { scheduler: "fo" },
      view: { view: "big" },
    })) {
      try {
        m.mount(host, o);
        out[k] = "no throw";
      } catch (e) {
        out[k] = `${e instanceof Error}|${e.message}`;
      }
    }
    host.remove();
    return out;
  });
  assert(errs.option.startsWith("true|") && errs.option.includes("scenario"), `unknown option: ${errs.option}`);
  assert(errs.scenario.startsWith("true|") && errs.scenario.includes("headless"), `scenario: ${errs.scenario}`);
  assert(errs.lang.startsWith("true|") && errs.lang.includes("zh"), `lang: ${errs.lang}`);
  assert(errs.scheduler.startsWith("true|") && errs.scheduler.includes("wlc"), `scheduler (fo is not simulated): ${errs.scheduler}`);
  assert(errs.view.startsWith("true|") && errs.view.includes("compact"), `view: ${errs.view}`);
});

await step("11. the handle: send, on/unsubscribe, setManifest, replacement, shadow root, views", async () => {
  const r = await w.evaluate(async () => {
    const m = await import("./pkg/svcroute_web.js");
    const host = document.createElement("div");
    document.body.append(host);
    // The widget draws on a later frame: wait for a selector in its shadow root.
    const drawn = async (sel) => {
      for (let i = 0; i < 100 && !host.shadowRoot?.querySelector(sel); i++) await new Promise((r) => setTimeout(r, 50));
    };
    const h = m.mount(host, {
      scenario: "nodeport",
      view: "compact",
      title: "My lesson",
      prompt: "Send from the laptop.",
      showLanguage: false,
      clients: [
        { address: "10.244.1.9", where: "pod", name: "alice" },
        { address: "192.168.7.7", where: "outside", name: "laptop" },
      ],
    });
    const out = { shadow: host.shadowRoot?.mode };
    const heard = [];
    const off = h.on("connection", (c) => heard.push(c));
    out.offIsFn = typeof off === "function";
    await drawn("[data-testid=target] option");
    const cip = [...host.shadowRoot.querySelectorAll("[data-testid=target] option")].find((o) => o.textContent.includes("ClusterIP"))?.value;
    out.cip = cip;
    const refused = await h.send({ from: "laptop", to: cip, count: 1 }).catch((e) => [{ error: String(e) }]);
    out.refused = refused.map((c) => ({ refused: c.refused, reason: typeof c.reason, sourcePort: typeof c.sourcePort, error: c.error }));
    out.heard1 = heard.length;
    // A connection sent from the widget's own button is heard too.
    host.shadowRoot.querySelector("[data-testid=send-one]").click();
    for (let i = 0; i < 100 && heard.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    out.heardPage = heard.length;
    off();
    await h.send({ from: "alice", to: cip, count: 2 }).catch(() => []);
    out.heard2 = heard.length;
    out.title = host.shadowRoot.querySelector("[data-testid=title]")?.textContent;
    out.prompt = host.shadowRoot.querySelector("[data-testid=try]")?.textContent;
    out.lang = host.shadowRoot.querySelectorAll("[data-testid=lang]").length;
    try {
      h.setManifest("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: 99999\n");
      out.broken = "no throw";
    } catch (e) {
      out.broken = String(e.message ?? e);
    }
    out.stillDrawn = host.shadowRoot.querySelectorAll("[data-testid=pod]").length;
    const h2 = m.mount(host, { view: "modes" });
    await drawn("[data-testid=modes]");
    out.modes = host.shadowRoot.querySelectorAll("[data-testid=modes]").length;
    out.oldSend = await h.send({ count: 1 }).then(() => "resolved", (e) => `rejected ${e.message ?? e}`);
    try {
      h.setManifest("a: 1");
      out.oldSet = "no throw";
    } catch (e) {
      out.oldSet = String(e.message ?? e);
    }
    // The first API's names: compact: true, unmount(); target is send's default.
    const h3 = m.mount(host, { compact: true, scenario: "nodeport", target: cip });
    out.h3 = (await h3.send({})).map((c) => c.to);
    h3.unmount();
    out.afterUnmount = host.shadowRoot?.querySelectorAll("[data-testid=picture]").length ?? 0;
    out.afterDestroy = host.shadowRoot?.childElementCount ?? 0;
    host.remove();
    return out;
  });
  eq(r.shadow, "open", "open shadow root");
  assert(r.offIsFn, "on() returns a function");
  assert(/^10\./.test(r.cip ?? ""), `the ClusterIP target: ${r.cip}`);
  eq(r.refused.length, 1, `send → one connection (${JSON.stringify(r.refused)})`);
  eq(r.refused[0], { refused: true, reason: "string", sourcePort: "number" }, "outside → ClusterIP refused, with reason and sourcePort");
  eq(r.heard1, 1, "on(connection) heard the send");
  eq(r.heardPage, 2, "on(connection) hears the page's own button");
  eq(r.heard2, 2, "after unsubscribing nothing more is heard");
  eq(r.h3, [r.cip], "send's `to` defaults to the target option");
  eq(r.afterUnmount, 0, "unmount() removes the widget");
  eq(r.title, "My lesson", "title");
  assert(r.prompt?.includes("Send from the laptop."), `prompt: ${r.prompt}`);
  eq(r.lang, 0, "showLanguage: false");
  assert(/65535|port/i.test(r.broken) && r.broken !== "no throw", `setManifest throws the diagnostics: ${r.broken}`);
  assert(r.stillDrawn > 0, "the last good state stays");
  assert(r.modes > 0, "view: modes after remount");
  assert(r.oldSend.startsWith("rejected"), `the old handle's send: ${r.oldSend}`);
  assert(r.oldSet !== "no throw", "the old handle's setManifest throws");
});

await w.close();
await suite.finish({ problemsFail: true });
