//! The core's words in the page's language: every diagnostic and route reason comes from the
//! core as a [`Msg`] (a static English template with `{}` holes and its arguments); here each
//! template has its Chinese, the arguments (names, addresses, field paths, numbers) are kept,
//! and argument messages are translated the same way. The English text stays available for the
//! hover (`title`). Chinese follows the Kubernetes documentation's terms (服务, 端点, 节点,
//! 名字空间, 会话亲和性); API fields, kinds, chains and kernel terms (ClusterIP, NodePort, rr,
//! `expire_nodest_conn`) are kept as they are.
//!
//! The test `every_core_template_has_chinese` scans the core's sources for `msg!(` and fails
//! naming each template that has no entry in [`ZH`]: a message added to the core is translated
//! here before it ships.

use svcroute_core::diag::{Diagnostic, MAX_WORD_CHARS, Msg, Severity, shorten};
use svcroute_core::route::Connection;

use crate::i18n::Lang;

/// A message in `lang`: the English rendering for English, the catalogue's for Chinese
/// (a template without an entry, and [`Msg::Raw`] text, stay English).
pub fn render(msg: &Msg, lang: Lang) -> String {
    match lang {
        Lang::En => msg.to_string(),
        Lang::Zh => {
            let mut out = String::new();
            msg.render_with(&zh, &plain, &mut out);
            shorten(out)
        }
    }
}

/// A plain argument, cut like the core cuts over-long words (a hostile 10 MB name).
fn plain(s: &str, out: &mut String) {
    if s.len() > MAX_WORD_CHARS {
        out.push_str(&shorten(s.to_owned()));
    } else {
        out.push_str(s);
    }
}

/// A route's reason in `lang`, and its English (the `reason` field). The structured reason is
/// used only while it still renders to the English one (a reason rewritten after the core
/// built it stays English rather than wrong).
pub fn reason(c: &Connection, lang: Lang) -> String {
    if lang == Lang::Zh && c.why.to_string() == c.reason {
        render(&c.why, lang)
    } else {
        c.reason.clone()
    }
}

/// A hover text: the translation, then the English original when they differ.
pub fn hover(shown: &str, english: &str) -> String {
    if shown == english {
        english.to_owned()
    } else {
        format!("{shown}\n\n{english}")
    }
}

/// A diagnostic as the page lists it (`error: FILE:LINE:COL: message`), in `lang`.
pub fn diagnostic(d: &Diagnostic, lang: Lang) -> String {
    let level = match (d.severity, lang) {
        (Severity::Error, Lang::En) => "error: ",
        (Severity::Warning, Lang::En) => "warning: ",
        (Severity::Error, Lang::Zh) => "错误：",
        (Severity::Warning, Lang::Zh) => "警告：",
    };
    let message = match lang {
        Lang::En => d.message.clone(),
        Lang::Zh => render(&d.text, lang),
    };
    match &d.loc {
        Some(loc) => format!("{level}{loc}: {message}"),
        None => format!("{level}{message}"),
    }
}

/// A diagnostic's message alone (no level, no place), in `lang`.
pub fn diagnostic_message(d: &Diagnostic, lang: Lang) -> String {
    match lang {
        Lang::En => d.message.clone(),
        Lang::Zh => render(&d.text, lang),
    }
}

/// The Chinese of an English template.
pub fn zh(template: &'static str) -> Option<&'static str> {
    let k = key(template);
    ZH.iter().find(|(h, _)| *h == k).map(|(_, zh)| *zh)
}

/// FNV-1a of an English text: the catalogue's key. The tables hold keys, not the English
/// (the core's binary holds that once already; the bundle has a size limit).
pub const fn key(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < b.len() {
        h ^= b[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// A catalogue: `(English, Chinese)` pairs kept as `(key(English), Chinese)`; the English
/// pairs themselves only in tests (`$en_name`).
macro_rules! catalogue {
    ($(#[$doc:meta])* $name:ident, $en_name:ident, [ $( ($en:literal, $zh:literal $(,)?) ),* $(,)? ]) => {
        $(#[$doc])*
        pub const $name: &[(u64, &str)] = &[ $( (key($en), $zh) ),* ];
        #[cfg(test)]
        const $en_name: &[(&str, &str)] = &[ $( ($en, $zh) ),* ];
    };
}

catalogue!(
/// Every core template (English) with its Chinese. `{}` takes the next argument, `{N}`
/// argument N (Chinese often puts them in another order).
ZH, ZH_EN, [
    // Joins and shapes.
    ("; ", "；"),
    // Kubernetes' list of examples in a regex error: "'a',  or 'b', ".
    (" or ", " 或 "),
    ("'{}', ", "'{}'"),
    ("{}: {}", "{}：{}"),
    ("{}; {}", "{}；{}"),
    ("{} ({})", "{}（{}）"),
    (" ({})", "（{}）"),
    (" at {}", "（位于 {}）"),
    (" and {} more", " 等（另有 {} 个）"),
    ("{} \"{}\": {}", "{} \"{}\"：{}"),
    // The reader: objects and fields (the API server's field errors).
    ("invalid {}: {}", "无效的 {}：{}"),
    (
        "expected a Kubernetes object, got {}",
        "应为一个 Kubernetes 对象，实际为{}",
    ),
    ("Object 'Kind' is missing{}", "对象缺少 'Kind'{}"),
    (
        "Object 'apiVersion' is missing{}",
        "对象缺少 'apiVersion'{}",
    ),
    (
        "no matches for kind {}: did you mean kind {} (apiVersion {})?",
        "没有与类别 {} 匹配的资源：你是想写类别 {}（apiVersion {}）吗？",
    ),
    (
        ": {} is served as apiVersion {}",
        "：{} 由 apiVersion {} 提供",
    ),
    (
        ": did you mean kind {} (apiVersion {})?",
        "：你是想写类别 {}（apiVersion {}）吗？",
    ),
    (
        "no matches for kind {} in version {}{}",
        "版本 {1} 中没有类别 {0} 的资源{2}",
    ),
    (
        " (did you mean {}? apiVersion {})",
        "（你是想写 {}？apiVersion {}）",
    ),
    (
        "skipped {} ({}){}: svcroute reads Service, Pod, Node, EndpointSlice, Endpoints, Deployment, ReplicaSet, StatefulSet and DaemonSet",
        "已跳过 {}（{}）{}：svcroute 只读取 Service、Pod、Node、EndpointSlice、Endpoints、Deployment、ReplicaSet、StatefulSet 和 DaemonSet",
    ),
    (
        "metadata.name: Required value: name is required",
        "metadata.name：必需的值：name 为必填项",
    ),
    (
        " (line {} has {}: field names are case-sensitive, write {})",
        "（第 {} 行写的是 {}：字段名区分大小写，应写作 {}）",
    ),
    ("null", "null"),
    ("the boolean {}", "布尔值 {}"),
    ("the number {}", "数字 {}"),
    ("the string {}", "字符串 {}"),
    ("a list", "一个列表"),
    ("an object", "一个对象"),
    ("a string", "一个字符串"),
    ("an integer", "一个整数"),
    ("a boolean", "一个布尔值"),
    ("a single value", "单个值"),
    ("{}: Invalid value: {}: {}", "{}：无效的值：{}：{}"),
    ("{}: Required value", "{}：必需的值"),
    ("{}: Required value: {}", "{}：必需的值：{}"),
    (
        "{}: Required value (this manifest has \"spec.port\": the field is \"ports\", a list)",
        "{}：必需的值（此清单写的是 \"spec.port\"：字段名是 \"ports\"，一个列表）",
    ),
    (
        "{}: Unsupported value: {}: supported values: {}",
        "{}：不支持的值：{}：支持的值：{}",
    ),
    (
        " (quote it to make it a string)",
        "（加上引号使其成为字符串）",
    ),
    ("{}: expected {}, got {}{}", "{}：应为{}，实际为{}{}"),
    (" (did you mean {}?)", "（你是想写 {} 吗？）"),
    ("unknown field {}{}", "未知字段 {}{}"),
    (
        "name or generateName is required",
        "必须设置 name 或 generateName",
    ),
    ("{}: must be unique", "{}：必须唯一"),
    ("{}: Duplicate value: {}", "{}：重复的值：{}"),
    ("{}.name: Duplicate value: {}", "{}.name：重复的值：{}"),
    (
        "{}.nodePort: Duplicate value: {}",
        "{}.nodePort：重复的值：{}",
    ),
    (
        "{}: Duplicate value: {{\"port\": {}, \"protocol\": {}}}",
        "{}：重复的值：{{\"port\": {}, \"protocol\": {}}}",
    ),
    (
        "metadata.annotations: Too long: may not be more than {} bytes",
        "metadata.annotations：过长：不得超过 {} 字节",
    ),
    (
        "{}.addresses: Too many: {}: must have at most 100 items",
        "{}.addresses：过多：{}：最多 100 项",
    ),
    // Service fields.
    (
        "must be empty when `clusterIP` is not specified",
        "未指定 `clusterIP` 时必须为空",
    ),
    (
        "first value must match `clusterIP`",
        "第一个值必须与 `clusterIP` 相同",
    ),
    (
        "spec.clusterIPs: Forbidden: may not be set for ExternalName services",
        "spec.clusterIPs：禁止：ExternalName 类型的服务不可设置",
    ),
    (
        "'None' must be the first and only value",
        "'None' 必须是第一个且唯一的值",
    ),
    (
        "may not be set to 'None' for {} services",
        "{} 类型的服务不可设为 'None'",
    ),
    ("may only hold up to 2 values", "最多只能有 2 个值"),
    (
        "may specify no more than one IP for each IP family",
        "每个 IP 协议族最多指定一个 IP",
    ),
    (
        "spec.{}: Forbidden: may not be set for ExternalName services",
        "spec.{}：禁止：ExternalName 类型的服务不可设置",
    ),
    (
        "must be 'RequireDualStack' or 'PreferDualStack' when multiple {} are specified",
        "指定了多个{}时必须为 'RequireDualStack' 或 'PreferDualStack'",
    ),
    ("cluster IPs", "集群 IP"),
    ("IP families", "IP 协议族"),
    (
        "expected an {} value as indicated by `ipFamilies[{}]`",
        "应为 `ipFamilies[{1}]` 所指的 {0} 值",
    ),
    (
        "{}.targetPort: expected a port number or name, got {}",
        "{}.targetPort：应为端口号或端口名，实际为{}",
    ),
    (
        "{}.nodePort: Forbidden: may not be used when `type` is '{}'",
        "{}.nodePort：禁止：`type` 为 '{}' 时不可使用",
    ),
    (
        "must be greater than 0 and less than 86400",
        "必须大于 0 且小于 86400",
    ),
    (
        "may only be set for externally-accessible services",
        "只能为可从集群外访问的服务设置",
    ),
    (
        "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'",
        "spec.allocateLoadBalancerNodePorts：禁止：仅当 `type` 为 'LoadBalancer' 时可用",
    ),
    (
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        "仅当 `type` 为 'LoadBalancer' 且 `externalTrafficPolicy` 为 'Local' 时可设置",
    ),
    (
        "status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'",
        "status.loadBalancer.ingress：禁止：仅当 `spec.type` 为 'LoadBalancer' 时可用",
    ),
    (
        "must be a DNS name, not an IP address",
        "必须是 DNS 名称，而不是 IP 地址",
    ),
    (
        "{}.ipMode: Forbidden: may not be specified when `ip` is not set",
        "{}.ipMode：禁止：未设置 `ip` 时不可指定",
    ),
    (
        "{}.ip {} {}: it is not a load balancer VIP and is not programmed",
        "{}.ip {} {}：它不是负载均衡器的 VIP，不会被编入规则",
    ),
    (
        "spec.loadBalancerIP {} is only a request to a load balancer controller: until one publishes status.loadBalancer.ingress there is no load balancer VIP",
        "spec.loadBalancerIP {} 只是对负载均衡控制器的请求：在控制器发布 status.loadBalancer.ingress 之前，没有负载均衡器 VIP",
    ),
    (
        "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'",
        "spec.loadBalancerClass：禁止：仅当 `type` 为 'LoadBalancer' 时可用",
    ),
    (
        "must match annotations[{}] when both are specified",
        "两者都指定时必须与 annotations[{}] 一致",
    ),
    (
        "spec.trafficDistribution: \"PreferClose\" is deprecated; use \"PreferSameZone\"",
        "spec.trafficDistribution：\"PreferClose\" 已弃用；请使用 \"PreferSameZone\"",
    ),
    (
        "{}: duplicate port name {}: Services that select ports by name use the first",
        "{}：端口名 {} 重复：按名称选择端口的服务使用第一个",
    ),
    (
        "{}: Forbidden: may only be used when `type` is 'LoadBalancer'",
        "{}：禁止：仅当 `type` 为 'LoadBalancer' 时可用",
    ),
    (
        "loadBalancerSourceRanges {} are enforced by kube-proxy's netfilter rules (`plan -o nftables-ipvs|iptables|nftables`, `agent --nftables`), not by IPVS: the IPVS rules and `route` accept every source",
        "loadBalancerSourceRanges {} 由 kube-proxy 的 netfilter 规则执行（`plan -o nftables-ipvs|iptables|nftables`、`agent --nftables`），而不是由 IPVS 执行：IPVS 规则和 `route` 接受任何来源",
    ),
    // Pods and endpoints.
    (
        "must be the first of status.podIPs",
        "必须是 status.podIPs 的第一个",
    ),
    ("must contain at least 1 address", "必须至少包含 1 个地址"),
    ("must be a valid {} address", "必须是有效的 {} 地址"),
    ("labelled {}: \"true\"", "带有标签 {}: \"true\""),
    (
        "annotated {} (a leader-election lock)",
        "带有注解 {}（领导者选举锁）",
    ),
    (
        "being deleted (metadata.deletionTimestamp)",
        "正在删除（metadata.deletionTimestamp）",
    ),
    (
        "{}: the EndpointSlice mirroring controller does not mirror it, so kube-proxy does not see its addresses",
        "{}：EndpointSlice 镜像控制器不会镜像它，因此 kube-proxy 看不到其中的地址",
    ),
    (
        "A max of {} addresses can be mirrored to EndpointSlices per Endpoints subset. {} addresses were skipped",
        "每个 Endpoints 子集最多可镜像 {} 个地址到 EndpointSlice。已跳过 {} 个地址",
    ),
    ("must be greater than or equal to 0", "必须大于或等于 0"),
    (
        "more than {} Pods to make (the reader's limit on objects)",
        "要创建的 Pod 超过 {} 个（读取器的对象上限）",
    ),
    ("empty selector is invalid for {}", "空选择算符对 {} 无效"),
    (
        "`selector` does not match template `labels`",
        "`selector` 与模板的 `labels` 不匹配",
    ),
    ("may not be unspecified ({})", "不可为未指定地址（{}）"),
    (
        "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        "不可位于环回地址范围（127.0.0.0/8、::1/128）",
    ),
    (
        "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        "不可位于链路本地地址范围（169.254.0.0/16、fe80::/10）",
    ),
    (
        "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        "不可位于链路本地组播地址范围（224.0.0.0/24、ff02::/10）",
    ),
    ("is a multicast address", "是组播地址"),
    ("is the broadcast address", "是广播地址"),
    // Names, labels, ports, addresses (k8s.io/apimachinery validation).
    (
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        "小写 RFC 1123 标签必须由小写字母、数字或 '-' 组成，并且必须以字母或数字开头和结尾",
    ),
    (
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        "小写 RFC 1123 子域名必须由小写字母、数字、'-' 或 '.' 组成，并且必须以字母或数字开头和结尾",
    ),
    (
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        "DNS-1035 标签必须由小写字母、数字或 '-' 组成，以字母开头，并以字母或数字结尾",
    ),
    (
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        "必须由字母、数字、'-'、'_' 或 '.' 组成，并且必须以字母或数字开头和结尾",
    ),
    (
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        "合法的标签值必须为空字符串，或由字母、数字、'-'、'_' 或 '.' 组成，并且必须以字母或数字开头和结尾",
    ),
    (
        "{} (regex used for validation is '{}')",
        "{}（用于验证的正则表达式为 '{}'）",
    ),
    (
        "{} (e.g. {}regex used for validation is '{}')",
        "{}（例如 {}；用于验证的正则表达式为 '{}'）",
    ),
    ("must be no more than {} characters", "不得超过 {} 个字符"),
    ("must be no more than {} bytes", "不得超过 {} 字节"),
    ("must not contain dots", "不得包含点号"),
    ("prefix part must be non-empty", "前缀部分不得为空"),
    ("prefix part {}", "前缀部分{}"),
    (
        "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        "合法的标签键{}，可带一个 DNS 子域名前缀和 '/'（例如 'example.com/MyName'）",
    ),
    ("name part must be non-empty", "名称部分不得为空"),
    ("name part {}", "名称部分{}"),
    (
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        "只能包含字母、数字（a-z、0-9）和连字符（-）",
    ),
    (
        "must contain at least one letter (a-z)",
        "必须至少包含一个字母（a-z）",
    ),
    (
        "must not contain consecutive hyphens",
        "不得包含连续的连字符",
    ),
    (
        "must not begin or end with a hyphen",
        "不得以连字符开头或结尾",
    ),
    (
        "must be between 1 and 65535, inclusive",
        "必须在 1 到 65535 之间（含两端）",
    ),
    (
        "must not be an IPv4-mapped IPv6 address",
        "不得是 IPv4 映射的 IPv6 地址",
    ),
    ("must not have leading 0s", "不得有前导 0"),
    (
        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        "必须是有效的 IP 地址（例如 10.9.8.7 或 2001:db8::ffff）",
    ),
    (
        "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
        "必须是有效的 CIDR 值（例如 10.9.8.0/24 或 2001:db8::/64）",
    ),
    (
        "must not have leading 0s in IP or prefix length",
        "IP 或前缀长度中不得有前导 0",
    ),
    (
        "must not have an IPv4-mapped IPv6 address",
        "不得包含 IPv4 映射的 IPv6 地址",
    ),
    (
        "must not have bits set beyond the prefix length",
        "前缀长度之后的位不得置 1",
    ),
    // The cluster: duplicates, allocation, endpoints.
    ("Node {}: already defined at {}", "Node {}：已在 {} 定义"),
    (
        "Pod \"{}\": already defined at {}",
        "Pod \"{}\"：已在 {} 定义",
    ),
    (
        "Service \"{}\": already defined at {}",
        "Service \"{}\"：已在 {} 定义",
    ),
    (
        "{} \"{}\": {}: its Pods stay Pending",
        "{} \"{}\"：{}：它的 Pod 保持 Pending",
    ),
    (
        "Service \"{}\": its {} virtual servers and {} real servers on node {} would take the node's plan past {} virtual servers or {} real servers (svcroute's limits): skipped",
        "Service \"{0}\"：它在节点 {3} 上的 {1} 个虚拟服务器和 {2} 个真实服务器会使该节点超过 {4} 个虚拟服务器或 {5} 个真实服务器（svcroute 的上限）：已跳过",
    ),
    (
        "{} \"{}\": its {} Pods would make more than {} with the others (the reader's limit on objects): none made",
        "{} \"{}\"：它的 {} 个 Pod 加上其他 Pod 会超过 {} 个（读取器的对象上限）：一个也不创建",
    ),
    (
        "{} \"{}\": no free Pod address on Node {}: Pod {} gets no IP",
        "{} \"{}\"：节点 {} 上没有空闲的 Pod 地址：Pod {} 得不到 IP",
    ),
    (
        "Service \"{}\": {}: Invalid value: \"{}\": {} is not configured on this cluster",
        "Service \"{}\"：{}：无效的值：\"{}\"：此集群未配置 {}",
    ),
    (
        "Service \"{}\": {}: Invalid value: \"{}\": failed to allocate IP {}: {}",
        "Service \"{}\"：{}：无效的值：\"{}\"：无法分配 IP {}：{}",
    ),
    (
        "Service \"{}\": spec.clusterIPs: Internal error: failed to allocate a serviceIP: range is full",
        "Service \"{}\"：spec.clusterIPs：内部错误：无法分配服务 IP：地址范围已满",
    ),
    (
        "Service \"{}\": spec.ports[{}].nodePort: Invalid value: {}: {}",
        "Service \"{}\"：spec.ports[{}].nodePort：无效的值：{}：{}",
    ),
    (
        "Service \"{}\": spec.healthCheckNodePort: Invalid value: {}: {}",
        "Service \"{}\"：spec.healthCheckNodePort：无效的值：{}：{}",
    ),
    (
        "Service \"{}\": spec.ports[{}].nodePort: Internal error: failed to allocate a nodePort: range is full",
        "Service \"{}\"：spec.ports[{}].nodePort：内部错误：无法分配 nodePort：端口范围已满",
    ),
    (
        "Service \"{}\": {} {} is the address of Pod \"{}\": kube-proxy binds it on kube-ipvs0 of every node, which then delivers traffic for that Pod locally",
        "Service \"{}\"：{} {} 是 Pod \"{}\" 的地址：kube-proxy 会把它绑定到每个节点的 kube-ipvs0 上，节点于是在本地投递发往该 Pod 的流量",
    ),
    (
        "Service \"{}\": selector {} matches no Pod in namespace {}: no endpoints",
        "Service \"{0}\"：选择算符 {1} 在名字空间 {2} 中没有匹配的 Pod：没有端点",
    ),
    (
        "Service \"{}\": spec.ports[{}].targetPort {} names no {} container port of Pod \"{}\"{}: not an endpoint of that port",
        "Service \"{0}\"：spec.ports[{1}].targetPort {2} 在 Pod \"{4}\"{5} 中没有同名的 {3} 容器端口：不是该端口的端点",
    ),
    (
        "Service \"{}\": spec.ipFamilies[{}]: Invalid value: \"{}\": not configured on this cluster",
        "Service \"{}\"：spec.ipFamilies[{}]：无效的值：\"{}\"：此集群未配置",
    ),
    (
        "Service \"{}\": spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster is not configured for dual-stack services",
        "Service \"{}\"：spec.ipFamilyPolicy：无效的值：\"RequireDualStack\"：此集群未配置双栈服务",
    ),
    (
        "provided IP is not in the valid range. The range of valid IPs is {}",
        "提供的 IP 不在有效范围内。有效 IP 范围是 {}",
    ),
    (
        ", which the API server creates at the range's first address",
        "，由 API 服务器在该范围的第一个地址创建",
    ),
    (
        "provided IP is already allocated (to Service \"{}\"{})",
        "提供的 IP 已被分配（给 Service \"{}\"{}）",
    ),
    (
        "provided port is not in the valid range. The range of valid ports is {}-{}",
        "提供的端口不在有效范围内。有效端口范围是 {}-{}",
    ),
    (
        "provided port is already allocated (to Service \"{}\"{})",
        "提供的端口已被分配（给 Service \"{}\"{}）",
    ),
    (
        "no Service {} in namespace {}: ignored",
        "名字空间 {1} 中没有服务 {0}：已忽略",
    ),
    (
        "Service \"{}\" has a selector, so the EndpointSlice mirroring controller does not mirror it: ignored",
        "Service \"{}\" 设置了选择算符，因此 EndpointSlice 镜像控制器不会镜像它：已忽略",
    ),
    (
        "Service \"{}\" has a selector, so its controller-managed slices are derived from Pods: ignored",
        "Service \"{}\" 设置了选择算符，因此由控制器管理的切片来自 Pod：已忽略",
    ),
    (
        "labelled {}: kube-proxy does not watch it (its informers select !{}): ignored",
        "带有标签 {}：kube-proxy 不监视它（其 informer 选择 !{}）：已忽略",
    ),
    (
        "Service \"{}\": labelled {}: kube-proxy does not watch it (its informers select !{}): no virtual servers",
        "Service \"{}\"：带有标签 {}：kube-proxy 不监视它（其 informer 选择 !{}）：没有虚拟服务器",
    ),
    (
        "the input shows IPv4 and IPv6 addresses and no --service-cidr or --pod-cidr was given: modelling a dual-stack cluster (service CIDRs {}; pod CIDRs {}); pass --service-cidr and --pod-cidr to set them",
        "输入中同时有 IPv4 和 IPv6 地址，且未给出 --service-cidr 或 --pod-cidr：按双栈集群建模（服务 CIDR {}；Pod CIDR {}）；可用 --service-cidr 和 --pod-cidr 设置",
    ),
    (
        "input too large: the manifests together exceed {} MiB (the reader's limit)",
        "输入过大：清单合计超过 {} MiB（读取器的上限）",
    ),
    (
        "no objects in the input: the plan is empty",
        "输入中没有对象：规则为空",
    ),
    (
        "Service \"{}\": {} {}:{} {} is already programmed for Service \"{}\": skipped",
        "Service \"{}\"：{} {}:{} {} 已为 Service \"{}\" 编入规则：已跳过",
    ),
    // Virtual servers' notes.
    (
        "{} Local: only {}'s endpoints",
        "{} Local：只用节点 {} 上的端点",
    ),
    (
        "no ready endpoint: using serving terminating endpoints",
        "没有就绪的端点：改用仍在服务的终止中端点",
    ),
    (
        "no endpoints: connections are refused",
        "没有端点：连接被拒绝",
    ),
    // Routes.
    (
        "outside the cluster, {} does not resolve: the cluster DNS (CoreDNS at the kube-dns ClusterIP) answers Pods inside the cluster only",
        "在集群外，{} 无法解析：集群 DNS（位于 kube-dns ClusterIP 的 CoreDNS）只应答集群内的 Pod",
    ),
    (
        "ExternalName: {} is a CNAME for {}; no virtual server, no proxying",
        "ExternalName：{} 是 {} 的 CNAME；没有虚拟服务器，不经代理",
    ),
    (
        "DNS: {} answers with Pod addresses (a headless Service or an endpoint's name): the client connects to one directly, no virtual server",
        "DNS：{} 的应答是 Pod 地址（无头服务或某个端点的名称）：客户端直接连接其中一个，没有虚拟服务器",
    ),
    (
        "outside the cluster, the ClusterIP {} is unreachable: it lives only in each node's kube-proxy rules (on kube-ipvs0) and no route outside the cluster leads to the Service CIDR; use a NodePort (NodeIP:nodePort) or a load balancer IP",
        "在集群外，ClusterIP {} 不可达：它只存在于每个节点的 kube-proxy 规则中（在 kube-ipvs0 上），集群外没有通往服务 CIDR 的路由；请使用 NodePort（NodeIP:nodePort）或负载均衡器 IP",
    ),
    (
        "the outside network delivers it to node {}; {}",
        "外部网络把它送到节点 {}；{}",
    ),
    (
        "{}; masqueraded: the Pod sees source {}",
        "{}；已伪装（SNAT）：Pod 看到的源地址是 {}",
    ),
    (
        "{}; {} refuses (TCP RST): IPVS forwarded the SYN and does not retry another real server — the client sees connection refused",
        "{}；{} 拒绝连接（TCP RST）：IPVS 已转发 SYN，不会改试另一个真实服务器——客户端看到连接被拒绝",
    ),
    // The IPVS simulation (the kernel's words: schedulers and sysctls keep their names).
    (
        "the earlier connection from this port went to {}, which was removed: expire_nodest_conn drops it",
        "此端口先前的连接去往 {}，它已被移除：expire_nodest_conn 丢弃该连接",
    ),
    (
        "the earlier connection from this port went to {}, now at weight 0: expire_nodest_conn drops it",
        "此端口先前的连接去往 {}，它现在权重为 0：expire_nodest_conn 丢弃该连接",
    ),
    (
        "the earlier connection from this port is in {}: conn_reuse_mode schedules anew",
        "此端口先前的连接处于 {}：按 conn_reuse_mode 重新调度",
    ),
    (
        "its template's real server {} was removed",
        "其模板的真实服务器 {} 已被移除",
    ),
    (
        "its template's real server {} has weight 0 (expire_quiescent_template)",
        "其模板的真实服务器 {} 权重为 0（expire_quiescent_template）",
    ),
    (
        "no real servers: the connection is refused",
        "没有真实服务器：连接被拒绝",
    ),
    (
        "no destination available: the connection is refused",
        "没有可用的目标：连接被拒绝",
    ),
    (
        "{}: every real server has weight 0: {}",
        "{}：所有真实服务器的权重都为 0：{}",
    ),
    (
        "{}: first real server in the list",
        "{}：列表中的第一个真实服务器",
    ),
    ("{}: next after {}:{}", "{}：{}:{} 之后的下一个"),
    (
        "{}: weight {} >= current weight {} (max {}, gcd {})",
        "{}：权重 {} >= 当前权重 {}（最大 {}，最大公约数 {}）",
    ),
    (
        "{}: least loaded ({} active, {} inactive, weight {})",
        "{}：负载最低（活动 {}，非活动 {}，权重 {}）",
    ),
    (
        "{}: source {} hashes to bucket {} of {}, held by {}",
        "{}：源地址 {} 哈希到 {3} 个桶中的第 {2} 个，由 {4} 持有",
    ),
    (
        "{}: destination {} hashes to bucket {} of {}, held by {}",
        "{}：目标地址 {} 哈希到 {3} 个桶中的第 {2} 个，由 {4} 持有",
    ),
    (
        "{} at weight 0 (no fallback): {}",
        "{}，其权重为 0（无回退）：{}",
    ),
    (
        "{}: {}:{} hashes to slot {} of {}",
        "{}：{}:{} 哈希到 {4} 个槽中的第 {3} 个",
    ),
    ("{}, which is empty: {}", "{}，该槽为空：{}"),
    ("{}, held by {}", "{}，由 {} 持有"),
    (
        "{} at weight 0 (it keeps its slots; kube-proxy sets no mh-fallback): {}",
        "{}，其权重为 0（它保留自己的槽；kube-proxy 未设置 mh-fallback）：{}",
    ),
    ("{} is not simulated", "{} 未被模拟"),
    (
        "existing connection {}:{} → {} in the connection table: not scheduled again",
        "连接表中已有连接 {}:{} → {}：不再重新调度",
    ),
    (
        "ClientIP affinity: the persistence template pins {} to {} (expires {})",
        "ClientIP 会话亲和性：持久化模板把 {} 固定到 {}（{} 过期）",
    ),
    (
        "{}; ClientIP affinity: new persistence template{} pins {} to {} for {}s",
        "{}；ClientIP 会话亲和性：新的持久化模板{}把 {} 固定到 {}，为期 {} 秒",
    ),
    // Settings (core/src/model/config.rs: the CLI's flags, the JS API's and the page's options).
    ("at least one service CIDR is needed", "至少需要一个服务 CIDR"),
    ("service CIDRs: at most one per IP family", "服务 CIDR：每个 IP 协议族最多一个"),
    ("service CIDR {} is too small", "服务 CIDR {} 太小"),
    (
        "--service-cidr {}: specified --service-cluster-ip-range is too large; for {}-bit addresses, the mask must be >= {}",
        "--service-cidr {}：指定的 --service-cluster-ip-range 太大；对于 {} 位地址，掩码必须 >= {}",
    ),
    (
        "--service-cidr {}: overlaps {}: ClusterIPs there would be bound on kube-ipvs0",
        "--service-cidr {}：与 {} 重叠：其中的 ClusterIP 会被绑定到 kube-ipvs0 上",
    ),
    (
        "--pod-cidr {}: overlaps {}: Pods cannot have such addresses",
        "--pod-cidr {}：与 {} 重叠：Pod 不能使用这样的地址",
    ),
    ("pod CIDRs: at most one per IP family", "Pod CIDR：每个 IP 协议族最多一个"),
    (
        "--cluster-domain {}: must be a DNS subdomain: {}",
        "--cluster-domain {}：必须是 DNS 子域名：{}",
    ),
    ("node port range {}-{} is empty", "节点端口范围 {}-{} 为空"),
    (
        "nodes: {} is more than {}, the most Nodes a Kubernetes cluster is tested with (the limit of the synthesized cluster)",
        "nodes：{} 超过了 {}，即 Kubernetes 集群经过测试的最大节点数（合成集群的上限）",
    ),
    // Label selectors (core/src/model/labels.rs), in apimachinery's words.
    ("found '{}'{}", "发现 '{}'{}"),
    ("unable to parse requirement: {}", "无法解析需求：{}"),
    (", expected: identifier", "，应为：标识符"),
    (", expected: identifier after ','", "，应为：',' 之后的标识符"),
    (", expected: ',' or 'end of string'", "，应为：',' 或字符串结尾"),
    (
        ", expected: !, identifier, or 'end of string'",
        "，应为：!、标识符或字符串结尾",
    ),
    (
        ", expected: in, notin, =, ==, !=, gt, lt",
        "，应为：in、notin、=、==、!=、gt、lt",
    ),
    (" expected: '('", "，应为：'('"),
    (", expected: ')'", "，应为：')'"),
    (", expected: ',', ')' or identifier", "，应为：','、')' 或标识符"),
    (", expected: ',' or ')'", "，应为：',' 或 ')'"),
    (", expected: ',', or identifier", "，应为：',' 或标识符"),
    ("<nil>: Invalid value: {}: {}", "<nil>：无效的值：{}：{}"),
    ("[{}]", "[{}]"),
    (
        "for 'in', 'notin' operators, values set can't be empty",
        "对于 'in'、'notin' 运算符，值集合不能为空",
    ),
    (
        "exact-match compatibility requires one single value",
        "精确匹配需要恰好一个值",
    ),
    (
        "values set must be empty for exists and does not exist",
        "对于 exists 和 does not exist，值集合必须为空",
    ),
    (
        "for 'Gt', 'Lt' operators, exactly one value is required",
        "对于 'Gt'、'Lt' 运算符，必须恰好有一个值",
    ),
    (
        "for 'Gt', 'Lt' operators, the value must be an integer",
        "对于 'Gt'、'Lt' 运算符，值必须是整数",
    ),
    (
        "{} is not a valid pod selector operator",
        "{} 不是有效的 Pod 选择算符运算符",
    ),
    // route's errors (core/src/sim/route.rs, core/src/node/plan.rs).
    ("no Node {}; the Nodes are: {}", "没有节点 {}；现有节点：{}"),
    ("no {} \"{}\"", "没有 {} \"{}\""),
    ("{} \"{}\": defined twice", "{} \"{}\"：定义了两次"),
    (
        "--to {}: expected HOST:PORT (an address such as 10.97.97.97:80 or [fd00::1]:80, or a DNS name such as svc.ns.svc.cluster.local:80)",
        "--to {}：应为 HOST:PORT（地址，如 10.97.97.97:80 或 [fd00::1]:80；或 DNS 名称，如 svc.ns.svc.cluster.local:80）",
    ),
    (
        "{} is neither the address of a virtual server nor a cluster DNS name",
        "{} 既不是虚拟服务器的地址，也不是集群 DNS 名称",
    ),
    (
        "no virtual server for {}; that address serves {}",
        "{} 没有虚拟服务器；该地址提供的是 {}",
    ),
    (
        "nothing to send: --count must be at least 1 and --from non-empty",
        "没有可发送的连接：--count 至少为 1，且 --from 不能为空",
    ),
    (
        "--refusing {}: expected a Pod of the cluster (namespace/name), an IP or IP:PORT",
        "--refusing {}：应为集群中的 Pod（名字空间/名称）、IP 或 IP:PORT",
    ),
    (
        "{} uses the IPVS scheduler {}, which `plan` and the agent program but route does not simulate; simulated: {}",
        "{} 使用 IPVS 调度器 {}：`plan` 和代理程序会配置它，但 route 不模拟它；已模拟的调度器：{}",
    ),
    // The YAML reader's syntax errors (core/src/manifest/parser_messages.rs).
    ("\"-\" is only valid inside a block", "\"-\" 只能用在块中"),
    (
        "'-' must be followed by a valid YAML whitespace",
        "'-' 后面必须跟一个有效的 YAML 空白字符",
    ),
    (
        "':' may not precede any of `[{{` in flow mapping",
        "在流式映射中，':' 不能出现在 `[{{` 之前",
    ),
    (
        "':' must be followed by a valid YAML whitespace",
        "':' 后面必须跟一个有效的 YAML 空白字符",
    ),
    (
        "a block scalar content cannot start with a tab",
        "块标量的内容不能以制表符开头",
    ),
    (
        "a byte order mark must not appear inside a document",
        "字节顺序标记（BOM）不能出现在文档内部",
    ),
    ("comment intercepting the multiline text", "注释截断了多行文本"),
    (
        "comments must be separated from other tokens by whitespace",
        "注释必须用空白与其他记号隔开",
    ),
    ("did not find expected <document start>", "没有找到预期的文档开始"),
    ("did not find expected <document-start>", "没有找到预期的文档开始标记"),
    ("did not find expected <stream-start>", "没有找到预期的流开始"),
    ("duplicate version directive", "重复的版本指令"),
    ("expected whitespace", "此处应为空白字符"),
    ("found incompatible YAML document", "发现不兼容的 YAML 文档"),
    ("illegal placement of ':' indicator", "':' 指示符的位置不合法"),
    (
        "invalid content after document end marker",
        "文档结束标记之后有无效内容",
    ),
    ("invalid global tag character", "全局标签中有无效字符"),
    ("invalid indentation for anchor", "锚点的缩进无效"),
    ("invalid indentation in flow construct", "流式结构中的缩进无效"),
    ("invalid indentation in quoted scalar", "带引号的标量中的缩进无效"),
    (
        "invalid trailing content after double-quoted scalar",
        "双引号标量之后有无效的多余内容",
    ),
    (
        "missing explicit document end marker before directive",
        "指令之前缺少显式的文档结束标记",
    ),
    (
        "plain scalar cannot start with '-' followed by ,[]{{}}",
        "普通标量不能以后跟 ,[]{{}} 的 '-' 开头",
    ),
    ("recursion limit exceeded", "超出递归深度限制"),
    ("simple key expect ':'", "简单键之后应为 ':'"),
    (
        "tabs disallowed within this context (block indentation)",
        "此处不允许制表符（块缩进）",
    ),
    (
        "the TAG directive must only be given at most once per handle in the same document",
        "同一文档中，每个句柄最多只能有一条 TAG 指令",
    ),
    ("the handle wasn't declared", "该标签句柄没有声明"),
    ("unexpected character: `{}'", "意外的字符：`{}'"),
    ("unexpected eof", "输入意外结束"),
    (
        "while parsing a block collection, did not find expected '-' indicator",
        "解析块集合时，没有找到预期的 '-' 指示符",
    ),
    (
        "while parsing a flow mapping, did not find expected ',' or '}}'",
        "解析流式映射时，没有找到预期的 ',' 或 '}}'",
    ),
    (
        "while parsing a flow sequence, expected ',' or ']'",
        "解析流式序列时，应为 ',' 或 ']'",
    ),
    (
        "while parsing a quoted scalar, did not find expected hexadecimal number",
        "解析带引号的标量时，没有找到预期的十六进制数",
    ),
    (
        "while parsing a quoted scalar, found invalid Unicode character escape code",
        "解析带引号的标量时，发现无效的 Unicode 字符转义码",
    ),
    (
        "while parsing a tag directive, did not find expected '!'",
        "解析标签指令时，没有找到预期的 '!'",
    ),
    (
        "while parsing a tag, did not find expected tag URI",
        "解析标签时，没有找到预期的标签 URI",
    ),
    (
        "while parsing a tag, found an incorrect leading UTF-8 byte",
        "解析标签时，发现不正确的 UTF-8 首字节",
    ),
    (
        "while parsing a tag, found an incorrect trailing UTF-8 byte",
        "解析标签时，发现不正确的 UTF-8 后续字节",
    ),
    (
        "while parsing a tag, found an invalid UTF-8 codepoint",
        "解析标签时，发现无效的 UTF-8 码位",
    ),
    (
        "while parsing a tag, found an invalid escape sequence",
        "解析标签时，发现无效的转义序列",
    ),
    (
        "while parsing anchor, found duplicated anchor",
        "解析锚点时，发现重复的锚点",
    ),
    (
        "while parsing node, found unknown anchor",
        "解析节点时，发现未知的锚点",
    ),
    (
        "while scanning TAG, did not find expected whitespace or line break",
        "扫描 TAG 时，没有找到预期的空白或换行",
    ),
    (
        "while scanning a YAML directive, did not find expected digit or '.' character",
        "扫描 YAML 指令时，没有找到预期的数字或 '.' 字符",
    ),
    (
        "while scanning a YAML directive, did not find expected version number",
        "扫描 YAML 指令时，没有找到预期的版本号",
    ),
    (
        "while scanning a YAML directive, found extremely long version number",
        "扫描 YAML 指令时，发现版本号过长",
    ),
    (
        "while scanning a block scalar, did not find expected comment or line break",
        "扫描块标量时，没有找到预期的注释或换行",
    ),
    (
        "while scanning a block scalar, found an indentation indicator equal to 0",
        "扫描块标量时，发现缩进指示符为 0",
    ),
    (
        "while scanning a directive, could not find expected directive name",
        "扫描指令时，找不到预期的指令名",
    ),
    (
        "while scanning a directive, did not find expected comment or line break",
        "扫描指令时，没有找到预期的注释或换行",
    ),
    (
        "while scanning a directive, found unexpected non-alphabetical character",
        "扫描指令时，发现意外的非字母字符",
    ),
    (
        "while scanning a plain scalar, found a tab",
        "扫描普通标量时，发现制表符",
    ),
    (
        "while scanning a quoted scalar, found unexpected document indicator",
        "扫描带引号的标量时，发现意外的文档指示符",
    ),
    (
        "while scanning a tag, did not find expected '!'",
        "扫描标签时，没有找到预期的 '!'",
    ),
    (
        "while scanning a tag, did not find expected whitespace or line break",
        "扫描标签时，没有找到预期的空白或换行",
    ),
    (
        "while scanning a verbatim tag, did not find the expected '>'",
        "扫描逐字标签时，没有找到预期的 '>'",
    ),
    (
        "while scanning an anchor or alias, did not find expected alphabetic or numeric character",
        "扫描锚点或别名时，没有找到预期的字母或数字字符",
    ),
    ("wrongly indented line in block scalar", "块标量中有缩进错误的行"),
    (
        "more than {} documents (the reader's limit)",
        "文档超过 {} 个（读取器的上限）",
    ),
    (
        "more than {} objects (the reader's limit)",
        "对象超过 {} 个（读取器的上限）",
    ),
    (
        "more than {} values in one input (the reader's limit)",
        "一份输入中的值超过 {} 个（读取器的上限）",
    ),
    (
        "more than {} keys in one mapping (the reader's limit)",
        "一个映射中的键超过 {} 个（读取器的上限）",
    ),
    (
        "nesting deeper than {} levels (the reader's limit)",
        "嵌套超过 {} 层（读取器的上限）",
    ),
    (
        "this alias nests deeper than {} levels (the reader's limit)",
        "此别名展开后嵌套超过 {} 层（读取器的上限）",
    ),
    ("unexpected YAML event {}", "意外的 YAML 事件 {}"),
    ("unexpected end of input", "输入意外结束"),
    ("unbalanced collection end", "集合的结束不配对"),
    ("alias to an unknown anchor", "别名指向未知的锚点"),
    ("aliases expand to too many nodes", "别名展开后的节点过多"),
    (
        "a `<<` merge beside streamed items",
        "`<<` 合并键与流式读取的 items 并存",
    ),
    (
        "a mapping key of {} characters: YAML allows at most 1024 in a plain `key: value` (kubectl refuses it too)",
        "映射键长 {} 个字符：YAML 的普通 `key: value` 中最多允许 1024 个（kubectl 也会拒绝）",
    ),
    ("a mapping key must be a scalar", "映射键必须是标量"),
    (
        "mapping key {} already defined at line {}",
        "映射键 {} 已在第 {} 行定义",
    ),
    (
        "map merge requires map or sequence of maps as the value",
        "映射合并（<<）的值必须是映射或映射的序列",
    ),
    (
        "mapping values are not allowed in this context",
        "此处不允许映射值（冒号后的值）",
    ),
    (
        "mapping keys are not allowed in this context",
        "此处不允许映射键",
    ),
    (
        "block sequence entries are not allowed in this context",
        "此处不允许块序列条目（- 开头的行）",
    ),
    (
        "while parsing a block mapping, did not find expected key",
        "解析块映射时，没有找到预期的键",
    ),
    (
        "while parsing a node, did not find expected node content",
        "解析节点时，没有找到预期的节点内容",
    ),
    (
        "did not find expected next token",
        "没有找到预期的下一个记号",
    ),
    ("invalid indentation", "缩进无效"),
    ("tabs disallowed in this context", "此处不允许制表符"),
    ("tab cannot be used as indentation", "制表符不能用于缩进"),
    ("simple key expected", "应为一个简单键"),
    ("misplaced bracket", "括号位置不对"),
    ("found unprintable character", "发现不可打印的字符"),
    ("unexpected end of plain scalar", "普通标量意外结束"),
    (
        "while scanning a quoted scalar, found unexpected end of stream",
        "扫描带引号的标量时，输入意外结束",
    ),
    (
        "while parsing a quoted scalar, found unknown escape character",
        "解析带引号的标量时，发现未知的转义字符",
    ),
    // The iptables, nftables and userspace modes (core/src/sim/modes.rs).
    (
        "{}; {} refuses (TCP RST): the kernel already rewrote the destination, nothing retries another endpoint — the client sees connection refused",
        "{}；{} 拒绝连接（TCP RST）：内核已改写了目标地址，不会再换一个端点重试——客户端看到连接被拒绝",
    ),
    (
        "no-endpoint-services: {} → goto reject-chain: reject",
        "no-endpoint-services：{}（没有端点）→ goto reject-chain：reject（拒绝）",
    ),
    (
        "KUBE-SERVICES (filter): \"{} has no endpoints\" → REJECT",
        "KUBE-SERVICES（filter 表）：规则注释 \"{} has no endpoints\"（没有端点）→ REJECT（拒绝）",
    ),
    (
        "no-endpoint-services: {} → drop",
        "no-endpoint-services：{}（没有端点）→ drop（丢弃）",
    ),
    (
        "KUBE-SERVICES (filter): \"{} has no local endpoints\" → DROP",
        "KUBE-SERVICES（filter 表）：规则注释 \"{} has no local endpoints\"（没有本地端点）→ DROP（丢弃）",
    ),
    (
        "KUBE-EXTERNAL-SERVICES (filter): \"{} has no local endpoints\" → DROP",
        "KUBE-EXTERNAL-SERVICES（filter 表）：规则注释 \"{} has no local endpoints\"（没有本地端点）→ DROP（丢弃）",
    ),
    ("{}: {} → ", "{}：{} → "),
    (
        "{}: pod or local source, short-circuit → ",
        "{}：源地址是 Pod 或本节点，直接跳转 → ",
    ),
    ("{} → ", "{} → "),
    (
        "ip saddr @{} ({} in the set, timeout {}s)",
        "ip saddr @{}（{} 在集合中，超时 {} 秒）",
    ),
    (
        "-m recent --rcheck --seconds {}: {} seen {} s ago",
        "-m recent --rcheck --seconds {}：{} 在 {} 秒前出现过",
    ),
    ("{}{}: {} → {}: {}", "{}{}：{} → {}：{}"),
    ("numgen random mod {} → {}", "numgen random mod {} → {}"),
    ("--probability {} matched", "--probability {} 命中"),
    (
        "--probability {} failed, next rule",
        "--probability {} 未命中，转到下一条规则",
    ),
    ("last rule", "最后一条规则"),
    (
        "userspace: kube-proxy accepted on the proxy port of {}; no endpoints: it closes the connection",
        "userspace：kube-proxy 在 {} 的代理端口上接受了连接；没有端点：它关闭该连接",
    ),
    (
        "it would retry the next endpoint if this one refused",
        "若此端点拒绝连接，它会重试下一个端点",
    ),
    (
        "ClientIP affinity keeps {} on {}",
        "ClientIP 会话亲和性把 {} 保持在 {}",
    ),
    ("round robin → {}", "轮询 → {}"),
    ("{} of {}; ", "第 {} 个，共 {} 个；"),
    (
        "userspace: kube-proxy's proxy port for {}: {} ({}{})",
        "userspace：kube-proxy 为 {} 开的代理端口：{}（{}{}）",
    ),
    (
        "userspace: kube-proxy's proxy port for {}: {} refused, kube-proxy dialed again: {} ({}attempt {} of 4)",
        "userspace：kube-proxy 为 {} 开的代理端口：{} 拒绝连接，kube-proxy 再次拨号：{}（{}第 {} 次尝试，共 4 次）",
    ),
    (
        "userspace: kube-proxy's proxy port for {}: {} refused; after 4 attempts \"failed to connect to an endpoint\": it closes the client's connection",
        "userspace：kube-proxy 为 {} 开的代理端口：{} 拒绝连接；4 次尝试都失败后（kube-proxy 记录“无法连接到端点”）：它关闭客户端的连接",
    ),
    // The JSON reader's syntax errors (core/src/manifest/json.rs).
    ("comments are not allowed in JSON", "JSON 中不允许注释"),
    ("expected a string key", "应为字符串键"),
    ("expected ':'", "应为 ':'"),
    ("unexpected end of JSON", "JSON 意外结束"),
    ("expected a JSON value", "应为一个 JSON 值"),
    ("expected ',' or ']'", "应为 ',' 或 ']'"),
    ("expected ',' or '}}'", "应为 ',' 或 '}}'"),
    ("invalid number", "无效的数字"),
    ("truncated \\u escape", "\\u 转义被截断"),
    ("invalid \\u escape", "无效的 \\u 转义"),
    ("unpaired surrogate in \\u escape", "\\u 转义中有未配对的代理项"),
    ("unterminated string", "字符串没有结束"),
    ("unterminated escape", "转义没有结束"),
    ("invalid escape", "无效的转义"),
    ("control character in string", "字符串中有控制字符"),
]);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Every `msg!("…")` template in the core's sources, unescaped as Rust reads it, and the
    /// YAML parser's templates.
    fn core_templates() -> Vec<(String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src");
        let mut files = Vec::new();
        let mut dirs = vec![root];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).expect("core/src is readable") {
                let p = e.expect("a directory entry").path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut out = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("a core source is readable");
            let mut rest = text.as_str();
            while let Some(i) = rest.find("msg!(") {
                rest = &rest[i + 5..];
                let body = rest.trim_start();
                // Only calls with a literal (the macro's own definition has `$t`).
                let Some(lit) = body.strip_prefix('"') else {
                    continue;
                };
                let mut s = String::new();
                let mut chars = lit.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('\n') => {
                                // A line continuation skips the next line's leading spaces.
                                let rest: String = chars.clone().collect();
                                let skip = rest.len() - rest.trim_start().len();
                                for _ in 0..rest[..skip].chars().count() {
                                    chars.next();
                                }
                            }
                            Some(other) => s.push(other),
                            None => {}
                        },
                        c => s.push(c),
                    }
                }
                let file = f.display().to_string();
                out.push((s, file));
            }
        }
        // The YAML parser's messages, kept as a list of templates rather than `msg!` sites.
        for t in svcroute_core::manifest::parser_messages::TEMPLATES {
            out.push((
                (*t).to_owned(),
                "core/src/manifest/parser_messages.rs".to_owned(),
            ));
        }
        out
    }

    /// Separators of [`Msg::Join`]s, looked up like templates.
    const SEPARATORS: [&str; 2] = ["; ", " or "];

    fn holes(t: &str) -> usize {
        t.replace("{{", "").replace("}}", "").matches('{').count()
    }

    // The catalogue covers the core: a template added to the core (a new diagnostic or route
    // reason) fails here, named, until its Chinese is added to ZH.
    #[test]
    fn every_core_template_has_chinese() {
        let templates = core_templates();
        assert!(
            templates.len() > 100,
            "found only {} templates",
            templates.len()
        );
        let missing: BTreeSet<String> = templates
            .iter()
            .filter(|(t, _)| !ZH.iter().any(|(k, _)| *k == key(t)))
            .map(|(t, f)| format!("{f}: {t:?}"))
            .collect();
        assert!(
            missing.is_empty(),
            "core templates with no Chinese in web/src/messages.rs ZH ({}):\n{}",
            missing.len(),
            missing.into_iter().collect::<Vec<_>>().join("\n")
        );
    }

    // No stale entries, no duplicates, and each Chinese template uses every argument once.
    #[test]
    fn the_catalogue_is_exact() {
        let templates: BTreeSet<String> = core_templates().into_iter().map(|(t, _)| t).collect();
        let mut seen = BTreeSet::new();
        let keys: BTreeSet<u64> = ZH.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys.len(), ZH.len(), "two entries share a key");
        assert_eq!(ZH.len(), ZH_EN.len());
        for (en, zh) in ZH_EN {
            assert!(seen.insert(*en), "duplicate entry {en:?}");
            if !SEPARATORS.contains(en) {
                assert!(templates.contains(*en), "no core template {en:?}");
            }
            assert_eq!(holes(en), holes(zh), "argument count of {en:?} / {zh:?}");
            let n = holes(en);
            if zh.contains("{0}") {
                for k in 0..n {
                    assert_eq!(
                        zh.matches(&format!("{{{k}}}")).count(),
                        1,
                        "{zh:?} uses {{{k}}} once"
                    );
                }
            }
        }
    }

    // A route's reason: the English is the core's; the Chinese keeps addresses and names,
    // nested messages are translated too, and a rewritten reason stays English.
    #[test]
    fn reasons_render_in_chinese() {
        let inner = svcroute_core::msg!("{}: next after {}:{}", "rr", "10.244.1.2", 8080);
        let m = svcroute_core::msg!(
            "{}; masqueraded: the Pod sees source {}",
            inner,
            "10.244.0.1"
        );
        assert_eq!(
            m.to_string(),
            "rr: next after 10.244.1.2:8080; masqueraded: the Pod sees source 10.244.0.1"
        );
        assert_eq!(
            render(&m, Lang::Zh),
            "rr：10.244.1.2:8080 之后的下一个；已伪装（SNAT）：Pod 看到的源地址是 10.244.0.1"
        );
        let reordered = svcroute_core::msg!(
            "no Service {} in namespace {}: ignored",
            "\"web\"",
            "\"dev\""
        );
        assert_eq!(
            render(&reordered, Lang::Zh),
            "名字空间 \"dev\" 中没有服务 \"web\"：已忽略"
        );
    }

    // A YAML syntax error (the parser's own words, text in the core): a known one in Chinese.
    #[test]
    fn yaml_syntax_errors_render_in_chinese() {
        let read = svcroute_core::manifest::read_all([("m.yaml", "a: b: c\n")]);
        let d = &read.diagnostics[0];
        assert_eq!(
            diagnostic_message(d, Lang::Zh),
            "无效的 YAML：此处不允许映射值（冒号后的值）",
            "{}",
            d.message
        );
    }

    /// Runs of three ordinary English words (as the zh e2e counts them), outside quotes.
    fn english_sentences(text: &str) -> Vec<String> {
        let word = |w: &str| {
            let w = w.trim_end_matches([',', '.', ';', ':', '!', '?']);
            let mut cs = w.chars();
            cs.next().is_some_and(|c| c.is_ascii_alphabetic())
                && cs.all(|c| c.is_ascii_lowercase() || c == '\'')
        };
        let mut found = Vec::new();
        let mut run = Vec::new();
        for tok in text.split_whitespace() {
            if word(tok) {
                run.push(tok);
                if run.len() == 3 {
                    found.push(run.join(" "));
                }
            } else {
                run.clear();
            }
        }
        found
    }

    // The iptables, nftables and userspace modes' reasons (the modes view): structured, and
    // Chinese with no English sentence — answered, affinity, retried, refused, no endpoints.
    #[test]
    fn every_mode_reason_renders_in_chinese() {
        use crate::proxy_view::ProxyAction;
        use crate::state::{Action, Init, State};
        let mut seen = 0;
        for id in ["clusterip", "affinity", "nodeport", "local"] {
            let mut s = State::new(Init {
                scenario: Some(id.into()),
                ..Init::default()
            });
            // The modes view replays sends only while shown.
            s.apply(Action::Proxy(ProxyAction::Shown(true)));
            let pods: Vec<String> = s
                .model
                .as_ref()
                .map(|m| {
                    m.cluster
                        .pods
                        .iter()
                        .map(|p| p.meta.id.to_string())
                        .collect()
                })
                .unwrap_or_default();
            // Answering Pods, then all but one refusing (userspace retries), then all refusing.
            for refusing in [0, pods.len().saturating_sub(1), pods.len()] {
                for (i, p) in pods.iter().enumerate() {
                    s.apply(Action::Proxy(ProxyAction::Refusing {
                        pod: p.clone(),
                        on: i < refusing,
                    }));
                }
                for _ in 0..2 {
                    s.apply(Action::Send {
                        count: 1,
                        all_clients: false,
                    });
                    for (mode, r) in &s.proxy.last {
                        let Ok(conns) = r else { continue };
                        for c in conns {
                            assert!(!c.why.has_raw(), "{mode:?}: raw reason {}", c.reason);
                            let zh = reason(c, Lang::Zh);
                            assert_ne!(zh, c.reason, "{mode:?}: not translated");
                            assert_eq!(
                                english_sentences(&zh),
                                Vec::<String>::new(),
                                "{id} {mode:?}: {zh}"
                            );
                            seen += 1;
                        }
                    }
                }
            }
        }
        assert!(seen > 50, "only {seen} connections");
    }

    // A YAML syntax error outside the common ones, one with an argument, and a bad label
    // selector of a Deployment: Chinese, and the English unchanged.
    #[test]
    fn parser_and_selector_errors_render_in_chinese() {
        let read = svcroute_core::manifest::read_all([("m.yaml", "a: @b\n")]);
        let d = &read.diagnostics[0];
        assert_eq!(d.message, "invalid YAML: unexpected character: `@'");
        assert_eq!(
            diagnostic_message(d, Lang::Zh),
            "无效的 YAML：意外的字符：`@'"
        );
        let read = svcroute_core::manifest::read_all([("m.yaml", "a: [b, c\n")]);
        let zh = diagnostic_message(&read.diagnostics[0], Lang::Zh);
        assert!(zh.starts_with("无效的 YAML：解析流式"), "{zh}");
        let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchExpressions:\n    - key: app\n      operator: In\n      values: []\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: c\n        image: nginx\n";
        let read = svcroute_core::manifest::read_all([("d.yaml", deploy)]);
        let d = read
            .diagnostics
            .iter()
            .find(|d| d.message.contains("values set"))
            .unwrap_or_else(|| panic!("{:?}", read.diagnostics));
        let zh = diagnostic_message(d, Lang::Zh);
        assert!(!d.text.has_raw(), "{}", d.message);
        assert!(zh.contains("值集合不能为空"), "{zh}");
        assert_eq!(english_sentences(&zh), Vec::<String>::new(), "{zh}");
    }

    // A send's notice (a route error) in Chinese; its English is the JS API's.
    #[test]
    fn a_send_notice_renders_in_chinese() {
        use crate::state::SendError;
        let e = svcroute_core::route::RouteError::NothingToSend;
        let n = SendError::Route(e.text());
        assert_eq!(n.to_string(), e.to_string());
        assert_eq!(
            n.text(Lang::Zh),
            "没有可发送的连接：--count 至少为 1，且 --from 不能为空"
        );
        assert_eq!(SendError::NoClient.to_string(), "no client to send from");
    }

    // A JSON syntax error (a template of the core's JSON reader) in Chinese.
    #[test]
    fn json_syntax_errors_render_in_chinese() {
        let read = svcroute_core::manifest::read_all([("m.json", "{\"a\": 1 // no\n}\n")]);
        let d = &read.diagnostics[0];
        assert_eq!(d.message, "invalid JSON: comments are not allowed in JSON");
        assert_eq!(
            diagnostic_message(d, Lang::Zh),
            "无效的 JSON：JSON 中不允许注释",
            "{}",
            d.message
        );
    }

    // A diagnostic from a broken manifest, through the real reader: translated, with its place.
    #[test]
    fn diagnostics_render_in_chinese() {
        let text =
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 0\n";
        let read = svcroute_core::manifest::read_all([("m.yaml", text)]);
        let d = read
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .expect("an error");
        assert_eq!(
            d.message,
            "Service \"default/web\": spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"
        );
        assert_eq!(
            diagnostic(d, Lang::Zh),
            "错误：m.yaml:7:11: Service \"default/web\"：spec.ports[0].port：无效的值：0：必须在 1 到 65535 之间（含两端）"
        );
    }
}
