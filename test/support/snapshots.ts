// Test-only VolumeSnapshot objects for restore tests, and the install of the project's own
// snapshot API (crds/) on a cluster started without it.
import type { ControlPlane } from '../../scripts/lib/control-plane.ts';
import { applyCrds, crdFiles, readCrds } from '../../scripts/lib/crds.ts';
import { MERGE_PATCH } from '../../src/kube/client.ts';
import type { KubeClients } from '../../src/kube/client.ts';

const GROUP = 'snapshot.storage.k8s.io';
const VERSION = 'v1';

/** Installs crds/ (the snapshot API) on a control plane started with `crds: false`, and waits until it is served. */
export async function installSnapshotCrds(cp: ControlPlane): Promise<void> {
    await applyCrds(cp.apiTarget(), readCrds(crdFiles()));
}

/**
 * Creates a pre-provisioned VolumeSnapshotContent `<name>-content` (snapshotHandle `handle`,
 * driver) and the VolumeSnapshot `name` bound to it, with status as a snapshot controller would
 * write it (readyToUse, restoreSize). Objects are valid against upstream's schema too.
 */
export async function createSnapshot(c: KubeClients, o: { name: string; namespace?: string; driver: string; handle: string; ready: boolean; restoreSize?: string }): Promise<void> {
    const namespace = o.namespace ?? 'default';
    const contentName = `${o.name}-content`;
    const snap = await c.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: 'volumesnapshots',
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'VolumeSnapshot', metadata: { name: o.name }, spec: { source: { volumeSnapshotContentName: contentName } } },
    });
    await c.custom.createClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'volumesnapshotcontents',
        body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'VolumeSnapshotContent',
            metadata: { name: contentName },
            spec: {
                deletionPolicy: 'Retain',
                driver: o.driver,
                source: { snapshotHandle: o.handle },
                volumeSnapshotRef: { apiVersion: `${GROUP}/${VERSION}`, kind: 'VolumeSnapshot', name: o.name, namespace, uid: snap.metadata.uid },
            },
        },
    });
    await c.custom.patchClusterCustomObjectStatus(
        { group: GROUP, version: VERSION, plural: 'volumesnapshotcontents', name: contentName, body: { status: { snapshotHandle: o.handle, readyToUse: o.ready } } },
        MERGE_PATCH,
    );
    await c.custom.patchNamespacedCustomObjectStatus(
        {
            group: GROUP,
            version: VERSION,
            namespace,
            plural: 'volumesnapshots',
            name: o.name,
            body: { status: { boundVolumeSnapshotContentName: contentName, readyToUse: o.ready, ...(o.restoreSize ? { restoreSize: o.restoreSize } : {}) } },
        },
        MERGE_PATCH,
    );
}
