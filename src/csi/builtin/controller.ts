// The built-in driver's Identity and Controller services: volumes (with clone and restore),
// publications, capacity, expansion, modification and snapshots, all on the shared data
// directory (store.ts). Runs inside the controller-manager (in-process CsiClient) or on a socket
// (serve-builtin.ts).
import fs from 'node:fs';
import path from 'node:path';
import { status as Code } from '@grpc/grpc-js';
import type { ServedDriver } from '../grpc.ts';
import type {
    AccessModeName,
    ControllerCapabilityName,
    CreateSnapshotRequest,
    CreateVolumeRequest,
    ListSnapshotsRequest,
    ListVolumesEntry,
    PluginCapabilityName,
    Snapshot,
    StringMap,
    Topology,
    Volume,
    VolumeCapability,
    VolumeContentSource,
    VolumeExpansionType,
} from '../types.ts';
import {
    BUILTIN_DRIVER_NAME,
    BUILTIN_DRIVER_VERSION,
    MutableParametersSchema,
    ParametersSchema,
    SINGLE_NODE,
    checkCapabilities,
    checkParameters,
    directoryMode,
    fail,
    isDirectory,
    pluginCapabilities,
    unsupported,
} from './common.ts';
import { BuiltinSnapshots } from './snapshots.ts';
import { DirectoryStore, hashId, validId } from './store.ts';
import type { Publication, VolumeRecord } from './store.ts';

/** Size of a volume whose request gives no capacity (1 GiB). */
const DEFAULT_VOLUME_BYTES = 1n << 30n;
const GiB = 1n << 30n;

export interface BuiltinDriverOptions {
    /** Data directory (volumes, snapshots and their records live under it). */
    dataDir: string;
    /** Total capacity in bytes for all volumes (default 100 GiB). Snapshots are not counted. */
    capacityBytes?: bigint;
    /** Node IDs the driver knows; ControllerPublish to another is NOT_FOUND. Undefined = any node. */
    nodeIds?: () => string[] | undefined;
    /** A node ID for NodeGetInfo when served controller-only (default "node-1"), and the topology of a volume created without requirements. */
    nodeId?: string;
    /** When set, the driver reports VOLUME_ACCESSIBILITY_CONSTRAINTS with this topology key. */
    topologyKey?: string;
}

/**
 * The volume ID for a CreateVolume name: derived from the name (SHA-256, UUID-shaped), so that
 * every process sharing the directory maps a name to the same record without an index to keep
 * consistent. Names are unique per volume (the provisioner's `pvc-<claim UID>`).
 */
export function volumeIdFor(name: string): string {
    return hashId(name);
}

const sameSource = (a: VolumeContentSource | undefined, b: VolumeContentSource | undefined) =>
    (a?.snapshot?.snapshot_id ?? '') === (b?.snapshot?.snapshot_id ?? '') && (a?.volume?.volume_id ?? '') === (b?.volume?.volume_id ?? '');

/**
 * A directory-backed CSI controller (Identity + Controller services):
 *
 * - CreateVolume with capacity accounting and idempotency by name (same name + compatible
 *   request → same volume; incompatible → ALREADY_EXISTS); with `volume_content_source` it
 *   copies a snapshot (restore) or another volume (clone) in before it answers, and the answer
 *   carries content_source; `mutable_parameters` are applied at creation.
 * - Idempotent DeleteVolume (FAILED_PRECONDITION while published; snapshots are independent
 *   copies and outlive their volume).
 * - ControllerPublish/Unpublish recording which node has the volume and whether read-only (a
 *   single-node volume published to a second node → FAILED_PRECONDITION); the node plugins read
 *   these records.
 * - GetCapacity, paged ListVolumes and ControllerGetVolume (published nodes and a condition),
 *   ControllerExpandVolume (capacity accounting; online; no node step), ControllerModifyVolume
 *   (mutable parameters, see MutableParametersSchema), and the snapshot RPCs (snapshots.ts).
 *
 * **State on disk, safe for several processes on one directory** (see store.ts and
 * docs/builtin-driver.md): nothing is cached, so a standby that takes over, or a node plugin,
 * sees exactly what another process wrote. Volume records are created with `link()` (the loser
 * of a CreateVolume race answers with the winner's volume); the directory is made after its
 * record and removed before it. A cloned or restored volume's directory is a complete copy
 * renamed into place, so its existence means "populated"; a copy that fails removes the record
 * it was for, so no caller is ever handed an empty volume it asked to be filled.
 *
 * Capacity is the sum of the records on disk. Within one process the check and the record's
 * creation happen without yielding, so it is exact; two processes creating different volumes
 * at the same instant may both pass the check and exceed capacity by those volumes (never a
 * duplicate or a leak).
 */
export class BuiltinDriver implements ServedDriver {
    private readonly store: DirectoryStore;
    private readonly snapshots: BuiltinSnapshots;
    private readonly capacity: bigint;
    private readonly opts: BuiltinDriverOptions;
    /** CreateVolume calls copying data in, by name: a retry in this process joins the running copy. */
    private readonly populating = new Map<string, Promise<unknown>>();

    /**
     * Creates the data directory's layout (if missing), sweeps left-overs of dead processes and
     * moves 0.1.0-style publications (inside the record) to `publish/`.
     * @throws Error (one line, see prepareDataDir) when the directory cannot be created or written
     */
    constructor(opts: BuiltinDriverOptions) {
        this.opts = opts;
        this.capacity = opts.capacityBytes ?? 100n * GiB;
        this.store = new DirectoryStore(opts.dataDir, { maintain: true });
        this.snapshots = new BuiltinSnapshots(this.store);
    }

    private used(): bigint {
        let n = 0n;
        for (const r of this.store.volumes()) n += BigInt(r.capacityBytes);
        return n;
    }

    private toVolume(rec: VolumeRecord): Volume {
        const tier = rec.mutableParameters?.tier;
        return {
            capacity_bytes: BigInt(rec.capacityBytes),
            volume_id: rec.id,
            volume_context: { path: this.store.volumePath(rec.id), ...(tier ? { tier } : {}) },
            ...(rec.contentSource ? { content_source: rec.contentSource } : {}),
            ...(rec.topology ? { accessible_topology: rec.topology } : {}),
        };
    }

    /** Number of volumes in the directory (for tests: "zero volumes left"). */
    volumeCount(): number {
        return this.store.volumes().length;
    }

    /** Number of snapshots in the directory (for tests). */
    snapshotCount(): number {
        return this.snapshots.count();
    }

    async getPluginInfo() {
        return { name: BUILTIN_DRIVER_NAME, vendor_version: BUILTIN_DRIVER_VERSION };
    }

    async getPluginCapabilities(): Promise<PluginCapabilityName[]> {
        return pluginCapabilities(this.opts.topologyKey);
    }

    /** ONLINE: a published volume can be expanded (there is nothing on the node to change). */
    async getPluginVolumeExpansion(): Promise<VolumeExpansionType> {
        return 'ONLINE';
    }

    async probe() {
        return isDirectory(path.join(this.store.dir, 'volumes'));
    }

    async controllerGetCapabilities(): Promise<ControllerCapabilityName[]> {
        return [
            'CREATE_DELETE_VOLUME',
            'PUBLISH_UNPUBLISH_VOLUME',
            'PUBLISH_READONLY',
            'LIST_VOLUMES',
            'LIST_VOLUMES_PUBLISHED_NODES',
            'GET_VOLUME',
            'VOLUME_CONDITION',
            'GET_CAPACITY',
            'EXPAND_VOLUME',
            'MODIFY_VOLUME',
            'CLONE_VOLUME',
            'CREATE_DELETE_SNAPSHOT',
            'LIST_SNAPSHOTS',
        ];
    }

    /** For serving controller-only (csi-sanity's controller suites): the node ID ControllerPublish tests use. */
    async nodeGetInfo() {
        const node = this.opts.nodeId ?? 'node-1';
        return { node_id: node, ...(this.opts.topologyKey ? { accessible_topology: { segments: { [this.opts.topologyKey]: node } } } : {}) };
    }

    private pickTopology(req: CreateVolumeRequest): Topology[] | undefined {
        const key = this.opts.topologyKey;
        if (!key) return undefined;
        const terms = [...(req.accessibility_requirements?.preferred ?? []), ...(req.accessibility_requirements?.requisite ?? [])];
        const seg = terms.find((t) => t.segments[key]);
        if (seg) return [{ segments: { [key]: seg.segments[key] as string } }];
        if (terms.length > 0) fail(Code.INVALID_ARGUMENT, `accessibility requirements name no "${key}" segment`);
        return this.opts.nodeId ? [{ segments: { [key]: this.opts.nodeId } }] : undefined;
    }

    /** The existing volume for a CreateVolume name, if its record is compatible with the request. */
    private async existing(rec: VolumeRecord, req: CreateVolumeRequest, required: bigint, limit: bigint, params: StringMap): Promise<Volume> {
        if (rec.name !== req.name) fail(Code.INTERNAL, `volume ID ${rec.id} of "${req.name}" is taken by "${rec.name}"`);
        const cap = BigInt(rec.capacityBytes);
        if (cap < required || (limit > 0n && cap > limit))
            fail(Code.ALREADY_EXISTS, `volume "${req.name}" already exists with capacity ${cap} bytes, incompatible with the requested range`);
        if (rec.block) fail(Code.ALREADY_EXISTS, `volume "${req.name}" already exists with a different access type`);
        if (JSON.stringify(rec.parameters) !== JSON.stringify(params)) fail(Code.ALREADY_EXISTS, `volume "${req.name}" already exists with different parameters`);
        if (!sameSource(rec.contentSource, req.volume_content_source)) fail(Code.ALREADY_EXISTS, `volume "${req.name}" already exists with a different content source`);
        if (rec.contentSource) await this.populate(rec);
        else this.ensureDirectory(rec);
        return this.toVolume(rec);
    }

    /** An empty volume's directory exists (made after its record; a crash in between is healed here). */
    private ensureDirectory(rec: VolumeRecord): void {
        fs.mkdirSync(this.store.volumePath(rec.id), { recursive: true, mode: directoryMode(rec.parameters, rec.mutableParameters) });
    }

    /**
     * The smallest size a volume from this source may have (bytes), after checking the source exists.
     * @throws CsiError NOT_FOUND when the snapshot or volume is not there
     */
    private sourceSize(src: VolumeContentSource): bigint {
        if (src.snapshot) {
            const snap = this.store.readSnapshot(src.snapshot.snapshot_id);
            if (!snap) return fail(Code.NOT_FOUND, `source snapshot ${src.snapshot.snapshot_id} not found`);
            return BigInt(snap.sizeBytes);
        }
        const vol = src.volume ? this.store.readVolume(src.volume.volume_id) : undefined;
        if (!vol) return fail(Code.NOT_FOUND, `source volume ${src.volume?.volume_id ?? ''} not found`);
        return BigInt(vol.capacityBytes);
    }

    /**
     * Fills a cloned or restored volume: copies the source into place unless its directory is
     * already there. Calls for one volume in this process share one copy. On any failure the
     * volume's record and directory are removed (the caller gets the error and no volume), so a
     * CO that treats the error as final leaks nothing.
     * @throws CsiError NOT_FOUND (source gone), ABORTED (source or volume deleted during the copy), RESOURCE_EXHAUSTED, INTERNAL
     */
    private async populate(rec: VolumeRecord): Promise<void> {
        const dest = this.store.volumePath(rec.id);
        if (isDirectory(dest)) return;
        const running = this.populating.get(rec.name);
        if (running) {
            await running.catch(() => undefined);
            if (isDirectory(dest)) return;
            if (!this.store.readVolume(rec.id)) fail(Code.ABORTED, `volume "${rec.name}": copying its content in failed; retry to try again`);
        }
        const p = this.copyIn(rec, dest);
        this.populating.set(rec.name, p);
        try {
            await p;
        } catch (e) {
            fs.rmSync(dest, { recursive: true, force: true });
            fs.rmSync(this.store.recordPath(rec.id), { force: true });
            throw e;
        } finally {
            this.populating.delete(rec.name);
        }
    }

    private async copyIn(rec: VolumeRecord, dest: string): Promise<void> {
        const src = rec.contentSource as VolumeContentSource;
        const snapId = src.snapshot?.snapshot_id;
        const snap = snapId ? this.store.readSnapshot(snapId) : undefined;
        const volId = src.volume?.volume_id;
        if (snapId && !snap) fail(Code.NOT_FOUND, `source snapshot ${snapId} not found`);
        if (volId && !this.store.readVolume(volId)) fail(Code.NOT_FOUND, `source volume ${volId} not found`);
        const from = snap ? this.store.snapshotDataPath(snap) : this.store.volumePath(volId as string);
        if (!isDirectory(from)) fail(Code.NOT_FOUND, `${snapId ? `source snapshot ${snapId}` : `source volume ${volId}`} has no data`);
        await this.store.copyTree(from, dest);
        // The source must have stayed what it was for the whole copy (a snapshot deleted meanwhile
        // may have been copied half-removed), and our own record must still be there.
        if (snapId && this.store.readSnapshot(snapId)?.data !== snap?.data) fail(Code.ABORTED, `source snapshot ${snapId} was deleted while it was being copied`);
        if (volId && !this.store.readVolume(volId)) fail(Code.ABORTED, `source volume ${volId} was deleted while it was being copied`);
        if (!this.store.readVolume(rec.id)) fail(Code.ABORTED, `volume "${rec.name}" was deleted while it was being created`);
        if (rec.parameters.directoryMode || rec.mutableParameters?.directoryMode) fs.chmodSync(dest, directoryMode(rec.parameters, rec.mutableParameters));
    }

    async createVolume(req: CreateVolumeRequest): Promise<Volume> {
        if (!req.name) fail(Code.INVALID_ARGUMENT, 'CreateVolume: name missing in request');
        const modes = checkCapabilities(req.volume_capabilities, 'CreateVolume');
        const params = checkParameters(ParametersSchema, req.parameters, 'parameter');
        const mutable = req.mutable_parameters && Object.keys(req.mutable_parameters).length ? checkParameters(MutableParametersSchema, req.mutable_parameters, 'mutable parameter') : undefined;
        const src = req.volume_content_source?.snapshot || req.volume_content_source?.volume ? req.volume_content_source : undefined;
        const required = req.capacity_range?.required_bytes ?? 0n;
        const limit = req.capacity_range?.limit_bytes ?? 0n;
        if (required < 0n || limit < 0n) fail(Code.OUT_OF_RANGE, 'CreateVolume: capacity range must not be negative');
        if (limit > 0n && required > limit) fail(Code.OUT_OF_RANGE, `CreateVolume: required_bytes ${required} exceeds limit_bytes ${limit}`);
        let size = required > 0n ? required : limit > 0n && limit < DEFAULT_VOLUME_BYTES ? limit : DEFAULT_VOLUME_BYTES;
        const id = volumeIdFor(req.name);
        const found = this.store.readVolume(id);
        if (found) return this.existing(found, { ...req, volume_content_source: src }, required, limit, params);
        if (src) {
            const floor = this.sourceSize(src);
            if (required > 0n && required < floor) fail(Code.OUT_OF_RANGE, `CreateVolume: required_bytes ${required} is smaller than the source's ${floor} bytes`);
            if (limit > 0n && limit < floor) fail(Code.OUT_OF_RANGE, `CreateVolume: limit_bytes ${limit} is smaller than the source's ${floor} bytes`);
            if (size < floor) size = floor;
        }
        const used = this.used();
        if (used + size > this.capacity) fail(Code.RESOURCE_EXHAUSTED, `insufficient capacity: ${size} bytes requested, ${this.capacity - used} of ${this.capacity} available`);
        const rec: VolumeRecord = {
            id,
            name: req.name,
            capacityBytes: size.toString(),
            parameters: params,
            ...(mutable ? { mutableParameters: mutable } : {}),
            accessModes: modes,
            block: false,
            topology: this.pickTopology(req),
            ...(src ? { contentSource: src } : {}),
            createdAt: new Date().toISOString(),
        };
        if (!this.store.createFile(this.store.recordPath(id), JSON.stringify(rec, null, 2))) {
            // Another process created it first: answer with its volume (or why it is incompatible).
            const winner = this.store.readVolume(id);
            if (!winner) return fail(Code.ABORTED, `volume "${req.name}" is being created and deleted concurrently`);
            return this.existing(winner, { ...req, volume_content_source: src }, required, limit, params);
        }
        if (src) await this.populate(rec);
        else this.ensureDirectory(rec);
        return this.toVolume(rec);
    }

    async deleteVolume(req: { volume_id: string }): Promise<void> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'DeleteVolume: volume ID missing in request');
        const id = req.volume_id;
        if (!validId(id)) return;
        const published = this.store.publications(id);
        if (published.length > 0) fail(Code.FAILED_PRECONDITION, `volume ${id} is still published to node(s) ${published.map((p) => p.node).join(', ')}`);
        // Directory first, record last: a crash in between leaves the record, and a retry finishes.
        fs.rmSync(this.store.volumePath(id), { recursive: true, force: true });
        fs.rmSync(this.store.recordPath(id), { force: true });
        fs.rmSync(this.store.publicationDir(id), { recursive: true, force: true });
    }

    async controllerPublishVolume(req: { volume_id: string; node_id: string; volume_capability?: VolumeCapability; readonly?: boolean }): Promise<StringMap> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ControllerPublishVolume: volume ID missing in request');
        if (!req.node_id) fail(Code.INVALID_ARGUMENT, 'ControllerPublishVolume: node ID missing in request');
        const [mode] = checkCapabilities(req.volume_capability ? [req.volume_capability] : undefined, 'ControllerPublishVolume');
        const rec = this.store.readVolume(req.volume_id);
        if (!rec) return fail(Code.NOT_FOUND, `volume ${req.volume_id} not found`);
        const known = this.opts.nodeIds?.();
        if (known && !known.includes(req.node_id)) fail(Code.NOT_FOUND, `node ${req.node_id} not found`);
        const readonly = !!req.readonly;
        const ctx = { path: this.store.volumePath(rec.id) };
        const single = SINGLE_NODE.has(mode as AccessModeName);
        const elsewhere = () => this.store.publications(rec.id).find((p) => p.node !== req.node_id);
        for (;;) {
            const here = this.store.publication(rec.id, req.node_id);
            if (here) {
                if (here.readonly !== readonly) fail(Code.ALREADY_EXISTS, `volume ${rec.id} is already published to node ${req.node_id} with readonly=${here.readonly}`);
                return ctx;
            }
            const other = single ? elsewhere() : undefined;
            if (other) fail(Code.FAILED_PRECONDITION, `volume ${rec.id} is published to node ${other.node} and its access mode ${mode} allows a single node`);
            const file = this.store.publicationPath(rec.id, req.node_id);
            if (!this.store.createFile(file, JSON.stringify({ node: req.node_id, readonly } satisfies Publication))) continue; // published meanwhile: compare
            // Another process may have published the single-node volume elsewhere at the same time: back out.
            const raced = single ? elsewhere() : undefined;
            if (raced) {
                fs.rmSync(file, { force: true });
                fail(Code.FAILED_PRECONDITION, `volume ${rec.id} is published to node ${raced.node} and its access mode ${mode} allows a single node`);
            }
            return ctx;
        }
    }

    async controllerUnpublishVolume(req: { volume_id: string; node_id?: string }): Promise<void> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ControllerUnpublishVolume: volume ID missing in request');
        if (!validId(req.volume_id)) return;
        if (req.node_id) fs.rmSync(this.store.publicationPath(req.volume_id, req.node_id), { force: true });
        else fs.rmSync(this.store.publicationDir(req.volume_id), { recursive: true, force: true });
    }

    async validateVolumeCapabilities(req: { volume_id: string; volume_capabilities: VolumeCapability[]; parameters?: StringMap; mutable_parameters?: StringMap }) {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ValidateVolumeCapabilities: volume ID missing in request');
        checkCapabilities(req.volume_capabilities, 'ValidateVolumeCapabilities', { structureOnly: true });
        const rec = this.store.readVolume(req.volume_id);
        if (!rec) return fail(Code.NOT_FOUND, `volume ${req.volume_id} not found`);
        const why = req.volume_capabilities.map(unsupported).find((w) => w);
        if (why) return { confirmed: false, message: why };
        try {
            if (req.parameters && Object.keys(req.parameters).length) checkParameters(ParametersSchema, req.parameters, 'parameter');
            if (req.mutable_parameters && Object.keys(req.mutable_parameters).length) checkParameters(MutableParametersSchema, req.mutable_parameters, 'mutable parameter');
        } catch (e) {
            return { confirmed: false, message: (e as Error).message };
        }
        if (rec.block) return { confirmed: false, message: 'the volume is a block volume of driver version 0.1.0, which this version does not publish' };
        return { confirmed: true, message: '' };
    }

    /** A volume's entry: published nodes and a condition (abnormal when its directory is gone). */
    private entry(rec: VolumeRecord): ListVolumesEntry {
        const there = isDirectory(this.store.volumePath(rec.id));
        return {
            volume: this.toVolume(rec),
            published_node_ids: this.store.publications(rec.id).map((p) => p.node),
            volume_condition: there
                ? { abnormal: false, message: 'volume directory present' }
                : { abnormal: true, message: rec.contentSource ? 'volume directory missing: its content is being copied in, or the copy failed' : 'volume directory missing' },
        };
    }

    async listVolumes(req: { max_entries?: number; starting_token?: string }) {
        const max = req.max_entries ?? 0;
        if (max < 0) fail(Code.INVALID_ARGUMENT, 'ListVolumes: max_entries must not be negative');
        const recs = this.store.volumes();
        let start = 0;
        if (req.starting_token) {
            start = Number(req.starting_token);
            if (!Number.isInteger(start) || start < 0 || start > recs.length) fail(Code.ABORTED, `ListVolumes: invalid starting_token "${req.starting_token}"`);
        }
        const end = max > 0 ? Math.min(recs.length, start + max) : recs.length;
        return { entries: recs.slice(start, end).map((r) => this.entry(r)), next_token: end < recs.length ? String(end) : '' };
    }

    async controllerGetVolume(req: { volume_id: string }): Promise<ListVolumesEntry> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ControllerGetVolume: volume ID missing in request');
        const rec = this.store.readVolume(req.volume_id);
        if (!rec) return fail(Code.NOT_FOUND, `volume ${req.volume_id} not found`);
        return this.entry(rec);
    }

    async getCapacity(_req: { accessible_topology?: Topology }) {
        const free = this.capacity - this.used();
        return { available_capacity: free > 0n ? free : 0n, maximum_volume_size: free > 0n ? free : 0n };
    }

    /**
     * Records the larger size (capacity accounting: RESOURCE_EXHAUSTED when the pool cannot
     * hold it). A directory has no filesystem to grow, so the record is the whole expansion:
     * node_expansion_required is false and the kubelet has nothing to do. Works while published
     * (ONLINE). A smaller or equal request answers the current size.
     * @throws CsiError INVALID_ARGUMENT (ID or range missing, block), NOT_FOUND, OUT_OF_RANGE, RESOURCE_EXHAUSTED
     */
    async controllerExpandVolume(req: { volume_id: string; capacity_range?: { required_bytes?: bigint; limit_bytes?: bigint }; volume_capability?: VolumeCapability }) {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ControllerExpandVolume: volume ID missing in request');
        if (!req.capacity_range) fail(Code.INVALID_ARGUMENT, 'ControllerExpandVolume: capacity range missing in request');
        if (req.volume_capability) checkCapabilities([req.volume_capability], 'ControllerExpandVolume');
        const rec = this.store.readVolume(req.volume_id);
        if (!rec) return fail(Code.NOT_FOUND, `volume ${req.volume_id} not found`);
        const cur = BigInt(rec.capacityBytes);
        const want = req.capacity_range?.required_bytes ?? 0n;
        const limit = req.capacity_range?.limit_bytes ?? 0n;
        if (want < 0n || limit < 0n) fail(Code.OUT_OF_RANGE, 'ControllerExpandVolume: capacity range must not be negative');
        if (limit > 0n && want > limit) fail(Code.OUT_OF_RANGE, 'ControllerExpandVolume: required_bytes exceeds limit_bytes');
        if (want <= cur) return { capacity_bytes: cur, node_expansion_required: false };
        if (this.used() - cur + want > this.capacity) fail(Code.RESOURCE_EXHAUSTED, `insufficient capacity to expand volume ${rec.id} to ${want} bytes`);
        this.store.replaceFile(this.store.recordPath(rec.id), JSON.stringify({ ...rec, capacityBytes: want.toString() }, null, 2));
        return { capacity_bytes: want, node_expansion_required: false };
    }

    /**
     * Applies mutable parameters (MutableParametersSchema: `tier`, `directoryMode`): all are
     * checked before anything changes; only the keys given change (absent keys keep their value).
     * @throws CsiError INVALID_ARGUMENT (ID missing, an unknown key or bad value: nothing applied), NOT_FOUND
     */
    async controllerModifyVolume(req: { volume_id: string; mutable_parameters: StringMap }): Promise<void> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ControllerModifyVolume: volume ID missing in request');
        const given = checkParameters(MutableParametersSchema, req.mutable_parameters, 'mutable parameter');
        const rec = this.store.readVolume(req.volume_id);
        if (!rec) return fail(Code.NOT_FOUND, `volume ${req.volume_id} not found`);
        if (Object.keys(given).length === 0) return;
        const mutableParameters = { ...rec.mutableParameters, ...given };
        if (given.directoryMode && isDirectory(this.store.volumePath(rec.id))) fs.chmodSync(this.store.volumePath(rec.id), directoryMode(rec.parameters, mutableParameters));
        this.store.replaceFile(this.store.recordPath(rec.id), JSON.stringify({ ...rec, mutableParameters }, null, 2));
    }

    async createSnapshot(req: CreateSnapshotRequest): Promise<Snapshot> {
        return this.snapshots.create(req);
    }

    async deleteSnapshot(req: { snapshot_id: string }): Promise<void> {
        return this.snapshots.delete(req);
    }

    async listSnapshots(req: ListSnapshotsRequest) {
        return this.snapshots.list(req);
    }

    /** Served, but GET_SNAPSHOT (alpha) is not claimed: csi-sanity v5.4 refuses the capability as unknown. */
    async getSnapshot(req: { snapshot_id: string }): Promise<Snapshot> {
        return this.snapshots.get(req);
    }

    close(): void {}
}
