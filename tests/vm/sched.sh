# The kernel's schedulers, for tests/sched_kernel.rs (run by `cargo xtask vm test-sched`).
# For each scheduler in /data/sched/schedulers: the agent programs the Service of
# /data/sched.yaml on its own ClusterIP (/data/sched/S/vip), then sched_probe (client) opens the
# connections of /data/sched/S/plan.txt from many (address, port) pairs in client namespaces c1
# and c2, in order, in three phases:
#   base     the five real servers as the agent programs them;
#   removed  the real server that took the last connection is deleted (ipvsadm -d, as kube-proxy
#            does once its connections are gone) and its Pod leaves the Service;
#   drained  the first real server in the list with connections has its Pod turn not ready: the
#            agent drains it to weight 0 (kube-proxy's graceful termination);
#   added    a new Pod (b6) joins the Service: the kernel puts its real server at the head of
#            the list. One connection comes again from the address and port of a closed
#            connection of the base phase, whose entry is in TIME_WAIT.
# Traces under /out/sched/S/: conns.txt (the client's view), events.txt, ln-*.txt (ipvsadm -Ln
# --nosort of the virtual server: ipvsadm sorts real servers by address unless told not to, and
# the kernel's list order is what the schedulers walk) and lnc-*.txt (ipvsadm -Lnc: the kernel's
# choice for every connection).
IP=/sbin/ip
A=/data/svcroute
P=/data/sched_probe
O=/out/sched
mkdir -p $O /m /tmp/sync
# A refused connection is answered with ICMP port unreachable: never rate-limit it.
echo 0 > /proc/sys/net/ipv4/icmp_ratelimit

$IP link add br0 type bridge
$IP addr add 10.244.0.1/24 dev br0
$IP link set br0 up
BACKENDS=""
for i in 1 2 3 4 5 6; do
  $IP netns add b$i
  $IP link add vb$i type veth peer name eth0 netns b$i
  $IP link set vb$i master br0 up
  $IP -n b$i addr add 10.244.0.$((i + 1))/24 dev eth0
  $IP -n b$i link set eth0 up
  $IP -n b$i link set lo up
  $IP -n b$i route add default via 10.244.0.1
  BACKENDS="$BACKENDS b$i:10.244.0.$((i + 1)):80"
done
for c in 1 2; do
  $IP netns add c$c
  $IP link add c${c}h type veth peer name eth0 netns c$c
  $IP addr add 10.$c.0.1/16 dev c${c}h
  $IP link set c${c}h up
  for a in $(cat /data/sched/clients-c$c.txt); do $IP -n c$c addr add $a/16 dev eth0; done
  $IP -n c$c link set eth0 up
  $IP -n c$c link set lo up
  $IP -n c$c route add default via 10.$c.0.1
  # A source port whose connection the client closed (TIME_WAIT here) may be used again.
  $IP netns exec c$c sh -c 'echo 1 > /proc/sys/net/ipv4/tcp_tw_reuse'
done
NSDIR=
for d in /run/netns /var/run/netns; do [ -e $d/b1 ] && NSDIR=$d && break; done
[ -n "$NSDIR" ] || { echo "no netns directory"; exit 1; }

$P serve $NSDIR $BACKENDS 2>$O/server.err &
SERVER=$!

up() { cut -d' ' -f1 /proc/uptime; }

# render VIP GONE NOTREADY LATE: the manifest with Pod GONE out of the Service, Pod NOTREADY
# not ready ("-" for none) and b6's app label LATE. tests/sched_kernel.rs renders the same way.
render() {
  sed -e "s/VIP/$1/" -e "s/APP_$2}/gone}/" -e 's/APP_b[0-9]}/probe}/' -e "s/APP_LATE}/$4}/" \
    -e "s/\"READY_$3\"/\"False\"/" -e 's/"READY_b[0-9]"/"True"/' /data/sched.yaml
}

# program S VIP GONE NOTREADY LATE PHASE: the agent applies the manifest once. Each scheduler's
# Service has a new ClusterIP, so its first run deletes the previous scheduler's virtual server:
# all the agent owns, which its guard against a truncated manifest refuses without --allow-empty.
program() {
  render "$2" "$3" "$4" "$5" > /m/cluster.yaml
  $A agent --once --allow-empty -f /m/cluster.yaml --ipvs-scheduler "$1" 2>"$D/agent-$6.log" \
    || { echo "agent failed in $1 $6: $(tail -1 "$D/agent-$6.log")" >&2; FAILED=1; }
  # kube-proxy programs mh with IP_VS_SVC_F_SCHED2 (mh-port): the agent must have set it.
  if [ "$1" = mh ] && ! ipvsadm -Ln -t "$2:80" | grep -q mh-port; then
    echo "agent programmed mh without mh-port in $6" >&2; FAILED=1
  fi
  ipvsadm -Ln --nosort -t "$2:80" > "$D/ln-$6-programmed.txt"
}

# snapshot NAME: the kernel's virtual server and its part of the connection table.
snapshot() {
  ipvsadm -Ln --nosort -t "$VIP:80" > "$D/ln-$1.txt"
  ipvsadm -Lnc | grep -F " $VIP:80 " > "$D/lnc-$1.txt"
}

# wait_ready NAME: the client reached `sync NAME`; else it is stopped and the run fails.
wait_ready() {
  _wait_ready "$1" && return 0
  echo "$S: the client did not reach $1" >&2
  kill $CLIENT 2>/dev/null
  FAILED=1
  return 1
}
_wait_ready() {
  n=0
  while [ ! -e "$SYNC/$1.ready" ] && [ $n -lt 2400 ]; do
    kill -0 $CLIENT 2>/dev/null || { echo "client died before $1" >&2; return 1; }
    n=$((n + 1))
    sleep 0.05
  done
  [ -e "$SYNC/$1.ready" ]
}

# pod_of 10.244.0.N:80 -> bM (M = N - 1)
pod_of() { a=${1%:*}; echo "b$((${a##*.} - 1))"; }

FAILED=0
for S in $(cat /data/sched/schedulers); do
  D=$O/$S
  SYNC=/tmp/sync/$S
  mkdir -p $D $SYNC
  VIP=$(cat /data/sched/$S/vip)
  t0=$(up)
  echo "vip $VIP" > $D/events.txt
  program $S $VIP - - gone base
  $P client $NSDIR $SYNC < /data/sched/$S/plan.txt > $D/conns.txt 2>$D/client.err &
  CLIENT=$!

  wait_ready base || break
  snapshot base
  gone=$(awk '$1 == "conn" && $6 ~ /:/ { v = $6 } END { print v }' $D/conns.txt)
  G=-
  if [ -n "$gone" ]; then
    G=$(pod_of $gone)
    ipvsadm -d -t $VIP:80 -r $gone
    echo "removed $G $gone" >> $D/events.txt
    program $S $VIP $G - gone removed
  fi
  touch $SYNC/base.go

  wait_ready removed || break
  snapshot removed
  drain=$(awk '$1 == "->" && $2 ~ /^10\.244/ && $5 > 0 { print $2; exit }' $D/ln-removed.txt)
  [ -n "$drain" ] || drain=$(awk '$1 == "->" && $2 ~ /^10\.244/ && $6 > 0 { print $2; exit }' $D/ln-removed.txt)
  N=-
  if [ -n "$drain" ]; then
    N=$(pod_of $drain)
    echo "drained $N $drain" >> $D/events.txt
    program $S $VIP $G $N gone drained
  fi
  touch $SYNC/removed.go

  wait_ready drained || break
  snapshot drained
  echo "added b6 10.244.0.7:80" >> $D/events.txt
  program $S $VIP $G $N probe added
  touch $SYNC/drained.go

  wait_ready added || break
  snapshot added
  touch $SYNC/added.go
  wait $CLIENT
  echo $? > $D/client.rc
  snapshot end
  echo "$S $t0 $(up)" >> $O/times.txt
done
kill $SERVER
exit $FAILED
