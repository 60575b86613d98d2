// Test-only VolumeSnapshot objects for restore tests, and, when the cluster lacks them, minimal
// stand-in CustomResourceDefinitions for snapshot.storage.k8s.io/v1 (any fields, a status
// subresource). These stand-ins are a test fixture, not the project's snapshot API (crds/); an
// already installed definition is left as it is.
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { MERGE_PATCH } from '../../src/kube/client.ts';
import type { KubeClients } from '../../src/kube/client.ts';
import { isAlreadyExists } from '../../src/kube/errors.ts';
import { eventually } from './env.ts';

const GROUP = 'snapshot.storage.k8s.io';
const VERSION = 'v1';

function crd(kind: string, plural: string, scope: 'Namespaced' | 'Cluster'): V1CustomResourceDefinition {
    return {
        // k8s.io groups need an approval annotation; upstream's CRDs carry this one.
        metadata: { name: `${plural}.${GROUP}`, annotations: { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-csi/external-snapshotter/pull/955' } },
        spec: {
            group: GROUP,
            scope,
            names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
            versions: [
                {
                    name: VERSION,
                    served: true,
                    storage: true,
                    subresources: { status: {} },
                    schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
                },
            ],
        },
    };
}

/** Installs stand-in VolumeSnapshot / VolumeSnapshotContent definitions unless present, and waits until they are served. */
export async function installSnapshotCrds(c: KubeClients): Promise<void> {
    const api = c.kc.makeApiClient(ApiextensionsV1Api);
    for (const def of [crd('VolumeSnapshot', 'volumesnapshots', 'Namespaced'), crd('VolumeSnapshotContent', 'volumesnapshotcontents', 'Cluster')]) {
        try {
            await api.createCustomResourceDefinition({ body: def });
        } catch (err) {
            if (!isAlreadyExists(err)) throw err;
        }
    }
    await eventually('snapshot API served', async () => {
        await c.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'volumesnapshotcontents' });
        await c.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: 'volumesnapshots' });
        return true;
    });
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
