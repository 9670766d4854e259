#!/usr/bin/env bash
# Runtimes wire pods concurrently: twelve ADDs at once all succeed with distinct addresses
# (host-local serialises its leases; vswitchd serves each plugin's connection), every pod
# reaches the gateway, and twelve DELs at once leave nothing behind.
. "$(dirname "$0")/../lib/lib.sh"
preflight

N=12
cni_setup node 10.244.1.0/24
conf=$(cni_conf podnet 1.0.0)
for i in $(seq 1 $N); do
    add_ns "p$i"
done

run_all() {
    local verb=$1 i pids=()
    for i in $(seq 1 $N); do
        ( cni_call "$verb" "c$i" "p$i" eth0 "$conf"
          printf '%s\n' "$RC" >"$VSW_TMPDIR/rc.$verb.$i"
          printf '%s\n' "$OUT" >"$VSW_TMPDIR/out.$verb.$i" ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    for i in $(seq 1 $N); do
        [ "$(cat "$VSW_TMPDIR/rc.$verb.$i")" = 0 ] ||
            fail "$verb c$i failed: $(cat "$VSW_TMPDIR/out.$verb.$i")"
    done
    log "ok: $N concurrent ${verb}s succeeded"
}

run_all ADD
assert_eq "$N distinct addresses" "$N" "$(for i in $(seq 1 $N); do pod_ip "p$i"; done | sort -u | wc -l)"
assert_eq "$N ports" "$N" "$(port_names node | wc -l)"
assert_eq "$N leases" "$N" "$(leases podnet | wc -l)"
for i in $(seq 1 $N); do
    ping_ok "p$i" 10.244.1.1
done
ping_ok p1 "$(pod_ip "p$N")"

run_all DEL
assert_eq "no veth left" "" "$(host_veths)"
assert_eq "no lease left" "" "$(leases podnet)"
assert_eq "no port left" "" "$(port_names node)"
cni_no_sanitizer_reports
