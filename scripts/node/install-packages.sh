#!/usr/bin/env bash
# Makes this machine able to run real nodes (kubelet + containerd + runc) for the node tier:
# checks what the kernel must offer and installs the Debian packages the node needs when they
# are missing. Idempotent; prints one line per problem and why it matters.
#
#   scripts/node/install-packages.sh           check, and install what is missing (needs root)
#   scripts/node/install-packages.sh --check   check only; exit 1 with the reason when not ready
#
# Packages: containerd (the container runtime the kubelet talks CRI to), runc (what containerd runs
# containers with), busybox-static (the static binary our test image is made of), and
# containernetworking-plugins (bridge, host-local, loopback: pod networking without a daemon).
set -euo pipefail

PACKAGES=(containerd runc busybox-static containernetworking-plugins)
CHECK=0
for a in "$@"; do
  case "$a" in
    --check) CHECK=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install-packages: unknown argument '$a'" >&2; exit 2 ;;
  esac
done

no() { printf 'node tier unavailable: %s\n' "$*" >&2; exit 1; }

[ "$(uname -s)" = Linux ] || no "needs Linux (kubelet, containerd and runc are Linux programs)"
[ "$(id -u)" = 0 ] || no "needs root: the kubelet mounts volumes, containerd creates namespaces and cgroups (running as uid $(id -u))"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || no "the kernel offers no overlay filesystem (containerd's overlayfs snapshotter unpacks images with it)"
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  grep -qw memory /sys/fs/cgroup/cgroup.controllers || no "cgroup v2 without the memory controller (the kubelet needs cpu, memory and pids cgroups for pods)"
else
  for c in cpu memory pids; do
    [ -d "/sys/fs/cgroup/$c" ] || no "no $c cgroup at /sys/fs/cgroup/$c (the kubelet needs cpu, memory and pids cgroups for pods)"
  done
fi

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
command -v dpkg-query >/dev/null || no "not a Debian-based system (no dpkg); install ${PACKAGES[*]} by hand"
missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
[ "$CHECK" = 1 ] && no "missing Debian packages: ${missing[*]} (run: sudo bash scripts/node/install-packages.sh)"

echo "[node] installing ${missing[*]} (containerd + runc run the pods, busybox-static is the test image, containernetworking-plugins the pod network; about 40 MB)" >&2
export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >&2; }
if ! apt_install; then
  apt-get update -q -o DPkg::Lock::Timeout=300 >&2 || no "apt-get update failed; cannot install ${missing[*]}"
  apt_install || no "apt-get install ${missing[*]} failed (see above)"
fi
for p in "${PACKAGES[@]}"; do installed "$p" || no "$p still not installed after apt-get install"; done
echo "[node] installed ${missing[*]}" >&2
