//! A fake Kubernetes API server on loopback, for tests: it speaks the API server's wire format
//! for the kinds svcroute reads (Services, EndpointSlices, Nodes, Pods), so real clients
//! (kube-rs, `kubectl`) list and watch it as they would a cluster.
//!
//! What it does as the API server does (`k8s.io/apiserver`, "API concepts" in the Kubernetes
//! docs):
//! - Lists carry the collection's `resourceVersion`; `limit` pages them with an opaque
//!   `continue` token, every page a snapshot at the first page's version; an expired token is an
//!   HTTP 410 `Status` (`reason: Expired`). Items in a list have no `kind`/`apiVersion`.
//! - Watches (`watch=true` or `watch=1`) are chunked HTTP/1.1 responses, one JSON event per
//!   `\n`-terminated line: `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` (with
//!   `allowWatchBookmarks=true`), and `ERROR` — a watch from a version older than the kept
//!   history gets HTTP 200 and one `ERROR` event with a 410 `Status` ("too old resource
//!   version"), as etcd compaction makes the real server answer. A stream ends at
//!   `timeoutSeconds`. A watch without a version (or `0`) first sends the current objects as
//!   `ADDED`.
//! - `labelSelector` (apimachinery syntax, through the core's parser) and `fieldSelector`
//!   (`metadata.name`, `metadata.namespace`, `=`/`==`/`!=`); an object that stops matching a
//!   watch's selector is `DELETED` for it, one that starts matching is `ADDED`.
//! - Query strings may start with `?&` (kube-rs does).
//! - Discovery (`/api`, `/apis`, `/api/v1`, `/apis/discovery.k8s.io/v1`, `/version`) so
//!   `kubectl` finds the resources.
//!
//! Tests drive it through [`Fake`] (apply, delete, compact, drop watches, kill, restart); the
//! binary through a script and `POST /fake/…` control requests. Every request is logged
//! ([`Fake::requests`]).

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use svcroute_core::labels::{Labels, Selector};

/// One resource the fake serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resource {
    /// `/api/v1` or `/apis/GROUP/VERSION`.
    pub prefix: &'static str,
    /// Plural name in the path.
    pub plural: &'static str,
    /// Kind of one object.
    pub kind: &'static str,
    /// `apiVersion` of one object.
    pub api_version: &'static str,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
}

/// The resources served.
pub const RESOURCES: &[Resource] = &[
    Resource {
        prefix: "/api/v1",
        plural: "services",
        kind: "Service",
        api_version: "v1",
        namespaced: true,
    },
    Resource {
        prefix: "/api/v1",
        plural: "pods",
        kind: "Pod",
        api_version: "v1",
        namespaced: true,
    },
    Resource {
        prefix: "/api/v1",
        plural: "nodes",
        kind: "Node",
        api_version: "v1",
        namespaced: false,
    },
    Resource {
        prefix: "/apis/discovery.k8s.io/v1",
        plural: "endpointslices",
        kind: "EndpointSlice",
        api_version: "discovery.k8s.io/v1",
        namespaced: true,
    },
];

fn resource_of_kind(kind: &str) -> Option<Resource> {
    RESOURCES.iter().copied().find(|r| r.kind == kind)
}

/// Tunables.
#[derive(Clone, Debug)]
pub struct Options {
    /// How often a watch that asked for bookmarks gets one (the real server: about a minute).
    pub bookmark_interval: Duration,
    /// The longest a watch stream stays open, whatever `timeoutSeconds` asks.
    pub max_watch: Duration,
    /// How many changes are kept for watches to resume from (older versions get a 410).
    pub history: usize,
    /// Print a line on stderr each time a watch stream sends events (`watch sent N
    /// event(s) of RESOURCE at UNIX_SECONDS`): the start of an event-to-kernel measurement.
    pub log_events: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bookmark_interval: Duration::from_secs(60),
            max_watch: Duration::from_secs(1800),
            history: 10_000,
            log_events: false,
        }
    }
}

/// Why the fake refused a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeError(pub String);

impl std::fmt::Display for FakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FakeError {}

type Key = (Resource, String, String);

#[derive(Clone, Debug)]
struct Change {
    rv: u64,
    key: Key,
    old: Option<Value>,
    new: Option<Value>,
}

#[derive(Debug, Default)]
struct State {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    history: VecDeque<Change>,
    /// Watches and continue tokens from versions below this get a 410.
    oldest: u64,
    /// Bumped to end every open watch.
    drops: u64,
    requests: Vec<String>,
    watches: usize,
}

struct Inner {
    state: Mutex<State>,
    changed: Condvar,
    options: Options,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running fake API server.
pub struct Fake {
    inner: Arc<Inner>,
    addr: SocketAddr,
    server: Option<Server>,
}

struct Server {
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: JoinHandle<()>,
}

impl Fake {
    /// Starts on `127.0.0.1` at a free port.
    pub fn start(options: Options) -> std::io::Result<Fake> {
        Self::start_on("127.0.0.1:0".parse().expect("a socket address"), options)
    }

    /// Starts on `addr`.
    pub fn start_on(addr: SocketAddr, options: Options) -> std::io::Result<Fake> {
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                rv: 1,
                oldest: 1,
                ..State::default()
            }),
            changed: Condvar::new(),
            options,
        });
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let server = serve(listener, Arc::clone(&inner));
        Ok(Fake {
            inner,
            addr,
            server: Some(server),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Creates or replaces objects: one object, or a `List` (`kubectl get -o json`).
    pub fn apply(&self, value: Value) -> Result<u64, FakeError> {
        let mut st = self.inner.lock();
        let rv = apply_value(&mut st, &self.inner.options, value, false)?;
        drop(st);
        self.inner.changed.notify_all();
        Ok(rv)
    }

    /// Applies JSON text (one object or a `List`).
    pub fn apply_json(&self, text: &str) -> Result<u64, FakeError> {
        let v: Value = serde_json::from_str(text).map_err(|e| FakeError(format!("JSON: {e}")))?;
        self.apply(v)
    }

    /// Deletes objects (one, or a `List`): only kind, namespace and name are read.
    pub fn delete(&self, value: Value) -> Result<u64, FakeError> {
        let mut st = self.inner.lock();
        let rv = apply_value(&mut st, &self.inner.options, value, true)?;
        drop(st);
        self.inner.changed.notify_all();
        Ok(rv)
    }

    /// As if other writes moved the cluster's version on and etcd then compacted them all: the
    /// version moves one on, the history is forgotten, and a watch that resumes from any
    /// version seen so far gets an `ERROR` 410 and has to list again.
    pub fn compact(&self) {
        compact(&mut self.inner.lock());
    }

    /// Ends every open watch stream now (as a restarted API server or a load balancer does).
    pub fn drop_watches(&self) {
        self.inner.lock().drops += 1;
        self.inner.changed.notify_all();
    }

    /// The current resource version.
    pub fn resource_version(&self) -> u64 {
        self.inner.lock().rv
    }

    /// The requests seen so far (`METHOD PATH?QUERY`).
    pub fn requests(&self) -> Vec<String> {
        self.inner.lock().requests.clone()
    }

    /// How many watch streams are open.
    pub fn open_watches(&self) -> usize {
        self.inner.lock().watches
    }

    /// Stops listening and cuts every connection (a killed API server). The objects stay;
    /// [`Fake::restart`] serves them again on the same address.
    pub fn kill(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop.store(true, Ordering::SeqCst);
            for c in s.conns.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
                let _ = c.shutdown(Shutdown::Both);
            }
            // Wake the accept loop.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            let _ = s.accept.join();
            self.inner.lock().drops += 1;
            self.inner.changed.notify_all();
        }
    }

    /// Serves again on the same address after [`Fake::kill`]. The port may be held for a
    /// moment by a client's socket (a client reconnecting while nothing listens can be given
    /// the very port as its own, the self-connect of an ephemeral port): the bind is retried
    /// for up to five seconds on `AddrInUse`.
    pub fn restart(&mut self) -> std::io::Result<()> {
        if self.server.is_some() {
            return Ok(());
        }
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr) {
                Ok(l) => break l,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        };
        self.server = Some(serve(listener, Arc::clone(&self.inner)));
        Ok(())
    }

    /// Waits (bounded) until `n` watch streams are open; true when they are.
    pub fn wait_for_watches(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.inner.lock();
        while st.watches < n {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self
                .inner
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.kill();
    }
}

fn meta_str<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn apply_value(
    st: &mut State,
    options: &Options,
    value: Value,
    delete: bool,
) -> Result<u64, FakeError> {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind == "List" || kind.ends_with("List") {
        let items = value
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for item in items {
            apply_value(st, options, item, delete)?;
        }
        return Ok(st.rv);
    }
    let resource =
        resource_of_kind(kind).ok_or_else(|| FakeError(format!("kind {kind:?} not served")))?;
    let name = meta_str(&value, "name").to_owned();
    if name.is_empty() {
        return Err(FakeError(format!("a {kind} without metadata.name")));
    }
    let namespace = if resource.namespaced {
        match meta_str(&value, "namespace") {
            "" => "default".to_owned(),
            ns => ns.to_owned(),
        }
    } else {
        String::new()
    };
    let key = (resource, namespace.clone(), name.clone());
    let old = st.objects.get(&key).cloned();
    if delete && old.is_none() {
        return Err(FakeError(format!("{kind} {namespace}/{name} not found")));
    }
    st.rv += 1;
    let rv = st.rv;
    let new = if delete {
        st.objects.remove(&key);
        None
    } else {
        let mut v = value;
        v["apiVersion"] = json!(resource.api_version);
        let meta = &mut v["metadata"];
        if resource.namespaced {
            meta["namespace"] = json!(namespace);
        }
        if meta.get("uid").is_none() {
            meta["uid"] = json!(format!("fake-{}-{rv}", resource.plural));
        }
        set_rv(&mut v, rv);
        st.objects.insert(key.clone(), v.clone());
        Some(v)
    };
    st.history.push_back(Change { rv, key, old, new });
    while st.history.len() > options.history {
        if let Some(c) = st.history.pop_front() {
            st.oldest = c.rv;
        }
    }
    Ok(rv)
}

fn compact(st: &mut State) {
    st.rv += 1;
    st.history.clear();
    st.oldest = st.rv;
}

fn set_rv(v: &mut Value, rv: u64) {
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("resourceVersion".into(), json!(rv.to_string()));
    }
}

fn serve(listener: TcpListener, inner: Arc<Inner>) -> Server {
    let stop = Arc::new(AtomicBool::new(false));
    let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    let accept = {
        let (stop, conns) = (Arc::clone(&stop), Arc::clone(&conns));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let Ok(c) = stream.try_clone() {
                    conns.lock().unwrap_or_else(|e| e.into_inner()).push(c);
                }
                let (inner, stop) = (Arc::clone(&inner), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let _ = connection(stream, &inner, &stop);
                });
            }
        })
    };
    Server {
        stop,
        conns,
        accept,
    }
}

struct Request {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn read_request(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length.min(64 << 20)];
    r.read_exact(&mut body)?;
    let (path, qs) = target.split_once('?').unwrap_or((&target, ""));
    let query = qs
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect();
    Ok(Some(Request {
        method,
        path: path.to_owned(),
        query,
        body,
    }))
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| char::from(c).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(w: &mut TcpStream, code: u16, body: &Value) -> std::io::Result<()> {
    let text = body.to_string();
    let reason = match code {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        _ => "Error",
    };
    write!(
        w,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
        text.len()
    )?;
    w.flush()
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn connection(stream: TcpStream, inner: &Inner, stop: &AtomicBool) -> std::io::Result<()> {
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    while let Some(req) = read_request(&mut r)? {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        {
            let mut st = inner.lock();
            let qs: Vec<String> = req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let line = format!("{} {}?{}", req.method, req.path, qs.join("&"));
            st.requests.push(line);
        }
        if req.method == "POST" && req.path.starts_with("/fake/") {
            control(&mut w, inner, &req)?;
            continue;
        }
        if req.method != "GET" {
            respond(
                &mut w,
                405,
                &status(405, "MethodNotAllowed", "the fake serves GET"),
            )?;
            continue;
        }
        if let Some(doc) = discovery(&req.path) {
            respond(&mut w, 200, &doc)?;
            continue;
        }
        let Some(target) = route(&req.path) else {
            let msg = format!(
                "the server could not find the requested resource ({})",
                req.path
            );
            respond(&mut w, 404, &status(404, "NotFound", &msg))?;
            continue;
        };
        let watch = matches!(
            req.query.get("watch").map(String::as_str),
            Some("true" | "1")
        );
        if watch {
            watch_stream(&mut w, inner, &req, &target, stop)?;
        } else if let Some(name) = &target.name {
            get(&mut w, inner, &target, name)?;
        } else {
            list(&mut w, inner, &req, &target)?;
        }
    }
    Ok(())
}

fn control(w: &mut TcpStream, inner: &Inner, req: &Request) -> std::io::Result<()> {
    let fake_op = |f: &dyn Fn(&mut State) -> Result<u64, FakeError>| {
        let mut st = inner.lock();
        let r = f(&mut st);
        drop(st);
        inner.changed.notify_all();
        r
    };
    let body = || serde_json::from_slice::<Value>(&req.body).map_err(|e| FakeError(e.to_string()));
    let result = match req.path.as_str() {
        "/fake/apply" => {
            body().and_then(|v| fake_op(&|st| apply_value(st, &inner.options, v.clone(), false)))
        }
        "/fake/delete" => {
            body().and_then(|v| fake_op(&|st| apply_value(st, &inner.options, v.clone(), true)))
        }
        "/fake/compact" => fake_op(&|st| {
            compact(st);
            Ok(st.rv)
        }),
        "/fake/drop" => fake_op(&|st| {
            st.drops += 1;
            Ok(st.rv)
        }),
        other => Err(FakeError(format!("unknown control {other}"))),
    };
    match result {
        Ok(rv) => respond(w, 200, &json!({"resourceVersion": rv.to_string()})),
        Err(e) => respond(w, 400, &status(400, "BadRequest", &e.0)),
    }
}

fn discovery(path: &str) -> Option<Value> {
    let resources = |prefix: &str| -> Value {
        let list: Vec<Value> = RESOURCES
            .iter()
            .filter(|r| r.prefix == prefix)
            .map(|r| {
                json!({"name": r.plural, "singularName": r.kind.to_ascii_lowercase(),
                       "namespaced": r.namespaced, "kind": r.kind,
                       "verbs": ["get", "list", "watch"],
                       "shortNames": match r.plural { "services" => vec!["svc"], "pods" => vec!["po"],
                                                      "nodes" => vec!["no"], _ => vec![] }})
            })
            .collect();
        let gv = prefix
            .strip_prefix("/apis/")
            .unwrap_or_else(|| prefix.trim_start_matches("/api/"));
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list})
    };
    let group = json!({"name": "discovery.k8s.io",
        "versions": [{"groupVersion": "discovery.k8s.io/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "discovery.k8s.io/v1", "version": "v1"}});
    Some(match path.trim_end_matches('/') {
        "/api" => json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        "/apis" => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [group]}),
        "/apis/discovery.k8s.io" => {
            let mut g = group;
            g["kind"] = json!("APIGroup");
            g["apiVersion"] = json!("v1");
            g
        }
        "/api/v1" => resources("/api/v1"),
        "/apis/discovery.k8s.io/v1" => resources("/apis/discovery.k8s.io/v1"),
        "/version" => json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-svcroute-fake",
            "platform": "linux/amd64"}),
        _ => return None,
    })
}

struct Target {
    resource: Resource,
    namespace: Option<String>,
    name: Option<String>,
}

fn route(path: &str) -> Option<Target> {
    for r in RESOURCES {
        let Some(rest) = path.strip_prefix(r.prefix) else {
            continue;
        };
        let parts: Vec<&str> = rest.trim_matches('/').split('/').collect();
        let (namespace, tail) = match parts.as_slice() {
            ["namespaces", ns, tail @ ..] if r.namespaced && !tail.is_empty() => {
                (Some((*ns).to_owned()), tail)
            }
            tail => (None, tail),
        };
        match tail {
            [p] if *p == r.plural => {
                return Some(Target {
                    resource: *r,
                    namespace,
                    name: None,
                });
            }
            [p, name] if *p == r.plural && (namespace.is_some() || !r.namespaced) => {
                return Some(Target {
                    resource: *r,
                    namespace,
                    name: Some((*name).to_owned()),
                });
            }
            _ => {}
        }
    }
    None
}

struct Filter {
    namespace: Option<String>,
    labels: Selector,
    fields: Vec<(String, bool, String)>,
}

impl Filter {
    fn new(req: &Request, target: &Target) -> Result<Filter, String> {
        let labels = match req.query.get("labelSelector") {
            Some(s) => Selector::parse(s).map_err(|e| format!("labelSelector {s:?}: {e:?}"))?,
            None => Selector::everything(),
        };
        let mut fields = Vec::new();
        for term in req
            .query
            .get("fieldSelector")
            .map(String::as_str)
            .unwrap_or("")
            .split(',')
            .filter(|t| !t.is_empty())
        {
            let (k, eq, v) = if let Some((k, v)) = term.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = term.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = term.split_once('=') {
                (k, true, v)
            } else {
                return Err(format!("invalid field selector {term:?}"));
            };
            if !matches!(k, "metadata.name" | "metadata.namespace") {
                return Err(format!("field label not supported: {k}"));
            }
            fields.push((k.to_owned(), eq, v.to_owned()));
        }
        Ok(Filter {
            namespace: target.namespace.clone(),
            labels,
            fields,
        })
    }

    fn matches(&self, key: &Key, v: &Value) -> bool {
        if self.namespace.as_ref().is_some_and(|ns| *ns != key.1) {
            return false;
        }
        for (k, eq, want) in &self.fields {
            let have = if k == "metadata.name" { &key.2 } else { &key.1 };
            if (have == want) != *eq {
                return false;
            }
        }
        let labels: Labels = v
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        self.labels.matches(&labels)
    }
}

fn get(w: &mut TcpStream, inner: &Inner, target: &Target, name: &str) -> std::io::Result<()> {
    let key = (
        target.resource,
        target.namespace.clone().unwrap_or_default(),
        name.to_owned(),
    );
    let found = inner.lock().objects.get(&key).cloned();
    match found {
        Some(mut v) => {
            v["kind"] = json!(target.resource.kind);
            respond(w, 200, &v)
        }
        None => {
            let msg = format!("{} \"{name}\" not found", target.resource.plural);
            respond(w, 404, &status(404, "NotFound", &msg))
        }
    }
}

/// The objects of `resource` as they were at version `rv` (undoing later changes), borrowed:
/// a page clones only its own items.
fn snapshot(st: &State, resource: Resource, rv: u64) -> BTreeMap<&Key, &Value> {
    let mut objects: BTreeMap<&Key, &Value> =
        st.objects.iter().filter(|(k, _)| k.0 == resource).collect();
    for c in st.history.iter().rev().take_while(|c| c.rv > rv) {
        if c.key.0 != resource {
            continue;
        }
        match &c.old {
            Some(o) => objects.insert(&c.key, o),
            None => objects.remove(&c.key),
        };
    }
    objects
}

fn list(w: &mut TcpStream, inner: &Inner, req: &Request, target: &Target) -> std::io::Result<()> {
    let filter = match Filter::new(req, target) {
        Ok(f) => f,
        Err(e) => return respond(w, 400, &status(400, "BadRequest", &e)),
    };
    let st = inner.lock();
    let (rv, offset) = match req.query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let parsed = token
                .split_once('-')
                .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<usize>().ok()?)));
            match parsed {
                Some((rv, off)) if rv >= st.oldest => (rv, off),
                Some(_) => {
                    drop(st);
                    let msg = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";
                    return respond(w, 410, &status(410, "Expired", msg));
                }
                None => {
                    drop(st);
                    return respond(w, 400, &status(400, "BadRequest", "invalid continue token"));
                }
            }
        }
        None => (st.rv, 0),
    };
    let objects = snapshot(&st, target.resource, rv);
    let matching: Vec<&Value> = objects
        .iter()
        .filter(|(k, v)| filter.matches(k, v))
        .map(|(_, v)| *v)
        .collect();
    let limit = req
        .query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let end = offset.saturating_add(limit).min(matching.len());
    let items: Vec<Value> = matching[offset.min(end)..end]
        .iter()
        .map(|v| {
            let mut v = (*v).clone();
            if let Some(o) = v.as_object_mut() {
                o.remove("kind");
                o.remove("apiVersion");
            }
            v
        })
        .collect();
    let total = matching.len();
    drop(objects);
    drop(st);
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if end < total {
        meta["continue"] = json!(format!("{rv}-{end}"));
        meta["remainingItemCount"] = json!(total - end);
    }
    let body = json!({"kind": format!("{}List", target.resource.kind),
        "apiVersion": target.resource.api_version, "metadata": meta, "items": items});
    respond(w, 200, &body)
}

fn event(kind: &str, resource: Resource, mut object: Value) -> String {
    if let Some(o) = object.as_object_mut().filter(|_| kind != "ERROR") {
        // Events carry kind and apiVersion first, as the API server encodes them.
        let mut full = serde_json::Map::new();
        full.insert("kind".into(), json!(resource.kind));
        full.insert("apiVersion".into(), json!(resource.api_version));
        for (k, v) in std::mem::take(o) {
            if k != "kind" && k != "apiVersion" {
                full.insert(k, v);
            }
        }
        object = Value::Object(full);
    }
    let mut line = json!({"type": kind, "object": object}).to_string();
    line.push('\n');
    line
}

fn chunk(w: &mut TcpStream, data: &str) -> std::io::Result<()> {
    write!(w, "{:x}\r\n{data}\r\n", data.len())?;
    w.flush()
}

struct WatchGuard<'a>(&'a Inner);

impl Drop for WatchGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().watches -= 1;
        self.0.changed.notify_all();
    }
}

fn watch_stream(
    w: &mut TcpStream,
    inner: &Inner,
    req: &Request,
    target: &Target,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let filter = match Filter::new(req, target) {
        Ok(f) => f,
        Err(e) => return respond(w, 400, &status(400, "BadRequest", &e)),
    };
    let timeout = req
        .query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(inner.options.max_watch)
        .min(inner.options.max_watch);
    let bookmarks = req.query.get("allowWatchBookmarks").map(String::as_str) == Some("true");
    write!(
        w,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )?;
    w.flush()?;
    let started = Instant::now();
    let deadline = started + timeout;
    let mut st = inner.lock();
    st.watches += 1;
    inner.changed.notify_all();
    let _guard = WatchGuard(inner);
    let drops = st.drops;
    let since = req
        .query
        .get("resourceVersion")
        .filter(|v| !v.is_empty() && *v != "0")
        .map(|v| v.parse::<u64>().unwrap_or(0));
    let mut cursor;
    let mut out = String::new();
    match since {
        Some(rv) if rv < st.oldest => {
            let msg = format!("too old resource version: {rv} ({})", st.oldest);
            drop(st);
            chunk(
                w,
                &event("ERROR", target.resource, status(410, "Expired", &msg)),
            )?;
            return finish(w);
        }
        Some(rv) => cursor = rv,
        None => {
            cursor = st.rv;
            for (k, v) in &st.objects {
                if k.0 == target.resource && filter.matches(k, v) {
                    out.push_str(&event("ADDED", target.resource, v.clone()));
                }
            }
        }
    }
    let mut last_bookmark = Instant::now();
    loop {
        for c in st
            .history
            .iter()
            .filter(|c| c.rv > cursor && c.key.0 == target.resource)
        {
            let old = c.old.as_ref().filter(|o| filter.matches(&c.key, o));
            let new = c.new.as_ref().filter(|n| filter.matches(&c.key, n));
            let line = match (old, new) {
                (Some(_), Some(n)) => event("MODIFIED", target.resource, n.clone()),
                (None, Some(n)) => event("ADDED", target.resource, n.clone()),
                (Some(_), None) => {
                    // Deleted, or no longer selected: the last state at this version.
                    let mut last = c.new.clone().or_else(|| c.old.clone()).unwrap_or_default();
                    set_rv(&mut last, c.rv);
                    event("DELETED", target.resource, last)
                }
                (None, None) => continue,
            };
            out.push_str(&line);
        }
        cursor = st.rv;
        let now = Instant::now();
        if bookmarks && now.duration_since(last_bookmark) >= inner.options.bookmark_interval {
            last_bookmark = now;
            let b = json!({"metadata": {"resourceVersion": cursor.to_string()}});
            out.push_str(&event("BOOKMARK", target.resource, b));
        }
        let ended = st.drops != drops || stop.load(Ordering::SeqCst);
        drop(st);
        if !out.is_empty() {
            chunk(w, &out)?;
            if inner.options.log_events {
                let events = out.lines().filter(|l| !l.contains("\"BOOKMARK\"")).count();
                if events > 0 {
                    let at = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default();
                    eprintln!(
                        "watch sent {events} event(s) of {} at {:.6}",
                        target.resource.kind,
                        at.as_secs_f64()
                    );
                }
            }
            out.clear();
        }
        if ended {
            // A dropped stream is cut, not finished.
            let _ = w.shutdown(Shutdown::Both);
            return Ok(());
        }
        if now >= deadline {
            return finish(w);
        }
        let wake = (deadline - now).min(if bookmarks {
            inner
                .options
                .bookmark_interval
                .saturating_sub(now.duration_since(last_bookmark))
                .max(Duration::from_millis(1))
        } else {
            Duration::from_secs(3600)
        });
        st = inner.lock();
        if st.rv == cursor && st.drops == drops {
            st = inner
                .changed
                .wait_timeout(st, wake)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

fn finish(w: &mut TcpStream) -> std::io::Result<()> {
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}
