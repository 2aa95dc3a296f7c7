// The proxy modes view end to end in headless Chromium (playwright-core): the rules of each mode
// highlighted along the last connection (and following the next one), a Pod marked as refusing
// (userspace retries, the others are refused), the rule-growth chart, the seed's kube-proxy
// ConfigMap switch with the IPVS modules' fallback, Chinese labels, and the playground's modes
// panel with the agent's nftables table beside `ipvsadm -Ln`; the panel's replays made only while
// it is open; a link that carries the ConfigMap's mode, the refusing Pods and the open panel. Screenshots at 1280 px and 390 px
// of each state in $ARTIFACTS (30-*.png).
//
// Environment: BASE_URL, ARTIFACTS, CHROMIUM (as e2e.mjs).
import { join } from "node:path";
import { englishSentences } from "./english.mjs";
import { ART, BASE, assert, eq, run } from "./harness.mjs";

const suite = run("modes e2e", { timeoutSeconds: 240 });
const { step, shots, problems } = suite;
let shotTaken = false;

/** The widget `sel` at 1280 px and at 390 px. */
async function shots2(page, sel, name, what) {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(250);
    const file = `${name}-${width}.png`;
    await page.locator(sel).screenshot({ path: join(ART, file) });
    shots.push({ file, what: `${what} at ${width} px` });
    if (width === 390) {
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(w <= 390, `${name}: the page is ${w} px wide at 390 px`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

const browser = await suite.launch();
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
const p = await ctx.newPage();
suite.watch(p, "");
await p.goto(new URL("examples/embed.html", BASE).href);
await p.locator("#ports [data-testid=modes]").waitFor();
await p.evaluate(async () => {
  const sr = await import("/pkg/svcroute_web.js");
  document.body.insertAdjacentHTML("beforeend", '<div id="m1"></div><div id="m2"></div>');
  sr.mount(document.getElementById("m1"), { scenario: "clusterip", view: "modes", lang: "en" });
});
const W = "#m1";
const panel = (mode) => p.locator(`${W} [data-testid=${mode === "userspace" ? "userspace-mode" : `mode-${mode}`}]`);
const MODES = ["ipvs", "iptables", "nftables", "userspace"];
const outcomes = async () => {
  const out = {};
  for (const m of MODES) out[m] = await panel(m).locator("[data-testid=outcome]").getAttribute("data-outcome");
  return out;
};
const highlighted = async (mode) => panel(mode).locator("[data-testid=hl]").allInnerTexts();
const send = async () => {
  // The log is newest first and keeps six entries in this view: wait for a newer sequence number.
  const seq = async () => Number((await p.locator(`${W} [data-testid=conn]`).first().getAttribute("data-seq").catch(() => "0")) ?? 0);
  const before = (await p.locator(`${W} [data-testid=conn]`).count()) ? await seq() : 0;
  await p.locator(`${W} [data-testid=send-one]`).click();
  await p.waitForFunction(
    (b) => Number(document.getElementById("m1").shadowRoot.querySelector("[data-testid=conn]")?.dataset.seq ?? 0) > b,
    before,
  );
};

await step("the rules of each mode are highlighted along the last connection, and follow the next one", async () => {
  await p.locator(`${W} [data-testid=modes]`).waitFor();
  for (const m of MODES) eq(await highlighted(m), [], `${m}: nothing highlighted before a send`);
  eq(await outcomes(), { ipvs: "none", iptables: "none", nftables: "none", userspace: "none" }, "no connection yet");
  await send();
  eq(await outcomes(), { ipvs: "answered", iptables: "answered", nftables: "answered", userspace: "answered" }, "answered in every mode");
  const ipt = await highlighted("iptables");
  assert(ipt.some((l) => l.startsWith("-A KUBE-SERVICES -d 10.97.97.97/32")), `KUBE-SERVICES line: ${ipt}`);
  const dnat = ipt.find((l) => l.includes("-j DNAT --to-destination"));
  assert(dnat, `a DNAT line: ${ipt}`);
  const backend = dnat.split("--to-destination ")[1];
  assert((await panel("iptables").locator("[data-testid=outcome]").innerText()).includes(backend), "the outcome names the DNAT's backend");
  const nft = await highlighted("nftables");
  assert(nft.some((l) => l.includes("numgen random mod 3")), `numgen line: ${nft}`);
  assert(nft.some((l) => l.includes("service-ips { 10.97.97.97 . tcp . 80")), `service-ips element: ${nft}`);
  const ipvs1 = await highlighted("ipvs");
  eq(ipvs1.length, 2, "IPVS: the virtual server and one real server");
  assert(ipvs1[0].startsWith("TCP  10.97.97.97:80"), ipvs1[0]);
  eq((await highlighted("userspace")).length, 1, "userspace: the Service port's line");
  await shots2(p, W, "30-modes-highlight", "modes view: the path of the last connection highlighted in each mode");
  // The next connection: IPVS's round robin moves to the next real server, and so does the highlight.
  await send();
  const ipvs2 = await highlighted("ipvs");
  assert(ipvs2[1] !== ipvs1[1], `IPVS highlight followed the connection: ${ipvs1[1]} then ${ipvs2[1]}`);
  const last = await p.locator(`${W} [data-testid=conn]`).first().innerText();
  assert(last.includes(ipvs2[1].trim().split(/\s+/)[1]), `the log's backend is the highlighted real server: ${last}`);
});

await step("a refusing Pod: userspace retries another, iptables/nftables/IPVS are refused", async () => {
  const toggles = p.locator(`${W} [data-testid=refuse-toggle]`);
  eq(await toggles.count(), 3, "three Pods to mark");
  await toggles.nth(0).check();
  await toggles.nth(1).check();
  const seen = { ipvs: new Set(), iptables: new Set(), nftables: new Set(), userspace: new Set() };
  for (let i = 0; i < 6; i++) {
    await send();
    const o = await outcomes();
    for (const m of MODES) seen[m].add(o[m]);
    if (o.userspace === "retried" && o.ipvs === "refused" && !shotTaken) {
      shotTaken = true;
      await shots2(p, W, "31-modes-refusal", "modes view: two Pods refuse; userspace retried, IPVS refused");
    }
  }
  for (const m of ["ipvs", "iptables", "nftables"]) {
    assert(seen[m].has("refused"), `${m} refused at least once: ${[...seen[m]]}`);
    assert(!seen[m].has("retried"), `${m} never retries`);
  }
  assert(!seen.userspace.has("refused"), "userspace never refused while one Pod answers");
  assert(seen.userspace.has("retried"), `userspace retried: ${[...seen.userspace]}`);
  const reason = await panel("ipvs").locator("[data-testid=conn-reason]").innerText();
  assert(reason.includes("refuses (TCP RST)") || !seen.ipvs.has("refused"), reason);
  await toggles.nth(0).uncheck();
  await toggles.nth(1).uncheck();
});
await step("the rule-growth chart is drawn from the core's counts", async () => {
  const lines = p.locator(`${W} [data-testid=growth-line]`);
  eq(await lines.count(), 5, "five series");
  for (let i = 0; i < 5; i++) eq((await lines.nth(i).getAttribute("points")).split(" ").length, 5, "five points");
  const rows = async () => p.locator(`${W} [data-testid=growth-table] tbody tr`).allInnerTexts();
  const at3 = await rows();
  eq(at3.length, 5, "five rows");
  await p.locator(`${W} [data-testid=growth-endpoints]`).selectOption("10");
  await p.waitForFunction(
    (prev) => [...document.getElementById("m1").shadowRoot.querySelectorAll("[data-testid=growth-table] tbody tr")].map((r) => r.innerText).join("|") !== prev,
    at3.join("|"),
  );
  const at10 = await rows();
  const cells = (r) => r.split(/\s+/).map(Number);
  // 100 Services: iptables rules grow with the endpoints; KUBE-SERVICES (the walk) does not.
  assert(cells(at10[4])[1] > cells(at3[4])[1], `iptables rules grow with endpoints: ${at3[4]} → ${at10[4]}`);
  eq(cells(at10[4])[2], cells(at3[4])[2], "KUBE-SERVICES: one rule per Service whatever the endpoints");
  eq(cells(at10[4])[2], 101, "100 Services + the NodePort jump");
  await shots2(p, `${W} [data-testid=growth]`, "32-modes-growth", "the rule-growth chart (10 endpoints per Service)");
});

await step("the kube-proxy ConfigMap switch: mode \"\" → \"ipvs\", and the fallback without the IPVS modules", async () => {
  const running = () => p.locator(`${W} [data-testid=running-mode]`).getAttribute("data-mode");
  eq(await running(), "ipvs", "after the seed's step");
  eq(await panel("ipvs").getAttribute("data-running"), "true", "IPVS marked running");
  await p.locator(`${W} [data-testid=ipvs-modules]`).uncheck();
  eq(await running(), "iptables", "fallback");
  eq(await panel("iptables").getAttribute("data-running"), "true", "iptables marked running");
  const log = await p.locator(`${W} [data-testid=kube-proxy-log]`).innerText();
  assert(log.includes("Can't use the IPVS proxier") && log.includes("Using iptables Proxier"), log);
  assert(log.includes("Error running ProxyServer"), "1.25+: kube-proxy exits");
  // The playground's own sends now go through iptables.
  await send();
  const last = await p.locator(`${W} [data-testid=conn]`).first().innerText();
  assert(last.includes("KUBE-SVC-"), `the log's connection went through iptables: ${last}`);
  await shots2(p, `${W} [data-testid=cm-switch]`, "33-modes-cm-fallback", "the ConfigMap switch: no IPVS modules, fallback to iptables");
  await p.locator(`${W} [data-testid=ipvs-modules]`).check();
  await p.locator(`${W} [data-testid=cm-mode]`).selectOption("");
  eq(await running(), "iptables", "mode \"\" is iptables");
  await p.locator(`${W} [data-testid=cm-mode]`).selectOption("ipvs");
  eq(await running(), "ipvs", "mode ipvs with the modules");
});

await step("Chinese labels", async () => {
  await p.evaluate(async () => {
    const sr = await import("/pkg/svcroute_web.js");
    sr.mount(document.getElementById("m2"), { scenario: "nodeport", view: "modes", lang: "zh" });
  });
  await p.locator("#m2 [data-testid=cm-switch]").waitFor();
  const text = await p.locator("#m2 [data-testid=modes]").innerText();
  for (const zh of ["kube-proxy 运行哪种模式", "后端拒绝连接时", "规则数量如何增长"]) assert(text.includes(zh), `zh: ${zh}`);
  await p.locator("#m2 [data-testid=send-one]").click();
  await p.locator("#m2 [data-testid=hl]").first().waitFor();
  // Every reason in Chinese with the English on hover, and no English sentence outside the
  // rule listings (pre, code), with Pods answering and refusing.
  const english = () => englishSentences(p.locator("#m2 [data-testid=modes]"));
  const toggles = p.locator("#m2 [data-testid=refuse-toggle]");
  for (let refusing = 0; refusing <= (await toggles.count()); refusing++) {
    for (let i = 0; i < (await toggles.count()); i++) await toggles.nth(i).setChecked(i < refusing);
    await p.locator("#m2 [data-testid=send-one]").click();
    await p.waitForTimeout(200);
    eq(await english(), [], `English sentences in the zh modes view (${refusing} refusing)`);
    const reasons = await p.locator("#m2 [data-testid=conn-reason]").evaluateAll((rs) => rs.map((r) => [r.textContent, r.title]));
    eq(reasons.length, 4, "a reason per mode");
    for (const [text, title] of reasons) {
      assert(/[\u4e00-\u9fff]/.test(text), `zh reason: ${text}`);
      assert(/[a-z]{2,}/.test(title) && title !== text, `English on hover: ${title} / ${text}`);
    }
  }
  for (let i = 0; i < (await toggles.count()); i++) await toggles.nth(i).setChecked(i === 0);
  await p.locator("#m2 [data-testid=send-one]").click();
  await shots2(p, "#m2", "34-modes-zh", "the modes view in Chinese after a NodePort connection, one Pod refusing");
});

await step("the playground: the modes panel, and the agent's nftables table beside ipvsadm -Ln", async () => {
  const g = await ctx.newPage();
  suite.watch(g, "playground", { console: false });
  await g.goto(BASE);
  await g.locator("[data-testid=picture] [data-testid=pod]").nth(2).waitFor();
  const nft = await g.locator("[data-testid=nft-ipvs]").innerText();
  assert(nft.includes("table ip svcroute"), nft.slice(0, 200));
  await g.locator("[data-testid=modes-panel] > summary").click();
  await g.locator("[data-testid=modes-panel] [data-testid=mode-iptables]").waitFor();
  await g.locator("[data-testid=send-one]").first().click();
  await g.locator("[data-testid=modes-panel] [data-testid=hl]").first().waitFor();
  for (const width of [1280, 390]) {
    await g.setViewportSize({ width, height: 900 });
    await g.waitForTimeout(300);
    await g.locator("[data-testid=modes-panel]").screenshot({ path: join(ART, `35-playground-modes-${width}.png`) });
    await g.locator("[data-testid=rules]").screenshot({ path: join(ART, `36-playground-rules-nft-${width}.png`) });
    shots.push({ file: `35-playground-modes-${width}.png`, what: `the playground's modes panel at ${width} px` });
    shots.push({ file: `36-playground-rules-nft-${width}.png`, what: `ipvsadm -Ln beside the agent's nftables table at ${width} px` });
  }
  await g.close();
});

await step("the playground's modes panel: no replay while closed; opened, the sends made meanwhile are replayed", async () => {
  const g = await ctx.newPage();
  suite.watch(g, "playground", { console: false });
  await g.goto(BASE);
  await g.locator("[data-testid=picture] [data-testid=pod]").nth(2).waitFor();
  const mp = g.locator("[data-testid=modes-panel]");
  eq(await mp.getAttribute("data-pending"), "0", "nothing waits at first");
  for (let i = 1; i <= 2; i++) {
    await g.locator("[data-testid=send-one]").first().click();
    await g.waitForFunction((n) => document.querySelector("#app").shadowRoot.querySelector("[data-testid=modes-panel]").dataset.pending === String(n), i);
  }
  eq(await mp.locator("[data-testid=mode-ipvs]").count(), 0, "closed: the modes are not drawn");
  assert(!(await g.evaluate(() => location.hash)).includes("mv=1"), "closed: the link says so");
  await mp.locator("> summary").click();
  await mp.locator("[data-testid=mode-ipvs] [data-testid=hl]").first().waitFor();
  eq(await mp.getAttribute("data-pending"), "0", "opened: the sends made meanwhile were replayed");
  // The IPVS column shows the log's last connection (its real server highlighted).
  const hl = await mp.locator("[data-testid=mode-ipvs] [data-testid=hl]").allInnerTexts();
  const server = hl[1].trim().split(/\s+/)[1];
  const last = await g.locator("[data-testid=conn]").first().innerText();
  assert(last.includes(server), `the log's last backend ${last} is IPVS's highlighted ${server}`);
  // Open, a send is replayed at once.
  await g.locator("[data-testid=send-one]").first().click();
  await g.waitForFunction(() => document.querySelector("#app").shadowRoot.querySelectorAll("[data-testid=conn]").length >= 3);
  eq(await mp.getAttribute("data-pending"), "0", "open: nothing waits");
  await g.close();
});

await step("a link reproduces the modes view: the ConfigMap's mode, the refusing Pods, the panel open", async () => {
  const g = await ctx.newPage();
  suite.watch(g, "playground", { console: false });
  await g.goto(BASE);
  await g.locator("[data-testid=picture] [data-testid=pod]").nth(2).waitFor();
  const mp = g.locator("[data-testid=modes-panel]");
  await mp.locator("> summary").click();
  await mp.locator("[data-testid=cm-mode]").selectOption("iptables");
  const toggle = mp.locator("[data-testid=refuse-toggle]").nth(1);
  const refusing = await toggle.getAttribute("data-pod");
  await toggle.check();
  for (let i = 0; i < 3; i++) await g.locator("[data-testid=send-one]").first().click();
  await g.waitForFunction(() => location.hash.includes("rf=") && location.hash.includes("k="));
  const hash = await g.evaluate(() => location.hash);
  const q = new URLSearchParams(hash.slice(1));
  eq([q.get("pm"), q.get("rf"), q.get("mv")], ["iptables", refusing, "1"], `the link ${hash}`);
  const seen = async (page) => {
    const root = page.locator("[data-testid=modes-panel]");
    const out = { mode: await root.locator("[data-testid=cm-mode]").inputValue(), running: await root.locator("[data-testid=running-mode]").getAttribute("data-mode") };
    out.refusing = [];
    for (const t of await root.locator("[data-testid=refuse-toggle]").all()) if (await t.isChecked()) out.refusing.push(await t.getAttribute("data-pod"));
    for (const m of MODES) {
      const col = root.locator(`[data-testid=${m === "userspace" ? "userspace-mode" : `mode-${m}`}]`);
      out[m] = [await col.locator("[data-testid=outcome]").getAttribute("data-outcome"), await col.locator("[data-testid=hl]").allInnerTexts()];
    }
    out.log = await page.locator("[data-testid=conn]").allInnerTexts();
    return out;
  };
  const before = await seen(g);
  eq(before.running, "iptables", "the sends went through iptables");
  eq(before.refusing, [refusing], "one Pod refuses");
  const h = await ctx.newPage();
  suite.watch(h, "modes link", { console: false });
  await h.goto(new URL(hash, BASE).href);
  await h.locator("[data-testid=modes-panel] [data-testid=mode-iptables] [data-testid=hl]").first().waitFor();
  eq(await seen(h), before, "the link shows what the learner saw");
  await h.locator("[data-testid=modes-panel]").screenshot({ path: join(ART, "37-modes-link-1280.png") });
  shots.push({ file: "37-modes-link-1280.png", what: "the modes panel opened from a link: mode iptables, one Pod refusing" });
  // A link from before these settings, opened in a page of its own: the seed's ConfigMap,
  // nothing refusing, the panel closed. (Not a hash change in the page above: a link pasted
  // into an open page keeps its panel open by design, and the page then writes `mv=1` back
  // into the hash, so a reload after it raced with that write.)
  const o = await ctx.newPage();
  suite.watch(o, "old link", { console: false });
  await o.goto(new URL("#s=clusterip&c=1", BASE).href);
  await o.locator("[data-testid=picture] [data-testid=pod]").nth(2).waitFor();
  eq(await o.locator("[data-testid=modes-panel]").getAttribute("open"), null, "an old link: the panel closed");
  await o.locator("[data-testid=modes-panel] > summary").click();
  eq(await o.locator("[data-testid=cm-mode]").inputValue(), "ipvs", "an old link: mode ipvs");
  eq(await o.locator("[data-testid=refuse-toggle]:checked").count(), 0, "an old link: no refusing Pod");
  await g.close();
  await h.close();
  await o.close();
});

await step("no page errors", async () => eq(problems, [], "page errors"));
await suite.finish();
