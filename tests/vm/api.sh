# Issue 9: the agent follows a fake API server (svcroute-kube-fake, inside the VM on loopback);
# the kernel's table is read after each step: the first list, an endpoint turning not ready, a
# Service added, the same Service deleted; then SIGTERM.
. /data/net.sh
$IP link set lo up
/data/svcroute-kube-fake --listen 127.0.0.1:6443 --seed /data/api/seed.json \
  --bookmark-interval 1 > /out/fake.txt 2>&1 &
FAKE=$!
wait_for 100 grep -q listening /out/fake.txt || { echo "the fake did not start"; exit 1; }
$A agent --master http://127.0.0.1:6443 --hostname-override node-a --ipvs-min-sync-period 0 \
  --healthz-bind-address 127.0.0.1:10256 -v 2>/out/agent.log &
AGENT=$!
synced() { [ "$(grep -c ' sync ' /out/agent.log)" -ge "$1" ]; }
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
/sbin/ip -o addr show dev kube-ipvs0 > /out/addresses.txt
kill -TERM $AGENT; wait $AGENT; echo $? > /out/term_rc.txt
kill $FAKE
