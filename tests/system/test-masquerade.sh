#!/usr/bin/env bash
# Masquerade (issue 15): node1 runs vswitchd with --cluster-cidr and --service-cidr; an
# "outside" namespace on the underlay stands for the internet: it has no route to any pod
# CIDR, so only masqueraded traffic can be answered.  A pod's 100 HTTP connections to it are
# all answered, each seen as from node1's address; a 24 MiB upload and a 24 MiB download
# arrive with the same SHA-256 at both ends.  A pod connecting from the same source port to
# the same server as a connection the node itself holds gets another port, so both work.
# nftables shows the rule (table ip vswitch) and its counter; with --masquerade false the
# table is gone and nothing from the pod is answered; restarted with it again, it works.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl nft sha256sum

add_underlay
add_ns node1
ns_exec node1 sysctl -qw net.ipv4.ip_forward=1 || fail "cannot enable forwarding in node1"
underlay_attach node1 1
add_ns outside
underlay_attach outside 100
N1=${VSW_NODE_IP[node1]} OUT=${VSW_NODE_IP[outside]}
start_vswitchd node1 10.244.1.0/24 --node-ip "$N1" --cluster-cidr 10.244.0.0/16 \
    --service-cidr 10.96.0.0/12
add_pod node1 a 10.244.1.10

rule='ip saddr 10\.244\.0\.0/16 ip daddr != \{ 10\.96\.0\.0/12, 10\.244\.0\.0/16, 224\.0\.0\.0/4 \}'
rule+=' oifname != "vsw0" counter packets [0-9]+ bytes [0-9]+ masquerade'
assert_match "nftables: the masquerade rule in table ip vswitch" "$rule" \
    "$(ns_exec node1 nft list table ip vswitch)"

# --- 100 connections ---------------------------------------------------------------------
svc_start outside http-server 8080 outside
answers=$(curl_many a "http://$OUT:8080/" 100)
assert_eq "pod a -> outside: 100/100 connections answered" 100 \
    "$(grep -c '^outside ' <<<"$answers")"
assert_eq "the outside saw node1's address, never the pod's" "$N1" \
    "$(awk '{print $2}' <<<"$answers" | sort -u)"
assert_match "the rule counted them" 'counter packets [1-9][0-9]* ' \
    "$(ns_exec node1 nft list table ip vswitch)"

# --- large transfers, hashed ----------------------------------------------------------------
tcp_xfer a outside "$OUT" $((24 << 20)) 7001
mkdir -p "$VSW_TMPDIR/www"
head -c $((24 << 20)) /dev/urandom >"$VSW_TMPDIR/www/blob"
bg_start outside "$VSW_TMPDIR/www.log" "$VSW_PY" -m http.server -d "$VSW_TMPDIR/www" 8081
wait_until 5 _vsw_listening outside 8081 || fail "file server did not start"
got=$(ns_exec a bash -c "curl -sf --max-time 30 http://$OUT:8081/blob | sha256sum") ||
    fail "download from outside failed"
assert_eq "pod a <- outside: 24 MiB download, SHA-256 end to end" \
    "$(sha256sum <"$VSW_TMPDIR/www/blob")" "$got"

# --- ports never collide with the node's own sockets ------------------------------------------
svc_start outside stream-server 9000 echo
bg_start node1 "$VSW_TMPDIR/node-conn.log" "$VSW_PY" -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$N1', 40000)); s.connect(('$OUT', 9000)); print(s.recv(64).decode().strip(), flush=True)
time.sleep(60)"
wait_until 5 grep -q echo "$VSW_TMPDIR/node-conn.log" || fail "node1's own connection failed"
bg_start a "$VSW_TMPDIR/pod-conn.log" "$VSW_PY" -c "
import socket, time
s = socket.socket(); s.bind(('10.244.1.10', 40000)); s.settimeout(3)
s.connect(('$OUT', 9000)); print(s.recv(64).decode().strip()); s.sendall(b'hi\\n')
print(s.recv(64).decode().strip(), flush=True)
time.sleep(60)"
wait_until 5 grep -q hi "$VSW_TMPDIR/pod-conn.log" ||
    fail "pod a from port 40000 -> outside:9000 failed: $(cat "$VSW_TMPDIR/pod-conn.log")"
assert_eq "pod a from port 40000, while node1 holds $N1:40000 -> $OUT:9000: answered" \
    "echo hi" "$(echo $(cat "$VSW_TMPDIR/pod-conn.log"))"
peers=$(ns_exec outside ss -Htn state established "sport = :9000" | awk '{print $4}' | sort)
assert_eq "the outside holds two connections from node1, on different ports" 2 \
    "$(grep -c "^${N1//./\\.}:" <<<"$peers" | tr -d ' ')"
assert_eq "one of them is the node's own port 40000" 1 "$(grep -c ":40000\$" <<<"$peers")"

# --- --masquerade false, then back --------------------------------------------------------------
stop_vswitchd node1
VSW_ARGS[node1]="${VSW_ARGS[node1]} --masquerade false"
restart_vswitchd node1
assert_fail "--masquerade false: the table is gone" ns_exec node1 nft list table ip vswitch
assert_match "--masquerade false: vsctl show says so" "^cluster: .* masquerade=off\$" \
    "$(vsctl_on node1 show)"
assert_match "--masquerade false: the pod's connection is not answered" "FAILED" \
    "$(curl_many a "http://$OUT:8080/" 1)"
stop_vswitchd node1
VSW_ARGS[node1]=${VSW_ARGS[node1]% --masquerade false}
restart_vswitchd node1
answers=$(curl_many a "http://$OUT:8080/" 10)
assert_eq "restarted with masquerade: 10/10 answered as node1" "$N1" \
    "$(awk '{print $2}' <<<"$answers" | sort -u)"
