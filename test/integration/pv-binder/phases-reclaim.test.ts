// PV and claim phases and reclaim policies against a real API server: Released, Retain, Delete
// (external and unsupported), Recycle, Lost claims, and rebinding after a volume returns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '../../support/env.ts';
import { withManager } from '../../support/volumes.ts';
import type { PVOpts } from '../../support/volumes.ts';

describe('pv-binder: phases and reclaim', () => {
    const ctx = withManager('pv-binder,pvc-protection,pv-protection');

    async function boundPair(pvName: string, claimName: string, o: PVOpts = {}) {
        await ctx.v.createPV(pvName, o);
        await ctx.v.createPVC(claimName, { size: '1Gi', volumeName: pvName, cls: o.cls ?? '' });
        await ctx.v.waitClaimPhase(claimName, 'Bound');
        await ctx.v.waitVolumePhase(pvName, 'Bound');
    }
    const deleteClaim = async (name: string) => {
        await ctx.env.clients.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: 'default' });
        await eventually(`claim ${name} gone`, async () => !(await ctx.v.pvcExists(name)));
    };

    it('Retain: the PV is Released and keeps its claimRef', async () => {
        await boundPair('keep', 'keep-c', { policy: 'Retain' });
        await deleteClaim('keep-c');
        const pv = await ctx.v.waitVolumePhase('keep', 'Released');
        assert.equal(pv.spec?.claimRef?.name, 'keep-c');
        assert.ok(pv.status?.lastPhaseTransitionTime, 'the API server stamps the phase transition');
    });

    it('Delete of an externally provisioned PV: Released and left to its provisioner', async () => {
        await boundPair('ext', 'ext-c', { policy: 'Delete', annotations: { 'pv.kubernetes.io/provisioned-by': 'dir.csi.example.io' }, csi: { driver: 'dir.csi.example.io', volumeHandle: 'h1' } });
        await deleteClaim('ext-c');
        await ctx.v.waitVolumePhase('ext', 'Released');
        await new Promise((r) => setTimeout(r, 500));
        assert.equal((await ctx.v.pv('ext')).status?.phase, 'Released');
        assert.equal((await ctx.v.events('PersistentVolume', 'ext')).length, 0);
    });

    it('Delete of a static volume no deleter handles: Failed with VolumeFailedDelete', async () => {
        await boundPair('static-del', 'static-del-c', { policy: 'Delete' });
        await deleteClaim('static-del-c');
        const pv = await ctx.v.waitVolumePhase('static-del', 'Failed');
        assert.equal(pv.status?.message, 'error getting deleter volume plugin for volume "static-del": no volume plugin matched');
        const ev = await ctx.v.waitEvent('PersistentVolume', 'static-del', 'VolumeFailedDelete');
        assert.equal(ev.type, 'Warning');
    });

    it('Recycle without a recycler: Failed with VolumeFailedRecycle', async () => {
        await boundPair('recyc', 'recyc-c', { policy: 'Recycle' });
        await deleteClaim('recyc-c');
        const pv = await ctx.v.waitVolumePhase('recyc', 'Failed');
        assert.equal(pv.status?.message, 'No recycler plugin found for the volume!');
        await ctx.v.waitEvent('PersistentVolume', 'recyc', 'VolumeFailedRecycle');
    });

    it('a bound claim whose PV disappears is Lost, and binds again when the PV returns', async () => {
        await boundPair('vanish', 'orphan');
        const pvBefore = await ctx.v.pv('vanish');
        await ctx.env.clients.core.deletePersistentVolume({ name: 'vanish' });
        // Bound PVs are protected: drop the finalizer as an admin forcing it would.
        await ctx.env.clients.core.patchPersistentVolume({ name: 'vanish', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
        const lost = await ctx.v.waitClaimPhase('orphan', 'Lost');
        assert.equal(lost.status?.capacity, undefined);
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 'orphan', 'ClaimLost');
        assert.equal(ev.message, 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
        await ctx.v.createPV('vanish', { claimRef: { namespace: 'default', name: 'orphan', uid: pvBefore.spec?.claimRef?.uid } });
        await ctx.v.waitClaimPhase('orphan', 'Bound');
    });

    it('a PV whose claimRef names a missing namespace is Released, never bound', async () => {
        await ctx.v.createPV('ghost', { claimRef: { namespace: 'no-such-ns', name: 'c', uid: 'dead-beef' } });
        await ctx.v.waitVolumePhase('ghost', 'Released');
        assert.equal(ctx.mgr.lines.filter((l) => l.level === 'error' && l.pv === 'ghost').length, 0, 'not logged as an error');
    });
});
