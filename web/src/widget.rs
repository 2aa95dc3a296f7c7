//! The embeddable widget: `mount(element, options)`'s strict options, the handle it returns
//! (`send`, `on`, `setManifest`, `destroy`), and the bridge between the handle and the
//! mounted [`App`](crate::components::app::App).
//!
//! The handle never routes by itself: `send` dispatches [`Action::ApiSend`] to the same
//! reducer the page's buttons use (Yew runs the reducer inside `dispatch`), so a connection
//! sent from JS and one sent from the page go through one simulator and one log, and
//! `on("connection")` is fed from that log after each render.

use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::rc::Rc;

use js_sys::{Array, Function, Promise};
use svcroute_core::cluster::Tweaks;
use svcroute_core::config::{Config, Scheduler};
use svcroute_core::manifest;
use svcroute_core::route::Connection;
use wasm_bindgen::prelude::*;
use yew::UseReducerDispatcher;

use crate::api::{ApiError, DEFAULT_FILE};
use crate::state::{Action, Client, ClientLocation, Reply, Sent, State};

/// Which layout the widget shows (`view`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// The whole playground.
    #[default]
    Full,
    /// One scenario: picture, traffic and log, with the rest folded.
    Compact,
    /// One scenario with the rules of the three proxy modes side by side.
    Modes,
}

impl View {
    /// The values of `view`.
    pub const NAMES: [&'static str; 3] = ["full", "compact", "modes"];

    /// `full`, `compact` or `modes`.
    pub fn parse(s: &str) -> Option<View> {
        match s {
            "full" => Some(View::Full),
            "compact" => Some(View::Compact),
            "modes" => Some(View::Modes),
            _ => None,
        }
    }
}

/// What the embedding page chose about the widget's looks, given to the components as a
/// Yew context.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Look {
    /// The title instead of the built-in one.
    pub title: Option<String>,
    /// The teacher's text instead of the built-in "What to try" (for the mounted scenario).
    pub prompt: Option<String>,
    /// The scenario the widget was mounted with.
    pub scenario: &'static str,
    /// Whether it was mounted with the teacher's own `manifest` (the scenario's "What to try"
    /// speaks of the scenario's objects, so a general one is shown instead).
    pub own_manifest: bool,
    /// Whether the language switch is shown.
    pub show_language: bool,
}

impl Look {
    /// The text for "what to try" in `state`: the teacher's, a general one over the teacher's
    /// own manifest, or the scenario's.
    pub fn try_text(&self, state: &State) -> String {
        let mounted = state.scenario.id == self.scenario;
        match &self.prompt {
            Some(p) if mounted => p.clone(),
            _ if mounted && self.own_manifest => state.lang.t().try_own_manifest.to_owned(),
            _ => {
                // The scenario's text speaks of its objects: once they are edited, it says so
                // rather than describe what is gone.
                let mut text = state.scenario.try_text(state.lang).to_owned();
                if !state.scenario.is_unedited(&state.text) {
                    text.push_str(state.lang.t().try_edited);
                }
                text
            }
        }
    }
}

/// What the handle and the mounted page share.
#[derive(Default)]
pub struct Bridge {
    /// The reducer's dispatcher, once the page has rendered.
    dispatcher: RefCell<Option<UseReducerDispatcher<State>>>,
    /// Actions sent before the first render.
    queue: RefCell<Vec<Action>>,
    /// Sends whose answers are not in yet: (answer, resolve, reject).
    waiting: RefCell<Vec<(Reply, Function, Function)>>,
    /// `on("connection")` callbacks, by subscription number.
    listeners: RefCell<Vec<(u32, Function)>>,
    next_listener: Cell<u32>,
    /// The last connection id given to the listeners.
    emitted: Cell<u64>,
    /// False once destroyed or replaced.
    alive: Cell<bool>,
    /// The clients (for `send`'s names).
    pub clients: RefCell<Rc<Vec<Client>>>,
    /// The `target` option.
    pub target: RefCell<Option<String>>,
    /// The scheduler (for `setManifest`'s check).
    pub scheduler: Cell<Scheduler>,
    /// Whether `setManifest` gave the widget the teacher's own manifests (the mounted
    /// scenario's "What to try" and title no longer describe them).
    pub own_manifest: Cell<bool>,
}

/// The bridge in props (compared by identity).
#[derive(Clone)]
pub struct BridgeRef(pub Rc<Bridge>);

impl PartialEq for BridgeRef {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.0, &o.0)
    }
}

impl Bridge {
    /// A live bridge.
    pub fn new() -> Bridge {
        let b = Bridge::default();
        b.alive.set(true);
        b
    }

    /// Called by the page on each render: the dispatcher becomes known.
    pub fn attach(&self, d: UseReducerDispatcher<State>) {
        if self.dispatcher.borrow().is_none() {
            *self.dispatcher.borrow_mut() = Some(d);
        }
    }

    fn dispatch(&self, action: Action) {
        let d = self.dispatcher.borrow().clone();
        match d {
            Some(d) => d.dispatch(action),
            None => self.queue.borrow_mut().push(action),
        }
    }

    /// Called by the page after each render: new connections go to the listeners, then
    /// answered sends settle (so a `send`'s Promise resolves after the listeners heard its
    /// connections), then queued actions run (they settle after the next render).
    pub fn after_render(&self, state: &State) {
        if !self.alive.get() {
            return;
        }
        let fresh: Vec<&Sent> = state
            .log
            .iter()
            .filter(|s| s.id >= state.emit_from && s.id > self.emitted.get())
            .collect();
        if let Some(last) = fresh.last() {
            self.emitted.set(last.id);
        }
        let listeners: Vec<Function> = self
            .listeners
            .borrow()
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for s in fresh {
            let Ok(v) = conn_js(&s.conn) else { continue };
            for f in &listeners {
                // A listener that throws does not stop the others.
                if let Err(e) = f.call1(&JsValue::UNDEFINED, &v) {
                    web_sys::console::error_2(&"svcroute: a connection listener threw".into(), &e);
                }
            }
        }
        self.settle();
        let queued: Vec<Action> = self.queue.borrow_mut().drain(..).collect();
        for a in queued {
            self.dispatch(a);
        }
    }

    fn settle(&self) {
        let mut waiting = self.waiting.borrow_mut();
        let mut still = Vec::new();
        for (reply, resolve, reject) in waiting.drain(..) {
            let answer = reply.0.borrow_mut().take();
            match answer {
                None => still.push((reply, resolve, reject)),
                Some(Ok(conns)) => {
                    let list = Array::new();
                    for c in &conns {
                        if let Ok(v) = conn_js(c) {
                            list.push(&v);
                        }
                    }
                    let _ = resolve.call1(&JsValue::UNDEFINED, &list);
                }
                Some(Err(m)) => {
                    let _ = reject.call1(&JsValue::UNDEFINED, &crate::message_error(&m));
                }
            }
        }
        *waiting = still;
    }

    fn kill(&self) {
        self.alive.set(false);
        self.listeners.borrow_mut().clear();
        self.queue.borrow_mut().clear();
        for (_, _, reject) in self.waiting.borrow_mut().drain(..) {
            let _ = reject.call1(&JsValue::UNDEFINED, &crate::message_error(INERT));
        }
        *self.dispatcher.borrow_mut() = None;
    }
}

const INERT: &str = "this svcroute widget was destroyed or replaced by another mount";

/// A connection as `route -o json` prints it.
fn conn_js(c: &Connection) -> Result<JsValue, JsValue> {
    crate::to_js(c)
}

/// What a mounted widget holds.
pub(crate) struct Inner {
    pub handle: RefCell<Option<yew::AppHandle<crate::components::app::App>>>,
    pub bridge: Rc<Bridge>,
    pub element: web_sys::Element,
    pub root: web_sys::ShadowRoot,
}

impl Inner {
    pub(crate) fn destroy(&self) {
        // A replaced widget's handle is inert: its element's shadow root is another's now.
        if !self.bridge.alive.get() {
            return;
        }
        if let Some(h) = self.handle.borrow_mut().take() {
            h.destroy();
        }
        self.bridge.kill();
        self.root.set_inner_html("");
        MOUNTED.with(|m| {
            m.borrow_mut()
                .retain(|i| !Rc::ptr_eq(&i.bridge, &self.bridge))
        });
    }
}

thread_local! {
    /// The widgets mounted on this page (so mounting into an element replaces its widget).
    pub(crate) static MOUNTED: RefCell<Vec<Rc<Inner>>> = const { RefCell::new(Vec::new()) };
}

/// Destroys the widget mounted in `element`, if any (its handle becomes inert).
pub(crate) fn replace(element: &web_sys::Element) {
    let old: Vec<Rc<Inner>> = MOUNTED.with(|m| {
        m.borrow()
            .iter()
            .filter(|i| &i.element == element)
            .cloned()
            .collect()
    });
    for i in old {
        i.destroy();
    }
}

/// A mounted widget: `mount(element, options)` returns it.
#[wasm_bindgen]
pub struct Playground {
    pub(crate) inner: Rc<Inner>,
}

#[wasm_bindgen]
impl Playground {
    /// Sends connections: `send({from, to, count})` → a Promise of the connections, each the
    /// object of `route -o json`. `from`: a client's address or name (or a list, in turn; the
    /// chosen client by default); `to`: `HOST:PORT` (the `target` option by default, else the
    /// chosen target); `count`: 1 by default.
    pub fn send(&self, request: JsValue) -> Promise {
        let bridge = self.inner.bridge.clone();
        let parsed = if bridge.alive.get() {
            parse_send(&bridge, &request)
        } else {
            Err(crate::message_error(INERT))
        };
        Promise::new(&mut |resolve, reject| match parsed.clone() {
            Err(e) => {
                let _ = reject.call1(&JsValue::UNDEFINED, &e);
            }
            Ok((from, to, count)) => {
                let reply = Reply::default();
                bridge
                    .waiting
                    .borrow_mut()
                    .push((reply.clone(), resolve, reject));
                // The answer settles after the render that shows it, once the listeners have
                // heard its connections: `await send(…)` sees `on("connection")` done.
                bridge.dispatch(Action::ApiSend {
                    from,
                    to,
                    count,
                    reply,
                });
            }
        })
    }

    /// `on("connection", callback)`: calls `callback(connection)` for every connection the
    /// widget sends, from the page or from `send`. Returns a function that unsubscribes.
    pub fn on(&self, event: JsValue, callback: JsValue) -> Result<Function, JsValue> {
        // Checked here, not by the binding: a value of another type would reach the module
        // unchecked.
        let name = event.as_string();
        if name.as_deref() != Some("connection") {
            let got = name.unwrap_or_else(|| event.js_typeof().as_string().unwrap_or_default());
            return Err(crate::message_error(&format!(
                "on: unknown event {got:?}; events: connection"
            )));
        }
        let Some(callback) = callback.dyn_ref::<Function>().cloned() else {
            return Err(crate::message_error("on: the callback must be a function"));
        };
        let bridge = self.inner.bridge.clone();
        let id = bridge.next_listener.get();
        bridge.next_listener.set(id + 1);
        if bridge.alive.get() {
            bridge.listeners.borrow_mut().push((id, callback));
        }
        let off = Closure::<dyn FnMut()>::new(move || {
            bridge.listeners.borrow_mut().retain(|(i, _)| *i != id);
        });
        Ok(off.into_js_value().unchecked_into())
    }

    /// Replaces the manifests. A broken text throws its diagnostics (an `Error` named
    /// `SvcrouteError`, as `plan` throws) and the widget keeps its last good state.
    #[wasm_bindgen(js_name = setManifest)]
    pub fn set_manifest(&self, text: JsValue) -> Result<(), JsValue> {
        let bridge = &self.inner.bridge;
        if !bridge.alive.get() {
            return Err(crate::message_error(INERT));
        }
        // A string binding would let a number or an object through to the module unchecked.
        let Some(text) = text.as_string() else {
            return Err(crate::message_error(
                "setManifest: the manifest must be a string (YAML or JSON text)",
            ));
        };
        let text = text.as_str();
        let config = Config {
            scheduler: bridge.scheduler.get(),
            ..Config::default()
        };
        if let Err(e) = manifest::load([(DEFAULT_FILE, text)], config, &Tweaks::default()) {
            return Err(crate::api_error(&ApiError::Diagnostics(e.0)));
        }
        bridge.own_manifest.set(true);
        bridge.dispatch(Action::Edit(text.to_owned()));
        Ok(())
    }

    /// Removes the widget; the handle becomes inert.
    pub fn destroy(&self) {
        self.inner.destroy();
    }

    /// The same as `destroy()` (the first API's name).
    pub fn unmount(&self) {
        self.inner.destroy();
    }
}

type SendArgs = (Vec<IpAddr>, Option<String>, u32);

fn parse_send(bridge: &Bridge, request: &JsValue) -> Result<SendArgs, JsValue> {
    crate::check_keys("send", request, &[&["from", "to", "count"]])?;
    let get = |k: &str| {
        if request.is_object() {
            js_sys::Reflect::get(request, &k.into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        }
    };
    let clients = bridge.clients.borrow().clone();
    let resolve = |v: &JsValue| -> Result<IpAddr, JsValue> {
        let Some(s) = v.as_string() else {
            return Err(crate::message_error(
                "send: from must be a string or a list of strings",
            ));
        };
        if let Some(c) = clients.iter().find(|c| c.name == s) {
            return Ok(c.address);
        }
        s.parse::<IpAddr>().map_err(|_| {
            let names: Vec<String> = clients.iter().map(|c| c.name.clone()).collect();
            crate::message_error(&format!(
                "send: from {s:?} is neither an address nor a client's name; clients: {}",
                names.join(", ")
            ))
        })
    };
    let from_v = get("from");
    let from = if from_v.is_undefined() || from_v.is_null() {
        Vec::new()
    } else if Array::is_array(&from_v) {
        Array::from(&from_v)
            .iter()
            .map(|v| resolve(&v))
            .collect::<Result<_, _>>()?
    } else {
        vec![resolve(&from_v)?]
    };
    let to_v = get("to");
    let to = if to_v.is_undefined() || to_v.is_null() {
        bridge.target.borrow().clone()
    } else {
        Some(
            to_v.as_string()
                .ok_or_else(|| crate::message_error("send: to must be a string, HOST:PORT"))?,
        )
    };
    let count_v = get("count");
    let count = if count_v.is_undefined() || count_v.is_null() {
        1
    } else {
        match count_v.as_f64() {
            Some(n) if n.fract() == 0.0 && (1.0..=10_000.0).contains(&n) => n as u32,
            _ => {
                return Err(crate::message_error(
                    "send: count must be a whole number from 1 to 10000",
                ));
            }
        }
    };
    Ok((from, to, count))
}

/// One entry of the `clients` option.
pub(crate) fn parse_client(i: usize, v: &JsValue) -> Result<Client, JsValue> {
    let what = format!("clients[{i}]");
    crate::check_keys(&what, v, &[&["address", "where", "name", "node"]])?;
    if !v.is_object() {
        return Err(crate::message_error(&format!("{what} must be an object")));
    }
    let get = |k: &str| js_sys::Reflect::get(v, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let opt_string = |k: &str| -> Result<Option<String>, JsValue> {
        let x = get(k);
        if x.is_undefined() || x.is_null() {
            return Ok(None);
        }
        x.as_string()
            .map(Some)
            .ok_or_else(|| crate::message_error(&format!("{what}.{k} must be a string")))
    };
    let address = opt_string("address")?.ok_or_else(|| {
        crate::message_error(&format!("{what}.address is required (an IP address)"))
    })?;
    let address: IpAddr = address.parse().map_err(|_| {
        crate::message_error(&format!("{what}.address {address:?} is not an IP address"))
    })?;
    let location = match opt_string("where")? {
        None => ClientLocation::Pod,
        Some(w) => ClientLocation::NAMES
            .iter()
            .position(|n| *n == w)
            .map(|i| {
                [
                    ClientLocation::Pod,
                    ClientLocation::Node,
                    ClientLocation::Outside,
                ][i]
            })
            .ok_or_else(|| {
                crate::message_error(&format!(
                    "{what}.where {w:?} is not one of: {}",
                    ClientLocation::NAMES.join(", ")
                ))
            })?,
    };
    let node = opt_string("node")?;
    if node.is_some() && location == ClientLocation::Outside {
        return Err(crate::message_error(&format!(
            "{what}: an outside client is on no node (node is for where: \"pod\" or \"node\")"
        )));
    }
    Ok(Client {
        address,
        location,
        name: opt_string("name")?.unwrap_or_else(|| address.to_string()),
        node,
    })
}
