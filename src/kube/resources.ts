import type {
    KubernetesListObject,
    KubernetesObject,
    V1CSIDriver,
    V1CSINode,
    V1Node,
    V1PersistentVolume,
    V1PersistentVolumeClaim,
    V1Pod,
    V1StorageClass,
    V1VolumeAttachment,
} from '@kubernetes/client-node';
import type { KubeClients } from './client.ts';
import { SNAPSHOT_GROUP, SNAPSHOT_VERSION } from './snapshot-types.ts';
import type { VolumeSnapshot, VolumeSnapshotClass, VolumeSnapshotContent } from './snapshot-types.ts';

/**
 * How to list and watch one resource type, and which client-node model its objects
 * deserialize to (so watch objects get the same shape as list objects: Date timestamps).
 * Custom resources have no model (see customResource).
 */
export interface ResourceDef<T extends KubernetesObject> {
    /** Plural resource name, used in logs and metrics (e.g. `persistentvolumes`). */
    resource: string;
    apiVersion: string;
    kind: string;
    /** Collection path for the watch (all namespaces). */
    path: string;
    /**
     * client-node model name for ObjectSerializer (e.g. `V1PersistentVolume`). Absent for a
     * custom resource: its objects stay plain JSON, apart from metadata (informer.ts normalize).
     */
    model?: string;
    namespaced: boolean;
    /** Lists every object (all namespaces) with the typed, rate-limited client. */
    list(c: KubeClients): Promise<KubernetesListObject<T>>;
}

function def<T extends KubernetesObject>(d: ResourceDef<T>): ResourceDef<T> {
    return d;
}

/**
 * The ResourceDef of a custom resource, listed through CustomObjectsApi (all namespaces for a
 * namespaced one) and watched at `/apis/<group>/<version>/<plural>`.
 */
export function customResource<T extends KubernetesObject>(d: { group: string; version: string; plural: string; kind: string; namespaced: boolean }): ResourceDef<T> {
    const { group, version, plural } = d;
    return {
        resource: plural,
        apiVersion: `${group}/${version}`,
        kind: d.kind,
        path: `/apis/${group}/${version}/${plural}`,
        namespaced: d.namespaced,
        list: (c) =>
            (d.namespaced
                ? c.custom.listCustomObjectForAllNamespaces({ group, version, resourcePlural: plural })
                : c.custom.listClusterCustomObject({ group, version, plural })) as Promise<KubernetesListObject<T>>,
    };
}

/** The resource types the volume controllers watch. */
export const RESOURCES = {
    persistentVolumes: def<V1PersistentVolume>({
        resource: 'persistentvolumes', apiVersion: 'v1', kind: 'PersistentVolume', path: '/api/v1/persistentvolumes',
        model: 'V1PersistentVolume', namespaced: false, list: (c) => c.core.listPersistentVolume(),
    }),
    persistentVolumeClaims: def<V1PersistentVolumeClaim>({
        resource: 'persistentvolumeclaims', apiVersion: 'v1', kind: 'PersistentVolumeClaim', path: '/api/v1/persistentvolumeclaims',
        model: 'V1PersistentVolumeClaim', namespaced: true, list: (c) => c.core.listPersistentVolumeClaimForAllNamespaces(),
    }),
    pods: def<V1Pod>({
        resource: 'pods', apiVersion: 'v1', kind: 'Pod', path: '/api/v1/pods',
        model: 'V1Pod', namespaced: true, list: (c) => c.core.listPodForAllNamespaces(),
    }),
    nodes: def<V1Node>({
        resource: 'nodes', apiVersion: 'v1', kind: 'Node', path: '/api/v1/nodes',
        model: 'V1Node', namespaced: false, list: (c) => c.core.listNode(),
    }),
    storageClasses: def<V1StorageClass>({
        resource: 'storageclasses', apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', path: '/apis/storage.k8s.io/v1/storageclasses',
        model: 'V1StorageClass', namespaced: false, list: (c) => c.storage.listStorageClass(),
    }),
    csiNodes: def<V1CSINode>({
        resource: 'csinodes', apiVersion: 'storage.k8s.io/v1', kind: 'CSINode', path: '/apis/storage.k8s.io/v1/csinodes',
        model: 'V1CSINode', namespaced: false, list: (c) => c.storage.listCSINode(),
    }),
    csiDrivers: def<V1CSIDriver>({
        resource: 'csidrivers', apiVersion: 'storage.k8s.io/v1', kind: 'CSIDriver', path: '/apis/storage.k8s.io/v1/csidrivers',
        model: 'V1CSIDriver', namespaced: false, list: (c) => c.storage.listCSIDriver(),
    }),
    volumeAttachments: def<V1VolumeAttachment>({
        resource: 'volumeattachments', apiVersion: 'storage.k8s.io/v1', kind: 'VolumeAttachment', path: '/apis/storage.k8s.io/v1/volumeattachments',
        model: 'V1VolumeAttachment', namespaced: false, list: (c) => c.storage.listVolumeAttachment(),
    }),
    /** snapshot.storage.k8s.io (crds/): installed with the chart, not built into Kubernetes. */
    volumeSnapshots: customResource<VolumeSnapshot>({ group: SNAPSHOT_GROUP, version: SNAPSHOT_VERSION, plural: 'volumesnapshots', kind: 'VolumeSnapshot', namespaced: true }),
    volumeSnapshotContents: customResource<VolumeSnapshotContent>({
        group: SNAPSHOT_GROUP, version: SNAPSHOT_VERSION, plural: 'volumesnapshotcontents', kind: 'VolumeSnapshotContent', namespaced: false,
    }),
    volumeSnapshotClasses: customResource<VolumeSnapshotClass>({
        group: SNAPSHOT_GROUP, version: SNAPSHOT_VERSION, plural: 'volumesnapshotclasses', kind: 'VolumeSnapshotClass', namespaced: false,
    }),
} as const;

/** The cache key of an object: `namespace/name`, or `name` for cluster-scoped objects (client-go MetaNamespaceKeyFunc). */
export function keyOf(obj: KubernetesObject): string {
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name ?? '';
    return ns ? `${ns}/${name}` : name;
}

/** Splits a `namespace/name` or `name` key. */
export function splitKey(key: string): { namespace: string; name: string } {
    const i = key.indexOf('/');
    return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
