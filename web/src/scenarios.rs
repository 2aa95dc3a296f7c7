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
pub const ALL: [Scenario; 8] = [
    Scenario {
        id: "clusterip",
        title: "ClusterIP",
        try_en: "The Deployment's three nginx Pods behind the virtual IP 10.97.97.97:80. Send a burst from all clients: the client Pod and the node's own process reach it through their node's kube-proxy (its IPVS table chooses, rr in list order; each node's kernel keeps its own rr position); the laptop outside is refused: a ClusterIP exists only in the nodes' rules. Make a Pod not ready and watch it leave every node's ipvsadm rules: the change travels apiserver → etcd → EndpointSlice → kube-proxy, and the changes list shows one deletion. Delete a Pod: the others stay, the ReplicaSet makes a replacement.",
        try_zh: "Deployment 的三个 nginx Pod 位于虚拟 IP 10.97.97.97:80 之后。从所有客户端发送一次突发：客户端 Pod 和节点本机进程经由所在节点的 kube-proxy 访问（由该节点的 IPVS 规则表按列表顺序轮询选择；每个节点的内核各自记录轮询位置）；集群外的 laptop 被拒绝：ClusterIP 只存在于各节点的规则中。把一个 Pod 设为未就绪，看它从每个节点的 ipvsadm 规则中消失：变更沿 apiserver → etcd → EndpointSlice → kube-proxy 传播，变化列表里只有一条删除。删除一个 Pod：其他 Pod 不动，ReplicaSet 创建一个替代。",
        service: include_str!("../../examples/service-clusterip.yaml"),
        prefer: Prefer::ClusterIp,
    },
    Scenario {
        id: "headless",
        title: "Headless",
        try_en: "clusterIP: None: no virtual IP and no IPVS rule. First the client asks the cluster DNS: the Service's name answers with the ready Pods' addresses. Then the client connects to one of them itself (the dashed second hop), straight to the Pod, through no kube-proxy table. Make a Pod not ready: its A record disappears. From the laptop outside, the name does not resolve.",
        try_zh: "clusterIP: None：不分配 ClusterIP，也没有 IPVS 规则。客户端先查询集群 DNS：Service 的域名返回就绪 Pod 的地址；然后客户端自己连接其中一个地址（虚线表示的第二跳），直接到达 Pod，不经过 kube-proxy 的规则表。把一个 Pod 设为未就绪：它的 A 记录随之消失。集群外的 laptop 无法解析这个域名。",
        service: include_str!("../../examples/service-headless.yaml"),
        prefer: Prefer::Dns,
    },
    Scenario {
        id: "nodeport",
        title: "NodePort",
        try_en: "The Service on port 30002 of every Node's address (NodeIP:NodePort), plus a ClusterIP. From the laptop outside, send to a node's address: that node's kube-proxy table chooses, maybe a Pod on another node, and the Pod sees the node's address as source (masquerade, externalTrafficPolicy: Cluster). Send to the ClusterIP from outside: refused.",
        try_zh: "把 Service 的端口映射到每个 Node 地址的 30002 端口（NodeIP:NodePort），同时保留 ClusterIP。从集群外的 laptop 发送到某个节点的地址：由这个节点的 kube-proxy 规则表选择，可能选中其他节点上的 Pod，Pod 看到的源地址是节点的地址（SNAT 伪装，externalTrafficPolicy: Cluster）。从外部发送到 ClusterIP：被拒绝。",
        service: include_str!("../../examples/service-nodeport.yaml"),
        prefer: Prefer::NodePort,
    },
    Scenario {
        id: "loadbalancer",
        title: "LoadBalancer",
        try_en: "A load balancer device outside the cluster publishes 192.168.49.100 (status.loadBalancer, as MetalLB or a cloud does) and forwards the laptop's connections to a node; that node's IPVS table (the address is on its kube-ipvs0) chooses the Pod. Delete the status lines from the manifest: kubectl get svc shows EXTERNAL-IP <pending>, and only the NodePort is left.",
        try_zh: "集群外的负载均衡设备发布地址 192.168.49.100（status.loadBalancer，如 MetalLB 或云厂商），把 laptop 的连接转发到某个节点；由该节点的 IPVS 规则表（地址绑定在它的 kube-ipvs0 上）选择 Pod。从清单中删除 status 几行：kubectl get svc 显示 EXTERNAL-IP <pending>，只剩 NodePort 可用。",
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
        try_en: "sessionAffinity: ClientIP becomes IPVS persistence (-p 10800): connections from one client address go to one Pod. Send one from client-pod several times: it stays; the ipvsadm -Lnc table shows the template (NONE, port 0) counting down. Choose a 10 s timeout, send, advance the clock past it and send again: the template has expired and rr chooses anew.",
        try_zh: "sessionAffinity: ClientIP 对应 IPVS 持久连接（-p 10800）：来自同一客户端地址的连接转发到同一个 Pod。从 client-pod 多次发送：始终到同一个 Pod；ipvsadm -Lnc 表里能看到持久模板（NONE，端口 0）在倒计时。选择 10 秒超时，发送后把时钟推进超过超时再发送：模板已过期，rr 重新选择。",
        service: include_str!("../../examples/service-affinity.yaml"),
        prefer: Prefer::ClusterIp,
    },
    Scenario {
        id: "local",
        title: "externalTrafficPolicy: Local",
        try_en: "A NodePort with externalTrafficPolicy: Local. From the laptop outside, each node's address sends only to the Pods on that node, and the Pod sees the laptop's own address (no masquerade). Pick the NodePort of a node without a Pod: its table has the virtual server but no real server, so the connection is refused. Compare with the NodePort scenario, where the Pod sees the node's address.",
        try_zh: "设置了 externalTrafficPolicy: Local 的 NodePort。从集群外的 laptop 访问时，每个节点地址只转发到本节点上的 Pod，而且 Pod 看到的是 laptop 自己的地址（不做 SNAT 伪装）。选择一个没有 Pod 的节点的 NodePort：它的规则表里有虚拟服务却没有真实服务器，连接被拒绝。对比 NodePort 场景：那里 Pod 看到的是节点的地址。",
        service: include_str!("../../examples/service-local.yaml"),
        prefer: Prefer::NodePort,
    },
    Scenario {
        id: "seed-ports",
        title: "port 3017 · targetPort 5003 · nodePort 31122",
        try_en: "The notes' own three numbers. Inside the cluster the Service is ClusterIP:3017 (port); kube-proxy forwards to the Pods' port 5003 (targetPort — what the container must listen on; nginx listens on 80 unless configured); from outside, NodeIP:31122 (nodePort) on every node. Look at the IPVS table: virtual servers on 3017 and 31122, real servers on 5003. Send from the laptop to the ClusterIP (refused) and to a NodePort (answered).",
        try_zh: "笔记里的三个端口号。在集群内部，Service 是 ClusterIP:3017（port）；kube-proxy 转发到 Pod 的 5003 端口（targetPort——容器必须在这个端口监听；nginx 默认监听 80）；在集群外部，每个节点上都是 NodeIP:31122（nodePort）。看 IPVS 规则表：虚拟服务在 3017 和 31122 上，真实服务器在 5003 上。从 laptop 发送到 ClusterIP（被拒绝）和 NodePort（有应答）。",
        service: include_str!("../../examples/service-seed-ports.yaml"),
        prefer: Prefer::ClusterIp,
    },
];

/// The examples' YAML comments in Chinese (a comment line's text after `# `).
const COMMENTS_ZH: [(&str, &str); 21] = [
    (
        "The seed's Deployment: three nginx Pods labelled app=nginx-pod in namespace dev.",
        "笔记里的 Deployment：命名空间 dev 中三个带标签 app=nginx-pod 的 nginx Pod。",
    ),
    (
        "No Pods are given, so svcroute makes them (Running, Ready) and spreads them over the Nodes.",
        "这里没有给出 Pod，svcroute 会创建它们（Running、Ready）并分布到各个节点上。",
    ),
    (
        "sessionAffinity ClientIP: connections from one client address go to one Pod",
        "sessionAffinity ClientIP：来自同一客户端地址的连接都到同一个 Pod",
    ),
    (
        "(IPVS persistence, -p 10800 by default).",
        "（IPVS 持久化，默认 -p 10800）。",
    ),
    (
        "ClusterIP: a virtual IP reachable only inside the cluster.",
        "ClusterIP：只能在集群内部访问的虚拟 IP。",
    ),
    (
        "ExternalName: a DNS alias for a name outside the cluster; no virtual IP, no proxying.",
        "ExternalName：指向集群外某个域名的 DNS 别名；没有虚拟 IP，也不做代理。",
    ),
    (
        "Headless: clusterIP None, no virtual IP; DNS answers with the Pods' addresses.",
        "无头服务：clusterIP 为 None，没有虚拟 IP；DNS 直接返回 Pod 的地址。",
    ),
    (
        "LoadBalancer: a NodePort Service plus an external load balancer's address. Without a cloud",
        "LoadBalancer：一个 NodePort Service，再加上外部负载均衡器的地址。没有云厂商时，",
    ),
    (
        "the status below is what a bare-metal load balancer (e.g. MetalLB) would publish.",
        "下面的 status 就是裸机负载均衡器（如 MetalLB）会发布的内容。",
    ),
    (
        "externalTrafficPolicy: Local: a NodePort that sends only to Pods on the node the connection",
        "externalTrafficPolicy: Local：NodePort 只把连接发给连接所进入节点上的 Pod，",
    ),
    (
        "entered, and keeps the client's source address (no masquerade). A node without a local Pod",
        "并保留客户端的源地址（不做伪装）。没有本地 Pod 的节点",
    ),
    (
        "has the virtual server but no real server: connections to it are refused.",
        "有虚拟服务但没有真实服务器：到它的连接被拒绝。",
    ),
    (
        "NodePort: the Service on port 30002 of every Node's address (NodeIP:NodePort).",
        "NodePort：Service 在每个节点地址的 30002 端口上（NodeIP:NodePort）。",
    ),
    (
        "The seed's own three port numbers: the Service listens on port 3017 (ClusterIP:3017), sends to",
        "笔记里的三个端口号：Service 监听 3017 端口（ClusterIP:3017），转发到",
    ),
    (
        "targetPort 5003 on the Pods (what the container must listen on), and every Node opens",
        "Pod 的 targetPort 5003（容器必须监听的端口），并且每个节点都打开",
    ),
    (
        "nodePort 31122 (NodeIP:31122).",
        "nodePort 31122（NodeIP:31122）。",
    ),
    (
        "the Service's IP; allocated when left out",
        "Service 的 IP；不写时自动分配",
    ),
    (
        "30000-32767; allocated when left out",
        "30000-32767；不写时自动分配",
    ),
    ("Service port", "Service 端口"),
    ("Pod port", "Pod 端口"),
    ("Node port", "节点端口"),
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

    /// The manifests as shown in a language: in Chinese the YAML comments are Chinese (line
    /// for line, so the diagnostics' lines are the same; the objects are the same text).
    pub fn manifest_in(&self, lang: crate::i18n::Lang) -> String {
        let text = self.manifest();
        if lang == crate::i18n::Lang::En {
            return text;
        }
        let mut out = String::with_capacity(text.len() * 2);
        for line in text.split_inclusive('\n') {
            let (body, nl) = match line.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (line, ""),
            };
            match body.split_once("# ") {
                Some((code, comment)) => match COMMENTS_ZH.iter().find(|(en, _)| *en == comment) {
                    Some((_, zh)) => {
                        out.push_str(code);
                        out.push_str("# ");
                        out.push_str(zh);
                    }
                    None => out.push_str(body),
                },
                None => out.push_str(body),
            }
            out.push_str(nl);
        }
        out
    }

    /// Whether `text` is this scenario's manifests as shown in either language (unedited).
    pub fn is_unedited(&self, text: &str) -> bool {
        text == self.manifest() || text == self.manifest_in(crate::i18n::Lang::Zh)
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

    /// In Chinese every comment of the examples is Chinese, line for line, and the objects
    /// are the same.
    #[test]
    fn chinese_comments_keep_lines_and_objects() {
        for s in &ALL {
            let (en, zh) = (s.manifest(), s.manifest_in(crate::i18n::Lang::Zh));
            assert_eq!(en.lines().count(), zh.lines().count(), "{}", s.id);
            for (a, b) in en.lines().zip(zh.lines()) {
                assert_eq!(a.split('#').next(), b.split('#').next(), "{}", s.id);
                if a.contains('#') {
                    assert_ne!(a, b, "{}: an untranslated comment", s.id);
                }
            }
            assert!(s.is_unedited(&zh) && s.is_unedited(&en));
        }
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
