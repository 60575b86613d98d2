// pvc-protection and pv-protection against a real API server: deletes wait while in use and
// complete afterwards.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, sleep } from '../../support/env.ts';
import { podObject, withManager } from '../../support/volumes.ts';

describe('pvc-protection and pv-protection', () => {
    const ctx = withManager('pv-binder,pvc-protection,pv-protection');

    it('a claim used by a scheduled pod stays until the pod is gone; then claim and PV deletes complete', async () => {
        await ctx.v.createPV('prot-pv', { policy: 'Retain' });
        await ctx.v.createPVC('prot', { volumeName: 'prot-pv' });
        await ctx.v.waitClaimPhase('prot', 'Bound');
        await ctx.env.clients.core.createNamespacedPod({ namespace: 'default', body: podObject('user', ['prot'], 'node-1') });
        await ctx.env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: 'prot', namespace: 'default' });
        await ctx.env.clients.core.deletePersistentVolume({ name: 'prot-pv' });
        await sleep(1000);
        const claim = await ctx.v.pvc('prot');
        assert.ok(claim.metadata?.deletionTimestamp, 'deleting');
        assert.deepEqual(claim.metadata?.finalizers, ['kubernetes.io/pvc-protection'], 'kept while the pod uses it');
        assert.ok((await ctx.v.pv('prot-pv')).metadata?.finalizers?.includes('kubernetes.io/pv-protection'), 'a Bound PV keeps its finalizer');
        await ctx.env.clients.core.deleteNamespacedPod({ name: 'user', namespace: 'default', gracePeriodSeconds: 0 });
        await eventually('claim deleted', async () => !(await ctx.v.pvcExists('prot')));
        await eventually('PV deleted', async () => !(await ctx.v.pvExists('prot-pv')));
    });

    it('unscheduled pods do not block a claim delete', async () => {
        await ctx.v.createPVC('free');
        await ctx.env.clients.core.createNamespacedPod({ namespace: 'default', body: podObject('pending-pod', ['free']) });
        await ctx.env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: 'free', namespace: 'default' });
        await eventually('claim deleted', async () => !(await ctx.v.pvcExists('free')));
    });

    it('adds the finalizers to objects that lack them', async () => {
        await ctx.v.createPV('bare-pv');
        await ctx.env.clients.core.patchPersistentVolume({ name: 'bare-pv', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
        await eventually('pv-protection re-added', async () => (await ctx.v.pv('bare-pv')).metadata?.finalizers?.includes('kubernetes.io/pv-protection'));
        await ctx.v.createPVC('bare');
        await ctx.env.clients.core.patchNamespacedPersistentVolumeClaim({ name: 'bare', namespace: 'default', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
        await eventually('pvc-protection re-added', async () => (await ctx.v.pvc('bare')).metadata?.finalizers?.includes('kubernetes.io/pvc-protection'));
    });
});
