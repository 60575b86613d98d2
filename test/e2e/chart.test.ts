// The Helm chart: lint, schema validation of bad values, and the rendered manifests accepted by
// a real API server (kubectl apply --dry-run=server).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadAllYaml } from '@kubernetes/client-node';
import type { KubernetesObject, V1Role } from '@kubernetes/client-node';
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
        ];
        for (const [args, re] of bad) {
            await assert.rejects(helm('template', 't', CHART, '--kube-version', '1.36.3', ...args), (e: { stderr: string }) => re.test(e.stderr), args.join(' '));
        }
    });

    it('grants Secrets only when secrets.enabled: a Role per listed namespace, else one ClusterRole rule', async () => {
        const secretRules = async (...args: string[]) => {
            const { stdout } = await helm('template', 'vcm', CHART, '-n', 'storage', '--kube-version', '1.36.3', ...args);
            return (loadAllYaml(stdout) as KubernetesObject[])
                .filter((o) => o && (o.kind === 'ClusterRole' || o.kind === 'Role'))
                .flatMap((o) => ((o as V1Role).rules ?? []).filter((r) => r.resources?.includes('secrets')).map((r) => `${o.kind} ${o.metadata?.namespace ?? '-'} ${r.verbs.join(',')}`));
        };
        assert.deepEqual(await secretRules(), [], 'defaults: no rule names secrets');
        assert.deepEqual(await secretRules('--set', 'secrets.enabled=true'), ['ClusterRole - get']);
        assert.deepEqual(await secretRules('--set', 'secrets.enabled=true', '--set', 'secrets.namespaces={storage-secrets,tenant-a}'), ['Role storage-secrets get', 'Role tenant-a get']);
        // Only the provisioner and the attacher read Secrets.
        assert.deepEqual(await secretRules('--set', 'secrets.enabled=true', '--set', 'controllers.provisioner=false', '--set', 'controllers.attacher=false'), []);
    });

    it('install notes name exactly the kube-controller-manager loops and driver sidecars to turn off', async () => {
        const notes = async (...args: string[]) => {
            const { stdout } = await helm('install', 'vcm', CHART, '-n', 'default', '--dry-run=server', '--kubeconfig', env.cp.kubeconfig, ...args);
            const i = stdout.indexOf('\nNOTES:\n');
            assert.ok(i > 0, 'install printed its notes');
            return stdout.slice(i);
        };
        assert.match(await notes(), /--controllers=\*,-persistentvolume-binder,-attachdetach,-pv-protection,-pvc-protection\n/);

        const noAdc = await notes('--set', 'controllers.attachDetach=false');
        assert.match(noAdc, /--controllers=\*,-persistentvolume-binder,-pv-protection,-pvc-protection\n/);
        assert.doesNotMatch(noAdc, /-attachdetach/);
        assert.match(noAdc, /attachdetach loop must keep running/);

        const sidecarsOnly = await notes(...['pvBinder', 'pvcProtection', 'pvProtection', 'attachDetach'].flatMap((c) => ['--set', `controllers.${c}=false`]), '--set', 'drivers[0].name=csi.example.com', '--set', 'drivers[0].endpoint=csi:10000');
        assert.doesNotMatch(sidecarsOnly, /--controllers=/);
        assert.match(sidecarsOnly, /leave kube-controller-manager as it is/);
        assert.match(sidecarsOnly, /csi\.example\.com: remove csi-provisioner, csi-attacher\n/);

        const kcmOnly = await notes('--set', 'controllers.provisioner=false', '--set', 'controllers.attacher=false', '--set', 'drivers[0].name=csi.example.com', '--set', 'drivers[0].endpoint=csi:10000');
        assert.match(kcmOnly, /Neither the provisioner nor the attacher runs/);
        assert.doesNotMatch(kcmOnly, /remove csi-/);

        const provisionerOnly = await notes('--set', 'controllers.attacher=false', '--set', 'drivers[0].name=a.example.com', '--set', 'drivers[0].endpoint=unix:///csi/csi.sock', '--set', 'drivers[1].name=b.example.com', '--set', 'drivers[1].endpoint=b:9000');
        assert.match(provisionerOnly, /a\.example\.com: remove csi-provisioner\n\s+b\.example\.com: remove csi-provisioner\n/);
        assert.doesNotMatch(provisionerOnly, /remove csi-attacher|remove csi-provisioner, csi-attacher/);
        assert.match(provisionerOnly, /secrets\.enabled is false/);
    });

    for (const [name, args] of [
        ['defaults', []],
        ['built-in driver, driver container, no leader election', ['--set', 'builtinDriver.enabled=true', '--set', 'driverContainer.enabled=true', '--set', 'driverContainer.image=example.invalid/driver:1', '--set', 'drivers[0].name=hostpath.csi.k8s.io', '--set', 'drivers[0].endpoint=unix:///csi/csi.sock', '--set', 'leaderElection.enabled=false']],
        ['only the binder', ['--set', 'controllers.attachDetach=false', '--set', 'controllers.provisioner=false', '--set', 'controllers.attacher=false']],
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
