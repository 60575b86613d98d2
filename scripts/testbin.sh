#!/usr/bin/env bash
# Builds the real Kubernetes components our tests and demo run against, from Go modules at pinned
# versions, into a git-ignored cache (.cache/testbin/<k8s-version>/bin). Reuses what is already built.
#
#   scripts/testbin.sh            etcd, kube-apiserver, kube-scheduler, kubectl, helm, csi-sanity
#   scripts/testbin.sh --bench    also kube-controller-manager (for side-by-side benchmarks)
#   scripts/testbin.sh --print-dir  prints the bin directory and exits
#
# Env: K8S_VERSION (default v1.36.3), HELM_VERSION, CSI_TEST_VERSION, TESTBIN_DIR (cache root).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
HELM_VERSION="${HELM_VERSION:-v3.19.5}"
CSI_TEST_VERSION="${CSI_TEST_VERSION:-v5.4.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TESTBIN_DIR:-$ROOT/.cache/testbin}/$K8S_VERSION"
BIN="$CACHE/bin"
STG="v0.${K8S_VERSION#v1.}"
MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"

BENCH=0
for a in "$@"; do
  case "$a" in
    --bench) BENCH=1 ;;
    --print-dir) echo "$BIN"; exit 0 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "testbin: unknown argument '$a'" >&2; exit 2 ;;
  esac
done

mkdir -p "$BIN" "$CACHE/src"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod"
# Two cores: one compile job at a time per package graph keeps peak memory a few GiB.
export GOMAXPROCS="${GOMAXPROCS:-2}"

step() { printf '[testbin %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# Progress: [done/total] over the binaries still to build, with a bar.
WANT=(etcd kube-apiserver kubectl kube-scheduler helm csi-sanity)
[ "${BENCH:-0}" = 1 ] && WANT+=(kube-controller-manager)
TOTAL=0; for b in "${WANT[@]}"; do [ -x "$BIN/$b" ] || TOTAL=$((TOTAL + 1)); done
DONE=0
progress() {
  DONE=$((DONE + 1))
  local width=30 filled=$(( TOTAL > 0 ? DONE * 30 / TOTAL : 30 ))
  printf '[testbin] [%-*s] %d/%d built: %s\n' "$width" "$(printf '%*s' "$filled" '' | tr ' ' '#')" "$DONE" "$TOTAL" "$1" >&2
}
fail() { printf '[testbin] FAILED: %s\n' "$*" >&2; exit 1; }
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
have() { [ -x "$BIN/$1" ]; }

k8s_wrapper() {
  local W="$CACHE/src/k8s"
  if [ -f "$W/.ready" ]; then echo "$W"; return; fi
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
  cat > "$W/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
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

START=$(date +%s)
build_k8s etcd kube-apiserver kubectl kube-scheduler
build_simple helm helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm
build_simple csi-sanity github.com/kubernetes-csi/csi-test/v5 "$CSI_TEST_VERSION" github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity
if [ "$BENCH" = 1 ]; then
  build_k8s kube-controller-manager
fi
step "ready in $(( $(date +%s) - START )) s: $BIN"
echo "$BIN"
