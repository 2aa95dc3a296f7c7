# Issue 9: the agent follows a fake API server (svcroute-kube-fake, inside the VM on loopback);
# the kernel's table is read after each step: the first list, an endpoint turning not ready, a
# Service added, the same Service deleted, a forced 410 re-list (etcd compaction, watches cut),
# the API server killed; then SIGTERM. The fake logs when each watch stream sends events
# (fake.log), the agent when each sync has sent its operations (agent.log): the time from a
# watch event to the kernel operation.
. /data/net.sh
$IP link set lo up
/data/svcroute-kube-fake --listen 127.0.0.1:6443 --seed /data/api/seed.json \
  --bookmark-interval 1 --log-events > /out/fake.txt 2>/out/fake.log &
FAKE=$!
wait_for 100 grep -q listening /out/fake.txt || { echo "the fake did not start"; exit 1; }
$A agent --master http://127.0.0.1:6443 --hostname-override node-a --ipvs-min-sync-period 0 \
  --ipvs-sync-period 1h --healthz-bind-address 127.0.0.1:10256 \
  --metrics-bind-address 127.0.0.1:10249 -v 2>/out/agent.log &
AGENT=$!
nsyncs() { grep -c ' sync ' /out/agent.log; }
synced() { [ "$(nsyncs)" -ge "$1" ]; }
post() { timeout 10 wget -q -O /dev/null --post-file "$1" "http://127.0.0.1:6443/fake/$2"; }
step() {
  wait_for 300 synced "$1" || { echo "no sync $1"; kill $AGENT; exit 1; }
  ipvsadm -S -n > "/out/step$1.txt"
}
step 1
post /data/api/not-ready.json apply
step 2
post /data/api/dns.json apply
step 3
post /data/api/dns.json delete
step 4
# etcd compacts and the watches are cut: they resume from a version now too old, get an ERROR
# 410 inside a 200 stream, and list again (three InitDone events). Nothing changes.
relists() { grep -c 'change="InitDone"' /out/agent.log; }
relisted() { [ "$(relists)" -ge "$1" ]; }
before=$(relists)
echo '{}' > /tmp/empty.json
post /tmp/empty.json compact
post /tmp/empty.json drop
wait_for 300 relisted $((before + 3)) || { echo "no re-list after the 410"; exit 1; }
sleep 1
nsyncs > /out/syncs_after_relist.txt
ipvsadm -S -n > /out/after_relist.txt
# The API server dies: the watches fail and retry; the kernel stays as it is.
kill $FAKE; wait $FAKE
wait_for 300 grep -q 'watch:' /out/agent.log || { echo "no watch error after the kill"; exit 1; }
sleep 2
nsyncs > /out/syncs_after_kill.txt
ipvsadm -S -n > /out/after_kill.txt
timeout 5 wget -q -O /out/metrics.txt http://127.0.0.1:10249/metrics
/sbin/ip -o addr show dev kube-ipvs0 > /out/addresses.txt
kill -TERM $AGENT; wait $AGENT; echo $? > /out/term_rc.txt
