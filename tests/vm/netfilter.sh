# The agent's netfilter half with real traffic (tests/agent_vm.rs, issue 10). The cluster is
# tests/vm/nf.yaml; each point is checked with the half off (--nftables=false), then on.
IP=/sbin/ip
A=/data/svcroute
M=/data/nf.yaml
NODE="--node node-1"

# ns NAME: a network namespace with lo up.
ns() { $IP netns add "$1" && $IP -n "$1" link set lo up; }
# link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a veth pair; "-" is the VM's own namespace (node-1).
link() {
  $IP link add tmp0 type veth peer name tmp1
  for end in "$1 $2 $3 tmp0" "$4 $5 $6 tmp1"; do
    set -- $end
    if [ "$1" = - ]; then
      $IP link set "$4" name "$2"; $IP addr add "$3" dev "$2"; $IP link set "$2" up
    else
      $IP link set "$4" netns "$1"; $IP -n "$1" link set "$4" name "$2"
      $IP -n "$1" addr add "$3" dev "$2"; $IP -n "$1" link set "$2" up
    fi
  done
}
# serve NS NAME: busybox httpd answering NAME at / and the client's address at /cgi-bin/peer.
serve() {
  mkdir -p /www/$2/cgi-bin && echo "$2" > /www/$2/index.html
  printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "$REMOTE_ADDR" | sed "s/^\\[::ffff://; s/\\]$//"\n' > /www/$2/cgi-bin/peer
  chmod +x /www/$2/cgi-bin/peer
  $IP netns exec "$1" httpd -p 80 -h /www/$2
}
# fetch NS URL: one HTTP GET; the answer or "none".
fetch() { $IP netns exec "$1" timeout 4 wget -q -O - "$2" 2>/dev/null || echo none; }

# node-1's Pods: b1 on br0; b2 routed as a /32 (Calico's way: proxy ARP on both sides), so
# that b1's replies to b2 pass the node (on a shared bridge they would need br_netfilter).
$IP link add br0 type bridge && $IP addr add 10.244.0.1/24 dev br0 && $IP link set br0 up
ns b1
$IP link add vb1 type veth peer name eth0 netns b1
$IP link set vb1 master br0 up
$IP -n b1 addr add 10.244.0.2/24 dev eth0 && $IP -n b1 link set eth0 up
$IP -n b1 route add default via 10.244.0.1
ns b2
$IP link add vb2 type veth peer name eth0 netns b2
$IP link set vb2 up
$IP -n b2 addr add 10.244.0.3/32 dev eth0 && $IP -n b2 link set eth0 up
$IP -n b2 route add default dev eth0
$IP route add 10.244.0.3/32 dev vb2
sysctl -qw net.ipv4.conf.vb2.proxy_arp=1 net.ipv4.conf.br0.proxy_arp=1
serve b1 b1
# Clients: c1 (10.1.0.2, inside the load balancer's source range), c2 (10.2.0.2, outside).
ns c1; link - c1h 10.1.0.1/24 c1 eth0 10.1.0.2/24; $IP -n c1 route add default via 10.1.0.1
ns c2; link - c2h 10.2.0.1/24 c2 eth0 10.2.0.2/24; $IP -n c2 route add default via 10.2.0.1
# node-2: router n2 (10.0.0.2) with Pod r1 (10.244.1.2); n2 reaches c1 directly (10.3.0.0/24),
# so r1's replies to c1 do not pass node-1.
ns n2; link - n2h 10.0.0.1/24 n2 eth0 10.0.0.2/24
ns r1; link n2 pod0 10.244.1.1/24 r1 eth0 10.244.1.2/24
link n2 c1l 10.3.0.1/24 c1 eth1 10.3.0.2/24
$IP netns exec n2 sysctl -qw net.ipv4.ip_forward=1
$IP -n r1 route add default via 10.244.1.1
$IP -n n2 route add 10.1.0.0/24 via 10.3.0.2
$IP -n n2 route add default via 10.0.0.1
$IP route add 10.244.1.0/24 via 10.0.0.2
serve r1 r1

# A table made by hand: never touched by the agent.
nft -f - <<'NFT'
table inet mine {
	set keep { type ipv4_addr; elements = { 198.51.100.1 } }
	chain c { type filter hook input priority 10; policy accept; ip saddr 192.0.2.1 drop; }
}
NFT
nft list table inet mine > /out/mine_before.txt

# checks PHASE: every traffic point, answers to /out/PHASE_*.txt.
checks() {
  fetch c1 http://10.1.0.1:30081/ > /out/$1_nodeport_remote.txt
  fetch b1 http://10.96.0.22/ > /out/$1_hairpin.txt
  fetch c1 http://10.1.0.1:30082/cgi-bin/peer > /out/$1_etp_cluster_peer.txt
  fetch c1 http://10.1.0.1:30083/cgi-bin/peer > /out/$1_etp_local_peer.txt
  fetch c1 http://10.96.0.22/cgi-bin/peer > /out/$1_clusterip_c1_peer.txt
  fetch b2 http://10.96.0.22/cgi-bin/peer > /out/$1_clusterip_b2_peer.txt
  fetch c1 http://10.5.0.100/ > /out/$1_lb_c1.txt
  fetch c2 http://10.5.0.100/ > /out/$1_lb_c2.txt
}

# The sysctls kube-proxy's IPVS mode sets, before the agent's first start and at the end.
sysctls() {
  for k in net/ipv4/vs/conntrack net/ipv4/vs/expire_nodest_conn \
    net/ipv4/vs/expire_quiescent_template net/ipv4/ip_forward net/ipv4/vs/conn_reuse_mode; do
    echo "$k $(cat /proc/sys/$k)"
  done
}
sysctls > /out/sysctls_before.txt
$A agent --once --nftables=false $NODE -f $M 2>/out/off.log || echo "agent (off) failed"
nft list tables > /out/off_tables.txt
checks off
$A agent --once $NODE -f $M 2>/out/on.log || echo "agent (on) failed"
nft list tables > /out/on_tables.txt
checks on
arp() { echo "$(cat /proc/sys/net/ipv4/conf/all/arp_ignore) $(cat /proc/sys/net/ipv4/conf/all/arp_announce)"; }
arp > /out/arp_before.txt
$A agent --once $NODE --cluster-cidr 10.244.0.0/16 --ipvs-strict-arp -f $M 2>/out/cidr.log || echo "agent (cidr) failed"
arp > /out/arp_strict.txt
checks cidr

# kill -9 in the middle of a large sync, then a restart: the table converges (to what nft -f
# of `plan -o nftables-ipvs` gives in a fresh namespace).
mkdir -p /big && cp $M /big/nf.yaml
i=0
while [ $i -lt 2500 ]; do
  printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d}\nspec:\n  selector: {app: peer}\n  ports: [{port: 80}]\n' $i
  i=$((i + 1))
done > /big/many.yaml
F="$NODE --cluster-cidr 10.244.0.0/16 -f /big"
$A plan $F -o nftables-ipvs > /tmp/plan.nft
ns ref && $IP netns exec ref nft -f /tmp/plan.nft && $IP netns exec ref nft list table ip svcroute > /out/ref.txt
nft list table ip svcroute > /out/before_kill.txt
$A plan $F -o ipvsadm > /tmp/plan.ipvs
# First kill while the IPVS half is being sent, the second once it is all in the kernel: while
# the netfilter batch is being built or sent (or just after).
$A agent --once $F 2>/out/kill1.log &
P=$!
n=0
while [ "$n" -lt 3000 ] && [ "$(ipvsadm -S -n | wc -l)" -lt 10 ]; do n=$((n + 1)); done
kill -9 $P
wait $P 2>/dev/null
nft list table ip svcroute > /out/after_kill1.txt
$A agent --once $F 2>/out/kill2.log &
P=$!
want=$(wc -l < /tmp/plan.ipvs)
n=0
while [ "$n" -lt 3000 ] && [ "$(ipvsadm -S -n | wc -l)" -lt "$want" ]; do n=$((n + 1)); done
kill -9 $P
wait $P 2>/dev/null
nft list table ip svcroute > /out/after_kill2.txt
$A agent --once $F 2>/out/restart.log || echo "restart failed"
nft list table ip svcroute > /out/restarted.txt

# Hand edits repaired at the next resync of a running agent.
$A agent $F --sync-period 2s --watch-interval-ms 200 2>/out/agent.log &
P=$!
syncs() { grep -c 'sync: sent' /out/agent.log; }
n=0; while [ "$n" -lt 300 ] && [ "$(syncs)" -lt 1 ]; do n=$((n + 1)); sleep 0.2; done
nft delete element ip svcroute cluster-ip '{ 10.96.0.22 . tcp . 80 }'
nft add element ip svcroute cluster-ip '{ 10.96.9.9 . udp . 9 }'
nft add rule ip svcroute services drop
nft list table ip svcroute > /out/tampered.txt
s=$(syncs)
n=0; while [ "$n" -lt 300 ] && [ "$(syncs)" -lt $((s + 2)) ]; do n=$((n + 1)); sleep 0.2; done
nft list table ip svcroute > /out/repaired.txt
kill $P; wait $P

$A agent --cleanup $F 2>/out/cleanup.log || echo "cleanup failed"
nft list tables > /out/cleanup_tables.txt
nft list table inet mine > /out/mine_after.txt

# Conntrack cleanup (kube-proxy's conntrack reconciler): a UDP Pod goes away; the next datagram
# from the same client address and port must reach the live Pod, through the ClusterIP and
# through the NodePort. Once with --conntrack-cleanup=false, then with the cleanup. Besides the
# entries of real traffic (which Linux >= 5.9 also expires itself with expire_nodest_conn=1,
# racing the agent), one entry IPVS does not hold is made by hand (a flow to the ClusterIP
# answered by the Pod that goes): only the agent's cleanup deletes it.
U=/data/udp_probe
for p in u1:10.244.0.4 u2:10.244.0.5; do
  n=${p%%:*}; a=${p#*:}
  ns "$n"
  $IP link add "v$n" type veth peer name eth0 netns "$n"
  $IP link set "v$n" master br0 up
  $IP -n "$n" addr add "$a/24" dev eth0 && $IP -n "$n" link set eth0 up
  $IP -n "$n" route add default via 10.244.0.1
done
pod() {
  printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: default, labels: {app: dns}}\nspec: {nodeName: node-1, containers: [{name: c, image: busybox}]}\nstatus: {phase: Running, podIP: %s, conditions: [{type: Ready, status: "True"}]}\n' "$1" "$2"
}
ip_of() { if [ "$1" = u1 ]; then echo 10.244.0.4; else echo 10.244.0.5; fi; }
other() { if [ "$1" = u1 ]; then echo u2; else echo u1; fi; }
ask() { $IP netns exec c1 $U ask 10.1.0.2 "$1" "$2" "$3"; }
mkdir -p /udp
# udp_phase PHASE CLEANUP SPORT
udp_phase() {
  ph=$1; log=/out/udp_$ph.log
  $IP netns exec u1 $U serve 5353 u1 & S_u1=$!
  $IP netns exec u2 $U serve 5353 u2 & S_u2=$!
  { cat /data/udp.yaml; pod u1 10.244.0.4; pod u2 10.244.0.5; } > /udp/c.yaml
  $A agent $NODE -f /udp --conntrack-cleanup="$2" --sync-period 1h --watch-interval-ms 200 -v 2>"$log" &
  P=$!
  n=0; while [ "$n" -lt 300 ] && [ "$(grep -c 'sync: sent' "$log")" -lt 1 ]; do n=$((n + 1)); sleep 0.2; done
  # Warm-up from other ports (round robin: both Pods): the first datagrams after the Pods'
  # namespaces are made can be lost while their neighbours resolve.
  ask $(($3 + 90)) 10.96.0.30 53 > /dev/null; ask $(($3 + 91)) 10.96.0.30 53 > /dev/null
  x=$(ask "$3" 10.96.0.30 53); echo "$x" > "/out/udp_${ph}_first.txt"
  # NodePort: new source ports until one lands on the same Pod (each has its own round robin).
  np=$(($3 + 1)); i=0
  while [ "$i" -lt 6 ] && [ "$(ask "$np" 10.1.0.1 30053)" != "$x" ]; do np=$((np + 1)); i=$((i + 1)); done
  h=$(($3 + 50))
  conntrack -I -p udp -t 120 -s 10.1.0.2 -d 10.96.0.30 --sport $h --dport 53 -r "$(ip_of "$x")" \
    -q 10.1.0.2 --reply-port-src 5353 --reply-port-dst $h > /dev/null 2>&1 || echo "conntrack -I failed"
  conntrack -L -p udp > "/out/udp_${ph}_ct_before.txt" 2>&1
  # The Pod goes: its process ends and it leaves the manifest.
  if [ "$x" = u1 ]; then kill $S_u1; else kill $S_u2; fi
  y=$(other "$x")
  { cat /data/udp.yaml; pod "$y" "$(ip_of "$y")"; } > /udp/c.tmp && mv /udp/c.tmp /udp/c.yaml
  s=$(grep -c 'sync: sent' "$log")
  n=0; while [ "$n" -lt 300 ] && [ "$(grep -c 'sync: sent' "$log")" -le "$s" ]; do n=$((n + 1)); sleep 0.2; done
  sleep 1
  conntrack -L -p udp > "/out/udp_${ph}_ct_after.txt" 2>&1
  grep -c "sport=$h " "/out/udp_${ph}_ct_after.txt" > "/out/udp_${ph}_handmade.txt"
  echo "$y" > "/out/udp_${ph}_live.txt"
  ask "$3" 10.96.0.30 53 > "/out/udp_${ph}_next.txt"
  ask "$np" 10.1.0.1 30053 > "/out/udp_${ph}_np_next.txt"
  ask "$3" 10.96.0.30 53 > "/out/udp_${ph}_again.txt"
  kill $P; wait $P
  kill $S_u1 $S_u2 2>/dev/null
  wait $S_u1 $S_u2 2>/dev/null
}
udp_phase off false 40000
udp_phase on true 42000
sysctls > /out/sysctls_after.txt
