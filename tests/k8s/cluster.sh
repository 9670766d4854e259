#!/usr/bin/env bash
# A real Kubernetes 1.20 with vswitch deployed by kubectl apply, in namespaces made for the
# run (tests/k8s/cluster-lib.sh); everything is removed when this script ends.
#   tests/k8s/cluster.sh demo [BUILD_DIR]   (make demo-k8s) bring it up, run a Deployment and
#                                           a Service, show traffic through the ClusterIP and
#                                           each switch's dump-flows/dump-policies, tear down
#   tests/k8s/cluster.sh up [BUILD_DIR]     bring it up and keep it until Enter (or Ctrl-C),
#                                           printing the commands to explore it
# The kube binaries are built from Debian's source package on first use (build-kube.sh:
# about 10 minutes on 2 cores, then cached under /var/cache/vswitch-kube).
set -u
mode=${1:-}
case $mode in demo|up) ;; *) echo "usage: $0 demo|up [BUILD_DIR]" >&2; exit 2 ;; esac
VSW_BUILD=$(cd "${2:-build}" 2>/dev/null && pwd) || { echo "$0: no build directory ${2:-build}" >&2; exit 2; }
export VSW_BUILD
VSW_TEST_NAME=k8s-$mode
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/lib.sh"
. "$here/cluster-lib.sh"

section() { printf '\n=== %s\n' "$*"; }

section "bringing up etcd, kube-apiserver, kube-controller-manager, kube-scheduler and two nodes"
kc_up
kc get nodes -o wide
kc -n kube-system get pods -o wide

section "a Deployment of 4 busybox httpd pods and a Service, made with kubectl"
kc_workloads
kc get pods -o wide
kc get service web
wait_backends 30

section "40 requests from the client pod (n1) to the ClusterIP $WEB_VIP: which pod answered, and the client address it saw"
from_client 40 | sort | uniq -c

for n in n1 n2; do
    section "$n: vsctl dump-policies"
    vsctl_node "$n" dump-policies
    section "$n: vsctl dump-flows"
    vsctl_node "$n" dump-flows
done

if [ "$mode" = up ]; then
    section "the cluster is up; in another shell:"
    cat <<EOF
  ip netns exec $(ns cp) kubectl --kubeconfig $KC_KUBECONFIG get pods -A -o wide
  nsenter -t $(_kc_node_init_pid n1) -n -m -p $VSW_BUILD/vsctl --ctl /run/vswitch/vswitchd.sock show
  logs: $KC_DIR (kube-apiserver.log, node-n1/kubelet.log, ...)
EOF
    read -r -p "press Enter to tear it down " _ </dev/tty || sleep infinity
fi
section "tearing down (every namespace, process, mount and cgroup of the run)"
