# Round robin, session affinity, NodePort, and a Pod turning not ready, with a running agent.
. /data/net.sh
mkdir -p /m && sed 's/POD3_READY/True/' /data/cluster.yaml > /m/cluster.yaml
$A agent -f /m --sync-period 30s --watch-interval-ms 200 2>/out/agent.log &
AGENT=$!
wait_for 100 grep -q 'sync: sent' /out/agent.log || { echo "agent did not sync"; kill $AGENT; exit 1; }
ipvsadm -Ln > /out/table.txt
for i in 1 2 3 4 5 6; do fetch c1 http://10.96.0.10/; done > /out/rr.txt
for i in 1 2 3 4; do fetch c1 http://10.96.0.11/; done > /out/sticky_c1.txt
for i in 1 2 3 4; do fetch c2 http://10.96.0.11/; done > /out/sticky_c2.txt
for i in 1 2 3 4; do fetch c1 http://10.1.0.1:30080/; done > /out/nodeport.txt
# b3 turns not ready: the agent notices the file change and sends one operation.
before=$(syncs)
sed 's/POD3_READY/False/' /data/cluster.yaml > /m/cluster.yaml.tmp && mv /m/cluster.yaml.tmp /m/cluster.yaml
wait_for 100 synced_since "$before" || echo "no sync after the change"
grep 'sync: sent' /out/agent.log | tail -1 > /out/notready_sync.txt
ipvsadm -Ln > /out/table_notready.txt
for i in 1 2 3 4 5 6; do fetch c1 http://10.96.0.10/; done > /out/rr_notready.txt
kill $AGENT
