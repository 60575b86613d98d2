#!/usr/bin/env bash
# Builds the real Kubernetes components our tests and demo run against, from Go modules at pinned
# versions, into a git-ignored cache (.cache/testbin/<k8s-version>/bin). Reuses what is already built.
#
#   scripts/testbin.sh            etcd, kube-apiserver, kube-scheduler, kubectl, kubelet, helm,
#                                 csi-sanity, and from the peers archives (offline, vendored)
#                                 hostpathplugin and csi-node-driver-registrar for the node tier
#   scripts/testbin.sh --bench    also kube-controller-manager (for side-by-side benchmarks)
#   scripts/testbin.sh --print-dir  prints the bin directory and exits
#
# Env: K8S_VERSION (default v1.36.3), HELM_VERSION, CSI_TEST_VERSION, TESTBIN_DIR (cache root),
# PEERS_DIR (the peers source archives; default ../shared/peers next to the repository, or next to
# the main checkout when this is a git worktree).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
HELM_VERSION="${HELM_VERSION:-v3.19.5}"
CSI_TEST_VERSION="${CSI_TEST_VERSION:-v5.4.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TESTBIN_DIR:-$ROOT/.cache/testbin}/$K8S_VERSION"
BIN="$CACHE/bin"
STG="v0.${K8S_VERSION#v1.}"
MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"

# The peers archives (csi-driver-host-path-<commit>.tar.gz, node-driver-registrar-<commit>.tar.gz).
peers_dir() {
  if [ -n "${PEERS_DIR:-}" ]; then echo "$PEERS_DIR"; return; fi
  local d="$ROOT/../shared/peers" common
  if [ ! -d "$d" ] && common="$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)"; then
    d="$(dirname "$common")/../shared/peers"
  fi
  echo "$d"
}
PEERS="$(peers_dir)"
# The archive for one peer (newest if several), or nothing.
peer_archive() { find "$PEERS" -maxdepth 1 -name "$1-*.tar.gz" 2>/dev/null | sort | tail -1; }

BENCH=0
for a in "$@"; do
  case "$a" in
    --bench) BENCH=1 ;;
    --print-dir) echo "$BIN"; exit 0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "testbin: unknown argument '$a'" >&2; exit 2 ;;
  esac
done

mkdir -p "$BIN" "$CACHE/src"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod"
# Two cores: one compile job at a time per package graph keeps peak memory a few GiB.
export GOMAXPROCS="${GOMAXPROCS:-2}"

have() { [ -x "$BIN/$1" ]; }
have_all() { local b; for b in "$@"; do have "$b" || return 1; done; }
step() { printf '[testbin %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# Progress: [done/total] over the binaries still to build, with a bar.
WANT=(etcd kube-apiserver kubectl kube-scheduler kubelet helm csi-sanity)
[ "${BENCH:-0}" = 1 ] && WANT+=(kube-controller-manager)
HOSTPATH_TGZ="$(peer_archive csi-driver-host-path)"
REGISTRAR_TGZ="$(peer_archive node-driver-registrar)"
if [ -n "$HOSTPATH_TGZ" ] && [ -n "$REGISTRAR_TGZ" ]; then
  WANT+=(hostpathplugin csi-node-driver-registrar)
elif ! have_all hostpathplugin csi-node-driver-registrar; then
  printf '[testbin] skipping hostpathplugin and csi-node-driver-registrar: no csi-driver-host-path / node-driver-registrar archives in %s (set PEERS_DIR); real-node tests with a third-party driver will be skipped\n' "$PEERS" >&2
fi
TOTAL=0; for b in "${WANT[@]}"; do [ -x "$BIN/$b" ] || TOTAL=$((TOTAL + 1)); done
DONE=0
progress() {
  DONE=$((DONE + 1))
  local width=30 filled=$(( TOTAL > 0 ? DONE * 30 / TOTAL : 30 ))
  printf '[testbin] [%-*s] %d/%d built: %s\n' "$width" "$(printf '%*s' "$filled" '' | tr ' ' '#')" "$DONE" "$TOTAL" "$1" >&2
}
fail() { printf '[testbin] FAILED: %s\n' "$*" >&2; exit 1; }

# The tools file of the wrapper module: one blank import per binary built from it.
TOOLS_GO='//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)'

# Runs a long command, printing "still <what> (N s)" every 30 s so a cold build never looks hung.
heartbeat() {
  local what="$1"; shift
  local t0; t0=$(date +%s)
  ( while sleep 30; do step "still $what ($(( $(date +%s) - t0 )) s so far)"; done ) &
  local hb=$! rc=0
  "$@" || rc=$?
  kill "$hb" 2>/dev/null; wait "$hb" 2>/dev/null || true
  return "$rc"
}

k8s_wrapper() {
  local W="$CACHE/src/k8s"
  if [ -f "$W/.ready" ]; then
    # A wrapper from before a binary was added (e.g. kubelet): add its import and re-resolve.
    if [ "$(cat "$W/tools.go")" != "$TOOLS_GO" ]; then
      step "adding new binaries to the wrapper module (go mod tidy)"
      printf '%s\n' "$TOOLS_GO" > "$W/tools.go"
      (cd "$W" && go mod tidy >&2) || fail "go mod tidy for k8s.io/kubernetes@$K8S_VERSION"
    fi
    echo "$W"; return
  fi
  step "preparing wrapper module for k8s.io/kubernetes@$K8S_VERSION (staging $STG)"
  rm -rf "$W"; mkdir -p "$W"
  local tmp gomod
  tmp="$(mktemp -d)"
  gomod="$(cd "$tmp" && go mod init local.invalid/probe >/dev/null 2>&1 && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')" \
    || fail "go mod download k8s.io/kubernetes@$K8S_VERSION"
  [ -f "$gomod" ] || fail "no go.mod for k8s.io/kubernetes@$K8S_VERSION from the module proxy"
  local goline godebug
  goline="$(sed -n 's/^go \(.*\)/\1/p' "$gomod")"
  godebug="$(grep '^godebug' "$gomod" || true)"
  cat > "$W/go.mod" <<MOD
module local.invalid/k8s-testbin

go $goline

$godebug

require k8s.io/kubernetes $K8S_VERSION
MOD
  local m
  for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/src/.*#\1#p' "$gomod"); do
    (cd "$W" && go mod edit "-replace=$m=$m@$STG")
  done
  printf '%s\n' "$TOOLS_GO" > "$W/tools.go"
  step "resolving modules (go mod tidy)"
  heartbeat "resolving modules" bash -c "cd '$W' && go mod tidy >&2" || fail "go mod tidy for k8s.io/kubernetes@$K8S_VERSION"
  touch "$W/.ready"
  rm -rf "$tmp"
  echo "$W"
}

build_k8s() {
  local want=() p
  for p in "$@"; do have "$p" || want+=("$p"); done
  [ ${#want[@]} -eq 0 ] && return
  local W; W="$(k8s_wrapper)"
  local LD="-s -w" v
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LD="$LD -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$MINOR -X $v.gitTreeState=clean"
  done
  for p in "${want[@]}"; do
    local pkg="k8s.io/kubernetes/cmd/$p" ld="$LD"
    if [ "$p" = etcd ]; then pkg="go.etcd.io/etcd/server/v3"; ld="-s -w"; fi
    step "building $p from $pkg (k8s $K8S_VERSION); a cold build takes several minutes"
    heartbeat "building $p" go -C "$W" build -trimpath -ldflags "$ld" -o "$BIN/$p.tmp" "$pkg" || fail "go build $pkg (k8s.io/kubernetes@$K8S_VERSION)"
    mv "$BIN/$p.tmp" "$BIN/$p"
    progress "$p"
  done
}

build_simple() { # name module-path version package
  local name="$1" mod="$2" ver="$3" pkg="$4"
  have "$name" && return
  step "building $name from $mod@$ver"
  local W="$CACHE/src/$name"
  rm -rf "$W"; mkdir -p "$W"
  (cd "$W" && go mod init "local.invalid/$name" >/dev/null 2>&1 && go get "$mod@$ver" >&2) || fail "go get $mod@$ver"
  heartbeat "building $name" go -C "$W" build -trimpath -ldflags "-s -w" -o "$BIN/$name.tmp" "$pkg" || fail "go build $pkg ($mod@$ver)"
  mv "$BIN/$name.tmp" "$BIN/$name"
  progress "$name"
}

# Builds one binary from a peers source archive, offline (vendored modules, no proxy, local Go).
# The version is linked in: hostpathplugin refuses GetPluginInfo without one ("Driver is missing
# version"), and then node-driver-registrar never registers it with the kubelet.
build_peer() { # name archive
  local name="$1" tgz="$2"
  have "$name" && return
  local base ver tmp
  base="$(basename "$tgz" .tar.gz)"
  ver="${base##*-}"
  step "building $name from $(basename "$tgz") (vendored, offline)"
  tmp="$(mktemp -d)"
  tar xzf "$tgz" -C "$tmp" || { rm -rf "$tmp"; fail "cannot extract $tgz"; }
  local src; src="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -1)"
  [ -d "$src/cmd/$name" ] || { rm -rf "$tmp"; fail "$tgz has no cmd/$name"; }
  (cd "$src" && GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local \
     go build -trimpath -ldflags "-s -w -X main.version=peers-$ver" -o "$BIN/$name.tmp" "./cmd/$name") \
    || { rm -rf "$tmp"; fail "go build ./cmd/$name from $tgz (offline, -mod=vendor)"; }
  rm -rf "$tmp"
  mv "$BIN/$name.tmp" "$BIN/$name"
  progress "$name"
}

START=$(date +%s)
build_k8s etcd kube-apiserver kubectl kube-scheduler kubelet
build_simple helm helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm
build_simple csi-sanity github.com/kubernetes-csi/csi-test/v5 "$CSI_TEST_VERSION" github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity
if [ -n "$HOSTPATH_TGZ" ] && [ -n "$REGISTRAR_TGZ" ]; then
  build_peer hostpathplugin "$HOSTPATH_TGZ"
  build_peer csi-node-driver-registrar "$REGISTRAR_TGZ"
fi
if [ "$BENCH" = 1 ]; then
  build_k8s kube-controller-manager
fi
step "ready in $(( $(date +%s) - START )) s: $BIN"
echo "$BIN"
