#!/usr/bin/env bash
# The test suite: builds (or reuses) the real Kubernetes binaries, type-checks, lints, then runs
# unit and integration tests with node:test in one run (one summary). Used by `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/testbin.sh >/dev/null
# The node tier (real kubelets for test/e2e/real-node-*): install its Debian packages when missing
# (root only). When it cannot run here this prints why, and those tests skip with the reason.
bash scripts/node/install-packages.sh || true
echo "== typecheck"; tsc -p tsconfig.json --noEmit
echo "== lint"; eslint --max-warnings=0 .
echo "== tests"
status=0
node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT_MS:-600000}" \
  'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts' 'test/e2e/**/*.test.ts' || status=$?
# Leave no node-tier cluster (processes, mounts, bridge, cgroups) of a killed test file behind.
node scripts/cluster.ts sweep >/dev/null 2>&1 || true
# Leave no control-plane process behind, whatever happened.
pkill -f "$(bash scripts/testbin.sh --print-dir)/.*vcm-(test|csi)-" 2>/dev/null || true
exit $status
