//! The agent's Prometheus metrics: kube-proxy's names, types, labels and buckets where
//! kube-proxy has the metric (`pkg/proxy/metrics/metrics.go`), svcroute's own (`svcroute_…`)
//! for what kube-proxy's IPVS mode does not report (operations by kind and result, netlink
//! messages and `sendmsg` calls, virtual and real servers programmed, real servers draining).
//!
//! Served on `--metrics-bind-address` at `/metrics` in the Prometheus text format (0.0.4, what
//! kube-proxy serves), by [`crate::agent::health`]'s server.

use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use svcroute_core::diff::Op;

/// kube-proxy's sync-duration buckets: `ExponentialBuckets(0.001, 2, 15)` (1 ms … 16.384 s).
pub fn sync_buckets() -> Vec<f64> {
    (0..15).map(|i| 0.001 * f64::from(1u32 << i)).collect()
}

/// kube-proxy's network-programming buckets: 0.25, 0.5, 1…59 by 1, 60…115 by 5, 120…300 by
/// 30 (seconds): `MergeBuckets(LinearBuckets(0.25, 0.25, 2), LinearBuckets(1, 1, 59),
/// LinearBuckets(60, 5, 12), LinearBuckets(120, 30, 7))`.
pub fn network_programming_buckets() -> Vec<f64> {
    let mut b = vec![0.25, 0.5];
    b.extend((1..60).map(f64::from));
    b.extend((60..120).step_by(5).map(f64::from));
    b.extend((120..=300).step_by(30).map(f64::from));
    b
}

/// Every metric the agent exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `kubeproxy_sync_proxy_rules_duration_seconds{ip_family}`.
    pub sync_duration: HistogramVec,
    /// `kubeproxy_sync_full_proxy_rules_duration_seconds{ip_family}`.
    pub sync_full_duration: HistogramVec,
    /// `kubeproxy_sync_partial_proxy_rules_duration_seconds{ip_family}`.
    pub sync_partial_duration: HistogramVec,
    /// `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family}` (last successful sync).
    pub last_timestamp: GaugeVec,
    /// `kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{ip_family}`.
    pub last_queued_timestamp: GaugeVec,
    /// `kubeproxy_network_programming_duration_seconds{ip_family}`.
    pub network_programming: HistogramVec,
    /// `kubeproxy_sync_proxy_rules_endpoint_changes_pending`.
    pub endpoint_changes_pending: IntGauge,
    /// `kubeproxy_sync_proxy_rules_endpoint_changes_total`.
    pub endpoint_changes_total: IntCounter,
    /// `kubeproxy_sync_proxy_rules_service_changes_pending`.
    pub service_changes_pending: IntGauge,
    /// `kubeproxy_sync_proxy_rules_service_changes_total`.
    pub service_changes_total: IntCounter,
    /// `kubeproxy_sync_proxy_rules_no_local_endpoints_total{ip_family,traffic_policy}`.
    pub no_local_endpoints: IntGaugeVec,
    /// `kubeproxy_proxy_healthz_total{code}`.
    pub healthz_total: IntCounterVec,
    /// `kubeproxy_proxy_livez_total{code}`.
    pub livez_total: IntCounterVec,
    /// `svcroute_ipvs_operations_total{operation,result}`.
    pub operations: IntCounterVec,
    /// `svcroute_netlink_messages_total`.
    pub netlink_messages: IntCounter,
    /// `svcroute_netlink_sendmsg_total`.
    pub netlink_sendmsg: IntCounter,
    /// `svcroute_ipvs_virtual_servers`.
    pub virtual_servers: IntGauge,
    /// `svcroute_ipvs_real_servers`.
    pub real_servers: IntGauge,
    /// `svcroute_ipvs_real_servers_draining`.
    pub real_servers_draining: IntGauge,
    /// `svcroute_watch_events_total{resource}`.
    pub watch_events: IntCounterVec,
    /// `svcroute_last_event_timestamp_seconds`.
    pub last_event: Gauge,
}

impl Metrics {
    /// A fresh registry with every metric.
    #[allow(clippy::expect_used)] // fixed names and label sets: registration cannot fail
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let family = &["ip_family"];
        let hist = |name: &str, help: &str, buckets: Vec<f64>| {
            let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), family)
                .expect("histogram");
            registry.register(Box::new(h.clone())).expect("register");
            h
        };
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let g = GaugeVec::new(Opts::new(name, help), labels).expect("gauge");
            registry.register(Box::new(g.clone())).expect("register");
            g
        };
        let int_gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("gauge");
            registry.register(Box::new(g.clone())).expect("register");
            g
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("counter");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("counter");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        let no_local = IntGaugeVec::new(
            Opts::new(
                "kubeproxy_sync_proxy_rules_no_local_endpoints_total",
                "Number of services with a Local traffic policy and no endpoints",
            ),
            &["ip_family", "traffic_policy"],
        )
        .expect("gauge");
        registry
            .register(Box::new(no_local.clone()))
            .expect("register");
        let last_event = Gauge::new(
            "svcroute_last_event_timestamp_seconds",
            "When the last watch event was folded",
        )
        .expect("gauge");
        registry
            .register(Box::new(last_event.clone()))
            .expect("register");
        Metrics {
            sync_duration: hist(
                "kubeproxy_sync_proxy_rules_duration_seconds",
                "SyncProxyRules latency in seconds",
                sync_buckets(),
            ),
            sync_full_duration: hist(
                "kubeproxy_sync_full_proxy_rules_duration_seconds",
                "SyncProxyRules latency in seconds for full resyncs",
                sync_buckets(),
            ),
            sync_partial_duration: hist(
                "kubeproxy_sync_partial_proxy_rules_duration_seconds",
                "SyncProxyRules latency in seconds for partial resyncs",
                sync_buckets(),
            ),
            last_timestamp: gauge_vec(
                "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
                "The last time proxy rules were successfully synced",
                family,
            ),
            last_queued_timestamp: gauge_vec(
                "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
                "The last time a sync of proxy rules was queued",
                family,
            ),
            network_programming: hist(
                "kubeproxy_network_programming_duration_seconds",
                "In Cluster Network Programming Latency in seconds",
                network_programming_buckets(),
            ),
            endpoint_changes_pending: int_gauge(
                "kubeproxy_sync_proxy_rules_endpoint_changes_pending",
                "Pending proxy rules Endpoint changes",
            ),
            endpoint_changes_total: counter(
                "kubeproxy_sync_proxy_rules_endpoint_changes_total",
                "Cumulative proxy rules Endpoint changes",
            ),
            service_changes_pending: int_gauge(
                "kubeproxy_sync_proxy_rules_service_changes_pending",
                "Pending proxy rules Service changes",
            ),
            service_changes_total: counter(
                "kubeproxy_sync_proxy_rules_service_changes_total",
                "Cumulative proxy rules Service changes",
            ),
            no_local_endpoints: no_local,
            healthz_total: counter_vec(
                "kubeproxy_proxy_healthz_total",
                "Cumulative proxy healthz HTTP status",
                &["code"],
            ),
            livez_total: counter_vec(
                "kubeproxy_proxy_livez_total",
                "Cumulative proxy livez HTTP status",
                &["code"],
            ),
            operations: counter_vec(
                "svcroute_ipvs_operations_total",
                "IPVS and interface operations sent to the kernel, by kind and result",
                &["operation", "result"],
            ),
            netlink_messages: counter(
                "svcroute_netlink_messages_total",
                "Netlink requests sent to change the kernel (IPVS and rtnetlink)",
            ),
            netlink_sendmsg: counter(
                "svcroute_netlink_sendmsg_total",
                "sendmsg calls that carried the netlink requests",
            ),
            virtual_servers: int_gauge(
                "svcroute_ipvs_virtual_servers",
                "IPVS virtual servers the agent programs",
            ),
            real_servers: int_gauge(
                "svcroute_ipvs_real_servers",
                "IPVS real servers the agent programs",
            ),
            real_servers_draining: int_gauge(
                "svcroute_ipvs_real_servers_draining",
                "Real servers kept at weight 0 until their connections end",
            ),
            watch_events: counter_vec(
                "svcroute_watch_events_total",
                "Watch events folded into the cluster, by resource",
                &["resource"],
            ),
            last_event,
            registry,
        }
    }

    /// Counts operations by kind with one result.
    pub fn count_operations(&self, ops: &[Op], result: &str) {
        for op in ops {
            self.operations
                .with_label_values(&[operation_name(op), result])
                .inc();
        }
    }

    /// The Prometheus text format of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The `operation` label of an operation.
pub fn operation_name(op: &Op) -> &'static str {
    match op {
        Op::AddVirtualServer { .. } => "add_virtual_server",
        Op::UpdateVirtualServer { .. } => "update_virtual_server",
        Op::DeleteVirtualServer { .. } => "delete_virtual_server",
        Op::AddRealServer { .. } => "add_real_server",
        Op::UpdateRealServer { .. } => "update_real_server",
        Op::DeleteRealServer { .. } => "delete_real_server",
        Op::AddAddress { .. } => "add_address",
        Op::DeleteAddress { .. } => "delete_address",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_proxy_buckets() {
        // pkg/proxy/metrics: ExponentialBuckets(0.001, 2, 15).
        let b = sync_buckets();
        assert_eq!(b.len(), 15);
        assert_eq!(b[0], 0.001);
        assert_eq!(b[14], 16.384);
        // Network programming: 0.25, 0.5, 1..=59, 60..=115 step 5, 120..=300 step 30.
        let n = network_programming_buckets();
        assert_eq!(n.len(), 2 + 59 + 12 + 7);
        assert_eq!(&n[..3], &[0.25, 0.5, 1.0]);
        assert_eq!(n.last(), Some(&300.0));
    }

    #[test]
    fn names_are_exported() {
        let m = Metrics::new();
        m.sync_duration.with_label_values(&["IPv4"]).observe(0.002);
        m.healthz_total.with_label_values(&["200"]).inc();
        let text = m.render();
        for name in [
            "kubeproxy_sync_proxy_rules_duration_seconds_bucket{ip_family=\"IPv4\",le=\"0.002\"} 1",
            "kubeproxy_sync_proxy_rules_endpoint_changes_pending 0",
            "kubeproxy_proxy_healthz_total{code=\"200\"} 1",
            "svcroute_netlink_sendmsg_total 0",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
