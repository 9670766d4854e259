#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler and kubelet from Debian's
# `kubernetes` source package (Debian ships only kubectl as a binary) and caches them outside
# the clone, keyed by the source version, so a machine pays the ~5 minutes once.
# Usage: tests/k8s/build-kube.sh [--print-dir]
#   prints nothing but the cache directory with --print-dir (after building if needed)
# Environment: KUBE_CACHE (default /var/cache/vswitch-kube), KUBE_DEB_VERSION.
set -euo pipefail

VERSION=${KUBE_DEB_VERSION:-1.20.5+really1.20.2-1.1+deb12u1}
UPSTREAM=${VERSION%-*}                 # 1.20.5+really1.20.2 names the .orig tarball
KUBE_VERSION=v${UPSTREAM##*really}     # the code really is 1.20.2
CACHE=${KUBE_CACHE:-/var/cache/vswitch-kube}
# Bumped whenever the recipe below changes what is built, so a cache of an older recipe is
# not used (2: reflect2 1.0.2).
RECIPE=2
DIR=$CACHE/$VERSION-r$RECIPE
POOL=http://deb.debian.org/debian/pool/main/k/kubernetes
BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
# The .dsc's own SHA-256 sums, so a changed mirror file is refused rather than built.
declare -A SHA256=(
    [kubernetes_1.20.5+really1.20.2.orig.tar.gz]=b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc
    [kubernetes_1.20.5+really1.20.2-1.1+deb12u1.debian.tar.xz]=9b6e5fd41769d2b5badf2e73b274e3bcd90f85e13d06a1a4a845ccce018127d8
)

log() { [ "${PRINT_DIR:-0}" = 1 ] && echo "build-kube: $*" >&2 || echo "build-kube: $*"; }
PRINT_DIR=0
[ "${1:-}" = --print-dir ] && PRINT_DIR=1

have_all() {
    local b
    for b in "${BINS[@]}"; do [ -x "$DIR/$b" ] || return 1; done
}

if have_all; then
    [ $PRINT_DIR = 1 ] && echo "$DIR" || log "cached: $DIR (${BINS[*]})"
    exit 0
fi

for tool in curl dpkg-source go rsync jq make sha256sum flock; do
    command -v "$tool" >/dev/null || { echo "build-kube: $tool missing (tests/deps.sh check)" >&2; exit 1; }
done

mkdir -p "$CACHE"
# One build at a time per machine: a second caller waits for the first and then finds the cache.
exec 9>"$CACHE/.lock"
flock 9
if have_all; then
    [ $PRINT_DIR = 1 ] && echo "$DIR" || log "cached by a concurrent build: $DIR"
    exit 0
fi

WORK=$CACHE/src-$VERSION
rm -rf "$WORK"; mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
for f in "kubernetes_${VERSION}.dsc" "${!SHA256[@]}"; do
    log "fetching $POOL/$f"
    curl -fsS --retry 3 -o "$WORK/$f" "$POOL/$f"
done
for f in "${!SHA256[@]}"; do
    echo "${SHA256[$f]}  $WORK/$f" | sha256sum -c --quiet - ||
        { echo "build-kube: $f: checksum mismatch" >&2; exit 1; }
done
log "unpacking with dpkg-source (Debian's patches applied)"
(cd "$WORK" && dpkg-source --no-check -x "kubernetes_${VERSION}.dsc" src >/dev/null)
# The vendored modern-go/reflect2 1.0.1 iterates maps through runtime internals that Go 1.18
# changed: built with Debian's Go 1.19, kube-apiserver dies with SIGSEGV in aeshashbody the
# first time json-iterator encodes a map (Debian builds only kubectl, which never gets there).
# reflect2 1.0.2 is the fix; Debian packages it.
r2=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -f "$r2/unsafe_map.go" ] ||
    { echo "build-kube: $r2 missing (apt-get install golang-github-modern-go-reflect2-dev)" >&2; exit 1; }
rm -rf "$WORK/src/vendor/github.com/modern-go/reflect2"
mkdir -p "$WORK/src/vendor/github.com/modern-go/reflect2"
cp "$r2"/*.go "$r2"/*.s "$WORK/src/vendor/github.com/modern-go/reflect2/" 2>/dev/null ||
    cp "$r2"/*.go "$WORK/src/vendor/github.com/modern-go/reflect2/"
rm -f "$WORK/src/vendor/github.com/modern-go/reflect2/"*_test.go
log "vendor/github.com/modern-go/reflect2 replaced by Debian's $(dpkg-query -W -f='${Version}' golang-github-modern-go-reflect2-dev)"

# No .git in a source package: hand the version to hack/lib/version.sh, or the binaries say
# v0.0.0-master and the kubelet's node version is meaningless.
cat > "$WORK/version.env" <<EOF
KUBE_GIT_VERSION='$KUBE_VERSION'
KUBE_GIT_MAJOR='${KUBE_VERSION#v}'
KUBE_GIT_MINOR=''
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_COMMIT=''
EOF
major=${KUBE_VERSION#v}; major=${major%%.*}
minor=${KUBE_VERSION#v}; minor=${minor#*.}; minor=${minor%%.*}
sed -i "s/^KUBE_GIT_MAJOR=.*/KUBE_GIT_MAJOR='$major'/; s/^KUBE_GIT_MINOR=.*/KUBE_GIT_MINOR='$minor'/" \
    "$WORK/version.env"

log "building ${BINS[*]} $KUBE_VERSION with $(go version | cut -d' ' -f3) (10 to 35 min on 2 cores, with the load of the machine)"
what=""
for b in "${BINS[@]}"; do what+="cmd/$b "; done
# GOFLAGS=-mod=vendor: the tree is vendored and no module proxy is to be asked.  (The build
# keeps its Go cache in _output, removed with the tree.)
(cd "$WORK/src" &&
    GOFLAGS=-mod=vendor \
    KUBE_GIT_VERSION_FILE="$WORK/version.env" GOMAXPROCS=2 \
    make WHAT="${what% }" KUBE_BUILD_PLATFORMS=linux/amd64) > "$WORK/../build-$VERSION.log" 2>&1 ||
    { echo "build-kube: make failed; last lines of $CACHE/build-$VERSION.log:" >&2
      tail -30 "$CACHE/build-$VERSION.log" >&2; exit 1; }

mkdir -p "$DIR.tmp"
for b in "${BINS[@]}"; do
    install -m 0755 "$WORK/src/_output/local/bin/linux/amd64/$b" "$DIR.tmp/$b"
done
rm -rf "$DIR"; mv "$DIR.tmp" "$DIR"
log "built in $(( $(date +%s) - start )) s: $DIR ($("$DIR/kubelet" --version))"
[ $PRINT_DIR = 1 ] && echo "$DIR"
exit 0
