# Runs in a private network namespace on the host (`cargo xtask nft-capture`): each nft command
# under strace, which dumps every netlink message nft sends (sendto/sendmsg) and receives
# (recvmsg) in hex, one NAME.strace per step with NAME.cmd (the command) and NAME.rc. The steps
# build on each other (one namespace, one ruleset).
set -u
out=$1
step() {
  name=$1; shift
  strace -f -o "$out/$name.strace" -e trace=sendto,sendmsg,recvmsg,recvfrom \
    -e write=all -e read=all -xx -s 0 "$@" >"$out/$name.stdout" 2>&1
  echo $? >"$out/$name.rc"
  echo "$*" >"$out/$name.cmd"
}
step table_add        nft add table ip svcroute
step table6_add       nft add table ip6 svcroute
step chain_add        nft add chain ip svcroute services
step chain_add_nat    nft add chain ip svcroute nat-prerouting '{ type nat hook prerouting priority dstnat; policy accept; }'
step chain_add_filter nft add chain ip svcroute filter-output '{ type filter hook output priority -110; policy accept; }'
step chain_add_masq   nft add chain ip svcroute mark-for-masquerade
step chain_add_post   nft add chain ip svcroute postrouting
step set_add_concat   nft add set ip svcroute cluster-ip '{ type ipv4_addr . inet_proto . inet_service; comment "KUBE-CLUSTER-IP"; }'
step set_add_addr     nft add set ip svcroute ipvs-ips '{ type ipv4_addr; }'
step set_add_interval nft add set ip svcroute source-cidr '{ type ipv4_addr . inet_proto . inet_service . ipv4_addr; flags interval; }'
step elem_add         nft add element ip svcroute cluster-ip '{ 10.96.0.10 . udp . 53, 10.96.0.20 . tcp . 80 }'
step elem_add_addr    nft add element ip svcroute ipvs-ips '{ 10.96.0.10 }'
step elem_add_interval nft add element ip svcroute source-cidr '{ 198.51.100.9 . tcp . 443 . 172.18.0.0/24 }'
step elem_del         nft delete element ip svcroute cluster-ip '{ 10.96.0.20 . tcp . 80 }'
step rule_lookup_jump nft add rule ip svcroute services ip daddr . meta l4proto . th dport @cluster-ip ip saddr != 10.244.0.0/16 jump mark-for-masquerade
step rule_mark_or     nft add rule ip svcroute mark-for-masquerade meta mark set meta mark '|' 0x00004000
step rule_mark_test   nft add rule ip svcroute services meta mark '&' 0x00004000 != 0x00004000 return
step rule_ct_reject   nft add rule ip svcroute services ct state new ip daddr @ipvs-ips reject
step rule_fib         nft add rule ip svcroute services fib daddr type local accept
step rule_masq        nft add rule ip svcroute postrouting counter masquerade fully-random
step rule_jump        nft add rule ip svcroute nat-prerouting jump mark-for-masquerade
step list_table       nft list table ip svcroute
step list_set         nft list set ip svcroute cluster-ip
handle=$(nft -a list chain ip svcroute services | awk '/fib/ {print $NF}')
step rule_del         nft delete rule ip svcroute services handle "$handle"
step err_no_set       nft add element ip svcroute no-such-set '{ 10.0.0.1 }'
step set_del          nft delete set ip svcroute source-cidr
step table_del        nft delete table ip svcroute
# The expected failures are the point; the script itself succeeds.
exit 0
