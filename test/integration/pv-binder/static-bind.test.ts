// Static binding against a real API server: the smallest fitting PV, upstream annotations,
// claimRef, phases, claim status; an explained FailedBinding, one event per explanation change.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, sleep } from '../../support/env.ts';
import { withManager } from '../../support/volumes.ts';

describe('pv-binder: static binding', () => {
    const ctx = withManager('pv-binder,pvc-protection,pv-protection', ['--pvclaimbinder-sync-period=1s']);

    it('binds a claim to the smallest fitting PV exactly as kube-controller-manager writes it', async () => {
        await ctx.v.createPV('big', { size: '10Gi' });
        await ctx.v.createPV('fits', { size: '3Gi' });
        await ctx.v.createPV('small', { size: '1Gi' });
        // The binder sees every PV (it marks each Available) before the claim arrives: the PV and
        // claim watches are separate streams, and a claim seen first would rightly take 'big'.
        for (const n of ['big', 'fits', 'small']) await ctx.v.waitVolumePhase(n, 'Available');
        const created = await ctx.v.createPVC('c1', { size: '2Gi' });
        const claim = await ctx.v.waitClaimPhase('c1', 'Bound');
        assert.equal(claim.spec?.volumeName, 'fits');
        assert.equal(claim.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
        assert.equal(claim.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
        assert.deepEqual(claim.status?.accessModes, ['ReadWriteOnce']);
        assert.equal(claim.status?.capacity?.storage, '3Gi');
        const pv = await ctx.v.waitVolumePhase('fits', 'Bound');
        assert.equal(pv.spec?.claimRef?.name, 'c1');
        assert.equal(pv.spec?.claimRef?.namespace, 'default');
        assert.equal(pv.spec?.claimRef?.uid, created.metadata?.uid);
        assert.equal(pv.spec?.claimRef?.kind, 'PersistentVolumeClaim');
        assert.equal(pv.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
        assert.ok(pv.metadata?.finalizers?.includes('kubernetes.io/pv-protection'));
        assert.equal((await ctx.v.pv('big')).status?.phase, 'Available');
        assert.equal((await ctx.v.pv('small')).status?.phase, 'Available');
    });

    it('honours the label selector and storage class', async () => {
        await ctx.v.createPV('gold', { size: '5Gi', labels: { tier: 'gold' } });
        await ctx.v.createPV('silver', { size: '1Gi', labels: { tier: 'silver' } });
        await ctx.v.createPV('fast-1', { size: '1Gi', cls: 'fast' });
        await ctx.v.createPVC('sel', { size: '1Gi', selector: { matchLabels: { tier: 'gold' } } });
        await ctx.v.createPVC('cls', { size: '1Gi', cls: 'fast' });
        assert.equal((await ctx.v.waitClaimPhase('sel', 'Bound')).spec?.volumeName, 'gold');
        assert.equal((await ctx.v.waitClaimPhase('cls', 'Bound')).spec?.volumeName, 'fast-1');
    });

    it('explains why nothing matches, once per change of explanation', async () => {
        await ctx.v.createPVC('lonely', { size: '50Gi', modes: ['ReadWriteMany'] });
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 'lonely', 'FailedBinding');
        assert.equal(ev.type, 'Normal');
        assert.equal(ev.source?.component, 'persistentvolume-controller');
        assert.match(ev.message ?? '', /^no persistent volumes available for this claim and no storage class is set \(0\/\d+ volumes match: .*access modes \[RWO\] lack RWX/);
        await sleep(3000); // three resyncs
        const again = (await ctx.v.events('PersistentVolumeClaim', 'lonely')).filter((e) => e.reason === 'FailedBinding');
        assert.equal(again.length, 1);
        assert.equal(again[0]?.count, 1, 'no repeat of an unchanged explanation');
        await ctx.v.createPV('rwx-small', { size: '1Gi', modes: ['ReadWriteMany'] });
        const changed = await eventually('a second, different explanation', async () => {
            const evs = (await ctx.v.events('PersistentVolumeClaim', 'lonely')).filter((e) => e.reason === 'FailedBinding');
            return evs.find((e) => /too small \(largest 1Gi < 50Gi\)/.test(e.message ?? ''));
        });
        assert.ok(changed);
        assert.equal((await ctx.v.pvc('lonely')).status?.phase, 'Pending');
    });

    it('binds a claim that waited as soon as a fitting PV appears', async () => {
        await ctx.v.createPV('rwx-big', { size: '60Gi', modes: ['ReadWriteMany'] });
        assert.equal((await ctx.v.waitClaimPhase('lonely', 'Bound', 5000)).spec?.volumeName, 'rwx-big');
    });

    it('serves the upstream PV collector metrics', async () => {
        const serving = await ctx.mgr.waitForLog('Serving HTTP endpoints');
        const text = await (await fetch(`http://127.0.0.1:${serving.port}/metrics`)).text();
        assert.match(text, /pv_collector_bound_pv_count\{storage_class=""\} [1-9]/);
        assert.match(text, /pv_collector_bound_pvc_count\{namespace="default",storage_class="",volume_attributes_class=""\} [1-9]/);
        // Upstream queue names, with the controller that owns the queue (the provisioner has `claims` too).
        assert.match(text, /workqueue_adds_total\{name="claims",controller="pv-binder"\}/);
    });
});
