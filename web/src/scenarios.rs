//! The seed notes' scenarios, one click each: the nginx Deployment of the notes with one
//! Service from `examples/`, and a short text, in both languages, on what to try.
//!
//! The manifests are the repository's `examples/*.yaml` files, included at build time, so the
//! playground and `svcroute plan -f examples/` read the same text.

/// Which entry point the scenario sends to first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefer {
    /// The ClusterIP.
    ClusterIp,
    /// A node's address and node port.
    NodePort,
    /// The load balancer's IP.
    LoadBalancer,
    /// The Service's DNS name.
    Dns,
}

/// One scenario.
#[derive(Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Its id in URLs and in `mount(el, { scenario })`.
    pub id: &'static str,
    /// Its name (the same in both languages: the Kubernetes words).
    pub title: &'static str,
    /// What to try, in English.
    pub try_en: &'static str,
    /// What to try, in Chinese.
    pub try_zh: &'static str,
    /// The Service manifest (the Deployment comes first in the text).
    service: &'static str,
    /// The entry point to send to first.
    pub prefer: Prefer,
}

const DEPLOYMENT: &str = include_str!("../../examples/deployment.yaml");

/// Every scenario, the default first.
pub const ALL: [Scenario; 6] = [
    Scenario {
        id: "clusterip",
        title: "ClusterIP",
        try_en: "The Deployment's three nginx Pods behind the virtual IP 10.97.97.97:80, reachable only inside the cluster. Send a burst: rr (round robin) walks the real servers in list order, 2/2/2. Make a Pod not ready and watch it leave the ipvsadm rules: the changes list shows one deletion.",
        try_zh: "Deployment 的三个 nginx Pod 位于虚拟 IP 10.97.97.97:80 之后，只能在集群内部访问。发送一次突发：rr（轮询）按列表顺序依次选择真实服务器，每个 Pod 各 2 个。把一个 Pod 设为未就绪，看它从 ipvsadm 规则中消失：变化列表里只有一条删除。",
        service: include_str!("../../examples/service-clusterip.yaml"),
        prefer: Prefer::ClusterIp,
    },
    Scenario {
        id: "headless",
        title: "Headless",
        try_en: "clusterIP: None: no virtual IP and no IPVS rule. The Service's DNS name answers with the ready Pods' addresses and the client picks one itself. Make a Pod not ready: its A record disappears.",
        try_zh: "clusterIP: None：不分配 ClusterIP，也没有 IPVS 规则，只能通过 Service 的域名访问。DNS 直接返回就绪 Pod 的地址，由客户端自己选择。把一个 Pod 设为未就绪：它的 A 记录随之消失。",
        service: include_str!("../../examples/service-headless.yaml"),
        prefer: Prefer::Dns,
    },
    Scenario {
        id: "nodeport",
        title: "NodePort",
        try_en: "The Service on port 30002 of every Node's address (NodeIP:NodePort), reachable from outside the cluster, plus a ClusterIP. Send to each node's address; switch the node to compare their rules.",
        try_zh: "把 Service 的端口映射到每个 Node 地址的 30002 端口，通过 NodeIP:NodePort 从集群外部访问，同时保留 ClusterIP。分别发送到各节点的地址；切换节点比较它们的规则。",
        service: include_str!("../../examples/service-nodeport.yaml"),
        prefer: Prefer::NodePort,
    },
    Scenario {
        id: "loadbalancer",
        title: "LoadBalancer",
        try_en: "Like NodePort, plus an external load balancer's address 192.168.49.100 (what a bare-metal load balancer such as MetalLB publishes). Every node holds a virtual server for that address.",
        try_zh: "和 NodePort 类似，另外在集群外部有一个负载均衡设备，地址 192.168.49.100（如裸机上的 MetalLB 发布的地址）。每个节点都为这个地址建立虚拟服务。",
        service: include_str!("../../examples/service-loadbalancer.yaml"),
        prefer: Prefer::LoadBalancer,
    },
    Scenario {
        id: "externalname",
        title: "ExternalName",
        try_en: "ExternalName www.baidu.com brings a service outside the cluster in by name: DNS answers with a CNAME. No virtual IP, no proxying, no endpoints.",
        try_zh: "ExternalName 把集群外部的服务 www.baidu.com 引入集群：DNS 以 CNAME 应答。没有虚拟 IP，不做代理，也没有端点。",
        service: include_str!("../../examples/service-externalname.yaml"),
        prefer: Prefer::Dns,
    },
    Scenario {
        id: "affinity",
        title: "sessionAffinity ClientIP",
        try_en: "sessionAffinity: ClientIP becomes IPVS persistence (-p 10800): connections from one client address go to one Pod. Send one from 10.0.0.7 several times: it stays. Advance the clock by 3 h past the timeout and send again: the template has expired and rr chooses anew.",
        try_zh: "sessionAffinity: ClientIP 对应 IPVS 持久连接（-p 10800）：来自同一客户端地址的连接转发到同一个 Pod。从 10.0.0.7 多次发送：始终到同一个 Pod。把时钟推进 3 小时超过超时时间后再发送：模板已过期，rr 重新选择。",
        service: include_str!("../../examples/service-affinity.yaml"),
        prefer: Prefer::ClusterIp,
    },
];

impl Scenario {
    /// A scenario by id; the default (ClusterIP) when unknown.
    pub fn get(id: &str) -> &'static Scenario {
        ALL.iter().find(|s| s.id == id).unwrap_or(&ALL[0])
    }

    /// The default scenario.
    pub fn default_one() -> &'static Scenario {
        &ALL[0]
    }

    /// Whether `id` names a scenario.
    pub fn exists(id: &str) -> bool {
        ALL.iter().any(|s| s.id == id)
    }

    /// The manifests: the seed's Deployment, then the Service.
    pub fn manifest(&self) -> String {
        let mut s = String::with_capacity(DEPLOYMENT.len() + self.service.len() + 4);
        s.push_str(DEPLOYMENT);
        if !s.ends_with('\n') {
            s.push('\n');
        }
        s.push_str("---\n");
        s.push_str(self.service);
        s
    }

    /// What to try, in a language.
    pub fn try_text(&self, lang: crate::i18n::Lang) -> &'static str {
        match lang {
            crate::i18n::Lang::En => self.try_en,
            crate::i18n::Lang::Zh => self.try_zh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_known() {
        for (i, s) in ALL.iter().enumerate() {
            assert!(ALL[..i].iter().all(|o| o.id != s.id));
            assert_eq!(Scenario::get(s.id).id, s.id);
        }
        assert_eq!(Scenario::get("nope").id, "clusterip");
    }

    #[test]
    fn every_scenario_is_valid_for_the_core() {
        for s in &ALL {
            let r = svcroute_core::manifest::load(
                [("manifest.yaml", s.manifest().as_str())],
                svcroute_core::Config::default(),
                &Default::default(),
            );
            let c = r.unwrap_or_else(|e| panic!("{}: {e}", s.id));
            assert_eq!(c.services.len(), 1, "{}", s.id);
            assert_eq!(c.pods.len(), 3, "{}", s.id);
        }
    }
}
