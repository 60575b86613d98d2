// RBAC is proven, not guessed: the demo runs with volume-controller-manager authenticated as
// the Helm chart's ServiceAccount, with exactly the chart's rendered RBAC applied. The API
// server's audit log then shows (a) no request of that user was refused, and (b) every verb of
// every ClusterRole and Role rule was used — so removing any rule breaks this test.
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

const NS = 'vcm-system';
const RELEASE = 'vcm';
const FULLNAME = 'vcm-volume-controller-manager';
const SA_USER = `system:serviceaccount:${NS}:${FULLNAME}`;

function render(): KubernetesObject[] {
    const out = execFileSync(testbinPath('helm'), ['template', RELEASE, path.join(REPO_ROOT, 'charts', 'volume-controller-manager'), '-n', NS, '--kube-version', '1.36.3', '--set', 'builtinDriver.enabled=true', '--set', 'builtinDriver.existingClaim=vcm-builtin'], { encoding: 'utf8' });
    return (loadAllYaml(out) as KubernetesObject[]).filter(Boolean);
}

describe('Helm chart RBAC is exactly sufficient', () => {
    let r: DemoResult | undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-test-rbac-'));
    after(async () => {
        await r?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it('every controller works as the chart ServiceAccount, and every granted verb is used', async () => {
        const objs = render();
        const rbac = objs.filter((o) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind ?? ''));
        assert.equal(rbac.length, 5);
        r = await runDemo({
            dir,
            print: false,
            audit: true,
            managerArgs: [`--leader-election-namespace=${NS}`, `--leader-elect-resource-name=${FULLNAME}`],
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
        await clients.core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'creds' }, stringData: { k: 'v' } } });
        await clients.storage.createStorageClass({
            body: { metadata: { name: 'with-secret' }, provisioner: 'dir.csi.volume-controller-manager.io', volumeBindingMode: 'Immediate', parameters: { 'csi.storage.k8s.io/provisioner-secret-name': 'creds', 'csi.storage.k8s.io/provisioner-secret-namespace': 'default' } },
        });
        await clients.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: { metadata: { name: 'secretive' }, spec: { storageClassName: 'with-secret', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } });
        await eventually('claim with a provisioner secret Bound', async () => (await clients.core.readNamespacedPersistentVolumeClaim({ name: 'secretive', namespace: 'default' })).status?.phase === 'Bound', 30_000);

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
