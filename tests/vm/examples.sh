# The seed's examples applied by `agent --once`; then a second run and a dry run find nothing.
A=/data/svcroute
$A plan -f /data/examples -o ipvsadm > /out/plan.txt
$A plan -f /data/examples -o json > /out/plan.json
$A agent --once -f /data/examples 2>/out/agent1.log || echo "first run failed"
echo "$(cut -d' ' -f1 /proc/uptime) s after boot" > /out/converged_at.txt
ipvsadm -S -n > /out/kernel.txt
/sbin/ip -o addr show dev kube-ipvs0 > /out/addresses.txt
for f in vs/conntrack vs/expire_nodest_conn vs/expire_quiescent_template ip_forward; do
  echo "$f=$(cat /proc/sys/net/ipv4/$f)"
done > /out/sysctl.txt
$A agent --once -f /data/examples 2>/out/agent2.log || echo "second run failed"
# IPVS only: a full sync always replaces the nftables tables, which a dry run prints.
$A agent --once --dry-run --nftables=false -f /data/examples > /out/dry_run.txt 2>/out/agent3.log
