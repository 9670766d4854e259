#!/usr/bin/env bash
# One Kubernetes node of the test cluster (tests/k8s/cluster-lib.sh): the first process of a
# PID and mount namespace of its own, inside the node's network namespace, started as
#   nsenter --net=/run/netns/NODE unshare -m -u -p -f --propagation private --mount-proc \
#       node-init.sh NODE_DIR
# It covers every path kubelet and containerd write with a tmpfs or with a copy in NODE_DIR,
# starts containerd and imports the images, then runs kubelet; when it ends (SIGTERM or
# SIGKILL from the harness) the kernel kills every process of the namespace, containers
# included, and the mounts go with it: nothing of the machine changes.
#
# NODE_DIR holds node.env (NAME, IP, KUBE_BIN, CGROUP_ROOT), kubelet.yaml, kubeconfig, the
# certificates, containerd.toml and images/*.tar; the logs are written there.
set -euo pipefail
dir=$1
# shellcheck source=/dev/null
. "$dir/node.env"
log() { echo "node-init[$NAME]: $*"; }

# --- the node's own filesystem view -------------------------------------------------------
# /run (containerd's state, /run/netns of the pods, /run/vswitch), /var/lib (kubelet,
# containerd, cni leases, vswitch's database), /var/log (pod logs), /opt (/opt/cni/bin): empty
# tmpfs.  /etc: a copy, so that /etc/cni/net.d and /etc/containerd are the node's.
for d in /run /var/lib /var/log /opt; do
    mount -t tmpfs -o mode=0755 "node-$NAME" "$d"
done
mkdir -p "$dir/etc"
cp -a /etc/. "$dir/etc/"
mount --bind "$dir/etc" /etc
mkdir -p /etc/cni/net.d /opt/cni/bin /var/lib/kubelet /var/log/pods /var/log/containers \
    /var/lib/containerd /run/containerd /etc/containerd /var/lib/cni
# kubelet 1.20 sets these four sysctls at start, for the whole machine: each is replaced in
# this mount namespace by a file that already holds the value kubelet wants.
mkdir -p "$dir/sysctl"
while read -r key value; do
    f=$dir/sysctl/${key//\//.}
    echo "$value" >"$f"
    mount --bind "$f" "/proc/sys/$key"
done <<'EOF'
vm/overcommit_memory 1
vm/panic_on_oom 0
kernel/panic 10
kernel/panic_on_oops 1
EOF
hostname "$NAME"          # a UTS namespace of its own (unshare -u)

# --- containerd ---------------------------------------------------------------------------
containerd --config "$dir/containerd.toml" >"$dir/containerd.log" 2>&1 &
for _ in $(seq 100); do
    [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && break
    sleep 0.1
done
ctr version >/dev/null 2>&1 || { log "containerd did not start"; tail -20 "$dir/containerd.log"; exit 1; }
for img in "$dir"/images/*.tar; do
    ctr -n k8s.io images import "$img" >>"$dir/images.log" 2>&1 ||
        { log "cannot import $img"; cat "$dir/images.log"; exit 1; }
done
log "containerd up, images: $(ctr -n k8s.io images ls -q | tr '\n' ' ')"

# --- kubelet ------------------------------------------------------------------------------
"$KUBE_BIN/kubelet" --config "$dir/kubelet.yaml" --kubeconfig "$dir/kubeconfig" \
    --container-runtime=remote \
    --container-runtime-endpoint=unix:///run/containerd/containerd.sock \
    --hostname-override="$NAME" --node-ip="$IP" --root-dir=/var/lib/kubelet \
    --v="${KUBELET_V:-2}" >"$dir/kubelet.log" 2>&1 &
kubelet=$!
touch "$dir/ready"
log "kubelet started (pid $kubelet in the node)"
trap 'kill -TERM $kubelet 2>/dev/null; exit 0' TERM INT
# The namespace lives as long as this shell: wait for kubelet, reaping the orphans
# (containerd's shims) the kernel hands to PID 1 meanwhile.
while kill -0 "$kubelet" 2>/dev/null; do
    wait "$kubelet" || true
done
log "kubelet exited"
