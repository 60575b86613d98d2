// TypeScript shapes of the CSI controller-side messages we use. Field names are the proto's
// (snake_case, as on the wire); 64-bit byte counts are bigint. See csi.proto beside this file.

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

export type StringMap = Record<string, string>;

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

export interface ListVolumesEntry {
    volume: Volume;
    published_node_ids: string[];
}

/**
 * The controller side of CSI, as the provisioner and attacher see it. Implemented over gRPC
 * (GrpcCsiClient, any driver) and directly by the built-in driver. Errors are CsiError.
 */
export interface CsiClient {
    getPluginInfo(): Promise<{ name: string; vendor_version: string; manifest?: StringMap }>;
    getPluginCapabilities(): Promise<PluginCapabilityName[]>;
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
    getCapacity(req: { volume_capabilities?: VolumeCapability[]; parameters?: StringMap; accessible_topology?: Topology }): Promise<{ available_capacity: bigint; maximum_volume_size?: bigint }>;
    controllerExpandVolume(req: { volume_id: string; capacity_range?: CapacityRange; volume_capability?: VolumeCapability }): Promise<{ capacity_bytes: bigint; node_expansion_required: boolean }>;
    /** Releases the connection (no-op in-process). */
    close(): void;
}
