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

rmSync(work, { recursive: true, force: true });
console.log(`node JS API vs CLI: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
