// PV and claim phases and reclaim policies against a real API server: Released, Retain, Delete
// (external and unsupported), Recycle, Lost claims, and rebinding after a volume returns.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, useCluster } from '../../support/env.ts';
import type { ManagerProcess, TestCluster } from '../../support/env.ts';
import { Volumes, startManager, stopManager } from '../../support/volumes.ts';

describe('pv-binder: phases and reclaim', () => {
    let env: TestCluster;
    let mgr: ManagerProcess;
    let v: Volumes;
    before(async () => {
        env = await useCluster();
        v = new Volumes(env.clients);
        mgr = await startManager(env, 'pv-binder,pvc-protection,pv-protection');
    });
    after(async () => {
        await stopManager(mgr);
        await env.stop();
    });

    async function boundPair(pvName: string, claimName: string, o: Parameters<Volumes['createPV']>[1] = {}) {
        await v.createPV(pvName, o);
        await v.createPVC(claimName, { size: '1Gi', volumeName: pvName, cls: o.cls ?? '' });
        await v.waitClaimPhase(claimName, 'Bound');
        await v.waitVolumePhase(pvName, 'Bound');
    }
    const deleteClaim = async (name: string) => {
        await env.clients.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: 'default' });
        await eventually(`claim ${name} gone`, async () => !(await v.pvcExists(name)));
    };

    it('Retain: the PV is Released and keeps its claimRef', async () => {
        await boundPair('keep', 'keep-c', { policy: 'Retain' });
        await deleteClaim('keep-c');
        const pv = await v.waitVolumePhase('keep', 'Released');
        assert.equal(pv.spec?.claimRef?.name, 'keep-c');
        assert.ok(pv.status?.lastPhaseTransitionTime, 'the API server stamps the phase transition');
    });

    it('Delete of an externally provisioned PV: Released and left to its provisioner', async () => {
        await boundPair('ext', 'ext-c', { policy: 'Delete', annotations: { 'pv.kubernetes.io/provisioned-by': 'dir.csi.example.io' }, csi: { driver: 'dir.csi.example.io', volumeHandle: 'h1' } });
        await deleteClaim('ext-c');
        await v.waitVolumePhase('ext', 'Released');
        await new Promise((r) => setTimeout(r, 500));
        assert.equal((await v.pv('ext')).status?.phase, 'Released');
        assert.equal((await v.events('PersistentVolume', 'ext')).length, 0);
    });

    it('Delete of a static volume no deleter handles: Failed with VolumeFailedDelete', async () => {
        await boundPair('static-del', 'static-del-c', { policy: 'Delete' });
        await deleteClaim('static-del-c');
        const pv = await v.waitVolumePhase('static-del', 'Failed');
        assert.equal(pv.status?.message, 'error getting deleter volume plugin for volume "static-del": no volume plugin matched');
        const ev = await v.waitEvent('PersistentVolume', 'static-del', 'VolumeFailedDelete');
        assert.equal(ev.type, 'Warning');
    });

    it('Recycle without a recycler: Failed with VolumeFailedRecycle', async () => {
        await boundPair('recyc', 'recyc-c', { policy: 'Recycle' });
        await deleteClaim('recyc-c');
        const pv = await v.waitVolumePhase('recyc', 'Failed');
        assert.equal(pv.status?.message, 'No recycler plugin found for the volume!');
        await v.waitEvent('PersistentVolume', 'recyc', 'VolumeFailedRecycle');
    });

    it('a bound claim whose PV disappears is Lost, and binds again when the PV returns', async () => {
        await boundPair('vanish', 'orphan');
        const pvBefore = await v.pv('vanish');
        await env.clients.core.deletePersistentVolume({ name: 'vanish' });
        // Bound PVs are protected: drop the finalizer as an admin forcing it would.
        await env.clients.core.patchPersistentVolume({ name: 'vanish', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
        const lost = await v.waitClaimPhase('orphan', 'Lost');
        assert.equal(lost.status?.capacity, undefined);
        const ev = await v.waitEvent('PersistentVolumeClaim', 'orphan', 'ClaimLost');
        assert.equal(ev.message, 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
        await v.createPV('vanish', { claimRef: { namespace: 'default', name: 'orphan', uid: pvBefore.spec?.claimRef?.uid } });
        await v.waitClaimPhase('orphan', 'Bound');
    });

    it('a PV whose claimRef names a missing namespace is Released, never bound', async () => {
        await v.createPV('ghost', { claimRef: { namespace: 'no-such-ns', name: 'c', uid: 'dead-beef' } });
        await v.waitVolumePhase('ghost', 'Released');
        assert.equal(mgr.lines.filter((l) => l.level === 'error' && l.pv === 'ghost').length, 0, 'not logged as an error');
    });
});
