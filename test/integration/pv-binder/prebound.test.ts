// Pre-bound volumes and claims against a real API server: an admin's claimRef, a user's
// spec.volumeName, mismatches and volumes bound elsewhere.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from '../../support/env.ts';
import { withManager } from '../../support/volumes.ts';

describe('pv-binder: pre-bound volumes and claims', () => {
    const ctx = withManager('pv-binder,pvc-protection,pv-protection');

    it('binds a PV pre-bound by an admin (claimRef without uid), ignoring class and selector, and fills the uid', async () => {
        await ctx.v.createPV('admin-pv', { size: '5Gi', cls: 'whatever', claimRef: { namespace: 'default', name: 'wants-admin' } });
        await ctx.v.createPV('decoy', { size: '1Gi' });
        const claim = await ctx.v.createPVC('wants-admin', { size: '1Gi', cls: 'whatever', selector: { matchLabels: { none: 'x' } } });
        const bound = await ctx.v.waitClaimPhase('wants-admin', 'Bound');
        assert.equal(bound.spec?.volumeName, 'admin-pv');
        const pv = await ctx.v.waitVolumePhase('admin-pv', 'Bound');
        assert.equal(pv.spec?.claimRef?.uid, claim.metadata?.uid);
        assert.equal(pv.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined, 'an admin pre-bind is not marked bound-by-controller');
        assert.equal(bound.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
        assert.equal((await ctx.v.pv('decoy')).status?.phase, 'Available');
    });

    it('binds a claim pre-bound by a user (spec.volumeName) without marking it bound-by-controller', async () => {
        await ctx.v.createPV('user-pv', { size: '2Gi' });
        await ctx.v.createPVC('names-pv', { size: '1Gi', volumeName: 'user-pv' });
        const bound = await ctx.v.waitClaimPhase('names-pv', 'Bound');
        assert.equal(bound.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined);
        assert.equal(bound.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
        const pv = await ctx.v.waitVolumePhase('user-pv', 'Bound');
        assert.equal(pv.spec?.claimRef?.name, 'names-pv');
        assert.equal(pv.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    });

    it('refuses a named PV that does not satisfy the claim, with VolumeMismatch', async () => {
        await ctx.v.createPV('too-small', { size: '1Gi' });
        await ctx.v.createPVC('wants-big', { size: '5Gi', volumeName: 'too-small' });
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 'wants-big', 'VolumeMismatch');
        assert.equal(ev.type, 'Warning');
        assert.equal(ev.message, 'Cannot bind to requested volume "too-small": requested PV is too small');
        assert.equal((await ctx.v.pvc('wants-big')).status?.phase, 'Pending');
        assert.equal((await ctx.v.pv('too-small')).spec?.claimRef, undefined);
    });

    it('refuses a named PV already bound to a different claim', async () => {
        await ctx.v.createPV('taken', { size: '1Gi' });
        await ctx.v.createPVC('owner', { size: '1Gi', volumeName: 'taken' });
        await ctx.v.waitClaimPhase('owner', 'Bound');
        await ctx.v.createPVC('thief', { size: '1Gi', volumeName: 'taken' });
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 'thief', 'FailedBinding');
        assert.equal(ev.type, 'Warning');
        assert.equal(ev.message, 'volume "taken" already bound to a different claim.');
        await sleep(500);
        assert.equal((await ctx.v.pv('taken')).spec?.claimRef?.name, 'owner', 'never a wrong binding');
        assert.equal((await ctx.v.pvc('thief')).status?.phase, 'Pending');
    });

    it('binds a claim that names a PV created later', async () => {
        await ctx.v.createPVC('early', { size: '1Gi', volumeName: 'late-pv' });
        await sleep(300);
        assert.equal((await ctx.v.pvc('early')).status?.phase, 'Pending');
        await ctx.v.createPV('late-pv', { size: '1Gi' });
        assert.equal((await ctx.v.waitClaimPhase('early', 'Bound')).spec?.volumeName, 'late-pv');
    });
});
