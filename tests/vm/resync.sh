# Rules changed by hand are repaired at the next resync; virtual servers on addresses the agent
# does not own are never touched; a broken manifest keeps the last good plan in the kernel.
. /data/net.sh
mkdir -p /m && sed 's/POD3_READY/True/' /data/cluster.yaml > /m/cluster.yaml
$A plan -f /m -o ipvsadm > /out/plan.txt
# Foreign rules, before the agent starts: an address nobody binds, and a node address off the
# NodePort range.
ipvsadm -A -t 192.0.2.1:80 -s rr && ipvsadm -a -t 192.0.2.1:80 -r 10.244.0.2:80 -m
ipvsadm -A -t 10.1.0.1:8080 -s wrr
$A agent -f /m --sync-period 2s --watch-interval-ms 200 2>/out/agent.log &
AGENT=$!
wait_for 100 grep -q 'sync: sent' /out/agent.log || { echo "agent did not sync"; kill $AGENT; exit 1; }
ipvsadm -S -n > /out/converged.txt
# By hand: delete a real server, change a scheduler, drop a weight, add a stray real server.
ipvsadm -d -t 10.96.0.10:80 -r 10.244.0.2:80
ipvsadm -E -t 10.96.0.11:80 -s wrr
ipvsadm -e -t 10.1.0.1:30080 -r 10.244.0.2:80 -m -w 5
ipvsadm -a -t 10.96.0.12:80 -r 10.244.0.9:80 -m
ipvsadm -S -n > /out/tampered.txt
before=$(syncs)
wait_for 50 synced_since "$before" || echo "no resync"
grep 'sync: sent' /out/agent.log | tail -1 > /out/repair_sync.txt
ipvsadm -S -n > /out/repaired.txt
# A broken manifest: an error is logged, the table stays.
before=$(syncs)
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec:\n  selectpr: {app: web}\n  ports: [{port: 80}]\n' > /m/broken.yaml
wait_for 50 grep -q 'keeping the last good plan' /out/agent.log || echo "no error logged"
wait_for 50 synced_since "$before" || echo "no resync after the broken manifest"
ipvsadm -S -n > /out/after_broken.txt
for i in 1 2 3; do fetch c1 http://10.96.0.10/; done > /out/rr_broken.txt
kill $AGENT
