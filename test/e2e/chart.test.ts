// The Helm chart: lint, schema validation of bad values, and the rendered manifests accepted by
// a real API server (kubectl apply --dry-run=server).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT, testbinPath } from '../../scripts/lib/testbin.ts';
import { useCluster } from '../support/env.ts';
import type { TestCluster } from '../support/env.ts';

const run = promisify(execFile);
const CHART = path.join(REPO_ROOT, 'charts', 'volume-controller-manager');
const helm = (...args: string[]) => run(testbinPath('helm'), args, { maxBuffer: 16 << 20 });

describe('Helm chart', () => {
    let env: TestCluster;
    before(async () => {
        env = await useCluster();
    });
    after(() => env.stop());

    it('passes helm lint', async () => {
        const { stdout } = await helm('lint', CHART, '--strict');
        assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });

    it('rejects bad values with a clear message', async () => {
        const bad: [string[], RegExp][] = [
            [['--set', 'workerThreads=0'], /workerThreads': minimum: got 0, want 1/],
            [['--set', 'drivers[0].name=x'], /missing property 'endpoint'/],
            [['--set', 'leaderElection.leaseDuration=15'], /leaseDuration/],
            [['--set', 'controllers.nope=true'], /additional properties 'nope' not allowed/],
            // Two replicas with per-pod emptyDirs would each keep their own built-in volumes.
            [['--set', 'builtinDriver.enabled=true'], /builtinDriver.enabled with replicaCount > 1 needs builtinDriver.existingClaim/],
        ];
        for (const [args, re] of bad) {
            await assert.rejects(helm('template', 't', CHART, '--kube-version', '1.36.3', ...args), (e: { stderr: string }) => re.test(e.stderr), args.join(' '));
        }
    });

    for (const [name, args] of [
        ['defaults', []],
        ['built-in driver on a shared claim, driver container, no leader election', ['--set', 'builtinDriver.enabled=true', '--set', 'builtinDriver.existingClaim=vcm-builtin', '--set', 'driverContainer.enabled=true', '--set', 'driverContainer.image=example.invalid/driver:1', '--set', 'drivers[0].name=hostpath.csi.k8s.io', '--set', 'drivers[0].endpoint=unix:///csi/csi.sock', '--set', 'leaderElection.enabled=false']],
        ['only the binder', ['--set', 'controllers.attachDetach=false', '--set', 'controllers.provisioner=false', '--set', 'controllers.attacher=false']],
        ['built-in driver, one replica, emptyDir', ['--set', 'builtinDriver.enabled=true', '--set', 'replicaCount=1']],
    ] as [string, string[]][]) {
        it(`renders manifests the API server accepts (${name})`, async () => {
            const { stdout: manifest } = await helm('template', 'vcm', CHART, '-n', 'default', '--kube-version', '1.36.3', ...args);
            const file = path.join(env.dir, `chart-${name.replace(/\W+/g, '-')}.yaml`);
            const { writeFileSync } = await import('node:fs');
            writeFileSync(file, manifest);
            const { stdout } = await run(testbinPath('kubectl'), ['--kubeconfig', env.cp.kubeconfig, 'apply', '--dry-run=server', '-f', file]);
            for (const kind of ['serviceaccount', 'clusterrole.rbac.authorization.k8s.io', 'deployment.apps', 'poddisruptionbudget.policy']) assert.match(stdout, new RegExp(`${kind}/\\S+ created \\(server dry run\\)`));
            assert.match(manifest, /runAsNonRoot: true/);
            assert.match(manifest, /readOnlyRootFilesystem: true/);
        });
    }
});
