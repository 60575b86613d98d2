// pvc-protection and pv-protection against a real API server: deletes wait while in use and
// complete afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, sleep, useCluster } from '../../support/env.ts';
import type { ManagerProcess, TestCluster } from '../../support/env.ts';
import { Volumes, podObject, startManager, stopManager } from '../../support/volumes.ts';

describe('pvc-protection and pv-protection', () => {
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

    it('a claim used by a scheduled pod stays until the pod is gone; then claim and PV deletes complete', async () => {
        await v.createPV('prot-pv', { policy: 'Retain' });
        await v.createPVC('prot', { volumeName: 'prot-pv' });
        await v.waitClaimPhase('prot', 'Bound');
        await env.clients.core.createNamespacedPod({ namespace: 'default', body: podObject('user', ['prot'], 'node-1') });
        await env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: 'prot', namespace: 'default' });
        await env.clients.core.deletePersistentVolume({ name: 'prot-pv' });
        await sleep(1000);
        const claim = await v.pvc('prot');
        assert.ok(claim.metadata?.deletionTimestamp, 'deleting');
        assert.deepEqual(claim.metadata?.finalizers, ['kubernetes.io/pvc-protection'], 'kept while the pod uses it');
        assert.ok((await v.pv('prot-pv')).metadata?.finalizers?.includes('kubernetes.io/pv-protection'), 'a Bound PV keeps its finalizer');
        await env.clients.core.deleteNamespacedPod({ name: 'user', namespace: 'default', gracePeriodSeconds: 0 });
        await eventually('claim deleted', async () => !(await v.pvcExists('prot')));
        await eventually('PV deleted', async () => !(await v.pvExists('prot-pv')));
    });

    it('unscheduled pods do not block a claim delete', async () => {
        await v.createPVC('free');
        await env.clients.core.createNamespacedPod({ namespace: 'default', body: podObject('pending-pod', ['free']) });
        await env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: 'free', namespace: 'default' });
        await eventually('claim deleted', async () => !(await v.pvcExists('free')));
    });

    it('adds the finalizers to objects that lack them', async () => {
        await v.createPV('bare-pv');
        await env.clients.core.patchPersistentVolume({ name: 'bare-pv', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
        await eventually('pv-protection re-added', async () => (await v.pv('bare-pv')).metadata?.finalizers?.includes('kubernetes.io/pv-protection'));
        await v.createPVC('bare');
        await env.clients.core.patchNamespacedPersistentVolumeClaim({ name: 'bare', namespace: 'default', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
        await eventually('pvc-protection re-added', async () => (await v.pvc('bare')).metadata?.finalizers?.includes('kubernetes.io/pvc-protection'));
    });
});
