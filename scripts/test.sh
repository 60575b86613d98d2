#!/usr/bin/env bash
# The test suite, used by `npm test`. A fast tier first (type check, lint, unit tables: about a
# minute, nothing built or started), so a red lint fails in seconds; then the real Kubernetes
# binaries are built (or reused), the node tier's packages installed when missing, and the
# integration and end-to-end tests run against real control planes (and real nodes) in one run.
# Every test stops the processes it started; what a killed test file leaves behind is stopped by
# process group below, never by a name pattern.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== typecheck"; tsc -p tsconfig.json --noEmit
echo "== lint"; eslint --max-warnings=0 .
echo "== unit tests"
node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-reporter=dot 'test/unit/**/*.test.ts'
echo "== binaries"
bash scripts/testbin.sh >/dev/null
# The node tier (real kubelets for test/e2e/real-node-*): install its Debian packages when missing
# (root only). When it cannot run here this prints why, and those tests skip with the reason.
bash scripts/node/install-packages.sh || true
echo "== integration and end-to-end tests"
status=0
# Job control: the runner gets its own process group, which every process a test file starts
# inherits (control planes, managers, drivers), unless it deliberately left it.
set -m
node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT_MS:-600000}" \
  'test/integration/**/*.test.ts' 'test/e2e/**/*.test.ts' &
runner=$!
wait "$runner" || status=$?
set +m
# Stop what is still running in that group (a test file killed at its timeout leaves its
# children), and nothing outside it.
if kill -0 -- "-$runner" 2>/dev/null; then
  kill -TERM -- "-$runner" 2>/dev/null || true
  sleep 2
  kill -KILL -- "-$runner" 2>/dev/null || true
fi
# A node-tier cluster whose test file was killed (SIGKILL: no exit hook ran) is found by its
# cgroup and slot, not by a process name pattern, and cleaned up.
node scripts/cluster.ts sweep >/dev/null 2>&1 || true
exit $status
