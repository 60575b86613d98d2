// The snapshot.storage.k8s.io API (VolumeSnapshotClass, VolumeSnapshotContent, VolumeSnapshot)
// described for scripts/gen-crds.ts. Written from the API definition (kubernetes-csi/
// external-snapshotter client/apis/volumesnapshot/v1/types.go and its kubebuilder markers): the
// same fields, types, required lists, enums, printer columns and CEL rules, so objects written
// by upstream tools are accepted unchanged and vice versa. The descriptions are ours.
import { boolean, dateTime, exactlyOneOf, immutable, int64, object, oneOf, quantity, requiredOnceSet, string, stringMap } from './crd-schema.ts';
import type { KindDef, PrinterColumn, Schema } from './crd-schema.ts';

/** The API group. */
export const GROUP = 'snapshot.storage.k8s.io';

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

const legacy = (kind: string) => [{ name: 'v1beta1', deprecationWarning: `snapshot.storage.k8s.io/v1beta1 ${kind} is deprecated; use snapshot.storage.k8s.io/v1 ${kind}` }];

const deletionPolicy = (description: string): Schema => oneOf(description, ['Delete', 'Retain']);

const snapshotError = (description: string): Schema =>
    object(description, {
        message: string('What went wrong. It may be logged, so it never carries secrets.'),
        time: dateTime('When the error happened.'),
    });

/** VolumeSnapshotClass: cluster-scoped parameters for taking snapshots with one driver. */
export const volumeSnapshotClass: KindDef = {
    group: GROUP,
    kind: 'VolumeSnapshotClass',
    plural: 'volumesnapshotclasses',
    singular: 'volumesnapshotclass',
    shortNames: ['vsclass', 'vsclasses'],
    scope: 'Cluster',
    version: 'v1',
    legacyVersions: legacy('VolumeSnapshotClass'),
    approval: 'https://github.com/kubernetes-csi/external-snapshotter/pull/814',
    description: 'A class of volume snapshots: the CSI driver that takes them, its parameters, and what happens to a snapshot when its VolumeSnapshot is deleted. Cluster-scoped; a VolumeSnapshot names it in spec.volumeSnapshotClassName.',
    fields: {
        driver: string('Name of the CSI driver that takes snapshots of this class.'),
        parameters: stringMap('Driver-specific parameters for CreateSnapshot, passed through unchanged.'),
        deletionPolicy: deletionPolicy('What happens to a VolumeSnapshotContent made from this class, and to the snapshot on the storage system, when its VolumeSnapshot is deleted: Delete removes both, Retain keeps both.'),
    },
    required: ['deletionPolicy', 'driver'],
    statusSubresource: false,
    printerColumns: [
        { name: 'Driver', type: 'string', jsonPath: '.driver' },
        { name: 'DeletionPolicy', type: 'string', jsonPath: '.deletionPolicy', description: 'Whether a bound snapshot content is deleted or retained with its VolumeSnapshot.' },
        AGE,
    ],
};

/** VolumeSnapshotContent: a snapshot on the storage system, as seen by the cluster. */
export const volumeSnapshotContent: KindDef = {
    group: GROUP,
    kind: 'VolumeSnapshotContent',
    plural: 'volumesnapshotcontents',
    singular: 'volumesnapshotcontent',
    shortNames: ['vsc', 'vscs'],
    scope: 'Cluster',
    version: 'v1',
    legacyVersions: legacy('VolumeSnapshotContent'),
    approval: 'https://github.com/kubernetes-csi/external-snapshotter/pull/955',
    description: 'A snapshot on the storage system, or the request to take one. Cluster-scoped; bound one to one to a VolumeSnapshot.',
    fields: {
        spec: object(
            'The snapshot content as its creator specified it. Required.',
            {
                volumeSnapshotRef: object(
                    'The VolumeSnapshot this content is bound to. Binding holds only when that VolumeSnapshot names this content too. A pre-provisioned content must give both name and namespace. Immutable. Required.',
                    {
                        apiVersion: string('API version of the referenced object.'),
                        fieldPath: string('A field inside the referenced object, when the reference is to part of it.'),
                        kind: string('Kind of the referenced object.'),
                        name: string('Name of the referenced object.'),
                        namespace: string('Namespace of the referenced object.'),
                        resourceVersion: string('The resourceVersion of the referenced object this reference was made at, if any.'),
                        uid: string('UID of the referenced object.'),
                    },
                    {
                        atomic: true,
                        rules: [{ rule: 'has(self.name) && has(self.__namespace__)', message: 'both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set' }],
                    },
                ),
                deletionPolicy: deletionPolicy('What happens to this content and to the snapshot on the storage system when the bound VolumeSnapshot is deleted: Delete removes both, Retain keeps both. Copied from the class for dynamic snapshots; set by the user for pre-provisioned ones. Required.'),
                driver: string('Name of the CSI driver that owns the snapshot (as GetPluginInfo reports it). Required.'),
                volumeSnapshotClassName: string('The VolumeSnapshotClass the snapshot was (or will be) taken with. The class may change or go away afterwards, so do not rely on it once the snapshot exists.'),
                source: object(
                    'Where the snapshot comes from: a volume to snapshot (dynamic) or an existing snapshot on the storage system (pre-provisioned). Exactly one member is set. Immutable. Required.',
                    {
                        volumeHandle: string('CSI volume_id of the volume to take the snapshot of. Immutable.', { rules: [immutable('volumeHandle')] }),
                        snapshotHandle: string('CSI snapshot_id of an existing snapshot this content represents. Immutable.', { rules: [immutable('snapshotHandle')] }),
                    },
                    { rules: [requiredOnceSet('volumeHandle'), requiredOnceSet('snapshotHandle'), exactlyOneOf('volumeHandle', 'snapshotHandle')] },
                ),
                sourceVolumeMode: string('Volume mode (Filesystem or Block) of the volume the snapshot was taken of; unset when unknown. Immutable. Alpha.', { rules: [immutable('sourceVolumeMode')], v1Only: true }),
            },
            { required: ['deletionPolicy', 'driver', 'source', 'volumeSnapshotRef'], rules: [requiredOnceSet('sourceVolumeMode')] },
        ),
        status: object('What the storage system reported about the snapshot.', {
            snapshotHandle: string('CSI snapshot_id of the snapshot; unset while a dynamic snapshot is being taken or after it failed.'),
            creationTime: int64('When the snapshot was cut, in nanoseconds since the Unix epoch (CSI creation_time); unset when unknown.'),
            restoreSize: int64('Size of the snapshot in bytes (CSI size_bytes): a volume restored from it must be at least this large. Unset when unknown.', { minimum: 0 }),
            readyToUse: boolean('Whether a volume can be restored from the snapshot (CSI ready_to_use); unset when unknown.'),
            error: snapshotError('The last error taking the snapshot; cleared after a success.'),
            volumeGroupSnapshotHandle: string('CSI group_snapshot_id of the group snapshot this snapshot belongs to, if any.', { v1Only: true }),
        }),
    },
    required: ['spec'],
    statusSubresource: true,
    printerColumns: [
        { name: 'ReadyToUse', type: 'boolean', jsonPath: '.status.readyToUse', description: 'Whether a volume can be restored from the snapshot.' },
        { name: 'RestoreSize', type: 'integer', jsonPath: '.status.restoreSize', description: 'Size of the snapshot in bytes.' },
        { name: 'DeletionPolicy', type: 'string', jsonPath: '.spec.deletionPolicy', description: 'Whether this content is deleted or retained with its VolumeSnapshot.' },
        { name: 'Driver', type: 'string', jsonPath: '.spec.driver', description: 'The CSI driver that owns the snapshot.' },
        { name: 'VolumeSnapshotClass', type: 'string', jsonPath: '.spec.volumeSnapshotClassName', description: 'The class the snapshot was taken with.' },
        { name: 'VolumeSnapshot', type: 'string', jsonPath: '.spec.volumeSnapshotRef.name', description: 'The VolumeSnapshot this content is bound to.' },
        { name: 'VolumeSnapshotNamespace', type: 'string', jsonPath: '.spec.volumeSnapshotRef.namespace', description: 'Namespace of that VolumeSnapshot.' },
        AGE,
    ],
};

/** VolumeSnapshot: a user's request for a snapshot of a claim, or to use an existing snapshot content. */
export const volumeSnapshot: KindDef = {
    group: GROUP,
    kind: 'VolumeSnapshot',
    plural: 'volumesnapshots',
    singular: 'volumesnapshot',
    shortNames: ['vs'],
    scope: 'Namespaced',
    version: 'v1',
    legacyVersions: legacy('VolumeSnapshot'),
    approval: 'https://github.com/kubernetes-csi/external-snapshotter/pull/814',
    description: "A user's request for a point-in-time snapshot of a claim, or for access to an existing snapshot content. Namespaced.",
    fields: {
        spec: object(
            'The snapshot the user asks for. Required.',
            {
                source: object(
                    'What to snapshot: a claim (a new snapshot is taken) or an existing VolumeSnapshotContent (pre-provisioned). Exactly one member is set. Immutable. Required.',
                    {
                        persistentVolumeClaimName: string('Name of the claim, in this namespace, to take the snapshot of. Immutable.', { rules: [immutable('persistentVolumeClaimName')] }),
                        volumeSnapshotContentName: string('Name of an existing VolumeSnapshotContent to bind to. Immutable.', { rules: [immutable('volumeSnapshotContentName')] }),
                    },
                    { rules: [requiredOnceSet('persistentVolumeClaimName'), requiredOnceSet('volumeSnapshotContentName'), exactlyOneOf('volumeSnapshotContentName', 'persistentVolumeClaimName')] },
                ),
                volumeSnapshotClassName: string(
                    "The VolumeSnapshotClass to take the snapshot with. When unset, the default class of the source volume's driver is used (taking the snapshot fails if that driver has more than one default). Must not be empty when set.",
                    { rules: [{ rule: 'size(self) > 0', message: 'volumeSnapshotClassName must not be the empty string when set' }] },
                ),
            },
            { required: ['source'] },
        ),
        status: object(
            'What the controllers observed; filled from the bound VolumeSnapshotContent. Check that this snapshot and its content name each other before trusting it.',
            {
                boundVolumeSnapshotContentName: string('The VolumeSnapshotContent this snapshot is bound to; unset until bound. Binding holds only when that content names this snapshot too.'),
                creationTime: dateTime('When the snapshot was cut on the storage system; unset when unknown.'),
                readyToUse: boolean('Whether a volume can be restored from the snapshot; unset when unknown.'),
                restoreSize: quantity('Smallest volume size a restore from this snapshot needs; unset when unknown.'),
                error: snapshotError('The last error taking the snapshot; cleared after a success. The controllers keep retrying.'),
                volumeGroupSnapshotName: string('Name of the VolumeGroupSnapshot this snapshot is part of, if any.', { v1Only: true }),
            },
        ),
    },
    required: ['spec'],
    statusSubresource: true,
    printerColumns: [
        { name: 'ReadyToUse', type: 'boolean', jsonPath: '.status.readyToUse', description: 'Whether a volume can be restored from the snapshot.' },
        { name: 'SourcePVC', type: 'string', jsonPath: '.spec.source.persistentVolumeClaimName', description: 'The claim the snapshot is taken of.' },
        { name: 'SourceSnapshotContent', type: 'string', jsonPath: '.spec.source.volumeSnapshotContentName', description: 'The pre-provisioned snapshot content it binds to.' },
        { name: 'RestoreSize', type: 'string', jsonPath: '.status.restoreSize', description: 'Smallest volume size a restore needs.' },
        { name: 'SnapshotClass', type: 'string', jsonPath: '.spec.volumeSnapshotClassName', description: 'The VolumeSnapshotClass asked for.' },
        { name: 'SnapshotContent', type: 'string', jsonPath: '.status.boundVolumeSnapshotContentName', description: 'The bound VolumeSnapshotContent (check that it names this snapshot too).' },
        { name: 'CreationTime', type: 'date', jsonPath: '.status.creationTime', description: 'When the snapshot was cut.' },
        AGE,
    ],
};

/** The three kinds, in the order upstream's kustomization installs them. */
export const SNAPSHOT_KINDS: KindDef[] = [volumeSnapshotClass, volumeSnapshotContent, volumeSnapshot];
