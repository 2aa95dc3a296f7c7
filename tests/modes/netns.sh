#!/bin/sh
# Run by tests/proxy_modes_kernel.rs inside `unshare --mount --propagation private`: builds a
# node, a client and one namespace per Pod under a private /run/netns (nothing outlives the
# mount namespace), loads a kube-proxy mode's rules into the node and sends connections.
# Usage: netns.sh MODE RULES POD_IPS CONNECTIONS... where MODE is iptables or nftables and each
# CONNECTION is TARGET:PORT:COUNT. Prints "TARGET:PORT ANSWER" per connection.
set -eu
MODE=$1 RULES=$2 PODS=$3
shift 3
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
mkdir -p /run/netns
mount -t tmpfs tmpfs /run/netns
ip netns add node
ip netns add client
N="ip netns exec node"
$N ip link set lo up
$N sysctl -qw net.ipv4.ip_forward=1
# A default route, as a node has: a Service address without endpoints is then forwarded (and
# rejected by kube-proxy's filter rules) rather than unroutable.
$N ip link add up0 type veth peer name up1
$N ip link set up1 up
$N ip addr add 198.51.100.1/24 dev up0
$N ip link set up0 up
$N ip route add default via 198.51.100.254
$N ip link add br0 type bridge
$N ip addr add 10.244.1.1/24 dev br0
$N ip link set br0 up
ip link add c0 netns client type veth peer name n0 netns node
$N ip addr add 192.168.0.2/24 dev n0
$N ip link set n0 up
ip netns exec client ip link set lo up
ip netns exec client ip addr add 192.168.0.10/24 dev c0
ip netns exec client ip link set c0 up
ip netns exec client ip route add default via 192.168.0.2
i=0
for ip in $PODS; do
  i=$((i + 1))
  ip netns add "pod$i"
  ip link add eth0 netns "pod$i" type veth peer name "v$i" netns node
  $N ip link set "v$i" master br0 up
  ip netns exec "pod$i" ip link set lo up
  ip netns exec "pod$i" ip addr add "$ip/24" dev eth0
  ip netns exec "pod$i" ip link set eth0 up
  ip netns exec "pod$i" ip route add default via 10.244.1.1
  # Answers every connection with its own address; ends itself after 120 s at the latest.
  ip netns exec "pod$i" python3 -c '
import signal, socket, sys
signal.alarm(120)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080))
s.listen(128)
while True:
    c, _ = s.accept()
    c.sendall(sys.argv[1].encode())
    c.close()
' "$ip" &
  PIDS="$PIDS $!"
done
case $MODE in
  iptables)
    $N nfacct add ct_state_invalid_dropped_pkts
    $N nfacct add localhost_nps_accepted_pkts
    $N iptables-restore < "$RULES"
    $N iptables-save | grep -v '^#' > "$RULES.saved"
    ;;
  nftables)
    $N nft -f "$RULES"
    ;;
esac
# Wait (bounded) until every Pod listens.
for ip in $PODS; do
  n=0
  until ip netns exec client python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], 8080), 1).close()' "$ip" 2>/dev/null; do
    n=$((n + 1)); [ "$n" -lt 50 ] || { echo "pod $ip never listened" >&2; exit 1; }
    sleep 0.1
  done
done
ip netns exec client python3 -c '
import socket, sys
for spec in sys.argv[1:]:
    host, port, count = spec.rsplit(":", 2)
    for _ in range(int(count)):
        try:
            c = socket.create_connection((host, int(port)), 2)
            c.settimeout(2)
            answer = c.recv(64).decode() or "EMPTY"
            c.close()
        except OSError as e:
            answer = "ERR:" + type(e).__name__
        print(host + ":" + port, answer)
' "$@"
