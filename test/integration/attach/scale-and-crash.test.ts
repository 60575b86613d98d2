// 200 pods on 20 nodes, each with its own provisioned volume, all attached; and a process killed
// right after creating a VolumeAttachment converges after a restart without duplicates.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import PQueue from 'p-queue';
import { ManagerProcess, childEnv, eventually, managerArgs } from '../../support/env.ts';
import { podObject, startManager, stopManager } from '../../support/volumes.ts';
import { DRIVER, storageClass, withDriver } from '../provisioner/support.ts';

const CONTROLLERS = 'pv-binder,pvc-protection,pv-protection,provisioner,attach-detach,attacher';
const NODES = 20;
const PODS = 200;

async function setupNodes(ctx: ReturnType<typeof withDriver>, n: number) {
    for (let i = 0; i < n; i++) {
        await ctx.env.clients.core.createNode({ body: { metadata: { name: `node-${i}`, annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } } } });
        await ctx.env.clients.storage.createCSINode({ body: { metadata: { name: `node-${i}` }, spec: { drivers: [{ name: DRIVER, nodeID: `node-${i}` }] } } });
    }
    await ctx.env.clients.storage.createStorageClass({ body: storageClass('dir') });
}

describe('attach at scale', () => {
    const ctx = withDriver({ driverArgs: ['--known-nodes=*', '--capacity=1Ti'], managerArgs: [`--controllers=${CONTROLLERS}`, '--worker-threads=16', '--kube-api-qps=2000', '--kube-api-burst=4000'] });
    before(() => setupNodes(ctx, NODES));

    it(`${PODS} pods on ${NODES} nodes: every volume provisioned, bound and attached once`, async () => {
        const q = new PQueue({ concurrency: 32 });
        for (let i = 0; i < PODS; i++) {
            void q.add(async () => {
                await ctx.v.createPVC(`c-${i}`, { cls: 'dir' });
                await ctx.env.clients.core.createNamespacedPod({ namespace: 'default', body: podObject(`p-${i}`, [`c-${i}`], `node-${i % NODES}`) });
            });
        }
        await q.onIdle();
        const vas = await eventually(
            `${PODS} VolumeAttachments attached`,
            async () => {
                const l = (await ctx.env.clients.storage.listVolumeAttachment()).items;
                return l.filter((a) => a.status?.attached).length === PODS ? l : undefined;
            },
            180_000,
            1000,
        );
        assert.equal(new Set(vas.map((a) => a.spec?.source?.persistentVolumeName)).size, PODS, 'one attachment per volume');
        const perNode = new Map<string, number>();
        for (const a of vas) perNode.set(a.spec?.nodeName ?? '', (perNode.get(a.spec?.nodeName ?? '') ?? 0) + 1);
        assert.deepEqual([...new Set(perNode.values())], [PODS / NODES]);
        await eventually('node status lists every attached volume', async () => (await ctx.env.clients.core.listNode()).items.every((n) => n.status?.volumesAttached?.length === PODS / NODES), 30_000);
    });
});

describe('attach: restart mid-attach', () => {
    const ctx = withDriver({ driverArgs: ['--known-nodes=*'], manager: false });
    before(() => setupNodes(ctx, 1));

    it('killed right after creating the VolumeAttachment, a restart attaches it without a duplicate', async () => {
        const crashing = new ManagerProcess(managerArgs(ctx.env.cp.kubeconfig, [`--controllers=${CONTROLLERS}`, ctx.drv.flag, '--leader-elect=false']), childEnv({ VCM_FAULT: 'attach-detach:after-create' }));
        await ctx.v.createPVC('c', { cls: 'dir' });
        await ctx.env.clients.core.createNamespacedPod({ namespace: 'default', body: podObject('p', ['c'], 'node-0') });
        await crashing.exited;
        assert.equal(crashing.child.signalCode, 'SIGKILL');
        const mgr = await startManager(ctx.env, CONTROLLERS, [ctx.drv.flag, '--leader-elect=false']);
        const attached = await eventually('attached after restart', async () => {
            const l = (await ctx.env.clients.storage.listVolumeAttachment()).items;
            return l.length === 1 && l[0]?.status?.attached ? l : undefined;
        }, 30_000);
        assert.equal(attached.length, 1);
        await stopManager(mgr);
    });
});
