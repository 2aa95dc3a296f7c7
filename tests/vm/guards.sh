# The agent's guards (issue 8) with one running agent: sysctls only after a good manifest, an
# externalIP equal to the node's address, a truncated and an empty manifest mid-run, a manifest
# turned into a directory and a FIFO, a same-size edit that keeps the mtime, kube-ipvs0 deleted,
# an address removed and sysctls reset by hand.
. /data/net.sh
mkdir -p /m && sed 's/POD3_READY/True/' /data/cluster.yaml > /m/cluster.yaml
cp /data/ext.yaml /m/ext.yaml
F="-f /m/cluster.yaml -f /m/ext.yaml"
errors() { grep -c 'keeping the last good plan' /out/agent.log; }
errors_since() { [ "$(errors)" -gt "$1" ]; }
refusals() { grep -c 'refusing a plan' /out/agent.log; }
refusals_since() { [ "$(refusals)" -gt "$1" ]; }
snap() {
  ipvsadm -S -n > "/out/$1.txt"
  /sbin/ip -o addr show dev kube-ipvs0 > "/out/$1.addr" 2>&1
}

# Sysctls are written only once a manifest has loaded: a broken one leaves them as they are.
echo 0 > /proc/sys/net/ipv4/ip_forward
echo 0 > /proc/sys/net/ipv4/vs/conntrack
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec:\n  selectpr: {app: web}\n' > /tmp/bad.yaml
$A agent --once -f /tmp/bad.yaml 2>/out/bad_once.log && echo "a broken manifest was applied"
echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward) conntrack=$(cat /proc/sys/net/ipv4/vs/conntrack)" > /out/sysctl_after_bad.txt

# A foreign virtual server on the node's address (10.1.0.1: ext's externalIP), off the NodePort range.
ipvsadm -A -t 10.1.0.1:8080 -s wrr
$A plan $F -o ipvsadm > /out/plan.txt
$A agent $F --sync-period 2s --watch-interval-ms 200 2>/out/agent.log &
AGENT=$!
wait_for 100 grep -q 'sync: sent' /out/agent.log || { echo "agent did not sync"; kill $AGENT; exit 1; }
snap converged
echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward) conntrack=$(cat /proc/sys/net/ipv4/vs/conntrack)" > /out/sysctl_running.txt
/sbin/ip -o addr show dev c1h > /out/node_addr.txt

# Truncated mid-run: only the Node is left of cluster.yaml. Most would go: refused.
r=$(refusals)
awk '/^---/{c++} c<1' /m/cluster.yaml > /tmp/trunc.yaml
cat /tmp/trunc.yaml > /m/cluster.yaml
wait_for 50 refusals_since "$r" || echo "truncated manifest not refused"
snap truncated
# Empty (a shell's > caught before the write): refused.
e=$(errors)
: > /m/cluster.yaml; : > /m/ext.yaml
wait_for 50 errors_since "$e" || echo "empty manifest not reported"
snap empty
# Back to the good manifests: a sync that goes through (nothing to do).
before=$(syncs)
sed 's/POD3_READY/True/' /data/cluster.yaml > /m/cluster.yaml
cp /data/ext.yaml /m/ext.yaml
wait_for 50 synced_since "$before" || echo "restore not synced"
grep 'sync: sent' /out/agent.log | tail -1 > /out/restore_sync.txt
# A manifest turned into a directory, then into a FIFO: reported, the loop goes on.
e=$(errors)
rm /m/ext.yaml && mkdir /m/ext.yaml
wait_for 50 errors_since "$e" || echo "directory not reported"
snap directory
e=$(errors)
rmdir /m/ext.yaml && mkfifo /m/ext.yaml
wait_for 50 errors_since "$e" || echo "FIFO not reported"
snap fifo
# Still polling: the FIFO replaced by ext on port 9091 is applied.
before=$(syncs)
rm /m/ext.yaml && sed 's/port: 9090/port: 9091/' /data/ext.yaml > /m/ext.yaml
wait_for 50 grep -q 'port: 9091' /m/ext.yaml
wait_for 50 synced_since "$before" || echo "no sync after the FIFO"
wait_for 25 sh -c 'ipvsadm -Ln | grep -q 10.1.0.1:9091' || echo "9091 not applied"
snap after_fifo

# A same-size edit that keeps the mtime (cp -p): sticky's ClusterIP 10.96.0.11 -> .19.
# (busybox's touch -r drops the nanoseconds: both files get the same whole-second mtime, and the
# agent takes the touched original, same content, before the copy.)
T='2026-01-01 00:00:00'
sed 's/10.96.0.11/10.96.0.19/' /m/cluster.yaml > /tmp/new.yaml
t=$(grep -c 'content is the same' /out/agent.log)
touch -d "$T" /m/cluster.yaml /tmp/new.yaml
wait_for 50 sh -c "[ \$(grep -c 'content is the same' /out/agent.log) -gt $t ]" || echo "touch not seen"
stat -c '%s %y' /m/cluster.yaml > /out/stat_before.txt
cp -p /tmp/new.yaml /m/cluster.yaml
stat -c '%s %y' /m/cluster.yaml > /out/stat_after.txt
wait_for 50 grep -q 'seen by content' /out/agent.log || echo "same-size edit not seen"
wait_for 25 sh -c 'ipvsadm -Ln | grep -q 10.96.0.19:80' || echo "same-size edit not applied"
$A plan -f /m/cluster.yaml -f /m/ext.yaml -o ipvsadm > /out/plan2.txt
snap same_size

# kube-ipvs0 deleted by hand: recreated with its addresses at the next resync.
before=$(syncs)
/sbin/ip link del kube-ipvs0
wait_for 50 synced_since "$before" || echo "no resync after the link deletion"
wait_for 25 sh -c '/sbin/ip -o addr show dev kube-ipvs0 | grep -q 10.96.0.13' || echo "addresses not back"
snap relinked
# An address removed and sysctls reset by hand: repaired at the next resync.
before=$(syncs)
/sbin/ip addr del 10.96.0.10/32 dev kube-ipvs0
echo 0 > /proc/sys/net/ipv4/ip_forward
echo 0 > /proc/sys/net/ipv4/vs/expire_nodest_conn
wait_for 50 synced_since "$before" || echo "no resync after the hand edits"
wait_for 25 sh -c '/sbin/ip -o addr show dev kube-ipvs0 | grep -q 10.96.0.10/' || echo "address not back"
snap repaired
for f in vs/conntrack vs/expire_nodest_conn vs/expire_quiescent_template ip_forward; do
  echo "$f=$(cat /proc/sys/net/ipv4/$f)"
done > /out/sysctl_repaired.txt
kill $AGENT
wait $AGENT
echo $? > /out/agent_rc.txt
