//! The page's own words in English and Chinese (the seed notes are Chinese). The core's
//! explanations and diagnostics are translated by [`crate::messages`] from the core's
//! structured messages, with the English original on hover.

/// A language of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// `en` or `zh`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The BCP 47 tag for the `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// Parses `en`, `zh`, `zh-CN`, … (anything starting with `zh` is Chinese).
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s.starts_with("zh") {
            Some(Lang::Zh)
        } else if s.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// "{shown} of {total} shown." in this language.
    pub fn shown_of(self, shown: usize, total: usize) -> String {
        self.t()
            .shown_of
            .replace("{shown}", &shown.to_string())
            .replace("{total}", &total.to_string())
    }

    /// The other language.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Zh,
            Lang::Zh => Lang::En,
        }
    }

    /// The words of this language.
    pub fn t(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }
}

/// Every label of the page.
#[allow(missing_docs)]
#[derive(Debug, PartialEq, Eq)]
pub struct Texts {
    pub lang_name: &'static str,
    pub switch_to: &'static str,
    pub title: &'static str,
    pub subtitle: &'static str,
    pub scenarios: &'static str,
    pub try_this: &'static str,
    /// "What to try" over a teacher's own manifest (mounted without a `prompt`).
    pub try_own_manifest: &'static str,
    /// After "What to try" once the scenario's manifests are edited.
    pub try_edited: &'static str,
    pub manifest: &'static str,
    pub manifest_help: &'static str,
    pub valid: &'static str,
    pub broken: &'static str,
    pub last_good: &'static str,
    pub send_broken: &'static str,
    pub send_no_service: &'static str,
    pub send_no_client: &'static str,
    pub picture: &'static str,
    pub picture_label: &'static str,
    pub clients: &'static str,
    pub client: &'static str,
    pub service: &'static str,
    pub target: &'static str,
    pub from: &'static str,
    pub all_clients: &'static str,
    pub send_one: &'static str,
    pub clock: &'static str,
    pub advance: &'static str,
    pub restart: &'static str,
    pub connections: &'static str,
    pub no_connections: &'static str,
    pub per_backend: &'static str,
    pub refused: &'static str,
    pub actions: &'static str,
    pub replicas: &'static str,
    pub pods: &'static str,
    pub ready: &'static str,
    pub not_ready: &'static str,
    pub terminating: &'static str,
    pub make_ready: &'static str,
    pub make_not_ready: &'static str,
    pub terminate: &'static str,
    pub delete: &'static str,
    pub affinity: &'static str,
    pub affinity_none: &'static str,
    pub affinity_client_ip: &'static str,
    pub scheduler: &'static str,
    pub undo_actions: &'static str,
    pub rules: &'static str,
    pub node: &'static str,
    pub addresses: &'static str,
    pub dns: &'static str,
    pub diff: &'static str,
    pub diff_first: &'static str,
    pub no_change: &'static str,
    /// A long list cut short: "{shown} of {total} shown."
    pub shown_of: &'static str,
    /// The button that draws a long list whole.
    pub show_all: &'static str,
    pub warnings: &'static str,
    pub in_rules: &'static str,
    pub not_in_rules: &'static str,
    pub no_vip: &'static str,
    pub outside: &'static str,
    pub no_pods: &'static str,
    pub no_services: &'static str,
    pub footer: &'static str,
    pub share: &'static str,
    pub hits: &'static str,
    pub external_name_no_pods: &'static str,
    pub pod_on: &'static str,
    pub node_itself: &'static str,
    pub cluster: &'static str,
    pub outside_zone: &'static str,
    pub control_plane: &'static str,
    pub every_kube_proxy: &'static str,
    pub ipvs_rules: &'static str,
    pub ipvs_table: &'static str,
    pub no_vs: &'static str,
    pub lb_device: &'static str,
    pub lb_pending: &'static str,
    pub lb_forwards: &'static str,
    pub sees_source: &'static str,
    pub source_kept: &'static str,
    pub dns_query: &'static str,
    pub client_picks: &'static str,
    pub legend: &'static str,
    pub legend_conn: &'static str,
    pub legend_link: &'static str,
    pub legend_refused: &'static str,
    pub legend_boundary: &'static str,
    pub legend_snat: &'static str,
    pub draining: &'static str,
    pub open_conns: &'static str,
    pub conn_table: &'static str,
    pub counters_note: &'static str,
    pub kubectl_views: &'static str,
    pub affinity_timeout: &'static str,
    pub seconds: &'static str,
    pub client_pod: &'static str,
    pub host_process: &'static str,
}

const EN: Texts = Texts {
    lang_name: "English",
    switch_to: "中文",
    title: "svcroute playground",
    subtitle: "Kubernetes Services, routed as kube-proxy's IPVS mode routes them, by the very core that programs a node.",
    scenarios: "Scenarios",
    try_this: "What to try",
    try_own_manifest: "Send connections from each client to the Services of these manifests and see which Pod each one reaches, through which node's kube-proxy, and why; then change a manifest or a Pod and send again.",
    try_edited: " (This is written for the scenario's manifests as loaded; the editor's text has changed since.)",
    manifest: "Manifests (YAML)",
    manifest_help: "Edit freely: every change is re-planned at once. Errors are shown at their line, as the CLI reports them.",
    valid: "Valid: planned by svcroute-core.",
    broken: "This text has errors; the picture and the rules still show the last valid manifests.",
    last_good: "showing the last valid manifests",
    send_broken: "the manifests have errors",
    send_no_service: "no Service to send to",
    send_no_client: "no client to send from",
    picture: "The cluster",
    picture_label: "Clients, the Service's entry points and the Pods grouped by node",
    clients: "Clients",
    client: "client",
    service: "Service",
    target: "Send to",
    from: "From",
    all_clients: "all clients, in turn",
    send_one: "Send one connection",
    clock: "Simulated clock",
    advance: "Advance the clock",
    restart: "Restart the simulation",
    connections: "Connections",
    no_connections: "No connection yet: send one.",
    per_backend: "connections per backend",
    refused: "refused",
    actions: "Act on the cluster",
    replicas: "replicas",
    pods: "Pods",
    ready: "ready",
    not_ready: "not ready",
    terminating: "terminating",
    make_ready: "Make ready",
    make_not_ready: "Make not ready",
    terminate: "Terminate",
    delete: "Delete",
    affinity: "sessionAffinity",
    affinity_none: "None",
    affinity_client_ip: "ClientIP (timeout 10800 s)",
    scheduler: "IPVS scheduler (kube-proxy --ipvs-scheduler)",
    undo_actions: "Undo all actions",
    rules: "The rules a node holds",
    node: "Node",
    addresses: "kube-ipvs0 addresses",
    dns: "DNS records",
    diff: "Changes from the previous state",
    diff_first: "From an empty node: what the agent programs first.",
    no_change: "No change.",
    shown_of: "{shown} of {total} shown.",
    show_all: "Show all",
    warnings: "Warnings",
    in_rules: "in the rules",
    not_in_rules: "not in the rules",
    no_vip: "no virtual IP: answered by DNS",
    outside: "outside the cluster",
    no_pods: "no Pods",
    no_services: "No Service in these manifests: add one to see it routed.",
    footer: "Every address, real server, DNS answer, decision and explanation on this page comes from svcroute-core, compiled to WebAssembly; the page only draws them. Explanations are the core's own words (the CLI prints the same).",
    share: "The address bar holds this state (manifests, clock, actions, scenario): copy it to share.",
    hits: "connections",
    external_name_no_pods: "An ExternalName Service selects no Pods.",
    pod_on: "Pod on",
    node_itself: "on node",
    cluster: "Kubernetes cluster",
    outside_zone: "Outside the cluster",
    control_plane: "A change travels",
    every_kube_proxy: "kube-proxy on every node",
    ipvs_rules: "IPVS rules",
    ipvs_table: "kube-proxy · IPVS table",
    no_vs: "no virtual server for this Service",
    lb_device: "load balancer device",
    lb_pending: "EXTERNAL-IP <pending>: no load balancer has published an address (no status.loadBalancer)",
    lb_forwards: "forwards to a node",
    sees_source: "Pod sees source",
    source_kept: "client address kept",
    dns_query: "1. DNS query",
    client_picks: "2. the client connects to a Pod address itself",
    legend: "Legend",
    legend_conn: "a connection (colour: its client)",
    legend_link: "real server of the chosen entry",
    legend_refused: "refused",
    legend_boundary: "cluster boundary",
    legend_snat: "source address after SNAT",
    draining: "weight 0, draining",
    open_conns: "open",
    conn_table: "Connection table",
    counters_note: "ActiveConn / InActConn from the simulated connection table",
    kubectl_views: "kubectl views",
    affinity_timeout: "affinity timeout",
    seconds: "s",
    client_pod: "client Pod",
    host_process: "host process",
};

const ZH: Texts = Texts {
    lang_name: "中文",
    switch_to: "English",
    title: "svcroute 演练场",
    subtitle: "Kubernetes Service 四层路由：由节点上编程 IPVS 的同一个核心，在浏览器中按 kube-proxy 的 IPVS 模式计算。",
    scenarios: "场景",
    try_this: "试一试",
    try_own_manifest: "从各个客户端向这些清单中的 Service 发送连接，看每个连接经由哪个节点的 kube-proxy 到达哪个 Pod、原因是什么；然后修改清单或某个 Pod，再发送一次。",
    try_edited: "（以上针对场景载入时的清单；编辑器中的文本已被修改。）",
    manifest: "资源清单（YAML）",
    manifest_help: "随意修改：每次改动都会立即重新计算。错误显示在所在行，与命令行的报告一致。",
    valid: "有效：已由 svcroute-core 计算。",
    broken: "文本有错误；图和规则仍显示上一次有效的清单。",
    last_good: "显示的是上一次有效的清单",
    send_broken: "清单有错误",
    send_no_service: "没有可以发送到的服务",
    send_no_client: "没有可以发送连接的客户端",
    picture: "集群",
    picture_label: "客户端、Service 的入口，以及按节点分组的 Pod",
    clients: "客户端",
    client: "客户端",
    service: "Service",
    target: "发送到",
    from: "来源",
    all_clients: "所有客户端轮流",
    send_one: "发送一个连接",
    clock: "模拟时钟",
    advance: "推进时钟",
    restart: "重新开始模拟",
    connections: "连接",
    no_connections: "还没有连接：发送一个试试。",
    per_backend: "每个后端的连接数",
    refused: "被拒绝",
    actions: "操作集群",
    replicas: "副本",
    pods: "Pod",
    ready: "就绪",
    not_ready: "未就绪",
    terminating: "终止中",
    make_ready: "设为就绪",
    make_not_ready: "设为未就绪",
    terminate: "终止",
    delete: "删除",
    affinity: "会话亲和性 sessionAffinity",
    affinity_none: "None（无）",
    affinity_client_ip: "ClientIP（超时 10800 秒）",
    scheduler: "IPVS 调度算法（kube-proxy --ipvs-scheduler）",
    undo_actions: "撤销所有操作",
    rules: "节点上的规则",
    node: "节点",
    addresses: "kube-ipvs0 地址",
    dns: "DNS 记录",
    diff: "与上一状态相比的变化",
    diff_first: "从空节点开始：代理首先写入的规则。",
    no_change: "无变化。",
    shown_of: "显示 {shown} 条，共 {total} 条。",
    show_all: "全部显示",
    warnings: "警告",
    in_rules: "在规则中",
    not_in_rules: "不在规则中",
    no_vip: "没有虚拟 IP：由 DNS 应答",
    outside: "集群外部",
    no_pods: "没有 Pod",
    no_services: "清单中没有 Service：添加一个即可看到路由。",
    footer: "本页上的每个地址、真实服务器、DNS 应答、调度决定和解释都来自编译为 WebAssembly 的 svcroute-core，页面只负责绘制。解释文字是核心输出的说明的中文译文，鼠标悬停可见英文原文（即命令行输出的文字）。",
    share: "地址栏保存了当前状态（清单、时钟、操作、场景）：复制即可分享。",
    hits: "连接数",
    external_name_no_pods: "ExternalName 类型的 Service 不选择任何 Pod。",
    pod_on: "Pod，位于",
    node_itself: "节点本机",
    cluster: "Kubernetes 集群",
    outside_zone: "集群外部",
    control_plane: "变更的传播",
    every_kube_proxy: "每个节点的 kube-proxy",
    ipvs_rules: "IPVS 规则",
    ipvs_table: "kube-proxy · IPVS 规则表",
    no_vs: "此 Service 没有虚拟服务",
    lb_device: "负载均衡设备",
    lb_pending: "EXTERNAL-IP <pending>：没有负载均衡器发布地址（没有 status.loadBalancer）",
    lb_forwards: "转发到某个节点",
    sees_source: "Pod 看到的源地址",
    source_kept: "保留客户端地址",
    dns_query: "1. DNS 查询",
    client_picks: "2. 客户端自己连接某个 Pod 地址",
    legend: "图例",
    legend_conn: "一条连接（颜色对应客户端）",
    legend_link: "所选入口的真实服务器",
    legend_refused: "被拒绝",
    legend_boundary: "集群边界",
    legend_snat: "SNAT 之后的源地址",
    draining: "权重 0，排空中",
    open_conns: "个连接",
    conn_table: "连接表",
    counters_note: "ActiveConn / InActConn 来自模拟的连接表",
    kubectl_views: "kubectl 视图",
    affinity_timeout: "亲和超时",
    seconds: "秒",
    client_pod: "客户端 Pod",
    host_process: "主机进程",
};

// --- The proxy modes view's words (kept in a block of their own). ---

impl Lang {
    /// The proxy modes view's words in this language.
    pub fn modes(self) -> &'static ModesTexts {
        match self {
            Lang::En => &MODES_EN,
            Lang::Zh => &MODES_ZH,
        }
    }
}

/// The labels of the proxy modes view (`view: "modes"`, the playground's modes panel).
#[allow(missing_docs)]
#[derive(Debug, PartialEq, Eq)]
pub struct ModesTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub cm_title: &'static str,
    pub cm_help: &'static str,
    pub cm_mode: &'static str,
    pub cm_empty: &'static str,
    pub modules: &'static str,
    pub restart: &'static str,
    pub runs: &'static str,
    pub exits: &'static str,
    pub seed_kube_proxy: &'static str,
    pub current_kube_proxy: &'static str,
    pub running_badge: &'static str,
    pub refuse_title: &'static str,
    pub refuse_help: &'static str,
    pub refuses: &'static str,
    pub no_pods: &'static str,
    pub last_conn: &'static str,
    pub no_conn: &'static str,
    pub answered: &'static str,
    pub refused: &'static str,
    pub retried: &'static str,
    pub path: &'static str,
    pub userspace_cmd: &'static str,
    pub userspace_note: &'static str,
    pub growth_title: &'static str,
    pub growth_help: &'static str,
    pub endpoints_per_service: &'static str,
    pub services_axis: &'static str,
    pub count_axis: &'static str,
    pub iptables_rules: &'static str,
    pub iptables_walk: &'static str,
    pub nftables_rules: &'static str,
    pub nftables_elements: &'static str,
    pub ipvs_entries: &'static str,
    pub nft_ipvs: &'static str,
    pub nft_ipvs_note: &'static str,
    pub show_modes: &'static str,
}

const MODES_EN: ModesTexts = ModesTexts {
    title: "kube-proxy's modes side by side",
    intro: "The same Service in each mode: the rules it would hold on the node, the path of the last connection through them (highlighted), what happens when a Pod refuses, and how the rules grow.",
    cm_title: "Which mode kube-proxy runs",
    cm_help: "The seed's step: edit the kube-proxy ConfigMap, change mode \"\" to \"ipvs\", then delete the kube-proxy Pods so they restart with it.",
    cm_mode: "mode in the ConfigMap",
    cm_empty: "\"\" (default: iptables)",
    modules: "IPVS kernel modules loaded on the node (lsmod | grep ip_vs)",
    restart: "kube-proxy's log after the restart",
    runs: "kube-proxy runs",
    exits: "kube-proxy exits",
    seed_kube_proxy: "kube-proxy 1.24 (the seed's era)",
    current_kube_proxy: "kube-proxy 1.25 and later",
    running_badge: "running",
    refuse_title: "When a backend refuses",
    refuse_help: "Mark a Pod whose process refuses connections while it stays Ready. Userspace retries another backend; iptables, nftables and IPVS rewrite the destination once and the client is refused.",
    refuses: "refuses connections",
    no_pods: "This Service has no Pods on this node's rules.",
    last_conn: "Last connection",
    no_conn: "No connection yet: send one.",
    answered: "answered by",
    refused: "refused",
    retried: "retried after a refusal, answered by",
    path: "rules passed",
    userspace_cmd: "kube-proxy (userspace)",
    userspace_note: "No rules to list: kube-proxy itself accepted each connection on a proxy port and dialed a backend.",
    growth_title: "How the rules grow",
    growth_help: "Counted from each mode's own rendering of a cluster of N ClusterIP Services. iptables walks KUBE-SERVICES rule by rule; nftables and IPVS look the address up in a hash (verdict maps, the IPVS table).",
    endpoints_per_service: "endpoints per Service",
    services_axis: "Services",
    count_axis: "rules / entries",
    iptables_rules: "iptables rules",
    iptables_walk: "iptables KUBE-SERVICES (walked in order)",
    nftables_rules: "nftables rules",
    nftables_elements: "nftables map/set elements",
    ipvs_entries: "IPVS virtual + real servers",
    nft_ipvs: "The agent's netfilter table (nftables, beside IPVS)",
    nft_ipvs_note: "What svcroute's agent programs with IPVS: masquerade, hairpin, NodePort and source ranges as nftables sets (plan -o nftables-ipvs).",
    show_modes: "Proxy modes side by side (iptables, nftables, IPVS, userspace)",
};

const MODES_ZH: ModesTexts = ModesTexts {
    title: "kube-proxy 各模式对照",
    intro: "同一个 Service 在各模式下：节点上会有的规则、最后一个连接经过的规则（高亮）、Pod 拒绝连接时会怎样，以及规则数量如何增长。",
    cm_title: "kube-proxy 运行哪种模式",
    cm_help: "笔记中的步骤：编辑 kube-proxy 的 ConfigMap，把 mode 从 \"\" 改为 \"ipvs\"，再删除 kube-proxy 的 Pod 让它们带着新配置重启。",
    cm_mode: "ConfigMap 中的 mode",
    cm_empty: "\"\"（默认：iptables）",
    modules: "节点已加载 IPVS 内核模块（lsmod | grep ip_vs）",
    restart: "重启后 kube-proxy 的日志",
    runs: "kube-proxy 运行于",
    exits: "kube-proxy 退出",
    seed_kube_proxy: "kube-proxy 1.24（笔记的年代）",
    current_kube_proxy: "kube-proxy 1.25 及以后",
    running_badge: "运行中",
    refuse_title: "后端拒绝连接时",
    refuse_help: "标记一个进程拒绝连接但仍为 Ready 的 Pod。userspace 会重试另一个后端；iptables、nftables 和 IPVS 只改写一次目的地址，客户端收到拒绝。",
    refuses: "拒绝连接",
    no_pods: "此节点的规则中没有该 Service 的 Pod。",
    last_conn: "最后一个连接",
    no_conn: "还没有连接：发送一个。",
    answered: "由此应答",
    refused: "被拒绝",
    retried: "被拒后重试，由此应答",
    path: "经过的规则",
    userspace_cmd: "kube-proxy（userspace）",
    userspace_note: "没有规则可列：kube-proxy 自己在代理端口上接受每个连接并连接后端。",
    growth_title: "规则数量如何增长",
    growth_help: "由各模式自己的规则渲染计数，集群含 N 个 ClusterIP Service。iptables 逐条遍历 KUBE-SERVICES；nftables 和 IPVS 用哈希查找地址（verdict map、IPVS 表）。",
    endpoints_per_service: "每个 Service 的端点数",
    services_axis: "Service 数",
    count_axis: "规则 / 条目",
    iptables_rules: "iptables 规则",
    iptables_walk: "iptables KUBE-SERVICES（按序遍历）",
    nftables_rules: "nftables 规则",
    nftables_elements: "nftables map/set 元素",
    ipvs_entries: "IPVS 虚拟服务 + 真实服务器",
    nft_ipvs: "agent 的 netfilter 表（nftables，与 IPVS 并列）",
    nft_ipvs_note: "svcroute 的 agent 在 IPVS 之外编程的内容：以 nftables 集合实现伪装、回环、NodePort 和源地址范围（plan -o nftables-ipvs）。",
    show_modes: "代理模式对照（iptables、nftables、IPVS、userspace）",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_parse() {
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("en-US"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::En.other(), Lang::Zh);
    }

    #[test]
    fn chinese_is_not_english() {
        assert_ne!(Lang::En.t().title, Lang::Zh.t().title);
        assert_ne!(Lang::En.t().send_one, Lang::Zh.t().send_one);
    }
}
