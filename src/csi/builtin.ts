// The built-in CSI driver: `dir.csi.volume-controller-manager.io`, a directory-backed driver
// (controller and identity services) that is the embedded default for the demo and tests.
// Each volume is a directory under <dataDir>/volumes/<id>/ with a metadata file <id>.json.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { status as Code } from '@grpc/grpc-js';
import { z } from 'zod';
import { CsiError } from './errors.ts';
import type { ServedDriver } from './grpc.ts';
import type { AccessModeName, ControllerCapabilityName, CreateVolumeRequest, ListVolumesEntry, PluginCapabilityName, StringMap, Topology, Volume, VolumeCapability } from './types.ts';

/** The built-in driver's CSI name (the StorageClass provisioner and VolumeAttachment attacher). */
export const BUILTIN_DRIVER_NAME = 'dir.csi.volume-controller-manager.io';
export const BUILTIN_DRIVER_VERSION = '0.1.0';
/** Size of a volume whose request gives no capacity (1 GiB). */
const DEFAULT_VOLUME_BYTES = 1n << 30n;
const GiB = 1n << 30n;

/** StorageClass parameters the driver accepts; anything else is INVALID_ARGUMENT naming it. */
const ParametersSchema = z
    .object({
        /** Octal permission bits of the volume directory, e.g. "0770". */
        directoryMode: z.string().regex(/^0?[0-7]{3}$/, 'must be octal permission bits such as 0770').optional(),
    })
    .strict();

export interface BuiltinDriverOptions {
    /** Data directory (volumes and metadata live under it). */
    dataDir: string;
    /** Total capacity in bytes for all volumes (default 100 GiB). */
    capacityBytes?: bigint;
    /** Node IDs the driver knows; ControllerPublish to another is NOT_FOUND. Undefined = any node. */
    nodeIds?: () => string[] | undefined;
    /** This driver's own node ID for NodeGetInfo (default "node-1"). */
    nodeId?: string;
    /** When set, the driver reports VOLUME_ACCESSIBILITY_CONSTRAINTS with this topology key. */
    topologyKey?: string;
}

interface VolumeRecord {
    id: string;
    name: string;
    capacityBytes: string;
    parameters: StringMap;
    accessModes: AccessModeName[];
    block: boolean;
    topology?: Topology[];
    published: { node: string; readonly: boolean }[];
    createdAt: string;
}

const SINGLE_NODE = new Set<AccessModeName>(['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER']);
const KNOWN_MODES = new Set<AccessModeName>([...SINGLE_NODE, 'MULTI_NODE_READER_ONLY', 'MULTI_NODE_SINGLE_WRITER', 'MULTI_NODE_MULTI_WRITER']);

const fail = (code: Code, msg: string): never => {
    throw new CsiError(code, msg);
};

/**
 * A directory-backed CSI controller: CreateVolume with capacity accounting and idempotency by
 * name (same name + compatible request → same volume; incompatible → ALREADY_EXISTS),
 * idempotent DeleteVolume, ControllerPublish/Unpublish recording which node has the volume
 * (a single-node volume published to a second node → FAILED_PRECONDITION), GetCapacity,
 * paged ListVolumes, ControllerExpandVolume. Operations on one volume are serialized; state is
 * persisted so a restart keeps every volume. Usable in-process (as a CsiClient) or served on a
 * socket with serveDriver().
 */
export class BuiltinDriver implements ServedDriver {
    private readonly dir: string;
    private readonly capacity: bigint;
    private readonly opts: BuiltinDriverOptions;
    private readonly byId = new Map<string, VolumeRecord>();
    private readonly byName = new Map<string, string>();
    private readonly locks = new Map<string, Promise<unknown>>();

    constructor(opts: BuiltinDriverOptions) {
        this.opts = opts;
        this.dir = path.resolve(opts.dataDir);
        this.capacity = opts.capacityBytes ?? 100n * GiB;
        fs.mkdirSync(path.join(this.dir, 'volumes'), { recursive: true });
        for (const f of fs.readdirSync(path.join(this.dir, 'volumes'))) {
            if (!f.endsWith('.json')) continue;
            try {
                const rec = JSON.parse(fs.readFileSync(path.join(this.dir, 'volumes', f), 'utf8')) as VolumeRecord;
                this.byId.set(rec.id, rec);
                this.byName.set(rec.name, rec.id);
            } catch {
                /* a torn metadata write: the volume was never acknowledged */
            }
        }
    }

    /** Runs fn with the lock for key (one operation per volume name / id at a time). */
    private async locked<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
        const prev = this.locks.get(key) ?? Promise.resolve();
        const run = prev.then(fn, fn);
        const tail = run.catch(() => undefined);
        this.locks.set(key, tail);
        void tail.then(() => {
            if (this.locks.get(key) === tail) this.locks.delete(key);
        });
        return run;
    }

    private save(rec: VolumeRecord): void {
        const file = path.join(this.dir, 'volumes', `${rec.id}.json`);
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(rec, null, 2));
        fs.renameSync(`${file}.tmp`, file);
        this.byId.set(rec.id, rec);
        this.byName.set(rec.name, rec.id);
    }

    private used(): bigint {
        let n = 0n;
        for (const r of this.byId.values()) n += BigInt(r.capacityBytes);
        return n;
    }

    private toVolume(rec: VolumeRecord): Volume {
        return {
            capacity_bytes: BigInt(rec.capacityBytes),
            volume_id: rec.id,
            volume_context: { path: path.join(this.dir, 'volumes', rec.id) },
            ...(rec.topology ? { accessible_topology: rec.topology } : {}),
        };
    }

    /** Number of volumes the driver holds (for tests: "zero volumes left"). */
    volumeCount(): number {
        return this.byId.size;
    }

    async getPluginInfo() {
        return { name: BUILTIN_DRIVER_NAME, vendor_version: BUILTIN_DRIVER_VERSION };
    }

    async getPluginCapabilities(): Promise<PluginCapabilityName[]> {
        return this.opts.topologyKey ? ['CONTROLLER_SERVICE', 'VOLUME_ACCESSIBILITY_CONSTRAINTS'] : ['CONTROLLER_SERVICE'];
    }

    async probe() {
        return fs.existsSync(path.join(this.dir, 'volumes'));
    }

    async controllerGetCapabilities(): Promise<ControllerCapabilityName[]> {
        return ['CREATE_DELETE_VOLUME', 'PUBLISH_UNPUBLISH_VOLUME', 'LIST_VOLUMES', 'LIST_VOLUMES_PUBLISHED_NODES', 'GET_CAPACITY', 'EXPAND_VOLUME'];
    }

    async nodeGetInfo() {
        const node = this.opts.nodeId ?? 'node-1';
        return { node_id: node, ...(this.opts.topologyKey ? { accessible_topology: { segments: { [this.opts.topologyKey]: node } } } : {}) };
    }

    private checkCapabilities(caps: VolumeCapability[] | undefined, what: string): { modes: AccessModeName[]; block: boolean } {
        if (!caps || caps.length === 0) fail(Code.INVALID_ARGUMENT, `${what}: volume capabilities missing in request`);
        const modes: AccessModeName[] = [];
        let block = false;
        for (const c of caps as VolumeCapability[]) {
            if (!c.block && !c.mount) fail(Code.INVALID_ARGUMENT, `${what}: volume capability access type not set`);
            const m = c.access_mode?.mode;
            if (!m || !KNOWN_MODES.has(m)) fail(Code.INVALID_ARGUMENT, `${what}: volume capability access mode not set or unknown`);
            if (c.block) block = true;
            modes.push(m as AccessModeName);
        }
        if (block && (caps as VolumeCapability[]).some((c) => c.mount)) fail(Code.INVALID_ARGUMENT, `${what}: cannot have both block and mount access types`);
        return { modes, block };
    }

    private checkParameters(params: StringMap | undefined): StringMap {
        const r = ParametersSchema.safeParse(params ?? {});
        if (!r.success) {
            const issue = r.error.issues[0];
            const name = issue?.code === 'unrecognized_keys' ? (issue.keys as string[]).join(', ') : String(issue?.path[0] ?? '');
            fail(Code.INVALID_ARGUMENT, `invalid parameter "${name}": ${issue?.message ?? 'invalid'}`);
        }
        return params ?? {};
    }

    private pickTopology(req: CreateVolumeRequest): Topology[] | undefined {
        const key = this.opts.topologyKey;
        if (!key) return undefined;
        const terms = [...(req.accessibility_requirements?.preferred ?? []), ...(req.accessibility_requirements?.requisite ?? [])];
        const seg = terms.find((t) => t.segments[key]);
        if (seg) return [{ segments: { [key]: seg.segments[key] as string } }];
        if (terms.length > 0) fail(Code.INVALID_ARGUMENT, `accessibility requirements name no "${key}" segment`);
        return [{ segments: { [key]: this.opts.nodeId ?? 'node-1' } }];
    }

    async createVolume(req: CreateVolumeRequest): Promise<Volume> {
        if (!req.name) fail(Code.INVALID_ARGUMENT, 'CreateVolume: name missing in request');
        const { modes, block } = this.checkCapabilities(req.volume_capabilities, 'CreateVolume');
        const params = this.checkParameters(req.parameters);
        if (req.volume_content_source && (req.volume_content_source.snapshot || req.volume_content_source.volume))
            fail(Code.INVALID_ARGUMENT, 'CreateVolume: volume content sources are not supported');
        const required = req.capacity_range?.required_bytes ?? 0n;
        const limit = req.capacity_range?.limit_bytes ?? 0n;
        if (required < 0n || limit < 0n) fail(Code.OUT_OF_RANGE, 'CreateVolume: capacity range must not be negative');
        if (limit > 0n && required > limit) fail(Code.OUT_OF_RANGE, `CreateVolume: required_bytes ${required} exceeds limit_bytes ${limit}`);
        const size = required > 0n ? required : limit > 0n && limit < DEFAULT_VOLUME_BYTES ? limit : DEFAULT_VOLUME_BYTES;
        return this.locked(`name:${req.name}`, () => {
            const existingId = this.byName.get(req.name);
            if (existingId) {
                const rec = this.byId.get(existingId) as VolumeRecord;
                const cap = BigInt(rec.capacityBytes);
                if (cap < required || (limit > 0n && cap > limit))
                    fail(Code.ALREADY_EXISTS, `volume "${req.name}" already exists with capacity ${cap} bytes, incompatible with the requested range`);
                if (rec.block !== block) fail(Code.ALREADY_EXISTS, `volume "${req.name}" already exists with a different access type`);
                if (JSON.stringify(rec.parameters) !== JSON.stringify(params)) fail(Code.ALREADY_EXISTS, `volume "${req.name}" already exists with different parameters`);
                return this.toVolume(rec);
            }
            if (this.used() + size > this.capacity)
                fail(Code.RESOURCE_EXHAUSTED, `insufficient capacity: ${size} bytes requested, ${this.capacity - this.used()} of ${this.capacity} available`);
            const id = crypto.randomUUID();
            const volDir = path.join(this.dir, 'volumes', id);
            fs.mkdirSync(volDir, { recursive: true, mode: params.directoryMode ? parseInt(params.directoryMode, 8) : 0o750 });
            const rec: VolumeRecord = {
                id,
                name: req.name,
                capacityBytes: size.toString(),
                parameters: params,
                accessModes: modes,
                block,
                topology: this.pickTopology(req),
                published: [],
                createdAt: new Date().toISOString(),
            };
            this.save(rec);
            return this.toVolume(rec);
        });
    }

    async deleteVolume(req: { volume_id: string }): Promise<void> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'DeleteVolume: volume ID missing in request');
        await this.locked(`id:${req.volume_id}`, () => {
            const rec = this.byId.get(req.volume_id);
            if (!rec) return;
            if (rec.published.length > 0) fail(Code.FAILED_PRECONDITION, `volume ${rec.id} is still published to node(s) ${rec.published.map((p) => p.node).join(', ')}`);
            fs.rmSync(path.join(this.dir, 'volumes', rec.id), { recursive: true, force: true });
            fs.rmSync(path.join(this.dir, 'volumes', `${rec.id}.json`), { force: true });
            this.byId.delete(rec.id);
            this.byName.delete(rec.name);
        });
    }

    async controllerPublishVolume(req: { volume_id: string; node_id: string; volume_capability?: VolumeCapability; readonly?: boolean }): Promise<StringMap> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ControllerPublishVolume: volume ID missing in request');
        if (!req.node_id) fail(Code.INVALID_ARGUMENT, 'ControllerPublishVolume: node ID missing in request');
        this.checkCapabilities(req.volume_capability ? [req.volume_capability] : undefined, 'ControllerPublishVolume');
        return this.locked(`id:${req.volume_id}`, () => {
            const rec = this.byId.get(req.volume_id);
            if (!rec) return fail(Code.NOT_FOUND, `volume ${req.volume_id} not found`);
            const known = this.opts.nodeIds?.();
            if (known && !known.includes(req.node_id)) fail(Code.NOT_FOUND, `node ${req.node_id} not found`);
            const readonly = !!req.readonly;
            const ctx = { path: path.join(this.dir, 'volumes', rec.id) };
            const here = rec.published.find((p) => p.node === req.node_id);
            if (here) {
                if (here.readonly !== readonly) fail(Code.ALREADY_EXISTS, `volume ${rec.id} is already published to node ${req.node_id} with readonly=${here.readonly}`);
                return ctx;
            }
            const mode = req.volume_capability?.access_mode?.mode as AccessModeName;
            if (SINGLE_NODE.has(mode) && rec.published.length > 0)
                fail(Code.FAILED_PRECONDITION, `volume ${rec.id} is published to node ${rec.published[0]?.node} and its access mode ${mode} allows a single node`);
            rec.published.push({ node: req.node_id, readonly });
            this.save(rec);
            return ctx;
        });
    }

    async controllerUnpublishVolume(req: { volume_id: string; node_id?: string }): Promise<void> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ControllerUnpublishVolume: volume ID missing in request');
        await this.locked(`id:${req.volume_id}`, () => {
            const rec = this.byId.get(req.volume_id);
            if (!rec) return;
            const before = rec.published.length;
            rec.published = req.node_id ? rec.published.filter((p) => p.node !== req.node_id) : [];
            if (rec.published.length !== before) this.save(rec);
        });
    }

    async validateVolumeCapabilities(req: { volume_id: string; volume_capabilities: VolumeCapability[] }) {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ValidateVolumeCapabilities: volume ID missing in request');
        const { block } = this.checkCapabilities(req.volume_capabilities, 'ValidateVolumeCapabilities');
        const rec = this.byId.get(req.volume_id);
        if (!rec) return fail(Code.NOT_FOUND, `volume ${req.volume_id} not found`);
        if (block !== rec.block) return { confirmed: false, message: 'access type does not match the volume' };
        return { confirmed: true, message: '' };
    }

    async listVolumes(req: { max_entries?: number; starting_token?: string }) {
        const max = req.max_entries ?? 0;
        if (max < 0) fail(Code.INVALID_ARGUMENT, 'ListVolumes: max_entries must not be negative');
        const ids = [...this.byId.keys()].sort();
        let start = 0;
        if (req.starting_token) {
            start = Number(req.starting_token);
            if (!Number.isInteger(start) || start < 0 || start > ids.length) fail(Code.ABORTED, `ListVolumes: invalid starting_token "${req.starting_token}"`);
        }
        const end = max > 0 ? Math.min(ids.length, start + max) : ids.length;
        const entries: ListVolumesEntry[] = ids.slice(start, end).map((id) => {
            const rec = this.byId.get(id) as VolumeRecord;
            return { volume: this.toVolume(rec), published_node_ids: rec.published.map((p) => p.node) };
        });
        return { entries, next_token: end < ids.length ? String(end) : '' };
    }

    async getCapacity(_req: { accessible_topology?: Topology }) {
        const free = this.capacity - this.used();
        return { available_capacity: free > 0n ? free : 0n, maximum_volume_size: free > 0n ? free : 0n };
    }

    async controllerExpandVolume(req: { volume_id: string; capacity_range?: { required_bytes?: bigint; limit_bytes?: bigint } }) {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ControllerExpandVolume: volume ID missing in request');
        if (!req.capacity_range) fail(Code.INVALID_ARGUMENT, 'ControllerExpandVolume: capacity range missing in request');
        return this.locked(`id:${req.volume_id}`, () => {
            const rec = this.byId.get(req.volume_id);
            if (!rec) return fail(Code.NOT_FOUND, `volume ${req.volume_id} not found`);
            const cur = BigInt(rec.capacityBytes);
            const want = req.capacity_range?.required_bytes ?? 0n;
            const limit = req.capacity_range?.limit_bytes ?? 0n;
            if (limit > 0n && want > limit) fail(Code.OUT_OF_RANGE, 'ControllerExpandVolume: required_bytes exceeds limit_bytes');
            if (want > cur) {
                if (this.used() - cur + want > this.capacity) fail(Code.RESOURCE_EXHAUSTED, `insufficient capacity to expand volume ${rec.id} to ${want} bytes`);
                rec.capacityBytes = want.toString();
                this.save(rec);
            }
            return { capacity_bytes: BigInt(rec.capacityBytes), node_expansion_required: false };
        });
    }

    close(): void {}
}
