// TypeScript shapes of the snapshot.storage.k8s.io/v1 objects (VolumeSnapshot,
// VolumeSnapshotContent, VolumeSnapshotClass), written from the API definition
// (kubernetes-csi/external-snapshotter client/apis/volumesnapshot/v1/types.go) and matching
// crds/*.yaml. client-node has no models for custom resources: these objects are plain JSON
// except `metadata`, which our informers normalize to V1ObjectMeta (Date timestamps), like every
// other cached object. Timestamps inside spec and status therefore stay RFC 3339 strings.
import type { V1ObjectMeta, V1ObjectReference } from '@kubernetes/client-node';

/** The API group of the snapshot API. */
export const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';

/** The served and stored version. */
export const SNAPSHOT_VERSION = 'v1';

/** `apiVersion` of every snapshot object. */
export const SNAPSHOT_API_VERSION = `${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}`;

/** What happens to a snapshot content (and the snapshot on the storage system) when its VolumeSnapshot is deleted. */
export type DeletionPolicy = 'Delete' | 'Retain';

/** The last error taking a snapshot (types.go VolumeSnapshotError). */
export interface VolumeSnapshotError {
    /** RFC 3339 timestamp of the error. */
    time?: string;
    /** What went wrong; may be logged, so never secret. */
    message?: string;
}

/** Where a VolumeSnapshot comes from: exactly one member is set; both are immutable (CEL-enforced). */
export interface VolumeSnapshotSource {
    /** A claim in the snapshot's namespace to take a new snapshot of. */
    persistentVolumeClaimName?: string;
    /** An existing (pre-provisioned) VolumeSnapshotContent to bind to. */
    volumeSnapshotContentName?: string;
}

/** VolumeSnapshot spec. */
export interface VolumeSnapshotSpec {
    source: VolumeSnapshotSource;
    /** Class to use; unset means the default class of the source volume's driver. Never "" (CEL-enforced). */
    volumeSnapshotClassName?: string;
}

/** VolumeSnapshot status, mirrored from the bound content by the snapshot controller. */
export interface VolumeSnapshotStatus {
    /** The content this snapshot is bound to; binding holds only when the content points back. */
    boundVolumeSnapshotContentName?: string;
    /** RFC 3339 timestamp when the snapshot was cut. */
    creationTime?: string;
    readyToUse?: boolean;
    /** Smallest volume a restore needs, as a quantity (e.g. `1Gi`) or a number of bytes. */
    restoreSize?: string | number;
    error?: VolumeSnapshotError;
    volumeGroupSnapshotName?: string;
}

/** A user's request for a snapshot of a claim, or to use an existing snapshot content (namespaced). */
export interface VolumeSnapshot {
    apiVersion?: string;
    kind?: string;
    metadata?: V1ObjectMeta;
    spec: VolumeSnapshotSpec;
    status?: VolumeSnapshotStatus;
}

/** Where a VolumeSnapshotContent comes from: exactly one member is set; both are immutable (CEL-enforced). */
export interface VolumeSnapshotContentSource {
    /** CSI volume_id to take a new snapshot of (dynamic). */
    volumeHandle?: string;
    /** CSI snapshot_id of an existing snapshot (pre-provisioned). */
    snapshotHandle?: string;
}

/** VolumeSnapshotContent spec. */
export interface VolumeSnapshotContentSpec {
    /** The bound VolumeSnapshot; name and namespace are always set (CEL-enforced). */
    volumeSnapshotRef: V1ObjectReference;
    deletionPolicy: DeletionPolicy;
    /** CSI driver name (GetPluginInfo). */
    driver: string;
    volumeSnapshotClassName?: string;
    source: VolumeSnapshotContentSource;
    /** `Filesystem` or `Block`: the mode of the source volume; immutable once set. */
    sourceVolumeMode?: string;
}

/** VolumeSnapshotContent status, written by the snapshotter from CSI answers. */
export interface VolumeSnapshotContentStatus {
    /** CSI snapshot_id. */
    snapshotHandle?: string;
    /** When the snapshot was cut, in nanoseconds since the Unix epoch (int64 on the wire; a JS number loses sub-microsecond precision). */
    creationTime?: number;
    /** Size in bytes (CSI size_bytes); at least 0. */
    restoreSize?: number;
    readyToUse?: boolean;
    error?: VolumeSnapshotError;
    volumeGroupSnapshotHandle?: string;
}

/** A snapshot on the storage system, or the request to take one (cluster-scoped). */
export interface VolumeSnapshotContent {
    apiVersion?: string;
    kind?: string;
    metadata?: V1ObjectMeta;
    spec: VolumeSnapshotContentSpec;
    status?: VolumeSnapshotContentStatus;
}

/** Parameters for taking snapshots with one driver (cluster-scoped). Fields are top-level, like StorageClass. */
export interface VolumeSnapshotClass {
    apiVersion?: string;
    kind?: string;
    metadata?: V1ObjectMeta;
    driver: string;
    /** Driver-specific CreateSnapshot parameters (and the snapshotter secret keys). */
    parameters?: Record<string, string>;
    deletionPolicy: DeletionPolicy;
}
