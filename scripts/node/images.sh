#!/usr/bin/env bash
# Builds the two container images a node-tier pod needs, from files on this machine (no registry,
# no daemon, no network), as docker-archive tarballs that `ctr images import` loads:
#   busybox  the busybox-static binary with its applet links (the test pods' image)
#   pause    a tiny static Go program (scripts/node/pause) that holds a pod's namespaces and reaps
#            zombies: containerd's sandbox image
# Tarballs are cached in OUT (default .cache/node-images) under a name that hashes their inputs.
# Prints "<image ref> <tarball>" per image on stdout.
#
#   scripts/node/images.sh [--out DIR]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/.cache/node-images"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "images: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

# Image references (kept in step with scripts/lib/nodes.ts).
BUSYBOX_REF="localhost/vcm/busybox:1"
PAUSE_REF="localhost/vcm/pause:1"

fail() { printf '[images] FAILED: %s\n' "$*" >&2; exit 1; }
case "$(uname -m)" in
  x86_64) ARCH=amd64 ;;
  aarch64) ARCH=arm64 ;;
  *) ARCH="$(uname -m)" ;;
esac
BUSYBOX="${BUSYBOX:-/bin/busybox}"
[ -x "$BUSYBOX" ] || fail "no $BUSYBOX: install busybox-static (scripts/node/install-packages.sh)"
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" \
  || fail "busybox-static is not installed ($BUSYBOX may be dynamically linked): run scripts/node/install-packages.sh"
mkdir -p "$OUT"

# archive REF ROOTFS CONFIG_JSON_FRAGMENT OUTFILE: a one-layer docker-archive tarball.
archive() {
  local ref="$1" rootfs="$2" cfg="$3" outfile="$4" work
  work="$(mktemp -d)"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
  local diff; diff="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
  mkdir "$work/$diff"; mv "$work/layer.tar" "$work/$diff/layer.tar"
  printf '{"architecture":"%s","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$ARCH" "$cfg" "$diff" > "$work/config.json"
  local cid; cid="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
  mv "$work/config.json" "$work/$cid.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cid" "$ref" "$diff" > "$work/manifest.json"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$outfile.tmp" manifest.json "$cid.json" "$diff"
  mv "$outfile.tmp" "$outfile"
  rm -rf "$work"
}

SELF_SUM="$(sha256sum "$0" | cut -c1-12)"

# busybox: the static binary and a link per applet.
BB_KEY="$( (sha256sum "$BUSYBOX"; echo "$SELF_SUM") | sha256sum | cut -c1-16)"
BB_TAR="$OUT/busybox-$BB_KEY.tar"
if [ ! -f "$BB_TAR" ]; then
  rootfs="$(mktemp -d)"
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/root"
  chmod 1777 "$rootfs/tmp"
  cp "$BUSYBOX" "$rootfs/bin/busybox"
  for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
  archive "$BUSYBOX_REF" "$rootfs" '{"Env":["PATH=/bin"],"Cmd":["sh"]}' "$BB_TAR"
  rm -rf "$rootfs"
fi

# pause: built from scripts/node/pause (no dependencies, so offline).
PAUSE_SRC="$ROOT/scripts/node/pause"
P_KEY="$( (cat "$PAUSE_SRC/main.go" "$PAUSE_SRC/go.mod"; go env GOVERSION; echo "$SELF_SUM") | sha256sum | cut -c1-16)"
P_TAR="$OUT/pause-$P_KEY.tar"
if [ ! -f "$P_TAR" ]; then
  rootfs="$(mktemp -d)"
  (cd "$PAUSE_SRC" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local go build -trimpath -ldflags "-s -w" -o "$rootfs/pause" .) \
    || fail "go build scripts/node/pause"
  archive "$PAUSE_REF" "$rootfs" '{"Entrypoint":["/pause"]}' "$P_TAR"
  rm -rf "$rootfs"
fi

echo "$BUSYBOX_REF $BB_TAR"
echo "$PAUSE_REF $P_TAR"
