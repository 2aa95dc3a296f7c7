# The agent's life (issues 8 and 9): --interface lo or a veth refused, two agents, SIGTERM
# mid-run and in the middle of a large sync, --cleanup.
. /data/net.sh
mkdir -p /m && sed 's/POD3_READY/True/' /data/cluster.yaml > /m/cluster.yaml
cp /data/ext.yaml /m/ext.yaml
F="-f /m/cluster.yaml -f /m/ext.yaml"

# --interface lo / a veth: refused before anything is changed; the node's addresses stay.
/sbin/ip -o addr show dev lo > /out/lo_before.txt
$A agent --once $F --interface lo 2>/out/lo.log; echo $? > /out/lo_rc.txt
/sbin/ip -o addr show dev lo > /out/lo_after.txt
/sbin/ip -o addr show dev c1h > /out/c1h_before.txt
$A agent $F --interface c1h 2>/out/veth.log; echo $? > /out/veth_rc.txt
/sbin/ip -o addr show dev c1h > /out/c1h_after.txt
ipvsadm -S -n > /out/after_refused_interfaces.txt

# Two agents: the second exits with an error naming the first; so does --cleanup meanwhile.
ipvsadm -A -t 10.1.0.1:8080 -s wrr
$A plan $F -o ipvsadm > /out/plan.txt
$A agent $F --sync-period 2s --watch-interval-ms 200 2>/out/agent.log &
AGENT=$!
wait_for 100 grep -q 'sync: sent' /out/agent.log || { echo "agent did not sync"; kill $AGENT; exit 1; }
echo $AGENT > /out/agent_pid.txt
$A agent $F 2>/out/second.log; echo $? > /out/second_rc.txt
$A agent --cleanup 2>/out/cleanup_running.log; echo $? > /out/cleanup_running_rc.txt
ipvsadm -S -n > /out/running.txt

# SIGTERM: exit 0, the kernel left as it is.
kill -TERM $AGENT; wait $AGENT; echo $? > /out/term_rc.txt
ipvsadm -S -n > /out/after_term.txt
/sbin/ip -o addr show dev kube-ipvs0 > /out/addr_after_term.txt 2>&1

# --cleanup: the agent's virtual servers, interface and addresses go; the foreign virtual
# server and the node's address stay.
$A agent --cleanup $F 2>/out/cleanup.log; echo $? > /out/cleanup_rc.txt
ipvsadm -S -n > /out/after_cleanup.txt
/sbin/ip link show kube-ipvs0 > /out/link_after_cleanup.txt 2>&1
/sbin/ip -o addr show dev c1h > /out/c1h_after_cleanup.txt

# SIGTERM in the middle of a large first sync: the sync finishes, then exit 0.
$A plan -f /data/big.yaml -o ipvsadm > /out/big_plan.txt
$A agent -f /data/big.yaml 2>/out/big.log &
BIG=$!
n=0
lines=0
while [ "$n" -lt 5000 ]; do
  lines=$(ipvsadm -Ln | wc -l)
  [ "$lines" -ge 10 ] && break
  n=$((n + 1))
done
kill -TERM $BIG
echo "$lines" > /out/big_lines_at_term.txt
wait $BIG; echo $? > /out/big_term_rc.txt
ipvsadm -S -n > /out/big_after_term.txt
