// End to end on a real node (kubelet + containerd) with OUR driver in both roles: the
// controller-manager process (provisioner, attacher, PV binder, attach-detach) runs the built-in
// driver's controller in-process, and the node runs our node plugin (`volume-controller-manager
// node-plugin`) registered with the kubelet through node-driver-registrar, both on one data
// directory. For Immediate and WaitForFirstConsumer classes (topology from the node plugin's
// NodeGetInfo): a pod writes, a second pod reads it back, a clone of the claim has the data;
// deleting the pod unmounts (unstage included) before the VolumeAttachment goes and the
// publication record is removed (ControllerUnpublish); deleting the claim deletes the volume;
// nothing is left in the driver's directory or mounted on the node.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { BUILTIN_DRIVER, BUILTIN_TOPOLOGY_KEY, BUSYBOX_IMAGE, nodeTierSkipReason, startNodeCluster } from '../../scripts/lib/nodes.ts';
import type { NodeCluster, RealNode } from '../../scripts/lib/nodes.ts';
import { parseMountinfo } from '../../src/csi/builtin/mounts.ts';
import { ManagerProcess, eventually, managerArgs } from '../support/env.ts';
import { stopManager } from '../support/volumes.ts';

const skip = nodeTierSkipReason({ builtin: true });
const NS = 'default';

/** A pod on the claim that runs `script`, prints "ready", and exits at once on SIGTERM. */
function pod(name: string, claim: string, script: string): V1Pod {
    return {
        metadata: { name },
        spec: {
            automountServiceAccountToken: false,
            dnsPolicy: 'Default',
            restartPolicy: 'Never',
            containers: [
                {
                    name: 'app',
                    image: BUSYBOX_IMAGE,
                    imagePullPolicy: 'Never',
                    command: ['sh', '-c', `trap 'exit 0' TERM; ${script} && echo ready || exit 1; sleep 3600 & wait`],
                    volumeMounts: [{ name: 'data', mountPath: '/data' }],
                },
            ],
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
        },
    };
}

/** Mounts below the cluster directory whose source is this volume's directory (staging and pod mounts). */
function mountsOf(dir: string, handle: string) {
    return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.mountPoint.startsWith(`${dir}/`) && m.root.endsWith(`/volumes/${handle}`));
}

describe('real node: the built-in driver end to end (our node plugin registered with the kubelet)', () => {
    let dir = '';
    let cluster: NodeCluster;
    let mgr: ManagerProcess;
    let node: RealNode;
    let data = '';

    before(async () => {
        if (skip) return;
        // Short: the registrar's socket path below it must stay under 108 bytes.
        dir = fs.mkdtempSync('/tmp/vcm-test-b');
        cluster = await startNodeCluster({ dir, nodes: 1, builtin: { topology: true } });
        node = cluster.nodes[0] as RealNode;
        data = cluster.builtinDataDir;
        mgr = new ManagerProcess(
            managerArgs(cluster.kubeconfig, [`--builtin-driver-dir=${data}`, `--builtin-driver-topology-key=${BUILTIN_TOPOLOGY_KEY}`, '--retry-interval-start=200ms', '--retry-interval-max=2s']),
        );
        await mgr.waitForLog('Caches synced; starting controllers', 30_000);
    });
    after(async () => {
        if (mgr) await stopManager(mgr);
        await cluster?.stop();
        if (dir && !process.env.KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
    });

    const readPod = (name: string) => cluster.clients.core.readNamespacedPod({ name, namespace: NS });
    const podGone = (name: string) => readPod(name).then(() => false, () => true);
    const waitReady = (name: string) =>
        eventually(`pod ${name} printed ready`, async () => {
            const p = await readPod(name);
            if (p.status?.phase === 'Failed') throw new Error(`pod ${name} failed: ${JSON.stringify(p.status.containerStatuses?.[0]?.state)}`);
            const log = p.status?.phase === 'Running' ? await cluster.clients.core.readNamespacedPodLog({ name, namespace: NS }) : '';
            return log.includes('ready') ? log : undefined;
        }, 120_000, 250);
    const deletePod = async (name: string) => {
        await cluster.clients.core.deleteNamespacedPod({ name, namespace: NS });
        await eventually(`pod ${name} gone`, () => podGone(name), 60_000, 250);
    };

    /** Claim → writer pod → reader pod → (clone) → pod deletion → claim deletion, asserting the data path and the driver's records at each step. */
    async function lifecycle(mode: 'Immediate' | 'WaitForFirstConsumer', o: { clone?: boolean } = {}) {
        const { core, storage } = cluster.clients;
        const cls = mode === 'Immediate' ? 'dir-now' : 'dir-late';
        const claim = `${cls}-data`;
        await storage.createStorageClass({ body: { metadata: { name: cls }, provisioner: BUILTIN_DRIVER, reclaimPolicy: 'Delete', volumeBindingMode: mode } });
        await core.createNamespacedPersistentVolumeClaim({
            namespace: NS,
            body: { metadata: { name: claim }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: cls, resources: { requests: { storage: '16Mi' } } } },
        });
        const token = crypto.randomBytes(8).toString('hex');
        await core.createNamespacedPod({ namespace: NS, body: pod(`${cls}-writer`, claim, `echo ${token} > /data/hello && sync`) });
        await waitReady(`${cls}-writer`);

        // Provisioned by our provisioner into the segment the node plugin reported, attached by our attacher, staged and published by our node plugin.
        const bound = await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: NS });
        assert.equal(bound.status?.phase, 'Bound');
        const pv = await core.readPersistentVolume({ name: bound.spec?.volumeName as string });
        assert.equal(pv.spec?.csi?.driver, BUILTIN_DRIVER);
        const handle = pv.spec?.csi?.volumeHandle as string;
        const label = (await core.readNode({ name: node.name })).metadata?.labels?.[BUILTIN_TOPOLOGY_KEY];
        assert.equal(label, node.name, "the kubelet labelled the node from the node plugin's NodeGetInfo");
        const expr = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0];
        assert.deepEqual({ key: expr?.key, values: expr?.values }, { key: BUILTIN_TOPOLOGY_KEY, values: [node.name] }, 'the volume is placed in that segment');
        const vas = (await storage.listVolumeAttachment()).items.filter((a) => a.spec?.source?.persistentVolumeName === pv.metadata?.name);
        assert.equal(vas.length, 1);
        assert.equal(vas[0]?.spec?.attacher, BUILTIN_DRIVER);
        assert.equal(vas[0]?.status?.attached, true);
        const publications = () => (fs.existsSync(path.join(data, 'publish', handle)) ? fs.readdirSync(path.join(data, 'publish', handle)) : []);
        assert.deepEqual(publications(), [Buffer.from(node.name).toString('base64url')], 'ControllerPublishVolume recorded the node');
        const mounts = mountsOf(dir, handle);
        assert.ok(mounts.some((m) => m.mountPoint.endsWith('/globalmount')), `staged: ${mounts.map((m) => m.mountPoint).join(', ')}`);
        assert.ok(mounts.some((m) => m.mountPoint.includes(`/pods/`) && m.mountPoint.endsWith(`${pv.metadata?.name}/mount`)), 'published in the pod');
        assert.equal(fs.readFileSync(path.join(data, 'volumes', handle, 'hello'), 'utf8').trim(), token, "the pod's write landed in the volume's directory");

        // A second pod, after the first is gone, reads the data back from the same claim.
        await deletePod(`${cls}-writer`);
        await core.createNamespacedPod({ namespace: NS, body: pod(`${cls}-reader`, claim, 'cat /data/hello') });
        assert.equal((await waitReady(`${cls}-reader`)).split('\n')[0], token, 'the second pod read what the first wrote');

        if (o.clone) {
            // A clone of the claim (CreateVolume with the source volume) holds the same data.
            await core.createNamespacedPersistentVolumeClaim({
                namespace: NS,
                body: { metadata: { name: `${claim}-copy` }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: cls, dataSource: { kind: 'PersistentVolumeClaim', name: claim }, resources: { requests: { storage: '16Mi' } } } },
            });
            await core.createNamespacedPod({ namespace: NS, body: pod(`${cls}-copy-reader`, `${claim}-copy`, 'cat /data/hello') });
            assert.equal((await waitReady(`${cls}-copy-reader`)).split('\n')[0], token, 'the clone has the data');
            await deletePod(`${cls}-copy-reader`);
            await core.deleteNamespacedPersistentVolumeClaim({ name: `${claim}-copy`, namespace: NS });
        }

        // Deleting the pod: the kubelet unmounts (NodeUnpublish, NodeUnstage; volumesInUse drops), only then the VolumeAttachment goes and ControllerUnpublish removes the record.
        const uniqueName = `kubernetes.io/csi/${BUILTIN_DRIVER}^${handle}`;
        await core.deleteNamespacedPod({ name: `${cls}-reader`, namespace: NS });
        let unmountedFirst = true;
        let sawUnmount = false;
        await eventually('volume unmounted and detached', async () => {
            const [n, va] = await Promise.all([core.readNode({ name: node.name }), storage.listVolumeAttachment()]);
            const mounted = (n.status?.volumesInUse ?? []).includes(uniqueName);
            const attached = va.items.some((a) => a.spec?.source?.persistentVolumeName === pv.metadata?.name);
            if (!mounted) sawUnmount = true;
            if (!attached && !sawUnmount) unmountedFirst = false;
            return !mounted && !attached;
        }, 60_000, 100);
        assert.ok(unmountedFirst, 'the VolumeAttachment was deleted while the kubelet still reported the volume in use');
        await eventually('publication record removed (ControllerUnpublishVolume)', () => publications().length === 0, 30_000, 100);
        assert.deepEqual(mountsOf(dir, handle).map((m) => m.mountPoint), [], 'no staging or pod mount of the volume is left');
        await eventually(`pod ${cls}-reader gone`, () => podGone(`${cls}-reader`), 60_000, 250);

        // Deleting the claim: DeleteVolume removes the record and the directory.
        await core.deleteNamespacedPersistentVolumeClaim({ name: claim, namespace: NS });
        await eventually('PV deleted', () => core.readPersistentVolume({ name: pv.metadata?.name as string }).then(() => false, () => true), 60_000, 250);
        assert.ok(!fs.existsSync(path.join(data, 'volumes', `${handle}.json`)), 'the record is gone');
        assert.ok(!fs.existsSync(path.join(data, 'volumes', handle)), 'the directory is gone');
    }

    it('Immediate: provisions, attaches, stages and publishes; data survives the pod; a clone has it; then unmount, detach, delete', { skip }, async () => {
        await lifecycle('Immediate', { clone: true });
    });

    it('WaitForFirstConsumer: the volume goes to the selected node by the topology its node plugin reports', { skip }, async () => {
        await lifecycle('WaitForFirstConsumer');
    });

    it('leaves nothing in the driver directory', { skip }, async () => {
        await eventually('every volume deleted', () => fs.readdirSync(path.join(data, 'volumes')).length === 0, 60_000, 250);
        for (const sub of ['volumes', 'publish', 'snapshots', 'tmp']) assert.deepEqual(fs.readdirSync(path.join(data, sub)), [], `${sub}/ is empty`);
    });
});
