#!/usr/bin/env bash
# tests/cni/fuzz.sh [SECONDS] — builds tests/cni/fuzz-netconf.c with clang's libFuzzer,
# AddressSanitizer and UBSan against the plugin's sources, and runs it for SECONDS (default
# 60) from a corpus of valid configurations and results.  Exits non-zero on any finding.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
out=$repo/build/fuzz
mkdir -p "$out/corpus-netconf"
command -v clang >/dev/null || { echo "fuzz: clang missing (tests/deps.sh check)" >&2; exit 1; }

make -C "$repo" -s build/proto/vswitch.pb-c.h >/dev/null
read -ra cflags <<<"$(pkg-config --cflags jansson libprotobuf-c)"
read -ra libs <<<"$(pkg-config --libs jansson libprotobuf-c)"
clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=all -I"$repo" -I"$repo/vswitch" -I"$repo/build" \
    "${cflags[@]}" \
    "$repo/tests/cni/fuzz-netconf.c" "$repo"/cni/{netconf,result,version,cni-error}.c \
    "$repo"/vswitch/lib/{addr,log,util}.c \
    "${libs[@]}" -o "$out/fuzz-netconf"

c=$out/corpus-netconf
cat >"$c/netconf" <<'JSON'
{"cniVersion":"1.0.0","name":"podnet","type":"vswitch","ctl":"/run/vswitch/vswitchd.sock","mtu":1450,"logFile":"/var/log/c.log","logLevel":"debug","dns":{"nameservers":["10.96.0.10"]},"ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]]},"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]}
JSON
cat >"$c/prev" <<'JSON'
{"cniVersion":"0.4.0","name":"n","type":"vswitch","ipam":{"type":"host-local"},"prevResult":{"cniVersion":"0.4.0","interfaces":[{"name":"vsw0123456789ab","mac":"aa:bb:cc:dd:ee:ff"},{"name":"eth0","mac":"0a:58:0a:f4:01:02","sandbox":"/run/netns/p"}],"ips":[{"version":"4","interface":1,"address":"10.244.1.2/24","gateway":"10.244.1.1"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.244.1.1"}],"dns":{}}}
JSON
cat >"$c/result" <<'JSON'
{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mtu":1450,"sandbox":"/x"}],"ips":[{"address":"10.0.0.2/32","interface":0}],"routes":[{"dst":"10.96.0.0/12"}]}
JSON
"$out/fuzz-netconf" -max_total_time="$secs" -max_len=4096 "$c"
