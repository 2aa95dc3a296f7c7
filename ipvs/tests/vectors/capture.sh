# Runs inside the VM (`cargo xtask vm capture`): each ipvsadm command under a fresh tcpdump on an
# nlmon tap, one pcap per step in /out/NAME.pcap, with NAME.cmd (the command) and NAME.rc.
set -u
/sbin/ip link add nlmon0 type nlmon
/sbin/ip link set nlmon0 up

step() {
  name=$1; shift
  log=/tmp/$name.tcpdump.log
  tcpdump -i nlmon0 --immediate-mode -U -Z root -w "/out/$name.pcap" >"$log" 2>&1 &
  pid=$!
  n=0
  # Wait (bounded: 100 x 0.1 s) until tcpdump listens.
  while ! grep -q listening "$log" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
  sleep 0.2
  "$@" >"/out/$name.stdout" 2>&1
  echo $? >"/out/$name.rc"
  echo "$*" >"/out/$name.cmd"
  sleep 0.3
  kill -INT $pid
  wait $pid
  echo "step $name: rc $(cat /out/$name.rc): $*"
}

step svc_add_tcp      ipvsadm -A -t 10.97.97.97:80 -s rr
step err_svc_exists   ipvsadm -A -t 10.97.97.97:80 -s rr
step dest_add         ipvsadm -a -t 10.97.97.97:80 -r 10.244.0.2:80 -m -w 1
step dest_edit        ipvsadm -e -t 10.97.97.97:80 -r 10.244.0.2:80 -m -w 0
step svc_edit         ipvsadm -E -t 10.97.97.97:80 -s wrr
step svc_add_persist  ipvsadm -A -t 10.97.97.98:443 -s rr -p 10800
step svc_add_udp      ipvsadm -A -u 10.97.97.10:53 -s rr
step svc_add_udp6     ipvsadm -A -u [fd00:10:96::a]:53 -s rr
step dest_add6        ipvsadm -a -u [fd00:10:96::a]:53 -r [fd00:10:244::2]:53 -m -w 1
step svc_add_fwmark   ipvsadm -A -f 42 -s sh
step list             ipvsadm -Ln
step list_one         ipvsadm -Ln -t 10.97.97.97:80
step timeouts         ipvsadm -Ln --timeout
step dest_del         ipvsadm -d -t 10.97.97.97:80 -r 10.244.0.2:80
step err_dest_missing ipvsadm -d -t 10.97.97.97:80 -r 10.244.0.2:80
step svc_del          ipvsadm -D -t 10.97.97.97:80
step err_svc_missing  ipvsadm -D -t 10.97.97.97:80
step flush            ipvsadm -C
step list_empty       ipvsadm -Ln
# The expected failures above are the point; the script itself succeeds.
exit 0
