// RBAC is proven, not guessed: the demo runs with volume-controller-manager authenticated as
// the Helm chart's ServiceAccount, with exactly the chart's rendered RBAC applied. The API
// server's audit log then shows (a) no request of that user was refused, and (b) every verb of
// every ClusterRole and Role rule was used — so removing any rule breaks this test. A scripted
// CSI driver with CLONE_VOLUME and CREATE_DELETE_SNAPSHOT exercises the data-source reads (a
// clone, and a restore against stand-in snapshot CRDs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { KubernetesObjectApi, loadAllYaml } from '@kubernetes/client-node';
import type { KubernetesObject, V1ClusterRole, V1Role } from '@kubernetes/client-node';
import { runDemo } from '../../scripts/lib/demo.ts';
import type { DemoResult } from '../../scripts/lib/demo.ts';
import { REPO_ROOT, testbinPath } from '../../scripts/lib/testbin.ts';
import { eventually } from '../support/env.ts';
import { startScriptedDriver } from '../support/scripted-driver.ts';
import type { ScriptedDriver } from '../support/scripted-driver.ts';
import { createSnapshot } from '../support/snapshots.ts';

const NS = 'vcm-system';
const RELEASE = 'vcm';
const FULLNAME = 'vcm-volume-controller-manager';
const SA_USER = `system:serviceaccount:${NS}:${FULLNAME}`;
const SECRETS_NS = 'default';

function render(): KubernetesObject[] {
    // Secrets are read only where StorageClasses put them (secrets.namespaces): the namespaced
    // Role is what this test proves sufficient and used. --skip-tests: the helm test hook's own
    // ServiceAccount and Role are not the manager's.
    const out = execFileSync(
        testbinPath('helm'),
        [
            'template', RELEASE, path.join(REPO_ROOT, 'charts', 'volume-controller-manager'), '-n', NS, '--kube-version', '1.36.3', '--skip-tests',
            '--set', 'replicaCount=1', '--set', 'builtinDriver.enabled=true', '--set', 'secrets.enabled=true', '--set', `secrets.namespaces={${SECRETS_NS}}`,
        ],
        { encoding: 'utf8' },
    );
    return (loadAllYaml(out) as KubernetesObject[]).filter(Boolean);
}

describe('Helm chart RBAC is exactly sufficient', () => {
    let r: DemoResult | undefined;
    let drv: ScriptedDriver | undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-test-rbac-'));
    after(async () => {
        await r?.stop();
        await drv?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it('every controller works as the chart ServiceAccount, and every granted verb is used', async () => {
        const objs = render();
        const rbac = objs.filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind ?? ''));
        // ServiceAccount, ClusterRole(Binding), the Lease Role(Binding), the secrets Role(Binding).
        assert.equal(rbac.length, 7);
        const secretRules = (rbac.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role') as (V1ClusterRole | V1Role)[]).flatMap((o) =>
            (o.rules ?? []).filter((rule) => rule.resources?.includes('secrets')).map((rule) => `${o.kind} ${o.metadata?.namespace ?? '-'} ${rule.verbs.join(',')}`),
        );
        assert.deepEqual(secretRules, [`Role ${SECRETS_NS} get`], 'secrets only through the namespaced Role');
        const scripted = 'clone.csi.vcm.test';
        drv = await startScriptedDriver(scripted, ['CLONE_VOLUME', 'CREATE_DELETE_SNAPSHOT']);
        r = await runDemo({
            dir,
            print: false,
            audit: true,
            managerArgs: [`--leader-election-namespace=${NS}`, `--leader-elect-resource-name=${FULLNAME}`, `--csi-drivers=${drv.flag}`],
            async managerKubeconfig(cp, clients) {
                await clients.core.createNamespace({ body: { metadata: { name: NS } } });
                const api = KubernetesObjectApi.makeApiClient(clients.kc);
                for (const o of rbac) await api.create(o);
                const tr = await clients.core.createNamespacedServiceAccountToken({ name: FULLNAME, namespace: NS, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
                return cp.kubeconfigForToken('chart-sa', tr.status?.token ?? '');
            },
        });
        const { clients } = r;
        // A class with a provisioner secret exercises `get secrets`.
        await clients.core.createNamespacedSecret({ namespace: SECRETS_NS, body: { metadata: { name: 'creds' }, stringData: { k: 'v' } } });
        await clients.storage.createStorageClass({
            body: { metadata: { name: 'with-secret' }, provisioner: 'dir.csi.volume-controller-manager.io', volumeBindingMode: 'Immediate', parameters: { 'csi.storage.k8s.io/provisioner-secret-name': 'creds', 'csi.storage.k8s.io/provisioner-secret-namespace': SECRETS_NS } },
        });
        await clients.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: { metadata: { name: 'secretive' }, spec: { storageClassName: 'with-secret', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } });
        await eventually('claim with a provisioner secret Bound', async () => (await clients.core.readNamespacedPersistentVolumeClaim({ name: 'secretive', namespace: 'default' })).status?.phase === 'Bound', 30_000);
        // Data sources: a clone (cloning-protection finalizer, source PV read) and a restore
        // (VolumeSnapshot and VolumeSnapshotContent reads).
        await createSnapshot(clients, { name: 'snap', driver: scripted, handle: 'h1', ready: true, restoreSize: '1Gi' });
        await clients.storage.createStorageClass({ body: { metadata: { name: 'scripted' }, provisioner: scripted, volumeBindingMode: 'Immediate' } });
        const claim = (name: string, dataSource?: { apiGroup?: string; kind: string; name: string }) =>
            clients.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: { metadata: { name }, spec: { storageClassName: 'scripted', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, dataSource } } });
        const bound = (name: string) => eventually(`claim ${name} Bound`, async () => (await clients.core.readNamespacedPersistentVolumeClaim({ name, namespace: 'default' })).status?.phase === 'Bound', 30_000);
        await claim('origin');
        await bound('origin');
        await claim('cloned', { kind: 'PersistentVolumeClaim', name: 'origin' });
        await claim('restored', { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap' });
        await bound('cloned');
        await bound('restored');

        const entries = fs
            .readFileSync(r.cp.auditLog, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { user: { username: string }; verb: string; objectRef?: { apiGroup?: string; resource?: string; subresource?: string }; responseStatus?: { code?: number }; requestURI: string })
            .filter((e) => e.user.username === SA_USER && e.objectRef?.resource);
        assert.ok(entries.length > 50, `the manager talked to the API as the ServiceAccount (${entries.length} requests)`);
        const denied = entries.filter((e) => e.responseStatus?.code === 403).map((e) => `${e.verb} ${e.requestURI}`);
        assert.deepEqual(denied, [], 'no request refused: the RBAC is sufficient');
        const used = new Set(entries.map((e) => `${e.objectRef?.apiGroup ?? ''}|${e.objectRef?.resource}${e.objectRef?.subresource ? '/' + e.objectRef.subresource : ''}|${e.verb}`));
        const granted: string[] = [];
        for (const role of rbac.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role') as (V1ClusterRole | V1Role)[]) {
            for (const rule of role.rules ?? []) for (const g of rule.apiGroups ?? []) for (const res of rule.resources ?? []) for (const v of rule.verbs) granted.push(`${g}|${res}|${v}`);
        }
        const unused = granted.filter((g) => !used.has(g));
        assert.deepEqual(unused, [], 'every granted verb is used: the RBAC is minimal');
    });
});
