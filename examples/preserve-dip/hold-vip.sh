#!/bin/sh
# hold-vip.sh VIP... — makes this network namespace a backend of classic L2 DSR
# (vswitch.io/dsr-mode: preserve-dip, `vsctl add-lb ... --preserve-dip`): each VIP on the
# loopback, so the pod accepts packets for it and answers from it, and the two sysctls of the
# "ARP problem", so it never answers ARP for it on eth0 (arp_ignore=1: only for addresses of
# the interface asked on) nor announces it (arp_announce=2: ARP requests name the interface's
# own address).  vswitch neither floods ARP nor lets a pod's ARP out, so the sysctls are
# belts and braces here; they matter the day the pod sits on another network.
#
# Run once per pod start, as the init container of examples/preserve-dip/service.yaml does
# (it needs NET_ADMIN for the address and a writable /proc/sys for the sysctls).  POSIX sh
# and ip (iproute2 or busybox) only; idempotent.
set -eu
[ $# -gt 0 ] || { echo "usage: $0 VIP..." >&2; exit 2; }
echo 1 >/proc/sys/net/ipv4/conf/all/arp_ignore
echo 2 >/proc/sys/net/ipv4/conf/all/arp_announce
for vip in "$@"; do
    case $vip in
        *[!0-9.]*|'') echo "$0: not an IPv4 address: $vip" >&2; exit 2 ;;
    esac
    # "add", not "replace": busybox's ip (the init container's) knows only the former.
    ip -4 addr show dev lo | grep -q " $vip/32 " || ip -4 addr add "$vip/32" dev lo
done
ip link set lo up
echo "holding $* on lo (arp_ignore=1, arp_announce=2)"
