// The JS API's timings for `cargo xtask bench` (issue 7 item 6), in plain node: plan() of a
// large cluster on a fresh module (the first call) and again (warm), a live Cluster made from
// the same text, and one Pod's readiness change applied to it (first and warm), with the
// operations it returns. Prints one JSON object on stdout. `planFirstCpuMs` is the process's CPU
// time (all threads: V8 compiles and collects garbage on its own) during the first plan(): on a
// machine shared with other work it moves less than the wall time.
//
// Environment: SVCROUTE_PKG (the built pkg/), CLUSTER (a `cargo xtask gen-cluster` JSON file).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const pkg = process.env.SVCROUTE_PKG;
const file = process.env.CLUSTER;
if (!pkg || !file) throw new Error("SVCROUTE_PKG and CLUSTER must be set");
const mod = await import(pathToFileURL(join(pkg, "svcroute_web.js")).href);
const wasm = await mod.default({ module_or_path: readFileSync(join(pkg, "svcroute_web_bg.wasm")) });
const text = readFileSync(file, "utf8");

const ms = (f) => {
  const t0 = performance.now();
  const v = f();
  return [performance.now() - t0, v];
};
const out = {};
const cpu0 = process.cpuUsage();
let [t, plan] = ms(() => mod.plan(text, {}));
const cpu = process.cpuUsage(cpu0);
out.planFirstMs = t;
out.planFirstCpuMs = (cpu.user + cpu.system) / 1000;
out.virtualServers = plan.virtualServers.length;
plan = null;
[t] = ms(() => mod.plan(text, {}));
out.planWarmMs = t;
let cluster;
[t, cluster] = ms(() => new mod.Cluster(text, {}));
out.clusterNewMs = t;

// One Pod of the list, its Ready condition flipped, and back.
const list = JSON.parse(text);
const pod = list.items.find((o) => o.kind === "Pod" && o.status && o.status.conditions);
const flip = (ready) => {
  const p = structuredClone(pod);
  for (const c of p.status.conditions) if (c.type === "Ready") c.status = ready ? "True" : "False";
  return JSON.stringify(p);
};
const down = flip(false);
const up = flip(true);
let ops;
[t, ops] = ms(() => cluster.apply(down));
out.readinessFirstMs = t;
out.readinessOps = ops.length;
[t] = ms(() => cluster.apply(up));
// Warm: the median of a few changes and back.
const warm = [];
for (let i = 0; i < 5; i++) {
  const [a] = ms(() => cluster.apply(down));
  const [b] = ms(() => cluster.apply(up));
  warm.push(a, b);
}
warm.sort((a, b) => a - b);
out.readinessWarmMs = warm[warm.length >> 1];
cluster.free();
out.memoryMiB = wasm.memory.buffer.byteLength / 2 ** 20;
console.log(JSON.stringify(out));
