// svcroute for teaching pages: mount live scenarios with one <script> each.
//
//   <div id="affinity"></div>
//   <script type="module">
//     import { mount } from "../pkg/embed.js";
//     mount("#affinity", { scenario: "affinity", compact: true });
//   </script>
//
// Every <script> on a page shares one instance of the WebAssembly module (loading it twice
// at once would make two instances). `cargo xtask web` copies this file into pkg/.
import init, * as svcroute from "./svcroute_web.js";

let ready;

/** Loads the WebAssembly module, once per page. */
export function load() {
  ready ??= init();
  return ready;
}

/** Mounts the playground into an element (or a CSS selector) once the module is loaded. */
export async function mount(target, options = {}) {
  await load();
  const element = typeof target === "string" ? document.querySelector(target) : target;
  if (!element) throw new Error(`svcroute: no element ${target}`);
  return svcroute.mount(element, options);
}

/** `svcroute plan -o json` for a manifest text. */
export async function plan(manifestText, options) {
  await load();
  return svcroute.plan(manifestText, options);
}

/** `svcroute route -o json` for a manifest text and a request. */
export async function route(manifestText, request) {
  await load();
  return svcroute.route(manifestText, request);
}

/** The seed notes' scenarios. */
export async function scenarios() {
  await load();
  return svcroute.scenarios();
}
