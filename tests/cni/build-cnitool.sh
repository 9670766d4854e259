#!/usr/bin/env bash
# tests/cni/build-cnitool.sh [OUT] — builds cnitool, the reference CNI client (libcni, as
# containerd and CRI-O use it), offline from Debian packages alone, and caches it at OUT
# (default build/cnitool).  Prints the binary's path.
#
# Debian ships libcni (golang-github-appc-cni-dev) but not the cnitool binary; its main file
# is in the source package golang-github-appc-cni.  The source is fetched with
# `apt-get source --download-only` through a private apt configuration (a deb-src copy of the
# machine's debian.sources, private lists and cache in a temporary directory), so /etc/apt and
# /var/lib/apt stay untouched.  Needs golang-go, golang-github-appc-cni-dev and dpkg-dev
# (tests/deps.sh check installs them).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$repo/build/cnitool}
[ -x "$out" ] && { echo "$out"; exit 0; }

for c in go apt-get dpkg-source; do
    command -v "$c" >/dev/null || { echo "build-cnitool: '$c' missing (tests/deps.sh check)" >&2; exit 1; }
done
gocode=/usr/share/gocode
[ -d "$gocode/src/github.com/containernetworking/cni/libcni" ] ||
    { echo "build-cnitool: libcni missing (golang-github-appc-cni-dev)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/cnitool.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/sources.list.d" "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/src"

# deb-src copies of the machine's Debian sources (deb822 or one-line format).
found=0
for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    sed -E 's/^Types:.*/Types: deb-src/' "$f" > "$tmp/sources.list.d/$(basename "$f")"
    found=1
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    grep -E '^deb ' "$f" | sed -E 's/^deb /deb-src /' > "$tmp/sources.list.d/$(basename "$f").list" || true
    found=1
done
[ $found = 1 ] || { echo "build-cnitool: no apt sources found in /etc/apt" >&2; exit 1; }

apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$tmp/sources.list.d"
          -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache"
          -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
echo "build-cnitool: fetching the source of golang-github-appc-cni" >&2
apt-get "${apt_opts[@]}" -qq update >&2
(cd "$tmp/src" && apt-get "${apt_opts[@]}" -qq source --download-only golang-github-appc-cni >&2)
dscs=("$tmp"/src/*.dsc)
[ -f "${dscs[0]}" ] || { echo "build-cnitool: apt-get source fetched no .dsc" >&2; exit 1; }
(cd "$tmp/src" && dpkg-source --no-check -x "${dscs[0]}" cni >/dev/null)
main=$tmp/src/cni/cnitool/cnitool.go
[ -f "$main" ] || { echo "build-cnitool: $main not in the source package" >&2; exit 1; }

# Build against Debian's libcni in GOPATH mode, with no network at all.
mkdir -p "$tmp/gopath/src/cnitool" "$(dirname "$out")"
cp "$main" "$tmp/gopath/src/cnitool/"
(cd "$tmp/gopath/src/cnitool" &&
 GO111MODULE=off GOPATH="$gocode" GOPROXY=off GOFLAGS='' CGO_ENABLED=0 GOCACHE="$tmp/gocache" \
     go build -o "$out.tmp" . >&2)
mv "$out.tmp" "$out"
echo "$out"
