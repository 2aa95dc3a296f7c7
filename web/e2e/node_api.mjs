// The built module (pkg/) in plain node, with no DOM: init it, call plan/route, and compare
// with the svcroute binary on the same manifests and flags, byte for byte once both are
// serialized by JSON.stringify. Errors: the thrown object's path:line:column: message is the
// CLI's first `error:` line.
//
// Run by `cargo xtask test` with SVCROUTE_BIN (the CLI) and SVCROUTE_PKG (the built pkg/).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = process.env.SVCROUTE_BIN;
const pkg = process.env.SVCROUTE_PKG ?? join(root, "pkg");
if (!bin) throw new Error("SVCROUTE_BIN is not set");

const mod = await import(pathToFileURL(join(pkg, "svcroute_web.js")).href);
// Loading the module touched no DOM; init with the wasm bytes, as node has no fetch of files.
if (typeof globalThis.document !== "undefined") throw new Error("node has a document?");
await mod.default({ module_or_path: readFileSync(join(pkg, "svcroute_web_bg.wasm")) });

const work = mkdtempSync(join(tmpdir(), "svcroute-node-"));
let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n  ${String(e.stack ?? e).split("\n").slice(0, 6).join("\n  ")}`);
  }
}

/** Runs the CLI in a folder holding `manifest.yaml` (so both name the file alike). */
function cli(text, args) {
  writeFileSync(join(work, "manifest.yaml"), text);
  try {
    const out = execFileSync(bin, [...args, "-f", "manifest.yaml"], { cwd: work, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { ok: true, out };
  } catch (e) {
    return { ok: false, err: String(e.stderr) };
  }
}

function same(name, kind, text, args, options) {
  check(`${name}: svcroute ${kind} ${args.join(" ")}`, () => {
    const want = cli(text, [kind, ...args, "-o", "json"]);
    let got;
    let thrown;
    try {
      got = kind === "plan" ? mod.plan(text, options) : mod.route(text, options);
    } catch (e) {
      thrown = e;
    }
    if (want.ok) {
      if (thrown) throw new Error(`the CLI succeeded, the API threw: ${thrown.message}`);
      const a = JSON.stringify(JSON.parse(want.out));
      const b = JSON.stringify(got);
      if (a !== b) throw new Error(`JSON differs:\n  cli: ${a.slice(0, 400)}\n  api: ${b.slice(0, 400)}`);
    } else {
      if (!thrown) throw new Error(`the CLI failed (${want.err.trim()}), the API did not`);
      const first = want.err.split("\n").find((l) => l.startsWith("error: "));
      const shown = thrown.path == null
        ? `error: ${thrown.message}`
        : `error: ${thrown.path}:${thrown.line}:${thrown.column}: ${thrown.message}`;
      if (shown !== first) throw new Error(`errors differ:\n  cli: ${first}\n  api: ${shown}`);
      if (thrown.name !== "SvcrouteError" || !Array.isArray(thrown.diagnostics)) throw new Error("not a SvcrouteError");
    }
  });
}

function eqJson(a, b, msg) {
  const sa = JSON.stringify(a);
  const sb = JSON.stringify(b);
  if (sa !== sb) throw new Error(`${msg}:\n  got:  ${sa.slice(0, 400)}\n  want: ${sb.slice(0, 400)}`);
}

const scenarios = mod.scenarios();
check("eight scenarios (the seed notes' six, local, seed-ports)", () => {
  const ids = scenarios.map((s) => s.id).join(",");
  if (ids !== "clusterip,headless,nodeport,loadbalancer,externalname,affinity,local,seed-ports") throw new Error(ids);
});
const text = Object.fromEntries(scenarios.map((s) => [s.id, s.manifest]));

for (const s of scenarios) {
  same(s.id, "plan", s.manifest, [], {});
  same(s.id, "plan", s.manifest, ["--node", "node-2"], { node: "node-2" });
  same(s.id, "plan", s.manifest, ["--ipvs-scheduler", "wrr", "--nodes", "3", "--seed", "7"], { scheduler: "wrr", nodes: 3, seed: 7 });
}
same("clusterip", "plan", text.clusterip, ["--service-cidr", "10.96.0.0/12", "--pod-cidr", "10.32.0.0/16"], { serviceCidrs: ["10.96.0.0/12"], podCidrs: "10.32.0.0/16" });
same("clusterip", "plan", text.clusterip, ["--pod-cidr", "10.244.0.0/16", "--pod-cidr", "fd00:10:244::/56"], { podCidrs: ["10.244.0.0/16", "fd00:10:244::/56"] });
same("nodeport", "plan", text.nodeport, ["--node-port-range", "30000-30100", "--cluster-domain", "example.org."], { nodePortRange: "30000-30100", clusterDomain: "example.org." });
same("nodeport", "plan", text.nodeport, ["--node-port-range", "31000-31100"], { nodePortRange: "31000-31100" });
same("clusterip", "plan", text.clusterip, ["--node", "node-9"], { node: "node-9" });

same("clusterip", "route", text.clusterip, ["--to", "10.97.97.97:80", "--count", "6"], { to: "10.97.97.97:80", count: 6 });
same("clusterip", "route", text.clusterip, ["--to", "service-clusterip.dev:80", "--from", "10.0.0.7", "--from", "10.0.0.8", "--count", "4", "--interval", "1.5"], { to: "service-clusterip.dev:80", from: ["10.0.0.7", "10.0.0.8"], count: 4, interval: 1.5 });
same("clusterip", "route", text.clusterip, ["--to", "10.97.97.97:81"], { to: "10.97.97.97:81" });
same("clusterip", "route", text.clusterip, ["--to", "10.97.97.97:80", "--protocol", "udp"], { to: "10.97.97.97:80", protocol: "udp" });
same("affinity", "route", text.affinity, ["--to", "service-affinity.dev:80", "--from", "10.0.0.7", "--count", "3", "--interval", "60"], { to: "service-affinity.dev:80", from: "10.0.0.7", count: 3, interval: 60 });
same("affinity", "route", text.affinity, ["--to", "service-affinity.dev:80", "--from", "10.0.0.7", "--count", "3", "--interval", "10801"], { to: "service-affinity.dev:80", from: "10.0.0.7", count: 3, interval: 10801 });
same("nodeport", "route", text.nodeport, ["--to", "172.18.0.3:30002", "--count", "4", "--from", "192.0.2.1", "--from", "192.0.2.2"], { to: "172.18.0.3:30002", count: 4, from: ["192.0.2.1", "192.0.2.2"] });
same("loadbalancer", "route", text.loadbalancer, ["--to", "192.168.49.100:80", "--count", "3", "--node", "node-2"], { to: "192.168.49.100:80", count: 3, node: "node-2" });
same("headless", "route", text.headless, ["--to", "service-headless", "-n", "dev"], { to: "service-headless", namespace: "dev" });
same("headless", "route", text.headless, ["--to", "service-headless.dev.svc.cluster.local:80", "-n", "dev"], { to: "service-headless.dev.svc.cluster.local:80", namespace: "dev" });
same("externalname", "route", text.externalname, ["--to", "service-externalname.dev.svc.cluster.local:443", "--count", "2"], { to: "service-externalname.dev.svc.cluster.local:443", count: 2 });
same("externalname", "route", text.externalname, ["--to", "nowhere.dev:80"], { to: "nowhere.dev:80" });

// The seed notes' typos: the CLI's errors, at the same lines.
const typos = join(root, "examples", "seed-typos");
for (const f of readdirSync(typos).filter((f) => f.endsWith(".yaml")).sort()) {
  same(`seed-typos/${f}`, "plan", readFileSync(join(typos, f), "utf8"), [], {});
}
// Every example file alone, as `svcroute plan -f FILE` would read it.
for (const f of readdirSync(join(root, "examples")).filter((f) => f.endsWith(".yaml")).sort()) {
  same(`examples/${f}`, "plan", readFileSync(join(root, "examples", f), "utf8"), [], {});
}

check("the file option names the file", () => {
  let e;
  try {
    mod.plan("kind: Service\napiVersion: v1\nmetadata: {name: x}\nspec: {selectpr: {}}\n", { file: "lesson/svc.yaml" });
  } catch (x) {
    e = x;
  }
  if (!e || e.path !== "lesson/svc.yaml" || e.line !== 4) throw new Error(`got ${e && e.path}:${e && e.line}`);
});

// Issue 8: hostile texts that once overflowed the wasm stack (and left the module trapping on
// every later call) are errors now, and the same module instance keeps working after each.
const hostile = {
  "10,700 nested block sequences": "- ".repeat(10_700) + "x\n",
  "10,700 nested complex keys": "? ".repeat(10_700) + "x\n",
  "10,000 nested flow sequences": "[".repeat(10_000) + "]".repeat(10_000) + "\n",
  "10,000 nested JSON arrays": "[".repeat(10_000) + "]".repeat(10_000),
  "a mapping of 100,000 keys with one duplicate": Array.from({ length: 100_000 }, (_, i) => `k${i}: 1`).join("\n") + "\nk7: 2\n",
};
for (const [name, body] of Object.entries(hostile)) {
  check(`hostile input, then a normal call: ${name}`, () => {
    let e;
    try {
      mod.plan(body, {});
    } catch (x) {
      e = x;
    }
    if (!e || e.name !== "SvcrouteError") throw new Error(`expected a SvcrouteError, got ${e}`);
    const p = mod.plan(text.clusterip, {});
    if (!p.virtualServers.length) throw new Error("the module stopped working");
  });
}
check("nodes: 1e7 is refused with a clear error", () => {
  let e;
  try {
    mod.plan(text.clusterip, { nodes: 1e7 });
  } catch (x) {
    e = x;
  }
  if (!e || !/nodes/i.test(e.message)) throw new Error(`got ${e && e.message}`);
});

// Issue 7: the live Cluster. Its plan() is plan(text) on every scenario and example; its
// operations are the CLI's `svcroute diff -o json` objects for the same change.
function sameCluster(name, body, options) {
  check(`new Cluster(${name}).plan() is plan(${name})`, () => {
    let want, wantErr, got, gotErr;
    try { want = JSON.stringify(mod.plan(body, options)); } catch (e) { wantErr = e; }
    try {
      const c = new mod.Cluster(body, options);
      got = JSON.stringify(c.plan());
      c.free();
    } catch (e) { gotErr = e; }
    if (wantErr || gotErr) {
      if (!wantErr || !gotErr) throw new Error(`plan ${wantErr ? "threw" : "did not throw"}, Cluster ${gotErr ? `threw ${gotErr.message}` : "did not"}`);
      if (gotErr.name !== "SvcrouteError" || `${gotErr.path}:${gotErr.line}: ${gotErr.message}` !== `${wantErr.path}:${wantErr.line}: ${wantErr.message}`) throw new Error(`errors differ: ${gotErr.message} / ${wantErr.message}`);
    } else if (got !== want) throw new Error(`JSON differs:\n  plan:    ${want.slice(0, 300)}\n  Cluster: ${got.slice(0, 300)}`);
  });
}
for (const s of scenarios) {
  sameCluster(s.id, s.manifest, {});
  sameCluster(`${s.id} (node-2, wrr, 3 nodes, seed 7)`, s.manifest, { node: "node-2", scheduler: "wrr", nodes: 3, seed: 7 });
}
for (const dir of ["examples", "examples/seed-typos"]) {
  for (const f of readdirSync(join(root, dir)).filter((f) => f.endsWith(".yaml")).sort()) {
    sameCluster(`${dir}/${f}`, readFileSync(join(root, dir, f), "utf8"), {});
  }
}
sameCluster("clusterip with node-9", text.clusterip, { node: "node-9" });

const live = (name, ip, ready) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: dev, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: c, image: nginx}]}
status:
  phase: Running
  podIP: ${ip}
  podIPs: [{ip: ${ip}}]
  conditions: [{type: Ready, status: "${ready ? "True" : "False"}"}]
`;
const liveBase = `apiVersion: v1
kind: Node
metadata: {name: node-1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: dev}
spec:
  clusterIP: 10.96.0.50
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;
const liveText = `${liveBase}---\n${live("web-1", "10.244.1.2", true)}---\n${live("web-2", "10.244.1.3", true)}`;

/** `svcroute diff --from A --to B -o json`, parsed. */
function diffCli(from, to) {
  writeFileSync(join(work, "from.yaml"), from);
  writeFileSync(join(work, "to.yaml"), to);
  const out = execFileSync(bin, ["diff", "--from", "from.yaml", "--to", "to.yaml", "-o", "json"], { cwd: work, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return JSON.parse(out);
}

check("Cluster.apply: a readiness change is the CLI diff's one deleteRealServer, and back", () => {
  const c = new mod.Cluster(liveText, {});
  const down = c.apply(live("web-2", "10.244.1.3", false));
  const downText = `${liveBase}---\n${live("web-1", "10.244.1.2", true)}---\n${live("web-2", "10.244.1.3", false)}`;
  eqJson(down, diffCli(liveText, downText), "ops vs svcroute diff");
  eqJson(down.map((o) => o.op), ["deleteRealServer"], "ops");
  eqJson(down[0].realServer, { address: "10.244.1.3", port: 8080 }, "real server");
  const up = c.apply(live("web-2", "10.244.1.3", true));
  eqJson(up.map((o) => [o.op, o.realServer.address, o.weight]), [["addRealServer", "10.244.1.3", 1]], "back");
  eqJson(c.plan(), mod.plan(liveText, {}), "plan after the round trip");
  c.free();
});

check("Cluster.remove: a Service's virtual server and address go, as the CLI diff says", () => {
  const c = new mod.Cluster(liveText, {});
  const ops = c.remove("Service", "dev", "web");
  const without = `${liveBase.split("---")[0]}---\n${live("web-1", "10.244.1.2", true)}---\n${live("web-2", "10.244.1.3", true)}`;
  eqJson(ops, diffCli(liveText, without), "ops vs svcroute diff");
  eqJson(ops.map((o) => o.op), ["deleteVirtualServer", "deleteAddress"], "ops");
  eqJson(c.plan(), mod.plan(without, {}), "plan after");
  let e;
  try { c.remove("Service", "dev", "web"); } catch (x) { e = x; }
  if (!e || e.name !== "SvcrouteError" || e.message !== 'no Service "dev/web"') throw new Error(`got ${e && e.message}`);
  try { c.remove("Ingress", "dev", "x"); e = null; } catch (x) { e = x; }
  if (!e || !/unknown kind "Ingress"/.test(e.message)) throw new Error(`got ${e && e.message}`);
  c.free();
});

check("Cluster: plan() after a sequence of applies and removes is plan() of the final text", () => {
  const start = text.clusterip;
  const c = new mod.Cluster(start, {});
  const scaled = start.replace("replicas: 3", "replicas: 5");
  const extra = "apiVersion: v1\nkind: Service\nmetadata: {name: extra, namespace: dev}\nspec:\n  selector: {app: nginx-pod}\n  ports: [{port: 8080, targetPort: 80}]\n";
  const ops = [c.apply(scaled), c.apply(extra), c.remove("Service", "dev", "extra"), c.apply(extra)];
  if (!ops.every(Array.isArray)) throw new Error("operations are arrays");
  if (!ops[1].some((o) => o.op === "addVirtualServer") || !ops[2].some((o) => o.op === "deleteVirtualServer")) throw new Error(JSON.stringify(ops));
  const known = new Set(["addAddress", "deleteAddress", "addVirtualServer", "updateVirtualServer", "deleteVirtualServer", "addRealServer", "updateRealServer", "deleteRealServer"]);
  for (const o of ops.flat()) if (!known.has(o.op)) throw new Error(`op ${o.op}`);
  eqJson(c.plan(), mod.plan(`${scaled}---\n${extra}`, {}), "plan");
  c.free();
});

check("Cluster: bad input throws the diagnostics at their line and changes nothing", () => {
  const c = new mod.Cluster(liveText, { file: "lesson.yaml" });
  const before = JSON.stringify(c.plan());
  let e;
  try { c.apply(live("web-3", "10.244.1.4", true).replace("  podIP:", "  podIp:")); } catch (x) { e = x; }
  if (!e || e.name !== "SvcrouteError" || e.path !== "lesson.yaml" || e.line !== 7 || !/podIp/.test(e.message)) throw new Error(`got ${e && `${e.path}:${e.line}: ${e.message}`}`);
  e = null;
  // The second object is refused (a ClusterIP outside the range): the first is not applied.
  try { c.apply(`${live("web-3", "10.244.1.4", true)}---\napiVersion: v1\nkind: Service\nmetadata: {name: out, namespace: dev}\nspec:\n  clusterIP: 10.200.0.1\n  ports: [{port: 80}]\n`); } catch (x) { e = x; }
  if (!e || !Array.isArray(e.diagnostics) || !/10\.200\.0\.1/.test(e.message)) throw new Error(`got ${e && e.message}`);
  if (JSON.stringify(c.plan()) !== before) throw new Error("the cluster changed");
  try { new mod.Cluster(liveText, { colour: "red" }); e = null; } catch (x) { e = x; }
  if (!e || !/unknown option "colour"/.test(e.message)) throw new Error(`got ${e && e.message}`);
  c.free();
  try { c.plan(); e = null; } catch (x) { e = x; }
  if (!e) throw new Error("a freed Cluster still plans");
});

check("Cluster.route is route for the same objects", () => {
  const c = new mod.Cluster(text.clusterip, {});
  for (const req of [{ to: "10.97.97.97:80", count: 6 }, { to: "service-clusterip.dev:80", from: ["10.0.0.7", "10.0.0.8"], count: 4, clientLocation: "pod" }, { to: "10.97.97.97:80", clientLocation: "outside" }]) {
    eqJson(c.route(req), mod.route(text.clusterip, req), JSON.stringify(req));
  }
  c.free();
});

rmSync(work, { recursive: true, force: true });
console.log(`node JS API vs CLI: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
