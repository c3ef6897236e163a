#!/bin/bash
# Build kube-apiserver, kube-scheduler and kube-controller-manager from
# Debian bookworm's kubernetes source package, cached by package version.
# Usage: build-kubernetes.sh <cache dir>; prints the directory holding
# the binaries on its last line. KUBE_WHAT (make targets) and
# KUBE_BINARIES (what they leave in _output/bin) build something else
# from the same tree, e.g. the e2e tests.
set -euo pipefail

KUBE_DEB_VERSION=${KUBE_DEB_VERSION:-1.20.5+really1.20.2-1.1+deb12u1}
CACHE_DIR=${1:?usage: build-kubernetes.sh <cache dir>}
BIN_DIR=$CACHE_DIR/kubernetes-$KUBE_DEB_VERSION/bin
BINARIES=${KUBE_BINARIES:-kube-apiserver kube-scheduler kube-controller-manager}
WHAT=${KUBE_WHAT:-cmd/kube-apiserver cmd/kube-scheduler cmd/kube-controller-manager}

have_all() {
    local b
    for b in $BINARIES; do
        [ -x "$BIN_DIR/$b" ] || return 1
    done
}

if have_all; then
    echo "$BIN_DIR"
    exit 0
fi

need_pkgs=""
for p in golang-go make rsync jq golang-github-modern-go-reflect2-dev dpkg-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs="$need_pkgs $p"
done
if [ -n "$need_pkgs" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_pkgs >/dev/null
fi

WORK=$CACHE_DIR/kubernetes-build
mkdir -p "$WORK/apt/lists/partial" "$WORK/src"

# A private deb-src list keeps the machine's apt configuration untouched.
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
echo "deb-src $mirror bookworm main" > "$WORK/apt/sources.list"
echo "deb-src ${mirror%/debian}/debian-security bookworm-security main" >> "$WORK/apt/sources.list"
APT_OPTS=(
    -o "Dir::Etc::sourcelist=$WORK/apt/sources.list"
    -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$WORK/apt/lists"
    -o "APT::Get::List-Cleanup=0"
)

cd "$WORK/src"
if ! ls kubernetes_*.dsc >/dev/null 2>&1; then
    apt-get "${APT_OPTS[@]}" update -qq
    apt-get "${APT_OPTS[@]}" source --download-only "kubernetes=$KUBE_DEB_VERSION" >/dev/null
fi
SRC=$(find "$WORK/src" -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
if [ -z "$SRC" ]; then
    dpkg-source --no-check -x kubernetes_*.dsc >/dev/null
    SRC=$(find "$WORK/src" -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
fi

# The vendored reflect2 1.0.1 crashes map encoding on Go >= 1.18.
R2_DEB=/usr/share/gocode/src/github.com/modern-go/reflect2
R2_VENDOR=$SRC/vendor/github.com/modern-go/reflect2
if [ -d "$R2_VENDOR" ] && [ ! -e "$R2_VENDOR/.zun-vk-patched" ]; then
    find "$R2_VENDOR" -maxdepth 1 \( -name '*.go' -o -name '*.s' \) -delete
    cp "$R2_DEB"/*.go "$R2_VENDOR"/
    cp "$R2_DEB"/*.s "$R2_VENDOR"/ 2>/dev/null || true
    find "$R2_VENDOR" -maxdepth 1 -name '*_test.go' -delete
    touch "$R2_VENDOR/.zun-vk-patched"
fi

cd "$SRC"
mkdir -p .go/src/k8s.io
ln -sfn "$SRC" .go/src/k8s.io/kubernetes
export GOPATH=$SRC/.go CGO_ENABLED=0 GOPROXY=off GOFLAGS=-mod=vendor
export GOCACHE=$CACHE_DIR/go-build-cache
make WHAT="$WHAT" >&2

mkdir -p "$BIN_DIR"
for b in $BINARIES; do
    install -m 0755 "_output/bin/$b" "$BIN_DIR/$b"
done
echo "$BIN_DIR"
