# Runs in a private network namespace on the host (`cargo xtask ct-capture`): Debian's
# `conntrack` under strace, which dumps every netlink message it sends (sendto/sendmsg) and
# receives (recvmsg) in hex, one NAME.strace per step with NAME.cmd (the command) and NAME.rc.
# The entries are made with `conntrack -I` (not captured): two UDP flows to a ClusterIP
# answered by two endpoints, per family; each `-D` deletes the one answered by 10.244.1.5
# (fd00:10:244::5), as kube-proxy's conntrack reconciler asks for a Pod that stopped serving.
set -u
out=$1
step() {
  name=$1; shift
  strace -f -o "$out/$name.strace" -e trace=sendto,sendmsg,recvmsg,recvfrom \
    -e write=all -e read=all -xx -s 0 "$@" >"$out/$name.stdout" 2>&1
  echo $? >"$out/$name.rc"
  echo "$*" >"$out/$name.cmd"
}
ins() { conntrack -I -p udp -t 120 "$@" >/dev/null 2>&1 || echo "conntrack -I $* failed" >&2; }
ins -s 192.0.2.7 -d 10.96.0.10 --sport 40000 --dport 53 -r 10.244.1.5 -q 192.0.2.7 --reply-port-src 53 --reply-port-dst 40000
ins -s 192.0.2.7 -d 10.96.0.10 --sport 40001 --dport 53 -r 10.244.1.6 -q 192.0.2.7 --reply-port-src 53 --reply-port-dst 40001
ins -s 2001:db8::7 -d fd00:10:96::a --sport 40000 --dport 53 -r fd00:10:244::5 -q 2001:db8::7 --reply-port-src 53 --reply-port-dst 40000
ins -s 2001:db8::7 -d fd00:10:96::a --sport 40001 --dport 53 -r fd00:10:244::6 -q 2001:db8::7 --reply-port-src 53 --reply-port-dst 40001
step ct_delete_udp4 conntrack -D -p udp --orig-dst 10.96.0.10 --orig-port-dst 53 --reply-src 10.244.1.5 --reply-port-src 53
step ct_delete_udp6 conntrack -D -p udp --orig-dst fd00:10:96::a --orig-port-dst 53 --reply-src fd00:10:244::5 --reply-port-src 53
step ct_delete_none conntrack -D -p udp --orig-dst 10.96.0.10 --reply-src 10.244.9.9
exit 0
