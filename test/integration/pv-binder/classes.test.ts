// StorageClasses against a real API server: retroactive default class, WaitForFirstConsumer
// (delayed binding) and the provisioning hand-off to an external provisioner.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1StorageClass } from '@kubernetes/client-node';
import { eventually, sleep } from '../../support/env.ts';
import { podObject, withManager } from '../../support/volumes.ts';

function storageClass(name: string, provisioner: string, o: { mode?: string; isDefault?: boolean; policy?: string } = {}): V1StorageClass {
    return {
        metadata: { name, annotations: o.isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : undefined },
        provisioner,
        volumeBindingMode: o.mode ?? 'Immediate',
        reclaimPolicy: o.policy ?? 'Delete',
    };
}

describe('pv-binder: storage classes', () => {
    const ctx = withManager('pv-binder,pvc-protection,pv-protection');

    it('assigns a default class retroactively to a claim created before any default existed', async () => {
        await ctx.v.createPVC('classless', { cls: null });
        await sleep(300);
        assert.equal((await ctx.v.pvc('classless')).spec?.storageClassName, undefined);
        await ctx.env.clients.storage.createStorageClass({ body: storageClass('std', 'dir.csi.example.io', { isDefault: true }) });
        const c = await eventually('class assigned', async () => {
            const x = await ctx.v.pvc('classless');
            return x.spec?.storageClassName === 'std' ? x : undefined;
        });
        assert.equal(c.spec?.storageClassName, 'std');
        // …and, having a class now, it is handed to the class's provisioner.
        const handed = await eventually('provisioner annotation', async () => (await ctx.v.pvc('classless')).metadata?.annotations?.['volume.kubernetes.io/storage-provisioner']);
        assert.equal(handed, 'dir.csi.example.io');
        const serving = await ctx.mgr.waitForLog('Serving HTTP endpoints');
        const text = await (await fetch(`http://127.0.0.1:${serving.port}/metrics`)).text();
        assert.match(text, /retroactive_storageclass_total 1/);
    });

    it('hands a dynamic claim to its external provisioner with both annotations and ExternalProvisioning', async () => {
        await ctx.env.clients.storage.createStorageClass({ body: storageClass('ext', 'ext.csi.example.io') });
        await ctx.v.createPVC('dyn', { cls: 'ext' });
        const c = await eventually('annotated', async () => {
            const x = await ctx.v.pvc('dyn');
            return x.metadata?.annotations?.['volume.kubernetes.io/storage-provisioner'] ? x : undefined;
        });
        assert.equal(c.metadata?.annotations?.['volume.beta.kubernetes.io/storage-provisioner'], 'ext.csi.example.io');
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 'dyn', 'ExternalProvisioning');
        assert.equal(
            ev.message,
            "Waiting for a volume to be created either by the external provisioner 'ext.csi.example.io' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
        );
        // The provisioner's PV arrives pre-bound to the claim; the binder completes the bind.
        await ctx.v.createPV(`pvc-${c.metadata?.uid}`, {
            cls: 'ext',
            policy: 'Delete',
            annotations: { 'pv.kubernetes.io/provisioned-by': 'ext.csi.example.io' },
            claimRef: { namespace: 'default', name: 'dyn', uid: c.metadata?.uid },
            csi: { driver: 'ext.csi.example.io', volumeHandle: 'vol-1' },
        });
        const bound = await ctx.v.waitClaimPhase('dyn', 'Bound');
        assert.equal(bound.spec?.volumeName, `pvc-${c.metadata?.uid}`);
        await ctx.env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: 'dyn', namespace: 'default' });
        await ctx.v.waitVolumePhase(`pvc-${c.metadata?.uid}`, 'Released');
    });

    it('reports ProvisioningFailed for a claim whose class does not exist', async () => {
        await ctx.v.createPVC('nowhere', { cls: 'missing' });
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 'nowhere', 'ProvisioningFailed');
        assert.equal(ev.type, 'Warning');
        assert.equal(ev.message, 'storageclass.storage.k8s.io "missing" not found');
    });

    it('WaitForFirstConsumer: never binds early; says what it waits for; provisions once a node is selected', async () => {
        await ctx.env.clients.storage.createStorageClass({ body: storageClass('late', 'late.csi.example.io', { mode: 'WaitForFirstConsumer' }) });
        await ctx.v.createPV('late-pv', { cls: 'late', size: '5Gi' });
        await ctx.v.createPVC('patient', { cls: 'late' });
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 'patient', 'WaitForFirstConsumer');
        assert.equal(ev.message, 'waiting for first consumer to be created before binding');
        assert.equal((await ctx.v.pvc('patient')).status?.phase, 'Pending');
        assert.equal((await ctx.v.pv('late-pv')).spec?.claimRef, undefined, 'no binding before a node is selected');
        await ctx.env.clients.core.createNamespacedPod({ namespace: 'default', body: podObject('consumer', ['patient']) });
        const wait = await ctx.v.waitEvent('PersistentVolumeClaim', 'patient', 'WaitForPodScheduled', 30_000);
        assert.equal(wait.message, 'waiting for pod consumer to be scheduled');
        await ctx.env.clients.core.patchNamespacedPersistentVolumeClaim({
            name: 'patient',
            namespace: 'default',
            body: [{ op: 'add', path: '/metadata/annotations', value: { 'volume.kubernetes.io/selected-node': 'node-1' } }],
        });
        const handed = await eventually('provisioner annotation', async () => (await ctx.v.pvc('patient')).metadata?.annotations?.['volume.kubernetes.io/storage-provisioner']);
        assert.equal(handed, 'late.csi.example.io');
        assert.equal((await ctx.v.pv('late-pv')).spec?.claimRef, undefined, 'the unbound PV is still never chosen by the binder');
    });
});
