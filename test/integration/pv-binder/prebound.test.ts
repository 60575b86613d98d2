// Pre-bound volumes and claims against a real API server: an admin's claimRef, a user's
// spec.volumeName, mismatches and volumes bound elsewhere.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep, useCluster } from '../../support/env.ts';
import type { ManagerProcess, TestCluster } from '../../support/env.ts';
import { Volumes, startManager, stopManager } from '../../support/volumes.ts';

describe('pv-binder: pre-bound volumes and claims', () => {
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

    it('binds a PV pre-bound by an admin (claimRef without uid), ignoring class and selector, and fills the uid', async () => {
        await v.createPV('admin-pv', { size: '5Gi', cls: 'whatever', claimRef: { namespace: 'default', name: 'wants-admin' } });
        await v.createPV('decoy', { size: '1Gi' });
        const claim = await v.createPVC('wants-admin', { size: '1Gi', cls: 'whatever', selector: { matchLabels: { none: 'x' } } });
        const bound = await v.waitClaimPhase('wants-admin', 'Bound');
        assert.equal(bound.spec?.volumeName, 'admin-pv');
        const pv = await v.waitVolumePhase('admin-pv', 'Bound');
        assert.equal(pv.spec?.claimRef?.uid, claim.metadata?.uid);
        assert.equal(pv.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined, 'an admin pre-bind is not marked bound-by-controller');
        assert.equal(bound.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
        assert.equal((await v.pv('decoy')).status?.phase, 'Available');
    });

    it('binds a claim pre-bound by a user (spec.volumeName) without marking it bound-by-controller', async () => {
        await v.createPV('user-pv', { size: '2Gi' });
        await v.createPVC('names-pv', { size: '1Gi', volumeName: 'user-pv' });
        const bound = await v.waitClaimPhase('names-pv', 'Bound');
        assert.equal(bound.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined);
        assert.equal(bound.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
        const pv = await v.waitVolumePhase('user-pv', 'Bound');
        assert.equal(pv.spec?.claimRef?.name, 'names-pv');
        assert.equal(pv.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    });

    it('refuses a named PV that does not satisfy the claim, with VolumeMismatch', async () => {
        await v.createPV('too-small', { size: '1Gi' });
        await v.createPVC('wants-big', { size: '5Gi', volumeName: 'too-small' });
        const ev = await v.waitEvent('PersistentVolumeClaim', 'wants-big', 'VolumeMismatch');
        assert.equal(ev.type, 'Warning');
        assert.equal(ev.message, 'Cannot bind to requested volume "too-small": requested PV is too small');
        assert.equal((await v.pvc('wants-big')).status?.phase, 'Pending');
        assert.equal((await v.pv('too-small')).spec?.claimRef, undefined);
    });

    it('refuses a named PV already bound to a different claim', async () => {
        await v.createPV('taken', { size: '1Gi' });
        await v.createPVC('owner', { size: '1Gi', volumeName: 'taken' });
        await v.waitClaimPhase('owner', 'Bound');
        await v.createPVC('thief', { size: '1Gi', volumeName: 'taken' });
        const ev = await v.waitEvent('PersistentVolumeClaim', 'thief', 'FailedBinding');
        assert.equal(ev.type, 'Warning');
        assert.equal(ev.message, 'volume "taken" already bound to a different claim.');
        await sleep(500);
        assert.equal((await v.pv('taken')).spec?.claimRef?.name, 'owner', 'never a wrong binding');
        assert.equal((await v.pvc('thief')).status?.phase, 'Pending');
    });

    it('binds a claim that names a PV created later', async () => {
        await v.createPVC('early', { size: '1Gi', volumeName: 'late-pv' });
        await sleep(300);
        assert.equal((await v.pvc('early')).status?.phase, 'Pending');
        await v.createPV('late-pv', { size: '1Gi' });
        assert.equal((await v.waitClaimPhase('early', 'Bound')).spec?.volumeName, 'late-pv');
    });
});
