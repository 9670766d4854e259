#!/usr/bin/env bash
# tests/bench/proxy-sync.sh BUILD_DIR [SERVICES] [ENDPOINTS] — vswitch-proxy at scale: the
# test API server holds SERVICES Services (default 10000) of ENDPOINTS endpoints each
# (default 10, one EndpointSlice per Service); a proxy starts against it and vswitchd.
# Reports, as text and as one JSON line (for the bench report):
#   - full sync: from the start of the lists to the batch applied in the datapath (the
#     proxy's own clock: "initial sync ... applied N ms after the lists started"), checked
#     against `vsctl show` (every policy installed); target < 1000 ms;
#   - the proxy's resident memory after it;
#   - network programming latency of one endpoint change under that load (watch event seen ->
#     batch applied), p50 and p99 of 40 changes; target p99 < 200 ms.
# Runs in its own namespaces (tests/lib/lib.sh), traffic on loopback only.

BUILD=${1:-build}
N=${2:-10000}
M=${3:-10}
export VSW_BUILD=$BUILD
VSW_TEST_NAME=proxy-sync
. "$(dirname "$0")/../lib/lib.sh"
proxy_preflight

add_node node 10.244.0.0/16
k8s_start node --generate "$N,$M"
proxy_start node --log-level info --sync-period 60s
wait_until 60 grep -q 'initial sync' "${PROXY_LOG[node]}" ||
    fail "no initial sync within 60 s: $(tail -5 "${PROXY_LOG[node]}")"
line=$(grep 'initial sync' "${PROXY_LOG[node]}")
sync_ms=$(echo "$line" | sed -E 's/.* applied ([0-9]+) ms after the lists started.*/\1/')
detail=$(echo "$line" | sed -E 's/.*\((translation [0-9]+ ms, batch [0-9]+ ms)\).*/\1/')
installed=$(vsctl_on node --json show | jq -r '.n_policies')
[ "$installed" = "$N" ] || fail "vswitchd holds $installed policies, expected $N"
rss=$(proxy_metric node process_resident_memory_bytes)

# One endpoint change at a time, 40 times: the latency the proxy measures from the watch
# event to the applied batch.
for ((i = 0; i < 40; i++)); do
    s=$((i * 37 % N))
    ns_exec node "$VSW_PY" "$K8S_DIR/k8sctl.py" slice "ns-$((s % 100))" "svc-$s-abcde" \
        --service "svc-$s" --port http:8080/TCP --ep "10.250.$((i / 250)).$((i % 250 + 1))" \
        >/dev/null || fail "k8sctl failed"
    sleep 0.25
done
sleep 1
lat=$(grep -Eo 'operations \(policies 1 added or changed.* ([0-9]+) ms after the change' \
          "${PROXY_LOG[node]}" | grep -Eo '[0-9]+ ms after' | grep -Eo '^[0-9]+' | sort -n)
cnt=$(echo "$lat" | grep -c .)
[ "$cnt" -ge 30 ] || fail "only $cnt single-change syncs seen"
p50=$(echo "$lat" | awk -v n="$cnt" 'NR == int((n + 1) / 2) {print}')
p99=$(echo "$lat" | awk -v n="$cnt" 'NR == int(n * 0.99 + 0.999) {print}')

echo "proxy full sync: $N services x $M endpoints: ${sync_ms} ms from list start to batch applied ($detail); target < 1000 ms"
echo "proxy memory after the sync: $((rss / 1048576)) MiB resident"
echo "proxy network programming latency, one endpoint change ($cnt changes): p50 ${p50} ms, p99 ${p99} ms; target p99 < 200 ms"
printf '{"bench":"proxy-sync","services":%d,"endpoints_per_service":%d,"full_sync_ms":%d,"rss_bytes":%d,"programming_latency_p50_ms":%d,"programming_latency_p99_ms":%d}\n' \
    "$N" "$M" "$sync_ms" "$rss" "$p50" "$p99"
