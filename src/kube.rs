//! The Kubernetes API as a source of objects: the client (`--kubeconfig`, `--master`, the
//! service account's in-cluster config), kube-proxy's label selectors, and the conversion of
//! API objects into the core's checked objects.
//!
//! API objects go through the core's strict reader as JSON, so they are validated and decoded
//! exactly as `kubectl get -o json` output given with `-f` would be. Services lose their
//! `spec.selector` on the way: in this mode EndpointSlices are taken as the API gives them
//! (the EndpointSlice controller already derived them from Pods), which is what the core does
//! for a Service without a selector.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ipnet::IpNet;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;
use svcroute_core::diag::Diagnostic;
use svcroute_core::manifest;
use svcroute_core::model::Objects;

/// kube-proxy's label: a Service with it belongs to another proxy.
pub const SERVICE_PROXY_NAME: &str = "service.kubernetes.io/service-proxy-name";
/// kube-proxy's label for headless Services (the EndpointSlice controller copies it).
pub const HEADLESS: &str = "service.kubernetes.io/headless";
/// The EndpointSlice annotation kube-proxy measures network programming latency from.
pub const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// kube-proxy's selector for Services and EndpointSlices: without `name`, the ones no other
/// proxy claims and that are not headless; with it, only the ones labelled for `name`.
pub fn label_selector(name: Option<&str>) -> String {
    match name {
        None => format!("!{SERVICE_PROXY_NAME},!{HEADLESS}"),
        Some(n) => format!("{SERVICE_PROXY_NAME}={n},!{HEADLESS}"),
    }
}

/// A client for `--kubeconfig` / `--master`, or the in-cluster config when neither is given.
pub async fn client(kubeconfig: Option<&Path>, master: Option<&str>) -> Result<kube::Client> {
    let mut config = match kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .with_context(|| format!("kubeconfig {}", path.display()))?
        }
        None => match master {
            Some(url) => kube::Config::new(
                url.parse()
                    .with_context(|| format!("--master {url:?}: not a URL"))?,
            ),
            None => kube::Config::incluster().context(
                "no -f, --kubeconfig or --master, and not in a Pod (no in-cluster service account)",
            )?,
        },
    };
    if let (Some(url), Some(_)) = (master, kubeconfig) {
        config.cluster_url = url
            .parse()
            .with_context(|| format!("--master {url:?}: not a URL"))?;
    }
    if config.cluster_url.scheme_str() == Some("http") {
        return plain_http_client(config);
    }
    kube::Client::try_from(config).context("building the API client")
}

/// A client for an `http://` API server (kube-proxy's `--master` to an insecure port, the
/// fake API server of the tests): kube's base-URI, auth and header layers over hyper's plain
/// connector. kube's own builder wraps every connector in rustls, whose set-up without a
/// configured CA loads the system's roots and fails where there are none (the static image,
/// the VM). No TLS, so no roots needed.
fn plain_http_client(config: kube::Config) -> Result<kube::Client> {
    use hyper_util::client::legacy::{Client, connect::HttpConnector};
    use kube::client::ConfigExt;
    use tower::ServiceExt;
    type BoxError = Box<dyn std::error::Error + Send + Sync>;
    let http: Client<HttpConnector, kube::client::Body> =
        Client::builder(hyper_util::rt::TokioExecutor::new()).build(HttpConnector::new());
    // The auth layer's errors are boxed: the client's must be too (one type either way).
    let http = http.map_err(|e| -> BoxError { Box::new(e) });
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .auth_layer()
                .context("the kubeconfig's credentials")?,
        )
        .layer(
            config
                .extra_headers_layer()
                .context("the kubeconfig's headers")?,
        )
        .service(http);
    Ok(kube::Client::new(service, config.default_namespace))
}

/// The live cluster read once for `plan` and `route`: one list each of Services (kube-proxy's
/// selector), EndpointSlices (the same selector) and Nodes, as `kubectl get -o json` Lists the
/// core reads; and the configuration for API-allocated addresses ([`service_cidrs_of`] unless
/// `--service-cidr` is given).
///
/// EndpointSlices are taken as given when there are some: a Service with a selector and a
/// slice labelled with its name loses its selector (the EndpointSlice controller derived them
/// already). A Service with a selector and no slice at all (a cluster whose controller has not
/// run, or does not run) keeps its selector, and then the Pods of its namespace are listed too
/// (one list), so that the core derives its endpoints as it does for `-f` input
/// ([`needs_pods`]).
pub fn read_cluster(
    args: &crate::cli::ManifestArgs,
) -> Result<(Vec<(String, String)>, svcroute_core::config::Config)> {
    use k8s_openapi::api::core::v1::{Node, Pod, Service};
    use k8s_openapi::api::discovery::v1::EndpointSlice;
    use kube::api::{Api, ListParams};

    async fn list<K>(api: Api<K>, params: &ListParams, kind: &str) -> Result<Vec<Value>>
    where
        K: kube::Resource
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned
            + serde::Serialize,
    {
        let mut items = Vec::new();
        let mut params = params.clone().limit(500);
        loop {
            let page = api
                .list(&params)
                .await
                .with_context(|| format!("listing {kind}s"))?;
            for o in &page.items {
                items.push(serde_json::to_value(o)?);
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => params = params.continue_token(&c),
                None => break,
            }
        }
        Ok(items)
    }
    fn as_list(kind: &str, items: Vec<Value>) -> Result<(String, String)> {
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
        Ok((format!("api:{kind}s"), serde_json::to_string_pretty(&list)?))
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let inputs = rt.block_on(async {
        let client = client(args.kubeconfig.as_deref(), args.master.as_deref()).await?;
        let selected = ListParams::default().labels(&label_selector(None));
        let nodes = list(
            Api::<Node>::all(client.clone()),
            &ListParams::default(),
            "Node",
        )
        .await?;
        let services = list(Api::<Service>::all(client.clone()), &selected, "Service").await?;
        let slices = list(
            Api::<EndpointSlice>::all(client.clone()),
            &selected,
            "EndpointSlice",
        )
        .await?;
        let derive = needs_pods(&services, &slices);
        let services: Vec<Value> = services
            .into_iter()
            .map(|s| match derive.contains(&key_of(&s)) {
                true => s,
                false => strip_selector(s),
            })
            .collect();
        let mut inputs = vec![
            as_list("Node", nodes)?,
            as_list("Service", services)?,
            as_list("EndpointSlice", slices)?,
        ];
        if !derive.is_empty() {
            let namespaces: std::collections::BTreeSet<&str> =
                derive.iter().map(|(ns, _)| ns.as_str()).collect();
            let pods = list(Api::<Pod>::all(client), &ListParams::default(), "Pod").await?;
            let pods = pods
                .into_iter()
                .filter(|p| namespaces.contains(meta_str(p, "namespace")))
                .collect();
            inputs.push(as_list("Pod", pods)?);
        }
        Ok::<_, anyhow::Error>(inputs)
    })?;
    let mut m = args.clone();
    if m.service_cidrs.is_empty() {
        let read = manifest::read_all(inputs.iter().map(|(n, t)| (n.as_str(), t.as_str())));
        m.service_cidrs = service_cidrs_of(
            read.objects
                .services
                .iter()
                .flat_map(|s| s.cluster_ips.clone()),
        )?;
    }
    Ok((inputs, m.config()?))
}

/// The EndpointSlice label naming the Service a slice belongs to.
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";

fn meta_str<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn key_of(v: &Value) -> (String, String) {
    (
        meta_str(v, "namespace").to_owned(),
        meta_str(v, "name").to_owned(),
    )
}

/// The Services (namespace, name) whose endpoints must be derived from Pods: a non-empty
/// selector, not ExternalName, and no EndpointSlice labelled with their name. The others take
/// their slices as given.
pub fn needs_pods(
    services: &[Value],
    slices: &[Value],
) -> std::collections::BTreeSet<(String, String)> {
    let sliced: std::collections::BTreeSet<(String, String)> = slices
        .iter()
        .filter_map(|s| {
            let name = s
                .get("metadata")?
                .get("labels")?
                .get(SERVICE_NAME)?
                .as_str()?;
            Some((meta_str(s, "namespace").to_owned(), name.to_owned()))
        })
        .collect();
    services
        .iter()
        .filter(|s| {
            let spec = s.get("spec");
            let selector = spec
                .and_then(|p| p.get("selector"))
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty());
            let external =
                spec.and_then(|p| p.get("type")).and_then(Value::as_str) == Some("ExternalName");
            selector && !external && !sliced.contains(&key_of(s))
        })
        .map(key_of)
        .collect()
}

/// The Service CIDRs when `--service-cidr` is not given: the API server allocated every
/// ClusterIP already, from ranges svcroute is not told. Per family, the widest range the API
/// server accepts (20 host bits, kube-apiserver's `validateMaxCIDRRange`) around the first
/// ClusterIP, when every ClusterIP of that family is in it; no ClusterIP: the core's defaults.
pub fn service_cidrs_of(ips: impl IntoIterator<Item = std::net::IpAddr>) -> Result<Vec<IpNet>> {
    let mut out: Vec<IpNet> = Vec::new();
    for ip in ips {
        if out.iter().any(|n| n.contains(&ip)) {
            continue;
        }
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        let net = IpNet::new(ip, bits - 20)
            .context("a prefix length within the address")?
            .trunc();
        if out.iter().any(|n| n.addr().is_ipv4() == ip.is_ipv4()) {
            bail!(
                "ClusterIPs {} and {ip} are not in one range the API server accepts: give --service-cidr",
                out.iter()
                    .find(|n| n.addr().is_ipv4() == ip.is_ipv4())
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
        }
        out.push(net);
    }
    out.sort();
    Ok(out)
}

/// A Service as the agent plans it: without its selector (the slices are given).
pub fn strip_selector(mut service: Value) -> Value {
    if let Some(spec) = service.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("selector");
    }
    service
}

/// Decodes one API object (with `kind` and `apiVersion`) with the core's strict reader.
/// `origin` names it in diagnostics (`api:Service default/web`).
pub fn decode(origin: &str, object: &Value) -> Result<Objects, Vec<Diagnostic>> {
    let text = object.to_string();
    let read = manifest::read(origin, &text);
    if read.has_errors() {
        return Err(read.diagnostics);
    }
    Ok(read.objects)
}

/// `namespace/name` of an API object (`name` for cluster-scoped ones).
pub fn object_key(object: &Value) -> String {
    let meta = |f: &str| {
        object
            .get("metadata")
            .and_then(|m| m.get(f))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    match meta("namespace") {
        ns if ns.is_empty() => meta("name"),
        ns => format!("{ns}/{}", meta("name")),
    }
}

/// The host name, the default Node name (kube-proxy lower-cases it too).
pub fn hostname() -> Result<String> {
    let name = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .trim()
        .to_ascii_lowercase();
    if name.is_empty() {
        bail!("the host has no name: give --hostname-override");
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use svcroute_core::labels::Selector;

    #[test]
    fn service_cidrs_from_cluster_ips() {
        let ips = |v: &[&str]| {
            v.iter()
                .map(|s| s.parse().expect("an IP"))
                .collect::<Vec<_>>()
        };
        let nets = |v: &[&str]| {
            v.iter()
                .map(|s| s.parse().expect("a CIDR"))
                .collect::<Vec<IpNet>>()
        };
        assert_eq!(
            service_cidrs_of(ips(&["10.96.0.1", "10.100.3.4", "fd00:10:96::a"]))
                .expect("one range"),
            nets(&["10.96.0.0/12", "fd00:10:96::/108"])
        );
        assert!(service_cidrs_of(ips(&["10.96.0.1", "10.43.0.1"])).is_err());
    }

    #[test]
    fn kube_proxy_selector() {
        // cmd/kube-proxy/app/server.go: noProxyName + noHeadlessEndpoints.
        let s = label_selector(None);
        assert_eq!(
            s,
            "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"
        );
        let sel = Selector::parse(&s).expect("valid");
        let mut labels = svcroute_core::labels::Labels::new();
        assert!(sel.matches(&labels));
        labels.insert(SERVICE_PROXY_NAME.to_owned(), "other".to_owned());
        assert!(!sel.matches(&labels));
        let mine = Selector::parse(&label_selector(Some("svcroute"))).expect("valid");
        assert!(!mine.matches(&labels));
        labels.insert(SERVICE_PROXY_NAME.to_owned(), "svcroute".to_owned());
        assert!(mine.matches(&labels));
    }
}
