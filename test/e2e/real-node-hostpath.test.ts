// End to end on a real node (kubelet + containerd) with a CSI driver nobody here wrote:
// hostpathplugin (csi-driver-host-path) with attach required. volume-controller-manager
// provisions and attaches, the kubelet mounts through the driver's Node service, a pod writes a
// file, a second pod on the same claim reads it back; deleting the pod unmounts, then detaches
// (ControllerUnpublish); deleting the claim deletes the volume in the driver.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { GrpcCsiClient } from '../../src/csi/grpc.ts';
import { BUSYBOX_IMAGE, HOSTPATH_DRIVER, nodeTierSkipReason, startNodeCluster } from '../../scripts/lib/nodes.ts';
import type { NodeCluster, RealNode } from '../../scripts/lib/nodes.ts';
import { ManagerProcess, eventually, managerArgs } from '../support/env.ts';
import { stopManager } from '../support/volumes.ts';

const skip = nodeTierSkipReason({ hostpath: true });
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

/** hostpathplugin's persisted state (pkg/state: one entry per volume). */
function driverVolumes(n: RealNode): { VolID: string; VolPath: string; Attached: boolean; Published: string[] | null }[] {
    const f = path.join(n.hostpathStateDir as string, 'state.json');
    return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')).Volumes ?? []) : [];
}

describe('real node: hostpathplugin as a third-party driver (attach required)', () => {
    let dir = '';
    let cluster: NodeCluster;
    let mgr: ManagerProcess;
    let csi: GrpcCsiClient;
    let node: RealNode;

    before(async () => {
        if (skip) return;
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-test-node-'));
        cluster = await startNodeCluster({ dir, nodes: 1, hostpath: true });
        node = cluster.nodes[0] as RealNode;
        mgr = new ManagerProcess(managerArgs(cluster.kubeconfig, [`--csi-drivers=${HOSTPATH_DRIVER}=${node.hostpathEndpoint}`, '--retry-interval-start=200ms', '--retry-interval-max=2s']));
        await mgr.waitForLog('Caches synced; starting controllers', 30_000);
        csi = new GrpcCsiClient(node.hostpathEndpoint as string, 5_000);
    });
    after(async () => {
        if (mgr) await stopManager(mgr);
        csi?.close();
        await cluster?.stop();
        if (dir && !process.env.KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('provisions, attaches, mounts, keeps the data across pods, then unmounts, detaches and deletes', { skip }, async () => {
        const { core, storage } = cluster.clients;
        const readPod = (name: string) => core.readNamespacedPod({ name, namespace: NS });
        const podGone = (name: string) => readPod(name).then(() => false, () => true);
        const waitReady = (name: string) =>
            eventually(`pod ${name} printed ready`, async () => {
                const p = await readPod(name);
                if (p.status?.phase === 'Failed') throw new Error(`pod ${name} failed: ${JSON.stringify(p.status.containerStatuses?.[0]?.state)}`);
                const log = p.status?.phase === 'Running' ? await core.readNamespacedPodLog({ name, namespace: NS }) : '';
                return log.includes('ready') ? log : undefined;
            }, 120_000, 250);

        await storage.createStorageClass({ body: { metadata: { name: 'hostpath' }, provisioner: HOSTPATH_DRIVER, reclaimPolicy: 'Delete', volumeBindingMode: 'WaitForFirstConsumer' } });
        await core.createNamespacedPersistentVolumeClaim({
            namespace: NS,
            body: { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'hostpath', resources: { requests: { storage: '16Mi' } } } },
        });
        const token = crypto.randomBytes(8).toString('hex');
        await core.createNamespacedPod({ namespace: NS, body: pod('writer', 'data', `echo ${token} > /data/hello && sync`) });
        await waitReady('writer');

        // Provisioned by our provisioner, attached by our attacher through the driver, mounted by the kubelet.
        const claim = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: NS });
        assert.equal(claim.status?.phase, 'Bound');
        const pv = await core.readPersistentVolume({ name: claim.spec?.volumeName as string });
        assert.equal(pv.spec?.csi?.driver, HOSTPATH_DRIVER);
        const handle = pv.spec?.csi?.volumeHandle as string;
        const uniqueName = `kubernetes.io/csi/${HOSTPATH_DRIVER}^${handle}`;
        const vas = (await storage.listVolumeAttachment()).items.filter((a) => a.spec?.source?.persistentVolumeName === pv.metadata?.name);
        assert.equal(vas.length, 1);
        assert.equal(vas[0]?.spec?.nodeName, node.name);
        assert.equal(vas[0]?.status?.attached, true);
        const inUse = (await core.readNode({ name: node.name })).status?.volumesInUse ?? [];
        assert.ok(inUse.includes(uniqueName), `the kubelet reports ${uniqueName} in use: ${inUse.join(', ')}`);
        const vol = driverVolumes(node).find((v) => v.VolID === handle);
        assert.ok(vol?.Attached, 'hostpathplugin saw ControllerPublishVolume');
        assert.equal(fs.readFileSync(path.join(vol.VolPath, 'hello'), 'utf8').trim(), token, "the pod's write landed in the driver's volume");

        // A second pod, after the first is gone, reads the data back from the same claim.
        await core.deleteNamespacedPod({ name: 'writer', namespace: NS });
        await eventually('writer gone', () => podGone('writer'), 60_000, 250);
        await core.createNamespacedPod({ namespace: NS, body: pod('reader', 'data', 'cat /data/hello') });
        const log = await waitReady('reader');
        assert.equal(log.split('\n')[0], token, 'the second pod read what the first wrote');

        // Deleting the pod: the kubelet unmounts (volumesInUse drops), only then the VolumeAttachment goes (ControllerUnpublish).
        await core.deleteNamespacedPod({ name: 'reader', namespace: NS });
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
        assert.equal(driverVolumes(node).find((v) => v.VolID === handle)?.Attached, false, 'hostpathplugin saw ControllerUnpublishVolume');
        // The kubelet unmounts before it confirms the pod's termination; the object goes after.
        await eventually('reader gone', () => podGone('reader'), 60_000, 250);

        // Deleting the claim: DeleteVolume; nothing is left in the driver.
        await core.deleteNamespacedPersistentVolumeClaim({ name: 'data', namespace: NS });
        await eventually('PV deleted', () => core.readPersistentVolume({ name: pv.metadata?.name as string }).then(() => false, () => true), 60_000, 250);
        assert.deepEqual((await csi.listVolumes({})).entries, [], 'ListVolumes is empty');
        assert.deepEqual(driverVolumes(node), [], "hostpathplugin's state holds no volume");
    });
});
