#!/usr/bin/env bash
# Installs the Debian packages a make target needs, only those missing, so a fresh Debian 12
# machine runs `make check`, `make bench` and `make demo` with nothing done by hand.
# Usage: tests/deps.sh build|check|bench|demo
set -euo pipefail

build=(gcc make pkg-config libuv1-dev libmnl-dev libjansson-dev libprotobuf-c-dev
       protobuf-c-compiler libsqlite3-dev libmicrohttpd-dev libcurl4-openssl-dev libyaml-dev
       clang libbpf-dev libelf-dev zlib1g-dev bpftool libnftables-dev)
check=("${build[@]}" libcriterion-dev iproute2 iperf3 iputils-ping tcpdump python3-scapy
       procps curl ethtool clang libclang-rt-dev jq
       golang-go golang-github-appc-cni-dev dpkg-dev containernetworking-plugins openssl
       nftables iptables
       # The Kubernetes cluster tests (tests/k8s/): the kube binaries' build from Debian's
       # source package (tests/k8s/build-kube.sh), etcd, the runtime, the images' tools.
       rsync golang-github-modern-go-reflect2-dev
       etcd-server etcd-client containerd runc busybox-static umoci skopeo util-linux)
# The proxy tests check the test API server with the real kubectl: Debian's kubernetes-client,
# unless a kubectl (another package's) is already installed, which that one would conflict with.
command -v kubectl >/dev/null 2>&1 || check+=(kubernetes-client)
bench=("${check[@]}" sockperf openvswitch-switch bridge-utils iptables jq)
# make demo: the build, the namespaces' tools, iperf3 and curl in the pods, cnitool's offline
# build (Go, libcni, dpkg-source) and host-local, python3 for the servers, openssl and kubectl
# for the test API server.
demo=("${build[@]}" iproute2 iputils-ping procps iperf3 curl jq python3 openssl
      golang-go golang-github-appc-cni-dev dpkg-dev containernetworking-plugins)
command -v kubectl >/dev/null 2>&1 || demo+=(kubernetes-client)

case "${1:-}" in
    build) want=("${build[@]}") ;;
    check) want=("${check[@]}") ;;
    bench) want=("${bench[@]}") ;;
    demo)  want=("${demo[@]}") ;;
    *) echo "usage: $0 build|check|bench|demo" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages ${missing[*]}; run as root or install them" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# openvswitch-switch's maintainer scripts try to start the service; there is no init here and
# the benchmark starts its own daemons inside a namespace, so keep the package from starting any.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.vswitch
if [ ! -e /usr/sbin/policy-rc.d ]; then
    cp /usr/sbin/policy-rc.d.vswitch /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
rm -f /usr/sbin/policy-rc.d.vswitch
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
