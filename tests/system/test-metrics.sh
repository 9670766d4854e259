#!/usr/bin/env bash
# vswitchd's metrics endpoint (--metrics, inside the node namespace): /healthz answers 200,
# /metrics is Prometheus text whose port counters follow the traffic.
. "$(dirname "$0")/../lib/lib.sh"
preflight
require curl

add_node node 10.244.1.0/24
add_pods node 2
url=http://127.0.0.1:9479

code=$(ns_exec node curl -s -o /dev/null -w '%{http_code}' --max-time 5 $url/healthz)
assert_eq "/healthz" 200 "$code"

metric() { # NAME LABELS: the value of one sample
    ns_exec node curl -s --max-time 5 $url/metrics |
        awk -v k="$1{$2}" '$1 == k {print $2; found = 1} END {if (!found) print 0}'
}
rx0=$(metric vswitch_port_rx_packets_total 'port="h-pod1"')
ns_exec pod1 ping -n -q -c 20 -i 0.01 -W 2 10.244.1.3 >/dev/null || fail "ping pod1 -> pod2 failed"
rx1=$(metric vswitch_port_rx_packets_total 'port="h-pod1"')
tx1=$(metric vswitch_port_tx_packets_total 'port="h-pod2"')
assert_ge "rx packets of h-pod1 grew by the pings" "$(printf '%.0f' "$rx1")" $(( $(printf '%.0f' "$rx0") + 20 ))
assert_ge "tx packets of h-pod2 counted the pings" "$(printf '%.0f' "$tx1")" 20

body=$(ns_exec node curl -s --max-time 5 $url/metrics)
assert_match "metrics carry TYPE lines" '^# TYPE vswitch_port_rx_packets_total counter' "$body"
assert_match "the port is up" '^vswitch_port_up\{port="h-pod1"' "$body"
code=$(ns_exec node curl -s -o /dev/null -w '%{http_code}' --max-time 5 $url/no-such-page)
assert_eq "unknown path" 404 "$code"
