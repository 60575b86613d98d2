// The Helm chart: lint, schema validation of bad values, the rendered manifests accepted by a
// real API server (kubectl apply --dry-run=server), and the snapshot CRDs installed with a
// release, kept on uninstall, and left alone with crds.install=false.
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
const CRD_NAMES = ['volumesnapshotclasses', 'volumesnapshotcontents', 'volumesnapshots'].map((p) => `${p}.snapshot.storage.k8s.io`);

describe('Helm chart', () => {
    let env: TestCluster;
    before(async () => {
        // No CRDs from the environment: the chart installs them.
        env = await useCluster({ crds: false });
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
            [['--set', 'crds.install=maybe'], /crds\/install': got string, want boolean/],
        ];
        for (const [args, re] of bad) {
            await assert.rejects(helm('template', 't', CHART, '--kube-version', '1.36.3', ...args), (e: { stderr: string }) => re.test(e.stderr), args.join(' '));
        }
    });

    for (const [name, args] of [
        ['defaults', []],
        ['built-in driver, driver container, no leader election', ['--set', 'builtinDriver.enabled=true', '--set', 'driverContainer.enabled=true', '--set', 'driverContainer.image=example.invalid/driver:1', '--set', 'drivers[0].name=hostpath.csi.k8s.io', '--set', 'drivers[0].endpoint=unix:///csi/csi.sock', '--set', 'leaderElection.enabled=false']],
        ['only the binder', ['--set', 'controllers.attachDetach=false', '--set', 'controllers.provisioner=false', '--set', 'controllers.attacher=false']],
        ['no CRDs', ['--set', 'crds.install=false']],
    ] as [string, string[]][]) {
        it(`renders manifests the API server accepts (${name})`, async () => {
            const { stdout: manifest } = await helm('template', 'vcm', CHART, '-n', 'default', '--kube-version', '1.36.3', ...args);
            const file = path.join(env.dir, `chart-${name.replace(/\W+/g, '-')}.yaml`);
            const { writeFileSync } = await import('node:fs');
            writeFileSync(file, manifest);
            const { stdout } = await run(testbinPath('kubectl'), ['--kubeconfig', env.cp.kubeconfig, 'apply', '--dry-run=server', '-f', file]);
            for (const kind of ['serviceaccount', 'clusterrole.rbac.authorization.k8s.io', 'deployment.apps', 'poddisruptionbudget.policy']) assert.match(stdout, new RegExp(`${kind}/\\S+ created \\(server dry run\\)`));
            const crds = [...stdout.matchAll(/customresourcedefinition\.apiextensions\.k8s\.io\/(\S+) created \(server dry run\)/g)].map((m) => m[1]).sort();
            assert.deepEqual(crds, args.includes('crds.install=false') ? [] : CRD_NAMES);
            assert.match(manifest, /runAsNonRoot: true/);
            assert.match(manifest, /readOnlyRootFilesystem: true/);
        });
    }

    it('helm install creates the snapshot CRDs; helm uninstall keeps them and the snapshots; crds.install=false leaves them alone', async () => {
        const kubectl = (...a: string[]) => run(testbinPath('kubectl'), ['--kubeconfig', env.cp.kubeconfig, ...a]);
        const h = (...a: string[]) => helm('--kubeconfig', env.cp.kubeconfig, ...a);
        await h('install', 'vcm', CHART, '-n', 'default');
        await kubectl('wait', '--for=condition=Established', '--timeout=30s', ...CRD_NAMES.map((n) => `crd/${n}`));
        const snapshot = path.join(env.dir, 'snapshot.yaml');
        const { writeFileSync } = await import('node:fs');
        writeFileSync(snapshot, 'apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata: {name: kept, namespace: default}\nspec: {source: {persistentVolumeClaimName: data}}\n');
        await kubectl('create', '-f', snapshot);

        const { stdout: un } = await h('uninstall', 'vcm', '-n', 'default');
        assert.match(un, /These resources were kept due to the resource policy:[\s\S]*CustomResourceDefinition/);
        const { stdout: names } = await kubectl('get', 'crd', '-o', 'name');
        for (const n of CRD_NAMES) assert.ok(names.includes(`customresourcedefinition.apiextensions.k8s.io/${n}`), `${n} kept`);
        const { stdout: vs } = await kubectl('get', 'volumesnapshot', 'kept', '-n', 'default', '-o', 'jsonpath={.spec.source.persistentVolumeClaimName}');
        assert.equal(vs, 'data', 'the VolumeSnapshot survived the uninstall');

        // Another release, told the CRDs exist already: installs without touching them.
        const { stdout: before } = await kubectl('get', 'crd', ...CRD_NAMES, '-o', 'jsonpath={.items[*].metadata.resourceVersion}');
        await h('install', 'other', CHART, '-n', 'default', '--set', 'crds.install=false');
        await h('uninstall', 'other', '-n', 'default');
        const { stdout: after } = await kubectl('get', 'crd', ...CRD_NAMES, '-o', 'jsonpath={.items[*].metadata.resourceVersion}');
        assert.equal(after, before, 'crds.install=false neither changed nor deleted the CRDs');
    });
});
