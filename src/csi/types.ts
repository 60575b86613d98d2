// TypeScript shapes of the CSI messages we use (Identity, Controller, Node). Field names are the
// proto's (snake_case, as on the wire); every int64 (byte counts, counts, Timestamp seconds) is a
// bigint; google.protobuf.Timestamp is {seconds: bigint, nanos: number}, exactly as on the wire.
// See csi.proto beside this file.

export type AccessModeName =
    | 'UNKNOWN'
    | 'SINGLE_NODE_WRITER'
    | 'SINGLE_NODE_READER_ONLY'
    | 'MULTI_NODE_READER_ONLY'
    | 'MULTI_NODE_SINGLE_WRITER'
    | 'MULTI_NODE_MULTI_WRITER'
    | 'SINGLE_NODE_SINGLE_WRITER'
    | 'SINGLE_NODE_MULTI_WRITER';

export type PluginCapabilityName = 'CONTROLLER_SERVICE' | 'VOLUME_ACCESSIBILITY_CONSTRAINTS' | 'GROUP_CONTROLLER_SERVICE' | 'SNAPSHOT_METADATA_SERVICE';

/** PluginCapability.VolumeExpansion.Type (UNKNOWN omitted): when a volume may be expanded (spec "ControllerExpandVolume"). */
export type VolumeExpansionType = 'ONLINE' | 'OFFLINE';

export type ControllerCapabilityName =
    | 'CREATE_DELETE_VOLUME'
    | 'PUBLISH_UNPUBLISH_VOLUME'
    | 'LIST_VOLUMES'
    | 'GET_CAPACITY'
    | 'CREATE_DELETE_SNAPSHOT'
    | 'LIST_SNAPSHOTS'
    | 'CLONE_VOLUME'
    | 'PUBLISH_READONLY'
    | 'EXPAND_VOLUME'
    | 'LIST_VOLUMES_PUBLISHED_NODES'
    | 'VOLUME_CONDITION'
    | 'GET_VOLUME'
    | 'SINGLE_NODE_MULTI_WRITER'
    | 'MODIFY_VOLUME'
    | 'GET_SNAPSHOT';

/** NodeServiceCapability.RPC.Type values of CSI v1.12 (UNKNOWN omitted). */
export type NodeCapabilityName = 'STAGE_UNSTAGE_VOLUME' | 'GET_VOLUME_STATS' | 'EXPAND_VOLUME' | 'VOLUME_CONDITION' | 'SINGLE_NODE_MULTI_WRITER' | 'VOLUME_MOUNT_GROUP';

export type StringMap = Record<string, string>;

/**
 * google.protobuf.Timestamp as on the wire: seconds since the Unix epoch (int64, bigint) and
 * nanoseconds within that second (0..999,999,999). Kept exact (a Date has only milliseconds);
 * convert with timestampFromDate / timestampToDate / timestampToNanos.
 */
export interface Timestamp {
    seconds: bigint;
    nanos: number;
}

/** A Date as a Timestamp (millisecond precision; negative times keep nanos in 0..999,999,999). */
export function timestampFromDate(d: Date): Timestamp {
    const ms = BigInt(d.getTime());
    let seconds = ms / 1000n;
    let rem = ms % 1000n;
    if (rem < 0n) {
        seconds -= 1n;
        rem += 1000n;
    }
    return { seconds, nanos: Number(rem) * 1_000_000 };
}

/** A Timestamp as a Date (sub-millisecond nanos are truncated). */
export function timestampToDate(t: Timestamp): Date {
    return new Date(Number(t.seconds * 1000n + BigInt(Math.floor(t.nanos / 1_000_000))));
}

/**
 * A Timestamp as nanoseconds since the Unix epoch (bigint), the unit of
 * VolumeSnapshotContent `status.creationTime` (external-snapshotter stores `CreationTime.AsTime().UnixNano()`).
 */
export function timestampToNanos(t: Timestamp): bigint {
    return t.seconds * 1_000_000_000n + BigInt(t.nanos);
}

export interface VolumeCapability {
    block?: Record<string, never>;
    mount?: { fs_type?: string; mount_flags?: string[]; volume_mount_group?: string };
    access_mode?: { mode: AccessModeName };
}

/** Byte range; 0n / undefined = unspecified. */
export interface CapacityRange {
    required_bytes?: bigint;
    limit_bytes?: bigint;
}

export interface Topology {
    segments: StringMap;
}

export interface TopologyRequirement {
    requisite?: Topology[];
    preferred?: Topology[];
}

export interface VolumeContentSource {
    snapshot?: { snapshot_id: string };
    volume?: { volume_id: string };
}

export interface Volume {
    /** 0n = unknown. */
    capacity_bytes: bigint;
    volume_id: string;
    volume_context?: StringMap;
    content_source?: VolumeContentSource;
    accessible_topology?: Topology[];
}

export interface CreateVolumeRequest {
    name: string;
    capacity_range?: CapacityRange;
    volume_capabilities: VolumeCapability[];
    parameters?: StringMap;
    /** Never logged. */
    secrets?: StringMap;
    volume_content_source?: VolumeContentSource;
    accessibility_requirements?: TopologyRequirement;
    mutable_parameters?: StringMap;
}

export interface ControllerPublishVolumeRequest {
    volume_id: string;
    node_id: string;
    volume_capability?: VolumeCapability;
    readonly?: boolean;
    secrets?: StringMap;
    volume_context?: StringMap;
}

/** VolumeCondition (alpha in the spec): abnormal = the volume needs attention; message says why. */
export interface VolumeCondition {
    abnormal: boolean;
    message: string;
}

/**
 * A volume with its status, flattened: ListVolumesResponse.Entry and ControllerGetVolumeResponse
 * (`status.published_node_ids`, `status.volume_condition` on the wire).
 */
export interface ListVolumesEntry {
    volume: Volume;
    published_node_ids: string[];
    /** Only from drivers with the VOLUME_CONDITION controller capability. */
    volume_condition?: VolumeCondition;
}

/** A snapshot as the driver reports it (CSI `Snapshot`). */
export interface Snapshot {
    /** Bytes; 0n = unknown. */
    size_bytes: bigint;
    snapshot_id: string;
    source_volume_id: string;
    /** When the driver cut the snapshot (REQUIRED by the spec; a broken driver may omit it). */
    creation_time?: Timestamp;
    ready_to_use: boolean;
    /** '' / undefined = not part of a group snapshot. */
    group_snapshot_id?: string;
}

export interface CreateSnapshotRequest {
    source_volume_id: string;
    /** The snapshot's name, the idempotency key (external-snapshotter: `snapshot-<VolumeSnapshot UID>`). */
    name: string;
    /** Never logged. */
    secrets?: StringMap;
    parameters?: StringMap;
}

/** ListSnapshots filters: at most one of source_volume_id / snapshot_id is normally set. */
export interface ListSnapshotsRequest {
    /** 0 / undefined = no limit (int32). */
    max_entries?: number;
    starting_token?: string;
    source_volume_id?: string;
    snapshot_id?: string;
    /** Never logged. */
    secrets?: StringMap;
}

/** VolumeUsage.Unit. */
export type VolumeUsageUnit = 'UNKNOWN' | 'BYTES' | 'INODES';

/** One usage figure of NodeGetVolumeStats: bytes or inodes, per `unit`; 0n = unknown. */
export interface VolumeUsage {
    available: bigint;
    total: bigint;
    used: bigint;
    unit: VolumeUsageUnit;
}

/** NodeGetVolumeStatsResponse. */
export interface NodeVolumeStats {
    usage: VolumeUsage[];
    /** Only from drivers with the VOLUME_CONDITION node capability. */
    volume_condition?: VolumeCondition;
}

export interface NodeStageVolumeRequest {
    volume_id: string;
    /** ControllerPublishVolume's publish_context (the VolumeAttachment's `status.attachmentMetadata`). */
    publish_context?: StringMap;
    /** Absolute path on the node, created by the CO. */
    staging_target_path: string;
    volume_capability: VolumeCapability;
    /** Never logged. */
    secrets?: StringMap;
    volume_context?: StringMap;
}

export interface NodeUnstageVolumeRequest {
    volume_id: string;
    staging_target_path: string;
}

export interface NodePublishVolumeRequest {
    volume_id: string;
    publish_context?: StringMap;
    /** Set when the driver has STAGE_UNSTAGE_VOLUME. */
    staging_target_path?: string;
    target_path: string;
    volume_capability: VolumeCapability;
    readonly?: boolean;
    /** Never logged. */
    secrets?: StringMap;
    volume_context?: StringMap;
}

export interface NodeUnpublishVolumeRequest {
    volume_id: string;
    target_path: string;
}

export interface NodeGetVolumeStatsRequest {
    volume_id: string;
    /** Any path where the volume is published. */
    volume_path: string;
    staging_target_path?: string;
}

export interface NodeExpandVolumeRequest {
    volume_id: string;
    volume_path: string;
    capacity_range?: CapacityRange;
    staging_target_path?: string;
    volume_capability?: VolumeCapability;
    /** Never logged. */
    secrets?: StringMap;
}

/** NodeGetInfoResponse. */
export interface NodeInfo {
    node_id: string;
    /** 0n / undefined = no limit (CSINode `allocatable.count` unset). */
    max_volumes_per_node?: bigint;
    accessible_topology?: Topology;
}

/**
 * The Identity and Controller services of CSI, as the provisioner, attacher and the other
 * controller-side loops see them. Implemented over gRPC (GrpcCsiClient, any driver: every method
 * present) and directly by the built-in driver. Errors are CsiError.
 *
 * The methods marked optional are the ones a driver may lack (snapshots, ControllerGetVolume,
 * ControllerModifyVolume): an in-process driver without one behaves as a gRPC driver answering
 * UNIMPLEMENTED. Call them through `orUnimplemented(client, 'createSnapshot')(req)` (errors.ts)
 * so both kinds of driver fail the same way; check the controller capabilities first, as the
 * upstream sidecars do.
 */
export interface CsiClient {
    getPluginInfo(): Promise<{ name: string; vendor_version: string; manifest?: StringMap }>;
    getPluginCapabilities(): Promise<PluginCapabilityName[]>;
    /** The VolumeExpansion plugin capability, if the driver reports one (undefined: none). */
    getPluginVolumeExpansion?(): Promise<VolumeExpansionType | undefined>;
    /** true when ready (a missing `ready` counts as ready, as upstream). */
    probe(): Promise<boolean>;
    controllerGetCapabilities(): Promise<ControllerCapabilityName[]>;
    createVolume(req: CreateVolumeRequest): Promise<Volume>;
    deleteVolume(req: { volume_id: string; secrets?: StringMap }): Promise<void>;
    /** Resolves to the publish_context. */
    controllerPublishVolume(req: ControllerPublishVolumeRequest): Promise<StringMap>;
    controllerUnpublishVolume(req: { volume_id: string; node_id?: string; secrets?: StringMap }): Promise<void>;
    validateVolumeCapabilities(req: { volume_id: string; volume_capabilities: VolumeCapability[]; volume_context?: StringMap; parameters?: StringMap }): Promise<{ confirmed: boolean; message: string }>;
    listVolumes(req: { max_entries?: number; starting_token?: string }): Promise<{ entries: ListVolumesEntry[]; next_token: string }>;
    /** Bytes; `maximum_volume_size` / `minimum_volume_size` (Int64Value on the wire) undefined = not reported. */
    getCapacity(req: {
        volume_capabilities?: VolumeCapability[];
        parameters?: StringMap;
        accessible_topology?: Topology;
    }): Promise<{ available_capacity: bigint; maximum_volume_size?: bigint; minimum_volume_size?: bigint }>;
    controllerExpandVolume(req: {
        volume_id: string;
        capacity_range?: CapacityRange;
        /** Never logged. */
        secrets?: StringMap;
        volume_capability?: VolumeCapability;
    }): Promise<{ capacity_bytes: bigint; node_expansion_required: boolean }>;
    /** CREATE_DELETE_SNAPSHOT. Idempotent by `name`; resolves to the snapshot (maybe not ready_to_use yet). */
    createSnapshot?(req: CreateSnapshotRequest): Promise<Snapshot>;
    /** CREATE_DELETE_SNAPSHOT. An unknown snapshot_id is OK (idempotent). */
    deleteSnapshot?(req: { snapshot_id: string; secrets?: StringMap }): Promise<void>;
    /** LIST_SNAPSHOTS. Paged like listVolumes (an invalid starting_token is ABORTED). */
    listSnapshots?(req: ListSnapshotsRequest): Promise<{ entries: Snapshot[]; next_token: string }>;
    /** GET_SNAPSHOT (alpha). */
    getSnapshot?(req: { snapshot_id: string; secrets?: StringMap }): Promise<Snapshot>;
    /** GET_VOLUME (alpha): the volume with its published nodes and condition. */
    controllerGetVolume?(req: { volume_id: string }): Promise<ListVolumesEntry>;
    /** MODIFY_VOLUME: applies a VolumeAttributesClass's parameters to an existing volume. */
    controllerModifyVolume?(req: { volume_id: string; secrets?: StringMap; mutable_parameters: StringMap }): Promise<void>;
    /** Releases the connection (no-op in-process). */
    close(): void;
}

/**
 * The Node service of CSI, as kubelet (or a test standing in for it) drives a node plugin on its
 * socket. GrpcCsiClient implements it for any driver; a driver served with serveDriver may
 * implement any part of it. Errors are CsiError.
 */
export interface CsiNodeClient {
    /** STAGE_UNSTAGE_VOLUME: make the volume available at staging_target_path (once per node). */
    nodeStageVolume(req: NodeStageVolumeRequest): Promise<void>;
    nodeUnstageVolume(req: NodeUnstageVolumeRequest): Promise<void>;
    /** Make the volume available at target_path (once per pod). */
    nodePublishVolume(req: NodePublishVolumeRequest): Promise<void>;
    nodeUnpublishVolume(req: NodeUnpublishVolumeRequest): Promise<void>;
    /** GET_VOLUME_STATS. */
    nodeGetVolumeStats(req: NodeGetVolumeStatsRequest): Promise<NodeVolumeStats>;
    /** EXPAND_VOLUME (node side); resolves to the new capacity in bytes (0n = unknown). */
    nodeExpandVolume(req: NodeExpandVolumeRequest): Promise<{ capacity_bytes: bigint }>;
    nodeGetCapabilities(): Promise<NodeCapabilityName[]>;
    nodeGetInfo(): Promise<NodeInfo>;
}
