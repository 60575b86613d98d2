// Attach-detach controller + external-attacher against a real API server and the built-in
// driver on a socket: attach on schedule (upstream VA name, ATTACHED true, node
// volumesAttached), detach after the pod goes and volumesInUse clears, multi-attach refusal and
// hand-over, the out-of-service taint, a deleted node, a restart that changes nothing, and a
// CSINode without the driver.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { eventually, sleep } from '../../support/env.ts';
import { podObject, startManager, stopManager } from '../../support/volumes.ts';
import { DRIVER, storageClass, withDriver } from '../provisioner/support.ts';

const CONTROLLERS = 'pv-binder,pvc-protection,pv-protection,provisioner,attach-detach,attacher';

function node(name: string, o: { ready?: boolean; taints?: V1Node['spec'] } = {}): V1Node {
    return {
        metadata: { name, annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
        spec: o.taints ?? {},
        status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
    };
}

describe('attach-detach + attacher with the built-in driver', () => {
    const ctx = withDriver({ driverArgs: ['--known-nodes=id-n1,id-n2,id-n3,id-bare'], managerArgs: [`--controllers=${CONTROLLERS}`, '--reconcile-sync=1s'] });
    const podsOn = new Map<string, V1Pod>();
    before(async () => {
        const { env } = ctx;
        for (const n of ['n1', 'n2', 'n3']) {
            await env.clients.core.createNode({ body: node(n) });
            await env.clients.storage.createCSINode({ body: { metadata: { name: n }, spec: { drivers: [{ name: DRIVER, nodeID: `id-${n}` }] } } });
        }
        await env.clients.storage.createStorageClass({ body: storageClass('dir') });
    });

    const vaName = (handle: string, n: string) => `csi-${crypto.createHash('sha256').update(handle + DRIVER + n).digest('hex')}`;
    async function claimWithPod(claim: string, pod: string, n: string) {
        await ctx.v.createPVC(claim, { cls: 'dir' });
        const bound = await ctx.v.waitClaimPhase(claim, 'Bound', 30_000);
        const p = await ctx.env.clients.core.createNamespacedPod({ namespace: 'default', body: podObject(pod, [claim], n) });
        podsOn.set(pod, p);
        const pv = await ctx.v.pv(bound.spec?.volumeName ?? '');
        return { pv, handle: pv.spec?.csi?.volumeHandle ?? '' };
    }
    const va = (name: string) => ctx.env.clients.storage.readVolumeAttachment({ name });
    const vaExists = (name: string) => va(name).then(() => true, () => false);
    const setVolumesInUse = (n: string, names: string[]) => ctx.env.clients.core.patchNodeStatus({ name: n, body: [{ op: 'add', path: '/status/volumesInUse', value: names }] });
    const deletePod = (name: string) => ctx.env.clients.core.deleteNamespacedPod({ name, namespace: 'default', gracePeriodSeconds: 0 });

    it('attaches on schedule: the upstream VA name, ATTACHED true, node volumesAttached, SuccessfulAttachVolume', async () => {
        const { pv, handle } = await claimWithPod('web', 'web-0', 'n1');
        const name = vaName(handle, 'n1');
        const attached = await eventually('VA attached', async () => {
            const a = await va(name).catch(() => undefined);
            return a?.status?.attached ? a : undefined;
        }, 30_000);
        assert.equal(attached.spec?.attacher, DRIVER);
        assert.equal(attached.spec?.nodeName, 'n1');
        assert.equal(attached.spec?.source?.persistentVolumeName, pv.metadata?.name);
        assert.ok(attached.metadata?.finalizers?.includes('external-attacher/dir-csi-volume-controller-manager-io'));
        assert.equal(attached.metadata?.annotations?.['csi.alpha.kubernetes.io/node-id'], 'id-n1');
        assert.ok(attached.status?.attachmentMetadata?.path, 'publish_context becomes attachmentMetadata');
        const n1 = await eventually('node status', async () => {
            const n = await ctx.env.clients.core.readNode({ name: 'n1' });
            return n.status?.volumesAttached?.length ? n : undefined;
        });
        assert.deepEqual(n1.status?.volumesAttached?.map((x) => ({ ...x })), [{ name: `kubernetes.io/csi/${DRIVER}^${handle}`, devicePath: '' }]);
        assert.ok((await ctx.v.pv(pv.metadata?.name ?? '')).metadata?.finalizers?.includes('external-attacher/dir-csi-volume-controller-manager-io'));
        const ev = await ctx.v.waitEvent('Pod', 'web-0', 'SuccessfulAttachVolume');
        assert.equal(ev.message, `AttachVolume.Attach succeeded for volume "${pv.metadata?.name}" `);
        assert.equal(ev.source?.component, 'attachdetach-controller');
    });

    it('refuses a second node for a RWO volume and says what it waits for; hands over once the first pod is gone and unmounted', async () => {
        const claim = await ctx.v.pvc('web');
        const pv = await ctx.v.pv(claim.spec?.volumeName ?? '');
        const handle = pv.spec?.csi?.volumeHandle ?? '';
        const uniq = `kubernetes.io/csi/${DRIVER}^${handle}`;
        await setVolumesInUse('n1', [uniq]);
        await ctx.env.clients.core.createNamespacedPod({ namespace: 'default', body: podObject('web-1', ['web'], 'n2') });
        const ev = await ctx.v.waitEvent('Pod', 'web-1', 'FailedAttachVolume');
        assert.equal(ev.message, `Waiting for detach for volume "${pv.metadata?.name}" Volume is already used by pod(s) web-0`);
        assert.equal(await vaExists(vaName(handle, 'n2')), false, 'no second attachment');
        await deletePod('web-0');
        const waiting = await eventually('an event naming the unmount wait', async () =>
            (await ctx.v.events('Pod', 'web-1')).find((e) => /still reports it in use \(status\.volumesInUse\)/.test(e.message ?? '')),
        );
        assert.match(waiting.message ?? '', /node n1 still reports it in use/);
        await sleep(500);
        assert.equal(await vaExists(vaName(handle, 'n1')), true, 'no detach while the node still uses the volume');
        await setVolumesInUse('n1', []);
        await eventually('detached from n1', async () => !(await vaExists(vaName(handle, 'n1'))), 30_000);
        await eventually('attached to n2', async () => (await va(vaName(handle, 'n2')).catch(() => undefined))?.status?.attached, 30_000);
        const n1 = await ctx.env.clients.core.readNode({ name: 'n1' });
        assert.deepEqual(n1.status?.volumesAttached ?? [], [], 'n1 no longer reports it');
    });

    it('detaches at once from a node with the out-of-service taint, even while in use', async () => {
        const claim = await ctx.v.pvc('web');
        const handle = (await ctx.v.pv(claim.spec?.volumeName ?? '')).spec?.csi?.volumeHandle ?? '';
        await setVolumesInUse('n2', [`kubernetes.io/csi/${DRIVER}^${handle}`]);
        await ctx.env.clients.core.patchNode({ name: 'n2', body: [{ op: 'add', path: '/spec/taints', value: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] }] });
        await deletePod('web-1');
        await eventually('detached from the out-of-service node', async () => !(await vaExists(vaName(handle, 'n2'))), 30_000);
    });

    it('a deleted node leaves no VolumeAttachment behind', async () => {
        const { handle } = await claimWithPod('gone', 'gone-0', 'n3');
        await eventually('attached to n3', async () => (await va(vaName(handle, 'n3')).catch(() => undefined))?.status?.attached, 30_000);
        await deletePod('gone-0');
        await ctx.env.clients.core.deleteNode({ name: 'n3' });
        await eventually('VA gone with the node', async () => !(await vaExists(vaName(handle, 'n3'))), 30_000);
    });

    it('a restart of the process changes nothing that is already right', async () => {
        const { pv, handle } = await claimWithPod('steady', 'steady-0', 'n1');
        const name = vaName(handle, 'n1');
        await eventually('attached', async () => (await va(name).catch(() => undefined))?.status?.attached, 30_000);
        const before = await va(name);
        await stopManager(ctx.mgr);
        ctx.mgr = await startManager(ctx.env, CONTROLLERS, [ctx.drv.flag, '--reconcile-sync=1s']);
        await sleep(2000);
        const after = await va(name);
        assert.equal(after.metadata?.resourceVersion, before.metadata?.resourceVersion, 'VA untouched');
        assert.equal((await ctx.env.clients.storage.listVolumeAttachment()).items.filter((a) => a.spec?.source?.persistentVolumeName === pv.metadata?.name).length, 1, 'no duplicate');
    });

    it('re-publishes a volume the driver lost (ListVolumes re-check), without touching the VolumeAttachment', async () => {
        const claim = await ctx.v.pvc('steady');
        const handle = (await ctx.v.pv(claim.spec?.volumeName ?? '')).spec?.csi?.volumeHandle ?? '';
        const name = vaName(handle, 'n1');
        await ctx.drv.client.controllerUnpublishVolume({ volume_id: handle, node_id: 'id-n1' });
        const publishedOn = async () => (await ctx.drv.client.listVolumes({})).entries.find((e) => e.volume.volume_id === handle)?.published_node_ids ?? [];
        assert.deepEqual(await publishedOn(), []);
        await eventually('published again', async () => (await publishedOn()).includes('id-n1'), 30_000);
        const after = await va(name);
        assert.equal(after.status?.attached, true);
        assert.equal((await ctx.env.clients.storage.listVolumeAttachment()).items.filter((a) => a.spec?.source?.persistentVolumeName === claim.spec?.volumeName).length, 1, 'no VolumeAttachment created or deleted');
    });

    it('a CSINode without the driver: the VA says so in attachError, the pod gets FailedAttachVolume', async () => {
        await ctx.env.clients.core.createNode({ body: node('bare') });
        const { pv } = await claimWithPod('orphan', 'orphan-0', 'bare');
        const ev = await ctx.v.waitEvent('Pod', 'orphan-0', 'FailedAttachVolume', 30_000);
        assert.equal(ev.message, `AttachVolume.Attach failed for volume "${pv.metadata?.name}" : CSINode bare does not contain driver ${DRIVER}`);
    });
});
