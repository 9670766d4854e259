#!/usr/bin/env bash
# Builds the image of 02-daemonset.yaml without a Docker daemon (`make image`): a root
# filesystem holding the four binaries, host-local, a static busybox for the init container's
# shell, curl and jq, with every shared library they load copied from this machine, packed as
# an OCI image with umoci and written as an OCI layout and as an archive that
# `ctr -n k8s.io images import`, `docker load` and `podman load` read.
#
#   examples/k8s/build-image.sh [BUILD_DIR] [NAME]
#       BUILD_DIR holds the binaries (default build); NAME defaults to the DaemonSet's,
#       registry.example.com/vswitch:0.1.0.  Writes BUILD_DIR/image/oci (the layout) and
#       BUILD_DIR/image/vswitch.tar.
#   examples/k8s/build-image.sh --rootfs DIR --name NAME --out TAR [--entrypoint PATH]
#       packs any root filesystem the same way (the cluster tests' pause and busybox images).
#
# The image runs the binaries built on this machine, so it suits nodes of the same
# distribution (Debian 12 here); examples/k8s/Dockerfile builds one from source elsewhere.
set -euo pipefail

die() { echo "build-image: $*" >&2; exit 1; }

for tool in umoci skopeo; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install $tool; tests/deps.sh check)"
done

# pack ROOTFS NAME OUT [ENTRYPOINT]: an OCI image of ROOTFS as one layer, named NAME.
pack() {
    local rootfs=$1 name=$2 out=$3 entry=${4:-} work
    work=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" RETURN
    umoci init --layout "$work/oci" >/dev/null
    umoci new --image "$work/oci:img" >/dev/null
    # The layer holds ROOTFS's files, owners and modes as they are.
    umoci insert --image "$work/oci:img" "$rootfs" / >/dev/null
    umoci config --image "$work/oci:img" --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        ${entry:+--config.entrypoint "$entry"} >/dev/null
    umoci gc --layout "$work/oci" >/dev/null
    rm -f "$out"
    # A docker-archive carries the full name (RepoTags), which every importer keeps as is.
    skopeo copy -q "oci:$work/oci:img" "docker-archive:$out:$name" >/dev/null ||
        die "skopeo could not write $out"
    if [ -n "${OCI_OUT:-}" ]; then
        rm -rf "$OCI_OUT"
        cp -a "$work/oci" "$OCI_OUT"
    fi
}

# copy_with_libs ROOTFS FILE DEST: FILE at ROOTFS/DEST and each library it loads at its path.
copy_with_libs() {
    local rootfs=$1 file=$2 dest=$3 lib
    install -D -m 0755 "$file" "$rootfs$dest"
    ldd "$file" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\//{print $1}' |
    while read -r lib; do
        [ -e "$rootfs$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
    done
}

if [ "${1:-}" = --rootfs ]; then
    rootfs="" name="" out="" entry=""
    while [ $# -gt 0 ]; do
        case $1 in
            --rootfs) rootfs=$2; shift 2 ;;
            --name) name=$2; shift 2 ;;
            --out) out=$2; shift 2 ;;
            --entrypoint) entry=$2; shift 2 ;;
            *) die "unknown argument $1" ;;
        esac
    done
    [ -d "$rootfs" ] && [ -n "$name" ] && [ -n "$out" ] ||
        die "usage: $0 --rootfs DIR --name NAME --out TAR [--entrypoint PATH]"
    pack "$rootfs" "$name" "$out" "$entry"
    exit 0
fi

build=${1:-build}
name=${2:-registry.example.com/vswitch:0.1.0}
for b in vswitchd vswitch-proxy vsctl vswitch-cni; do
    [ -x "$build/$b" ] || die "$build/$b is not built (make)"
done
busybox=/bin/busybox
! ldd "$busybox" >/dev/null 2>&1 ||
    die "$busybox is not the static one (apt-get install busybox-static)"
[ -x /usr/lib/cni/host-local ] || die "host-local missing (apt-get install containernetworking-plugins)"
for t in curl jq; do command -v $t >/dev/null || die "$t missing"; done

mkdir -p "$build/image"
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
copy_with_libs "$rootfs" "$build/vswitchd" /usr/local/sbin/vswitchd
copy_with_libs "$rootfs" "$build/vswitch-proxy" /usr/local/sbin/vswitch-proxy
copy_with_libs "$rootfs" "$build/vsctl" /usr/local/bin/vsctl
copy_with_libs "$rootfs" "$build/vswitch-cni" /usr/local/bin/vswitch-cni
copy_with_libs "$rootfs" /usr/lib/cni/host-local /usr/lib/cni/host-local
copy_with_libs "$rootfs" /usr/lib/cni/loopback /usr/lib/cni/loopback
copy_with_libs "$rootfs" /usr/lib/cni/portmap /usr/lib/cni/portmap
copy_with_libs "$rootfs" "$(command -v curl)" /usr/bin/curl
copy_with_libs "$rootfs" "$(command -v jq)" /usr/bin/jq
install -D -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
done
mkdir -p "$rootfs/tmp" "$rootfs/etc" "$rootfs/run" "$rootfs/var/lib/vswitch"
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
OCI_OUT=$build/image/oci pack "$rootfs" "$name" "$build/image/vswitch.tar"
echo "build-image: $name: $build/image/vswitch.tar ($(du -h "$build/image/vswitch.tar" | cut -f1)), OCI layout $build/image/oci"
