//! The `kubectl` views the seed notes use, rendered from a [`Cluster`]: `kubectl get svc`,
//! `kubectl describe svc`, `kubectl get endpoints`, `kubectl get endpointslices` and
//! `kubectl get pods -o wide`, in one namespace.
//!
//! Columns are laid out as kubectl's printers do (`text/tabwriter` with minimum width 10 and
//! padding 3 for tables; padding 2 for `describe`); lists of addresses are cut after three with
//! `+ N more...` (`formatEndpoints`, `formatDiscoveryEndpoints`). The manifests carry no
//! creation time, so AGE is `<unknown>`, as kubectl prints it for an object without one.
//! Pods are taken to have one container (the READY column), and nothing is restarted.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::cluster::{Cluster, ResolvedService, fnv64};
use crate::model::{Family, PodPhase, ServiceType, TargetPort, TrafficPolicy};

/// What AGE shows for objects without `creationTimestamp`.
const AGE: &str = "<unknown>";

/// Lays rows out as kubectl's table printer: each column but the last padded to its widest
/// cell plus 3, at least 10.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = alloc::vec![0usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max((c.chars().count() + 3).max(10));
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                let pad = widths[i] - c.chars().count();
                line.extend(core::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `a,b,c + 2 more...`: kubectl's cut of a list.
fn first_three(items: &[String]) -> String {
    if items.is_empty() {
        return "<none>".into();
    }
    let mut s = items.iter().take(3).cloned().collect::<Vec<_>>().join(",");
    if items.len() > 3 {
        s.push_str(&format!(" + {} more...", items.len() - 3));
    }
    s
}

fn services_in<'a>(
    cluster: &'a Cluster,
    namespace: &'a str,
) -> impl Iterator<Item = &'a ResolvedService> + 'a {
    cluster
        .services
        .iter()
        .filter(move |s| s.id().namespace == namespace)
}

/// `80/TCP`, `80:30002/TCP`, joined with commas, as the PORT(S) column.
fn ports_column(s: &ResolvedService) -> String {
    let ports: Vec<String> = s
        .service
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| match s.node_ports.get(i).copied().flatten() {
            Some(np) => format!("{}:{np}/{}", p.port, p.protocol),
            None => format!("{}/{}", p.port, p.protocol),
        })
        .collect();
    if ports.is_empty() {
        "<none>".into()
    } else {
        ports.join(",")
    }
}

fn cluster_ip_column(s: &ResolvedService) -> String {
    if s.service.kind == ServiceType::ExternalName {
        "<none>".into()
    } else if s.service.headless {
        "None".into()
    } else {
        s.cluster_ips
            .first()
            .map_or("<none>".into(), ToString::to_string)
    }
}

/// EXTERNAL-IP: a LoadBalancer without status is `<pending>`; an ExternalName shows its name.
fn external_ip_column(s: &ResolvedService) -> String {
    let mut ips: Vec<String> = s
        .service
        .external_ips
        .iter()
        .map(|i| i.to_string())
        .collect();
    match s.service.kind {
        ServiceType::ExternalName => s.service.external_name.clone().unwrap_or_default(),
        ServiceType::LoadBalancer => {
            ips.extend(s.service.lb_ingress.iter().map(|i| i.ip.to_string()));
            if ips.is_empty() {
                "<pending>".into()
            } else {
                ips.join(",")
            }
        }
        _ if ips.is_empty() => "<none>".into(),
        _ => ips.join(","),
    }
}

/// `kubectl get svc -n NAMESPACE`.
pub fn get_services(cluster: &Cluster, namespace: &str) -> String {
    let mut rows = alloc::vec![
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
        .map(String::from)
        .to_vec()
    ];
    for s in services_in(cluster, namespace) {
        rows.push(alloc::vec![
            s.id().name.clone(),
            s.service.kind.as_str().into(),
            cluster_ip_column(s),
            external_ip_column(s),
            ports_column(s),
            AGE.into(),
        ]);
    }
    empty_or(rows, namespace)
}

fn empty_or(rows: Vec<Vec<String>>, namespace: &str) -> String {
    if rows.len() == 1 {
        format!("No resources found in {namespace} namespace.\n")
    } else {
        table(&rows)
    }
}

/// The legacy Endpoints' `IP:PORT` list of one Service port (or of all): ready endpoints
/// only, as the Endpoints controller puts them in `addresses`.
fn endpoint_addresses(s: &ResolvedService, port: Option<usize>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in s.service.ports.iter().enumerate() {
        if port.is_some_and(|p| p != i) {
            continue;
        }
        for b in &s.backends {
            let ready = s.service.publish_not_ready
                || (b.conditions.is_ready() && !b.conditions.is_terminating());
            if let (true, Some(Some(tp))) = (ready, b.ports.get(i)) {
                out.push(match b.address {
                    core::net::IpAddr::V6(a) => format!("[{a}]:{tp}"),
                    a => format!("{a}:{tp}"),
                });
            }
        }
    }
    out
}

/// `kubectl get endpoints -n NAMESPACE`: one Endpoints object per Service with a selector.
pub fn get_endpoints(cluster: &Cluster, namespace: &str) -> String {
    let mut rows = alloc::vec![["NAME", "ENDPOINTS", "AGE"].map(String::from).to_vec()];
    for s in services_in(cluster, namespace).filter(|s| s.service.selector.is_some()) {
        rows.push(alloc::vec![
            s.id().name.clone(),
            first_three(&endpoint_addresses(s, None)),
            AGE.into(),
        ]);
    }
    empty_or(rows, namespace)
}

/// The EndpointSlice controller's name for a Service's slice: `generateName` `<service>-` and
/// five characters (here derived from the cluster's seed and the Service, so stable).
fn slice_name(cluster: &Cluster, s: &ResolvedService, family: Family) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let key = format!("{}/{}/{family:?}", cluster.config.seed, s.id());
    let mut h = fnv64(key.as_bytes());
    let suffix: String = (0..5)
        .map(|_| {
            let c = ALPHANUMS[(h % ALPHANUMS.len() as u64) as usize] as char;
            h /= ALPHANUMS.len() as u64;
            c
        })
        .collect();
    let mut prefix = s.id().name.clone();
    // generateName is cut so that the name stays within 63 characters.
    prefix.truncate(57);
    format!("{prefix}-{suffix}")
}

/// `kubectl get endpointslices -n NAMESPACE`: the slices the controller makes for Services
/// with a selector, one per address family (every endpoint listed, whatever its conditions).
pub fn get_endpoint_slices(cluster: &Cluster, namespace: &str) -> String {
    let mut rows = alloc::vec![
        ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
            .map(String::from)
            .to_vec()
    ];
    for s in services_in(cluster, namespace).filter(|s| s.service.selector.is_some()) {
        for fam in &s.families {
            let addrs: Vec<String> = s
                .backends
                .iter()
                .filter(|b| Family::of(&b.address) == *fam)
                .map(|b| b.address.to_string())
                .collect();
            let mut ports: Vec<String> = Vec::new();
            for (i, _) in s.service.ports.iter().enumerate() {
                if let Some(p) = s
                    .backends
                    .iter()
                    .filter(|b| Family::of(&b.address) == *fam)
                    .find_map(|b| b.ports.get(i).copied().flatten())
                {
                    ports.push(p.to_string());
                }
            }
            rows.push(alloc::vec![
                slice_name(cluster, s, *fam),
                match fam {
                    Family::V4 => "IPv4".into(),
                    Family::V6 => "IPv6".into(),
                },
                if ports.is_empty() {
                    "<unset>".into()
                } else {
                    ports.join(",")
                },
                first_three(&addrs),
                AGE.into(),
            ]);
        }
    }
    empty_or(rows, namespace)
}

/// `kubectl get pods -n NAMESPACE -o wide`.
pub fn get_pods_wide(cluster: &Cluster, namespace: &str) -> String {
    let mut rows = alloc::vec![
        [
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES"
        ]
        .map(String::from)
        .to_vec()
    ];
    for p in cluster
        .pods
        .iter()
        .filter(|p| p.meta.id.namespace == namespace)
    {
        let status = if p.meta.deleting {
            "Terminating"
        } else {
            match p.phase {
                PodPhase::Pending => "Pending",
                PodPhase::Running => "Running",
                PodPhase::Succeeded => "Completed",
                PodPhase::Failed => "Error",
                PodPhase::Unknown => "Unknown",
            }
        };
        rows.push(alloc::vec![
            p.meta.id.name.clone(),
            if p.ready { "1/1" } else { "0/1" }.into(),
            status.into(),
            "0".into(),
            AGE.into(),
            p.ips.first().map_or("<none>".into(), ToString::to_string),
            p.node_name.clone().unwrap_or_else(|| "<none>".into()),
            "<none>".into(),
            "<none>".into(),
        ]);
    }
    empty_or(rows, namespace)
}

fn labels_line(l: &crate::labels::Labels) -> String {
    if l.is_empty() {
        "<none>".into()
    } else {
        l.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// `kubectl describe svc NAME -n NAMESPACE`; `None` when there is no such Service.
pub fn describe_service(cluster: &Cluster, namespace: &str, name: &str) -> Option<String> {
    let s = cluster
        .services
        .iter()
        .find(|s| s.id().namespace == namespace && s.id().name == name)?;
    let svc = &s.service;
    let mut lines: Vec<(String, String)> = Vec::new();
    let add =
        |lines: &mut Vec<(String, String)>, k: &str, v: String| lines.push((format!("{k}:"), v));
    add(&mut lines, "Name", name.into());
    add(&mut lines, "Namespace", namespace.into());
    // kubectl lists labels one per line, under the first.
    let mut labels = svc.meta.labels.iter().map(|(k, v)| format!("{k}={v}"));
    add(
        &mut lines,
        "Labels",
        labels.next().unwrap_or_else(|| "<none>".into()),
    );
    for l in labels {
        lines.push((String::new(), l));
    }
    add(&mut lines, "Annotations", "<none>".into());
    add(
        &mut lines,
        "Selector",
        svc.selector.as_ref().map_or("<none>".into(), labels_line),
    );
    add(&mut lines, "Type", svc.kind.as_str().into());
    if svc.kind != ServiceType::ExternalName {
        let fams: Vec<&str> = s
            .families
            .iter()
            .map(|f| match f {
                Family::V4 => "IPv4",
                Family::V6 => "IPv6",
            })
            .collect();
        add(
            &mut lines,
            "IP Family Policy",
            if fams.len() > 1 {
                "PreferDualStack"
            } else {
                "SingleStack"
            }
            .into(),
        );
        add(&mut lines, "IP Families", fams.join(","));
        add(&mut lines, "IP", cluster_ip_column(s));
        add(
            &mut lines,
            "IPs",
            if svc.headless {
                "None".into()
            } else {
                s.cluster_ips
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            },
        );
    }
    if !svc.external_ips.is_empty() {
        add(
            &mut lines,
            "External IPs",
            svc.external_ips
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if let Some(n) = &svc.external_name {
        add(&mut lines, "External Name", n.clone());
    }
    if !svc.lb_ingress.is_empty() {
        add(
            &mut lines,
            "LoadBalancer Ingress",
            svc.lb_ingress
                .iter()
                .map(|i| i.ip.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    for (i, p) in svc.ports.iter().enumerate() {
        let pname = if p.name.is_empty() {
            "<unset>".to_string()
        } else {
            p.name.clone()
        };
        add(
            &mut lines,
            "Port",
            format!("{pname}  {}/{}", p.port, p.protocol),
        );
        add(
            &mut lines,
            "TargetPort",
            match &p.target_port {
                TargetPort::Number(n) => format!("{n}/{}", p.protocol),
                TargetPort::Name(n) => format!("{n}/{}", p.protocol),
            },
        );
        if let Some(np) = s.node_ports.get(i).copied().flatten() {
            add(
                &mut lines,
                "NodePort",
                format!("{pname}  {np}/{}", p.protocol),
            );
        }
        if svc.kind != ServiceType::ExternalName {
            add(
                &mut lines,
                "Endpoints",
                first_three(&endpoint_addresses(s, Some(i))),
            );
        }
    }
    add(
        &mut lines,
        "Session Affinity",
        if svc.affinity_timeout.is_some() {
            "ClientIP"
        } else {
            "None"
        }
        .into(),
    );
    let policy = |p: TrafficPolicy| match p {
        TrafficPolicy::Cluster => "Cluster",
        TrafficPolicy::Local => "Local",
    };
    if svc.externally_accessible() {
        add(
            &mut lines,
            "External Traffic Policy",
            policy(svc.external_traffic_policy).into(),
        );
    }
    if svc.kind != ServiceType::ExternalName {
        add(
            &mut lines,
            "Internal Traffic Policy",
            policy(svc.internal_traffic_policy).into(),
        );
    }
    if let Some(p) = s.health_check_node_port {
        add(&mut lines, "HealthCheck NodePort", p.to_string());
    }
    add(&mut lines, "Events", "<none>".into());
    let key_w = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
    let mut out = String::new();
    for (k, v) in lines {
        out.push_str(&format!("{k:<key_w$}{v}\n"));
    }
    Some(out)
}

/// Every view, per namespace that has Services or Pods, each under the command that prints it.
pub fn all(cluster: &Cluster) -> String {
    let mut namespaces: Vec<&str> = cluster
        .services
        .iter()
        .map(|s| s.id().namespace.as_str())
        .chain(cluster.pods.iter().map(|p| p.meta.id.namespace.as_str()))
        .collect();
    crate::sort::sort_unstable(&mut namespaces);
    namespaces.dedup();
    let mut out = String::new();
    for ns in namespaces {
        let mut section = |cmd: String, text: String| {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("$ {cmd}\n{text}"));
        };
        section(
            format!("kubectl get svc -n {ns}"),
            get_services(cluster, ns),
        );
        for s in services_in(cluster, ns) {
            let name = &s.id().name;
            if let Some(d) = describe_service(cluster, ns, name) {
                section(format!("kubectl describe svc {name} -n {ns}"), d);
            }
        }
        section(
            format!("kubectl get endpoints -n {ns}"),
            get_endpoints(cluster, ns),
        );
        section(
            format!("kubectl get endpointslices -n {ns}"),
            get_endpoint_slices(cluster, ns),
        );
        section(
            format!("kubectl get pods -n {ns} -o wide"),
            get_pods_wide(cluster, ns),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_as_tabwriter() {
        let rows = alloc::vec![
            alloc::vec!["NAME".to_string(), "AGE".into()],
            alloc::vec!["a-long-service-name".to_string(), "<unknown>".into()],
        ];
        assert_eq!(
            table(&rows),
            "NAME                  AGE\na-long-service-name   <unknown>\n"
        );
    }

    #[test]
    fn lists_are_cut_after_three() {
        let items: Vec<String> = (1..=5).map(|i| format!("10.0.0.{i}:80")).collect();
        assert_eq!(
            first_three(&items),
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..."
        );
        assert_eq!(first_three(&[]), "<none>");
    }
}
