# kill -9 of the agent in the middle of applying a large plan, then a restart.
A=/data/svcroute
$A plan -f /data/big.yaml -o ipvsadm > /out/plan.txt
$A agent --once -f /data/big.yaml 2>/out/agent1.log &
P=$!
# Poll until the first buffer of requests has landed (bounded), then kill.
n=0
while [ "$n" -lt 2000 ] && [ "$(ipvsadm -Ln | wc -l)" -lt 10 ]; do n=$((n + 1)); done
kill -9 $P
wait $P 2>/dev/null
ipvsadm -S -n > /out/killed.txt
# IPVS only: a dry run also prints the nftables tables a full sync replaces.
$A agent --once --dry-run --nftables=false -f /data/big.yaml > /out/remaining.txt 2>/out/agent2.log
$A agent --once -f /data/big.yaml 2>/out/agent3.log || echo "restart failed"
ipvsadm -S -n > /out/final.txt
