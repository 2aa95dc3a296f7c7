# Sourced by the agent's VM scripts: the network of tests/vm/cluster.yaml.
# br0 (10.244.0.1/24) bridges the backends b1 b2 b3 (10.244.0.2-4, busybox httpd answering
# their name); clients c1 (10.1.0.2, host side 10.1.0.1 = the Node's InternalIP) and c2
# (10.2.0.2) each sit behind their own veth, so replies of the backends route through the node.
IP=/sbin/ip
A=/data/svcroute
$IP link add br0 type bridge
$IP addr add 10.244.0.1/24 dev br0
$IP link set br0 up
for i in 1 2 3; do
  $IP netns add b$i
  $IP link add vb$i type veth peer name eth0 netns b$i
  $IP link set vb$i master br0 up
  $IP -n b$i addr add 10.244.0.$((i + 1))/24 dev eth0
  $IP -n b$i link set eth0 up
  $IP -n b$i link set lo up
  $IP -n b$i route add default via 10.244.0.1
  mkdir -p /www/b$i && echo b$i > /www/b$i/index.html
  $IP netns exec b$i httpd -p 80 -h /www/b$i
done
for c in 1 2; do
  $IP netns add c$c
  $IP link add c${c}h type veth peer name eth0 netns c$c
  $IP addr add 10.$c.0.1/24 dev c${c}h
  $IP link set c${c}h up
  $IP -n c$c addr add 10.$c.0.2/24 dev eth0
  $IP -n c$c link set eth0 up
  $IP -n c$c link set lo up
  $IP -n c$c route add default via 10.$c.0.1
done

# fetch CLIENT URL: one HTTP GET from a client namespace; prints the backend's name or "none".
fetch() {
  $IP netns exec "$1" timeout 5 wget -q -O - "$2" 2>/dev/null || echo none
}

# wait_for N CMD...: runs CMD every 0.2 s until it succeeds, at most N times.
wait_for() {
  n=$1; shift
  while [ "$n" -gt 0 ]; do
    "$@" && return 0
    n=$((n - 1))
    sleep 0.2
  done
  return 1
}

# syncs: how many syncs the agent logged so far.
syncs() { grep -c 'sync: sent' /out/agent.log; }
# synced_since N: the agent logged more than N syncs.
synced_since() { [ "$(syncs)" -gt "$1" ]; }
