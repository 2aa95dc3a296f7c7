//! svcroute-web: the playground — `svcroute-core` in the browser (Yew + WebAssembly) — and a
//! JS API for teaching pages and for node.
//!
//! The JS module (`pkg/svcroute_web.js`, built by `cargo xtask web`) exports:
//! - `plan(manifestText, options)`: the object `svcroute plan -o json` prints;
//! - `route(manifestText, request)`: the object `svcroute route -o json` prints;
//! - `mount(element, options)`: the playground (full, compact or proxy modes) in an element's
//!   shadow root, synchronously; strict options; returns a handle with `send`, `on`,
//!   `setManifest` and `destroy` (see [`widget`]);
//! - `scenarios()`: the seed notes' scenarios (id, title, manifests, what to try).
//!
//! Errors are thrown as `Error` objects named `SvcrouteError` with `path`, `line`, `column`,
//! `message` and every `diagnostics` entry. Loading the module touches no DOM: only `mount`
//! does, so node can `init` it and call `plan` directly.
//!
//! Architecture invariant: the view owns no routing logic. [`model`] gathers the core's
//! answers, [`state`] calls the core on every action, and the components only draw.

pub mod api;
mod components;
pub mod fragment;
pub mod i18n;
pub mod json;
pub mod live_model;
pub mod messages;
pub mod model;
pub mod proxy_view;
pub mod scenarios;
pub mod state;
mod style;
pub mod widget;

use std::rc::Rc;

use serde::Deserialize;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::api::{ApiError, ClusterOptions, RouteOptions};
use crate::components::app::{App, AppProps, LANG_KEY};
use crate::fragment::Fragment;
use crate::i18n::Lang;
use crate::state::{Init, State};
pub use crate::widget::Playground;
use crate::widget::View;

/// `v` as the JS value `JSON.parse` makes of its JSON text (see [`json`]).
pub(crate) fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    let text = json::to_string(v).map_err(|e| message_error(&e.to_string()))?;
    js_sys::JSON::parse(&text)
}

fn set(obj: &JsValue, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), value);
}

fn opt_str(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

pub(crate) fn message_error(message: &str) -> JsValue {
    api_error(&ApiError::Message(message.into()))
}

/// An `Error` named `SvcrouteError` with `path`, `line`, `column` (of the first error, or
/// null), `message`, `text` (all errors as the CLI prints them) and `diagnostics`.
pub(crate) fn api_error(e: &ApiError) -> JsValue {
    let (first, message) = e.first();
    let err = js_sys::Error::new(&message);
    err.set_name("SvcrouteError");
    let v: JsValue = err.into();
    let loc = first.and_then(|d| d.loc.as_ref());
    set(&v, "path", &opt_str(loc.map(|l| l.file.as_ref())));
    set(
        &v,
        "line",
        &loc.map_or(JsValue::NULL, |l| JsValue::from(l.line)),
    );
    set(
        &v,
        "column",
        &loc.map_or(JsValue::NULL, |l| JsValue::from(l.col)),
    );
    set(&v, "text", &JsValue::from_str(&e.to_string()));
    let list = js_sys::Array::new();
    if let ApiError::Diagnostics(ds) = e {
        for d in ds {
            let o: JsValue = js_sys::Object::new().into();
            let loc = d.loc.as_ref();
            set(
                &o,
                "severity",
                &JsValue::from_str(if d.is_error() { "error" } else { "warning" }),
            );
            set(&o, "path", &opt_str(loc.map(|l| l.file.as_ref())));
            set(
                &o,
                "line",
                &loc.map_or(JsValue::NULL, |l| JsValue::from(l.line)),
            );
            set(
                &o,
                "column",
                &loc.map_or(JsValue::NULL, |l| JsValue::from(l.col)),
            );
            set(&o, "message", &JsValue::from_str(&d.message));
            list.push(&o);
        }
    }
    set(&v, "diagnostics", &list);
    v
}

/// Rejects keys no option has, as the CLI rejects unknown flags.
pub(crate) fn check_keys(what: &str, value: &JsValue, known: &[&[&str]]) -> Result<(), JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(());
    }
    if !value.is_object() {
        return Err(message_error(&format!("{what} must be an object")));
    }
    for key in js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.iter().any(|list| list.contains(&key.as_str())) {
            let all: Vec<&str> = known.iter().flat_map(|l| l.iter().copied()).collect();
            return Err(message_error(&format!(
                "{what}: unknown option {key:?}; known: {}",
                all.join(", ")
            )));
        }
    }
    Ok(())
}

fn from_js<T: for<'de> Deserialize<'de> + Default>(what: &str, v: JsValue) -> Result<T, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(v).map_err(|e| message_error(&format!("{what}: {e}")))
}

/// `svcroute plan -f FILE -o json`, in JS: `plan(manifestText, options?)`.
///
/// Options: `file` (name in diagnostics, `manifest.yaml`), `node`, `serviceCidrs`, `podCidrs`,
/// `nodePortRange` (`"30000-32767"`), `scheduler`, `clusterDomain`, `seed`, `nodes`, and the
/// playground's `tweaks`.
#[wasm_bindgen(js_name = plan)]
pub fn js_plan(
    #[wasm_bindgen(unchecked_param_type = "string")] manifest_text: JsValue,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    check_keys("options", &options, &[ClusterOptions::KEYS])?;
    let opts: ClusterOptions = from_js("options", options)?;
    let manifest_text = text_arg("manifestText", &manifest_text)?;
    let plan = api::plan(&manifest_text, &opts).map_err(|e| api_error(&e))?;
    to_js(&plan)
}

/// `svcroute route -f FILE -o json`, in JS: `route(manifestText, request)`.
///
/// The request takes `to` (required), `from` (one address or a list), `count`, `interval`
/// (seconds), `protocol`, `namespace`, `start` (seconds), and every option of `plan`.
#[wasm_bindgen(js_name = route)]
pub fn js_route(
    #[wasm_bindgen(unchecked_param_type = "string")] manifest_text: JsValue,
    request: JsValue,
) -> Result<JsValue, JsValue> {
    check_keys(
        "request",
        &request,
        &[ClusterOptions::KEYS, RouteOptions::KEYS],
    )?;
    let opts: ClusterOptions = from_js("request", request.clone())?;
    let req: RouteOptions = from_js("request", request)?;
    let manifest_text = text_arg("manifestText", &manifest_text)?;
    let routes = api::route(&manifest_text, &opts, &req).map_err(|e| api_error(&e))?;
    to_js(&routes)
}

/// A live cluster in JS: `new Cluster(manifestText, options)` (options as `plan`'s), then
/// `plan()`, `apply(objectsText)` and `remove(kind, namespace, name)` (each an array of the
/// node's dataplane operations, the objects `svcroute diff -o json` prints), `route(request)`
/// and `free()`. A refused change throws as `plan` does and leaves the cluster as it was.
#[wasm_bindgen(js_name = Cluster)]
pub struct JsCluster {
    inner: api::LiveCluster,
}

#[wasm_bindgen(js_class = Cluster)]
impl JsCluster {
    /// Reads, checks and builds the manifests as `plan(manifestText, options)` does.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string")] manifest_text: JsValue,
        options: JsValue,
    ) -> Result<JsCluster, JsValue> {
        check_keys("options", &options, &[ClusterOptions::KEYS])?;
        let opts: ClusterOptions = from_js("options", options)?;
        let manifest_text = text_arg("manifestText", &manifest_text)?;
        let inner = api::LiveCluster::new(&manifest_text, opts).map_err(|e| api_error(&e))?;
        Ok(JsCluster { inner })
    }

    /// The node's plan now: the object `plan(text, options)` gives for the same objects.
    pub fn plan(&self) -> Result<JsValue, JsValue> {
        let plan = self.inner.plan().map_err(|e| api_error(&e))?;
        to_js(&plan)
    }

    /// Creates or replaces the objects of `objectsText` (YAML or JSON, several documents or
    /// a `List`): the operations `[{op: "addRealServer", …}, …]`.
    pub fn apply(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] objects_text: JsValue,
    ) -> Result<JsValue, JsValue> {
        let objects_text = text_arg("objectsText", &objects_text)?;
        let ops = self.inner.apply(&objects_text).map_err(|e| api_error(&e))?;
        to_js(&ops)
    }

    /// Deletes one object (`kind` as the API names it; Nodes ignore `namespace`): the
    /// operations.
    pub fn remove(&mut self, kind: &str, namespace: &str, name: &str) -> Result<JsValue, JsValue> {
        let ops = self
            .inner
            .remove(kind, namespace, name)
            .map_err(|e| api_error(&e))?;
        to_js(&ops)
    }

    /// `route(manifestText, request)` for the objects as they are now. The request takes
    /// `route`'s keys except the cluster's options, which are the Cluster's own; `node` (the
    /// Cluster's node by default) is the node the clients are on.
    pub fn route(&self, request: JsValue) -> Result<JsValue, JsValue> {
        check_keys("request", &request, &[RouteOptions::KEYS, &["node"]])?;
        let node: NodeOnly = from_js("request", request.clone())?;
        let req: RouteOptions = from_js("request", request)?;
        let routes = self
            .inner
            .route(&req, node.node)
            .map_err(|e| api_error(&e))?;
        to_js(&routes)
    }
}

/// The `node` of a `Cluster.route` request.
#[derive(Default, Deserialize)]
#[serde(default)]
struct NodeOnly {
    node: Option<String>,
}

/// How many bytes of heap one byte of manifest text takes while it is read, built and planned:
/// JSON and YAML (a `cargo xtask gen-cluster` cluster of 10,000 Services × 10 Pods, 72 MB
/// either way, peaks at 208 and 432 MiB of wasm memory; see ARCHITECTURE.md "Choices").
const HEAP_PER_JSON_BYTE: usize = 3;
const HEAP_PER_YAML_BYTE: usize = 6;

#[wasm_bindgen]
extern "C" {
    /// The JS engine's `TextEncoder`.
    type TextEncoder;
    #[wasm_bindgen(constructor)]
    fn new() -> TextEncoder;
    /// `encodeInto(source, destination)`: the destination is a view of wasm memory (an
    /// imported function's `&mut [u8]`), written in place without a copy.
    #[wasm_bindgen(method, js_name = encodeInto)]
    fn encode_into(this: &TextEncoder, source: &js_sys::JsString, dest: &mut [u8]) -> EncodeInto;
    /// What `encodeInto` returns.
    type EncodeInto;
    #[wasm_bindgen(method, getter)]
    fn read(this: &EncodeInto) -> u32;
    #[wasm_bindgen(method, getter)]
    fn written(this: &EncodeInto) -> u32;
}

/// A JS string argument as UTF-8, the heap grown first for what reading it will need.
///
/// wasm-bindgen's own `&str` argument copies the text in a JS loop, one UTF-16 unit at a time,
/// until the first non-ASCII one (7% of a first `plan()` of a 72 MB JSON text, issue 7); here
/// the engine's `TextEncoder.encodeInto` writes it into the buffer in one call. A non-string
/// throws, as the API's other checks do.
fn text_arg(what: &str, value: &JsValue) -> Result<String, JsValue> {
    let Some(s) = value.dyn_ref::<js_sys::JsString>() else {
        return Err(message_error(&format!("{what} must be a string")));
    };
    let units = s.length() as usize;
    let head = String::from(s.slice(0, units.min(64) as u32));
    reserve_for(&head, units);
    // UTF-8 takes one byte for each ASCII unit, at most three for any other.
    let mut buf = vec![0u8; units];
    let encoder = TextEncoder::new();
    let r = encoder.encode_into(s, &mut buf);
    let (read, mut written) = (r.read() as usize, r.written() as usize);
    if read < units {
        buf.resize(written + (units - read) * 3, 0);
        let rest = s.slice(read as u32, units as u32);
        written += encoder.encode_into(&rest, &mut buf[written..]).written() as usize;
    }
    buf.truncate(written);
    String::from_utf8(buf).map_err(|_| message_error(&format!("{what} is not valid text")))
}

/// Grows the wasm heap in one step to what reading a text of `units` UTF-16 units starting
/// with `head` will need (its own UTF-8 copy included), before the call allocates it piece by
/// piece: wasm memory grows 64 KiB pages as the allocator asks, and every growth makes V8
/// replace the memory's buffer and account for it (a first large call spent more time in V8's
/// garbage collector than in the work, issue 7). Freed, the block stays in the allocator's
/// free list (wasm memory never shrinks), so the call's own allocations find room. Only
/// grows: a heap already that large is left alone.
fn reserve_for(head: &str, units: usize) {
    let json = head.trim_start().starts_with(['{', '[']);
    let per_byte = if json {
        HEAP_PER_JSON_BYTE
    } else {
        HEAP_PER_YAML_BYTE
    };
    let want = units.saturating_mul(per_byte);
    #[cfg(target_arch = "wasm32")]
    {
        const PAGE: usize = 64 * 1024;
        let have = core::arch::wasm32::memory_size(0).saturating_mul(PAGE);
        if want > have {
            let block: Vec<u8> = Vec::with_capacity(want - have);
            drop(std::hint::black_box(block));
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = want;
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScenarioJs {
    id: &'static str,
    title: &'static str,
    manifest: String,
    try_en: &'static str,
    try_zh: &'static str,
}

/// The seed notes' scenarios: `[{id, title, manifest, tryEn, tryZh}]`.
#[wasm_bindgen]
pub fn scenarios() -> Result<JsValue, JsValue> {
    let list: Vec<ScenarioJs> = scenarios::ALL
        .iter()
        .map(|s| ScenarioJs {
            id: s.id,
            title: s.title,
            manifest: s.manifest(),
            try_en: s.try_en,
            try_zh: s.try_zh,
        })
        .collect();
    to_js(&list)
}

/// The options `mount` takes (every other key throws).
const MOUNT_KEYS: &[&str] = &[
    "scenario",
    "manifest",
    "lang",
    "title",
    "prompt",
    "clients",
    "target",
    "scheduler",
    "view",
    "showLanguage",
    "compact",
    "url",
];

/// `mount(element, options)`'s options, checked.
struct MountOptions {
    scenario: Option<String>,
    manifest: Option<String>,
    lang: Option<Lang>,
    title: Option<String>,
    prompt: Option<String>,
    clients: Option<Vec<state::Client>>,
    target: Option<String>,
    scheduler: Option<svcroute_core::config::Scheduler>,
    view: View,
    show_language: bool,
    url: Option<bool>,
}

fn mount_options(v: &JsValue) -> Result<MountOptions, JsValue> {
    check_keys("mount options", v, &[MOUNT_KEYS])?;
    let get = |k: &str| {
        if v.is_object() {
            js_sys::Reflect::get(v, &k.into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        }
    };
    let absent = |x: &JsValue| x.is_undefined() || x.is_null();
    let string = |k: &str| -> Result<Option<String>, JsValue> {
        let x = get(k);
        if absent(&x) {
            return Ok(None);
        }
        x.as_string()
            .map(Some)
            .ok_or_else(|| message_error(&format!("mount options: {k} must be a string")))
    };
    let boolean = |k: &str| -> Result<Option<bool>, JsValue> {
        let x = get(k);
        if absent(&x) {
            return Ok(None);
        }
        x.as_bool()
            .map(Some)
            .ok_or_else(|| message_error(&format!("mount options: {k} must be true or false")))
    };
    let scenario = string("scenario")?;
    if let Some(id) = &scenario
        && !scenarios::Scenario::exists(id)
    {
        let ids: Vec<&str> = scenarios::ALL.iter().map(|s| s.id).collect();
        return Err(message_error(&format!(
            "mount options: unknown scenario {id:?}; scenarios: {}",
            ids.join(", ")
        )));
    }
    let lang = match string("lang")? {
        None => None,
        Some(l) => Some(match l.as_str() {
            "en" => Lang::En,
            "zh" => Lang::Zh,
            _ => {
                return Err(message_error(&format!(
                    "mount options: lang {l:?} is not one of: en, zh"
                )));
            }
        }),
    };
    let scheduler = match string("scheduler")? {
        None => None,
        Some(name) => {
            let simulated = svcroute_core::sim::simulated();
            match name.parse::<svcroute_core::config::Scheduler>() {
                Ok(s) if simulated.contains(&s.as_str()) => Some(s),
                _ => {
                    return Err(message_error(&format!(
                        "mount options: scheduler {name:?} is not simulated; simulated schedulers: {}",
                        simulated.join(", ")
                    )));
                }
            }
        }
    };
    let compact = boolean("compact")?;
    let view = match (string("view")?, compact) {
        (None, Some(true)) => View::Compact,
        (None, _) => View::Full,
        (Some(name), _) => {
            let view = View::parse(&name).ok_or_else(|| {
                message_error(&format!(
                    "mount options: view {name:?} is not one of: {}",
                    View::NAMES.join(", ")
                ))
            })?;
            if compact == Some(true) && view != View::Compact {
                return Err(message_error(&format!(
                    "mount options: compact: true is view: \"compact\", not view: {name:?}"
                )));
            }
            view
        }
    };
    let clients_v = get("clients");
    let clients = if absent(&clients_v) {
        None
    } else {
        if !js_sys::Array::is_array(&clients_v) {
            return Err(message_error(
                "mount options: clients must be a list of {address, where, name}",
            ));
        }
        let list: Vec<state::Client> = js_sys::Array::from(&clients_v)
            .iter()
            .enumerate()
            .map(|(i, c)| widget::parse_client(i, &c))
            .collect::<Result<_, _>>()?;
        if list.is_empty() {
            return Err(message_error("mount options: clients is empty"));
        }
        for (i, c) in list.iter().enumerate() {
            if list[..i]
                .iter()
                .any(|d| d.address == c.address || d.name == c.name)
            {
                return Err(message_error(&format!(
                    "mount options: clients[{i}] repeats an address or a name"
                )));
            }
        }
        Some(list)
    };
    Ok(MountOptions {
        scenario,
        manifest: string("manifest")?,
        lang,
        title: string("title")?,
        prompt: string("prompt")?,
        clients,
        target: string("target")?,
        scheduler,
        view,
        show_language: boolean("showLanguage")?.unwrap_or(true),
        url: boolean("url")?,
    })
}

/// Puts the playground into `element`, synchronously, and returns its handle.
///
/// Options (each optional; any other key throws): `scenario`, `manifest`, `lang` (`en` |
/// `zh`), `title`, `prompt`, `clients` (`[{address, where: "pod" | "node" | "outside", name,
/// node}]`), `target`, `scheduler` (a simulated one), `view` (`full` | `compact` | `modes`),
/// `showLanguage`, and the first API's `compact` (= `view: "compact"`) and `url` (keep the
/// state in the URL fragment; by default only the full view does). A broken `manifest`
/// throws its diagnostics. The widget lives in the element's open shadow root; mounting into
/// an element that holds a widget replaces it (the old handle becomes inert).
pub fn mount(element: web_sys::Element, options: JsValue) -> Result<Playground, JsValue> {
    let opts = mount_options(&options)?;
    install_panic_hook();
    let window = web_sys::window().ok_or_else(|| message_error("mount needs a browser window"))?;
    let url = opts.url.unwrap_or(opts.view == View::Full);
    let stored: Option<String> = window
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(LANG_KEY).ok().flatten());
    let lang = opts
        .lang
        .or_else(|| stored.as_deref().and_then(Lang::parse))
        .or_else(|| {
            window
                .navigator()
                .language()
                .as_deref()
                .and_then(Lang::parse)
        })
        .unwrap_or_default();
    let fragment = if url {
        window
            .location()
            .hash()
            .ok()
            .and_then(|h| Fragment::decode(&h))
    } else {
        None
    };
    let init = Init {
        lang,
        scenario: opts.scenario,
        manifest: opts.manifest,
        fragment,
        clients: opts.clients,
        target: opts.target.clone(),
        scheduler: opts.scheduler,
        modes_view: opts.view == View::Modes,
    };
    // The starting state is built here, so that a broken manifest or a client on an unknown
    // node throws from `mount` itself.
    let start = State::new(init.clone());
    if start.model.is_none() || start.errors.iter().any(|d| d.is_error()) {
        return Err(api_error(&ApiError::Diagnostics((*start.errors).clone())));
    }
    if let Some(m) = start.model.as_deref() {
        let nodes: Vec<&str> = m.plans.iter().map(|p| p.node.as_str()).collect();
        for c in start.clients() {
            if let Some(n) = &c.node
                && !nodes.contains(&n.as_str())
            {
                return Err(message_error(&format!(
                    "mount options: client {} is on node {n:?}, which the cluster does not have; nodes: {}",
                    c.name,
                    nodes.join(", ")
                )));
            }
        }
    }
    // A target given as an address must be one of the cluster's entry points (a DNS name
    // is left to `send`, which resolves it with the client's search path).
    if let (Some(t), Some(m)) = (&opts.target, start.model.as_deref())
        && t.parse::<std::net::SocketAddr>().is_ok()
    {
        let entries: Vec<&str> = m
            .services
            .iter()
            .flat_map(|s| s.entries.iter().map(|e| e.target.as_str()))
            .collect();
        if !entries.contains(&t.as_str()) {
            return Err(message_error(&format!(
                "mount options: target {t:?} is no entry point of this cluster; targets: {}",
                entries.join(", ")
            )));
        }
    }
    let bridge = Rc::new(widget::Bridge::new());
    *bridge.clients.borrow_mut() = Rc::new(start.clients());
    *bridge.target.borrow_mut() = opts.target;
    bridge.scheduler.set(start.scheduler);

    // The styles live in the element's shadow root: the host page's CSS does not reach in,
    // and ours does not leak out.
    widget::replace(&element);
    let root = match element.shadow_root() {
        Some(r) => r,
        None => {
            element.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))?
        }
    };
    // The element's placeholder content (a "loading" line) gives way to the playground.
    element.set_inner_html("");
    root.set_inner_html("");
    let document = window
        .document()
        .ok_or_else(|| message_error("mount needs a document"))?;
    let sheet = document.create_element("style")?;
    sheet.set_id(style::STYLE_ID);
    sheet.set_text_content(Some(style::CSS));
    root.append_child(&sheet)?;
    let host = document.create_element("div")?;
    host.set_class_name("sr-host");
    root.append_child(&host)?;
    let props = AppProps {
        init,
        start: Some(Rc::new(start)),
        compact: opts.view != View::Full,
        view: opts.view,
        url,
        title: opts.title,
        prompt: opts.prompt,
        show_language: opts.show_language,
        bridge: Some(widget::BridgeRef(bridge.clone())),
    };
    let handle = yew::Renderer::<App>::with_root_and_props(host, props).render();
    draw_now();
    let inner = Rc::new(widget::Inner {
        handle: std::cell::RefCell::new(Some(handle)),
        bridge,
        element,
        root,
    });
    widget::MOUNTED.with(|m| m.borrow_mut().push(inner.clone()));
    Ok(Playground { inner })
}

/// Runs Yew's scheduler to the end now: Yew draws on a microtask after `render()`, and `mount`
/// is synchronous, so the widget is on the page (its picture, panels and controls) when `mount`
/// returns. The first poll of `yew::scheduler::flush` drains every queue; the future is then
/// dropped (the microtask Yew queued finds nothing left to do). Inside a Yew callback (a widget
/// mounted from another's event) the scheduler is busy and this does nothing: the drawing
/// follows when that callback returns.
fn draw_now() {
    use std::future::Future;
    let mut flush = std::pin::pin!(yew::scheduler::flush());
    let _ = flush
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
}

/// `mount` for JS: the element is checked here (a binding typed `Element` would let `null` or
/// a selector string through unchecked, to fail inside with a `TypeError`).
#[wasm_bindgen(js_name = mount)]
pub fn mount_js(element: JsValue, options: JsValue) -> Result<Playground, JsValue> {
    let element: web_sys::Element = element.dyn_into().map_err(|v| {
        message_error(&format!(
            "mount: the first argument must be a DOM element, not {}",
            v.js_typeof().as_string().unwrap_or_default()
        ))
    })?;
    mount(element, options)
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            web_sys::console::error_1(&JsValue::from_str(&format!("svcroute-web: {info}")));
        }));
    });
}
