// No leaked volume, ever: the process is SIGKILLed right after CreateVolume returned and before
// the PV exists, the claim is deleted meanwhile, and a restarted process leaves the driver with
// zero volumes. Plus topology: two nodes with CSINode topology keys, WaitForFirstConsumer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagerProcess, childEnv, eventually, managerArgs, useCluster } from '../../support/env.ts';
import type { TestCluster } from '../../support/env.ts';
import { Volumes, startManager, stopManager } from '../../support/volumes.ts';
import { DRIVER, PROVISIONING_CONTROLLERS as CONTROLLERS, storageClass as sc, startDriver, withDriver } from './support.ts';
import type { DriverProcess } from './support.ts';

const ZONE = 'topology.dir.csi.volume-controller-manager.io/node';


describe('provisioner: no leaked volume after a crash mid-provisioning', () => {
    let env: TestCluster;
    let drv: DriverProcess;
    let v: Volumes;
    before(async () => {
        env = await useCluster();
        v = new Volumes(env.clients);
        drv = await startDriver();
        await env.clients.storage.createStorageClass({ body: sc('dir') });
    });
    after(async () => {
        await drv.stop();
        await env.stop();
    });

    it('SIGKILL after CreateVolume, claim deleted, restart → zero volumes in the driver, claim gone', async () => {
        const crashing = new ManagerProcess(managerArgs(env.cp.kubeconfig, [`--controllers=${CONTROLLERS}`, drv.flag, '--leader-elect=false']), childEnv({ VCM_FAULT: 'provisioner:after-create' }));
        await v.createPVC('doomed', { cls: 'dir' });
        await crashing.exited;
        assert.equal(crashing.child.signalCode, 'SIGKILL', 'the process died right after CreateVolume');
        assert.equal(await drv.volumeCount(), 1, 'the backend volume exists');
        const claim = await v.pvc('doomed');
        assert.ok(claim.metadata?.finalizers?.includes('volume-controller-manager.io/provisioning-in-progress'), 'the in-flight record is on the claim');
        assert.equal((await env.clients.core.listPersistentVolume()).items.length, 0, 'no PV was created');
        await env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: 'doomed', namespace: 'default' });
        const mgr = await startManager(env, CONTROLLERS, [drv.flag, '--leader-elect=false']);
        await eventually('claim gone', async () => !(await v.pvcExists('doomed')), 30_000);
        assert.equal(await drv.volumeCount(), 0, 'the volume created before the crash was deleted');
        await stopManager(mgr);
    });

    it('SIGKILL after CreateVolume, claim kept, restart → the same volume gets its PV (idempotent by name)', async () => {
        const crashing = new ManagerProcess(managerArgs(env.cp.kubeconfig, [`--controllers=${CONTROLLERS}`, drv.flag, '--leader-elect=false']), childEnv({ VCM_FAULT: 'provisioner:after-create' }));
        await v.createPVC('survivor', { cls: 'dir' });
        await crashing.exited;
        const [first] = (await drv.client.listVolumes({})).entries;
        const mgr = await startManager(env, CONTROLLERS, [drv.flag, '--leader-elect=false']);
        const bound = await v.waitClaimPhase('survivor', 'Bound', 30_000);
        const pv = await v.pv(bound.spec?.volumeName ?? '');
        assert.equal(pv.spec?.csi?.volumeHandle, first?.volume.volume_id, 'no second volume');
        assert.equal(await drv.volumeCount(), 1);
        await stopManager(mgr);
    });
});

describe('provisioner: topology', () => {
    const ctx = withDriver({ driverArgs: [`--topology-key=${ZONE}`] });
    before(async () => {
        for (const n of ['node-a', 'node-b']) {
            await ctx.env.clients.core.createNode({ body: { metadata: { name: n, labels: { [ZONE]: n } } } });
            await ctx.env.clients.storage.createCSINode({ body: { metadata: { name: n }, spec: { drivers: [{ name: DRIVER, nodeID: n, topologyKeys: [ZONE] }] } } });
        }
        await ctx.env.clients.core.createNode({ body: { metadata: { name: 'node-c', labels: { [ZONE]: 'node-c' } } } });
        await ctx.env.clients.storage.createStorageClass({ body: sc('late', { volumeBindingMode: 'WaitForFirstConsumer' }) });
    });

    it('provisions on the selected node and pins the PV there with nodeAffinity', async () => {
        await ctx.v.createPVC('pinned', { cls: 'late', annotations: { 'volume.kubernetes.io/selected-node': 'node-b' } });
        const bound = await ctx.v.waitClaimPhase('pinned', 'Bound', 30_000);
        const pv = await ctx.v.pv(bound.spec?.volumeName ?? '');
        const expr = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0];
        assert.deepEqual({ key: expr?.key, operator: expr?.operator, values: expr?.values }, { key: ZONE, operator: 'In', values: ['node-b'] });
    });

    it('a selected node whose CSINode lacks the driver: ProvisioningFailed names it, selected-node removed to reschedule', async () => {
        await ctx.v.createPVC('nowhere', { cls: 'late', annotations: { 'volume.kubernetes.io/selected-node': 'node-c' } });
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 'nowhere', 'ProvisioningFailed');
        assert.match(ev.message ?? '', /failed to get selected CSINode node-c/);
        await eventually('selected-node removed', async () => (await ctx.v.pvc('nowhere')).metadata?.annotations?.['volume.kubernetes.io/selected-node'] === undefined);
        assert.equal(await ctx.drv.volumeCount(), 1);
    });
});
