//! svcroute-web: the playground — `svcroute-core` in the browser (Yew + WebAssembly) — and a
//! JS API for teaching pages and for node.
//!
//! The JS module (`pkg/svcroute_web.js`, built by `cargo xtask web`) exports:
//! - `plan(manifestText, options)`: the object `svcroute plan -o json` prints;
//! - `route(manifestText, request)`: the object `svcroute route -o json` prints;
//! - `mount(element, options)`: the playground (or a compact single-scenario view) in an
//!   element; returns a handle with `unmount()`;
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
pub mod model;
pub mod scenarios;
pub mod state;
mod style;

use serde::Deserialize;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::api::{ApiError, ClusterOptions, RouteOptions};
use crate::components::app::{App, AppProps, LANG_KEY};
use crate::fragment::Fragment;
use crate::i18n::Lang;
use crate::state::Init;

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| message_error(&e.to_string()))
}

fn set(obj: &JsValue, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), value);
}

fn opt_str(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

fn message_error(message: &str) -> JsValue {
    api_error(&ApiError::Message(message.into()))
}

/// An `Error` named `SvcrouteError` with `path`, `line`, `column` (of the first error, or
/// null), `message`, `text` (all errors as the CLI prints them) and `diagnostics`.
fn api_error(e: &ApiError) -> JsValue {
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
fn check_keys(what: &str, value: &JsValue, known: &[&[&str]]) -> Result<(), JsValue> {
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
pub fn js_plan(manifest_text: &str, options: JsValue) -> Result<JsValue, JsValue> {
    check_keys("options", &options, &[ClusterOptions::KEYS])?;
    let opts: ClusterOptions = from_js("options", options)?;
    let plan = api::plan(manifest_text, &opts).map_err(|e| api_error(&e))?;
    to_js(&plan)
}

/// `svcroute route -f FILE -o json`, in JS: `route(manifestText, request)`.
///
/// The request takes `to` (required), `from` (one address or a list), `count`, `interval`
/// (seconds), `protocol`, `namespace`, `start` (seconds), and every option of `plan`.
#[wasm_bindgen(js_name = route)]
pub fn js_route(manifest_text: &str, request: JsValue) -> Result<JsValue, JsValue> {
    check_keys(
        "request",
        &request,
        &[ClusterOptions::KEYS, RouteOptions::KEYS],
    )?;
    let opts: ClusterOptions = from_js("request", request.clone())?;
    let req: RouteOptions = from_js("request", request)?;
    let routes = api::route(manifest_text, &opts, &req).map_err(|e| api_error(&e))?;
    to_js(&routes)
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

/// `mount(element, options)`'s options.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct MountOptions {
    /// A scenario id (`clusterip`, `headless`, `nodeport`, `loadbalancer`, `externalname`,
    /// `affinity`).
    scenario: Option<String>,
    /// The compact single-scenario view.
    compact: bool,
    /// `en` or `zh`; by default the remembered choice, then the browser's language.
    lang: Option<String>,
    /// Manifests to start with instead of the scenario's.
    manifest: Option<String>,
    /// Keep the state in the URL fragment (default: true for the full playground).
    url: Option<bool>,
}

/// A mounted playground.
#[wasm_bindgen]
pub struct Playground {
    handle: Option<yew::AppHandle<App>>,
}

#[wasm_bindgen]
impl Playground {
    /// Removes the playground from its element.
    pub fn unmount(&mut self) {
        if let Some(h) = self.handle.take() {
            h.destroy();
        }
    }
}

/// Puts the playground into `element`: `mount(el, { scenario, compact, lang, manifest, url })`.
#[wasm_bindgen]
pub fn mount(element: web_sys::Element, options: JsValue) -> Result<Playground, JsValue> {
    let opts: MountOptions = from_js("mount options", options)?;
    install_panic_hook();
    let window = web_sys::window().ok_or_else(|| message_error("mount needs a browser window"))?;
    let document = window
        .document()
        .ok_or_else(|| message_error("mount needs a document"))?;
    if document.get_element_by_id(style::STYLE_ID).is_none() {
        let el = document.create_element("style")?;
        el.set_id(style::STYLE_ID);
        el.set_text_content(Some(style::CSS));
        if let Some(head) = document.head() {
            head.append_child(&el)?;
        }
    }
    let url = opts.url.unwrap_or(!opts.compact);
    let stored: Option<String> = window
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(LANG_KEY).ok().flatten());
    let lang = opts
        .lang
        .as_deref()
        .and_then(Lang::parse)
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
    let props = AppProps {
        init: Init {
            lang,
            scenario: opts.scenario,
            manifest: opts.manifest,
            fragment,
        },
        compact: opts.compact,
        url,
    };
    // The element's placeholder content (a "loading" line) gives way to the playground.
    element.set_inner_html("");
    let handle = yew::Renderer::<App>::with_root_and_props(element, props).render();
    Ok(Playground {
        handle: Some(handle),
    })
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            web_sys::console::error_1(&JsValue::from_str(&format!("svcroute-web: {info}")));
        }));
    });
}
