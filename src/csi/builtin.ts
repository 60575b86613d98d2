// The built-in CSI driver: `dir.csi.volume-controller-manager.io`, a directory-backed driver
// (controller and identity services) that is the embedded default for the demo and tests.
// Its whole state lives in its data directory, which several processes may share (two replicas
// on one shared volume): see BuiltinDriver for the layout and why it is safe.
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

/** What `volumes/<id>.json` holds. Never rewritten in place: replaced by rename. */
interface VolumeRecord {
    id: string;
    name: string;
    capacityBytes: string;
    parameters: StringMap;
    accessModes: AccessModeName[];
    block: boolean;
    topology?: Topology[];
    createdAt: string;
    /** Publications of a record written by 0.1.0, moved to `publish/<id>/` at start-up. */
    published?: { node: string; readonly: boolean }[];
}

/** What `publish/<id>/<node>` holds. */
interface Publication {
    node: string;
    readonly: boolean;
}

/**
 * The volume ID for a CreateVolume name: derived from the name (SHA-256, UUID-shaped), so that
 * every process sharing the directory maps a name to the same record without an index to keep
 * consistent. Names are unique per volume (the provisioner's `pvc-<claim UID>`).
 */
export function volumeIdFor(name: string): string {
    const h = crypto.createHash('sha256').update(name).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const isErrno = (e: unknown, code: string) => (e as NodeJS.ErrnoException | null)?.code === code;

/**
 * Makes sure dataDir can hold the built-in driver's state: creates it and its layout
 * (`volumes/`, `publish/`, `tmp/`) if missing and writes a probe file.
 * @throws Error whose message says in one line what is wrong (not a directory, not writable, …)
 */
export function prepareDataDir(dataDir: string): void {
    const dir = path.resolve(dataDir);
    try {
        for (const d of ['volumes', 'publish', 'tmp']) fs.mkdirSync(path.join(dir, d), { recursive: true });
        const probe = path.join(dir, 'tmp', `.probe-${process.pid}-${crypto.randomUUID()}`);
        fs.writeFileSync(probe, '');
        fs.rmSync(probe);
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const where = err.path ? ` (${err.path})` : '';
        if (err.code === 'ENOTDIR' || err.code === 'EEXIST') throw new Error(`${dir} is not a directory, or a file is in the way${where}`, { cause: e });
        if (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS') throw new Error(`${dir} is not writable${where}: ${err.code}`, { cause: e });
        throw new Error(`${dir} cannot be used: ${err.message}`, { cause: e });
    }
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
 * paged ListVolumes, ControllerExpandVolume. Usable in-process (as a CsiClient) or served on a
 * socket with serveDriver().
 *
 * **State on disk, safe for several processes on one directory.** Nothing is cached: every call
 * reads the directory, so a standby that takes over (or any other process on the same
 * directory) sees exactly what the old leader created. Layout under the data directory:
 *
 * - `volumes/<id>.json`: the volume record, `<id>` = volumeIdFor(name). Created atomically and
 *   exclusively: written complete to `tmp/`, then `link()`ed into place, which fails with EEXIST
 *   if any process created it first; the loser of a CreateVolume race returns the winner's
 *   volume. Expansion replaces it with `rename()`. Lookup by name is a read of this file.
 * - `volumes/<id>/`: the volume's directory, made after its record exists (so it is never
 *   orphaned by a crash) and removed before the record on delete (a crash in between leaves the
 *   record, and the retried delete finishes).
 * - `publish/<id>/<node>`: one file per node the volume is published to (created with `link()`,
 *   removed on unpublish). A single-node publish re-lists after creating its file and backs out
 *   if another node's file appeared meanwhile, so two processes never both publish a
 *   single-node volume.
 * - `tmp/`: files being written (left-overs older than 10 minutes are removed at start-up).
 *
 * Capacity is the sum of the records on disk (parsed records are reused while a file's inode,
 * size and mtime are unchanged). Within one process every call runs without yielding, so it is
 * exact; two processes creating different volumes at the same instant may both pass the check
 * and exceed capacity by those volumes (never a duplicate or a leak).
 */
export class BuiltinDriver implements ServedDriver {
    private readonly dir: string;
    private readonly capacity: bigint;
    private readonly opts: BuiltinDriverOptions;
    private readonly parsed = new Map<string, { ino: number; size: number; mtimeMs: number; rec: VolumeRecord }>();

    /**
     * Creates the data directory's layout (if missing) and moves 0.1.0-style publications
     * (inside the record) to `publish/`.
     * @throws Error (one line, see prepareDataDir) when the directory cannot be created or written
     */
    constructor(opts: BuiltinDriverOptions) {
        this.opts = opts;
        this.dir = path.resolve(opts.dataDir);
        this.capacity = opts.capacityBytes ?? 100n * GiB;
        prepareDataDir(this.dir);
        const stale = Date.now() - 600_000;
        for (const f of fs.readdirSync(path.join(this.dir, 'tmp'))) {
            const p = path.join(this.dir, 'tmp', f);
            try {
                if (fs.statSync(p).mtimeMs < stale) fs.rmSync(p, { force: true });
            } catch {
                /* removed by another process */
            }
        }
        for (const rec of this.records()) {
            if (!rec.published?.length) continue;
            for (const p of rec.published) this.createFile(this.publicationPath(rec.id, p.node), JSON.stringify({ node: p.node, readonly: p.readonly }));
            const { published: _, ...rest } = rec;
            this.replaceFile(this.recordPath(rec.id), JSON.stringify(rest, null, 2));
        }
    }

    private recordPath(id: string): string {
        return path.join(this.dir, 'volumes', `${id}.json`);
    }

    private volumePath(id: string): string {
        return path.join(this.dir, 'volumes', id);
    }

    private publicationPath(id: string, node: string): string {
        return path.join(this.dir, 'publish', id, Buffer.from(node).toString('base64url'));
    }

    private tmpFile(content: string): string {
        const tmp = path.join(this.dir, 'tmp', `${process.pid}-${crypto.randomUUID()}`);
        fs.writeFileSync(tmp, content);
        return tmp;
    }

    /** Creates file with content atomically; false when it already exists (another process won). */
    private createFile(file: string, content: string): boolean {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const tmp = this.tmpFile(content);
        try {
            fs.linkSync(tmp, file);
            return true;
        } catch (e) {
            if (isErrno(e, 'EEXIST')) return false;
            throw e;
        } finally {
            fs.rmSync(tmp, { force: true });
        }
    }

    /** Replaces file with content atomically. */
    private replaceFile(file: string, content: string): void {
        fs.renameSync(this.tmpFile(content), file);
    }

    /** The record of a volume ID, from disk; undefined when there is none. */
    private read(id: string): VolumeRecord | undefined {
        if (!/^[0-9a-zA-Z-]+$/.test(id)) return undefined;
        return this.readRecordFile(`${id}.json`);
    }

    private readRecordFile(file: string): VolumeRecord | undefined {
        const p = path.join(this.dir, 'volumes', file);
        try {
            const st = fs.statSync(p);
            const hit = this.parsed.get(file);
            if (hit && hit.ino === st.ino && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.rec;
            const rec = JSON.parse(fs.readFileSync(p, 'utf8')) as VolumeRecord;
            this.parsed.set(file, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, rec });
            return rec;
        } catch (e) {
            this.parsed.delete(file);
            if (isErrno(e, 'ENOENT') || e instanceof SyntaxError) return undefined;
            throw e;
        }
    }

    /** Every volume record on disk, sorted by ID. */
    private records(): VolumeRecord[] {
        const files = fs.readdirSync(path.join(this.dir, 'volumes')).filter((f) => f.endsWith('.json')).sort();
        const present = new Set(files);
        for (const f of this.parsed.keys()) if (!present.has(f)) this.parsed.delete(f);
        return files.map((f) => this.readRecordFile(f)).filter((r): r is VolumeRecord => !!r);
    }

    /** The nodes a volume is published to, from disk. */
    private publications(id: string): Publication[] {
        const d = path.join(this.dir, 'publish', id);
        let files: string[];
        try {
            files = fs.readdirSync(d);
        } catch (e) {
            if (isErrno(e, 'ENOENT')) return [];
            throw e;
        }
        const out: Publication[] = [];
        for (const f of files) {
            try {
                out.push(JSON.parse(fs.readFileSync(path.join(d, f), 'utf8')) as Publication);
            } catch {
                /* unpublished meanwhile */
            }
        }
        return out;
    }

    /** The volume's directory exists (made after its record; a crash in between is healed here). */
    private ensureDirectory(rec: VolumeRecord): void {
        fs.mkdirSync(this.volumePath(rec.id), { recursive: true, mode: rec.parameters.directoryMode ? parseInt(rec.parameters.directoryMode, 8) : 0o750 });
    }

    private used(): bigint {
        let n = 0n;
        for (const r of this.records()) n += BigInt(r.capacityBytes);
        return n;
    }

    private toVolume(rec: VolumeRecord): Volume {
        return {
            capacity_bytes: BigInt(rec.capacityBytes),
            volume_id: rec.id,
            volume_context: { path: this.volumePath(rec.id) },
            ...(rec.topology ? { accessible_topology: rec.topology } : {}),
        };
    }

    /** Number of volumes in the directory (for tests: "zero volumes left"). */
    volumeCount(): number {
        return this.records().length;
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

    /** The existing volume for a CreateVolume name, if its record is compatible with the request. */
    private existing(rec: VolumeRecord, name: string, required: bigint, limit: bigint, block: boolean, params: StringMap): Volume {
        if (rec.name !== name) fail(Code.INTERNAL, `volume ID ${rec.id} of "${name}" is taken by "${rec.name}"`);
        const cap = BigInt(rec.capacityBytes);
        if (cap < required || (limit > 0n && cap > limit))
            fail(Code.ALREADY_EXISTS, `volume "${name}" already exists with capacity ${cap} bytes, incompatible with the requested range`);
        if (rec.block !== block) fail(Code.ALREADY_EXISTS, `volume "${name}" already exists with a different access type`);
        if (JSON.stringify(rec.parameters) !== JSON.stringify(params)) fail(Code.ALREADY_EXISTS, `volume "${name}" already exists with different parameters`);
        this.ensureDirectory(rec);
        return this.toVolume(rec);
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
        const id = volumeIdFor(req.name);
        const found = this.read(id);
        if (found) return this.existing(found, req.name, required, limit, block, params);
        const used = this.used();
        if (used + size > this.capacity) fail(Code.RESOURCE_EXHAUSTED, `insufficient capacity: ${size} bytes requested, ${this.capacity - used} of ${this.capacity} available`);
        const rec: VolumeRecord = {
            id,
            name: req.name,
            capacityBytes: size.toString(),
            parameters: params,
            accessModes: modes,
            block,
            topology: this.pickTopology(req),
            createdAt: new Date().toISOString(),
        };
        if (!this.createFile(this.recordPath(id), JSON.stringify(rec, null, 2))) {
            // Another process created it first: answer with its volume (or why it is incompatible).
            const winner = this.read(id);
            if (!winner) fail(Code.ABORTED, `volume "${req.name}" is being created and deleted concurrently`);
            return this.existing(winner as VolumeRecord, req.name, required, limit, block, params);
        }
        this.ensureDirectory(rec);
        return this.toVolume(rec);
    }

    async deleteVolume(req: { volume_id: string }): Promise<void> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'DeleteVolume: volume ID missing in request');
        const id = req.volume_id;
        if (!/^[0-9a-zA-Z-]+$/.test(id)) return;
        const published = this.publications(id);
        if (published.length > 0) fail(Code.FAILED_PRECONDITION, `volume ${id} is still published to node(s) ${published.map((p) => p.node).join(', ')}`);
        // Directory first, record last: a crash in between leaves the record, and a retry finishes.
        fs.rmSync(this.volumePath(id), { recursive: true, force: true });
        fs.rmSync(this.recordPath(id), { force: true });
        fs.rmSync(path.join(this.dir, 'publish', id), { recursive: true, force: true });
    }

    async controllerPublishVolume(req: { volume_id: string; node_id: string; volume_capability?: VolumeCapability; readonly?: boolean }): Promise<StringMap> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ControllerPublishVolume: volume ID missing in request');
        if (!req.node_id) fail(Code.INVALID_ARGUMENT, 'ControllerPublishVolume: node ID missing in request');
        this.checkCapabilities(req.volume_capability ? [req.volume_capability] : undefined, 'ControllerPublishVolume');
        const rec = this.read(req.volume_id);
        if (!rec) return fail(Code.NOT_FOUND, `volume ${req.volume_id} not found`);
        const known = this.opts.nodeIds?.();
        if (known && !known.includes(req.node_id)) fail(Code.NOT_FOUND, `node ${req.node_id} not found`);
        const readonly = !!req.readonly;
        const ctx = { path: this.volumePath(rec.id) };
        const mode = req.volume_capability?.access_mode?.mode as AccessModeName;
        const single = SINGLE_NODE.has(mode);
        const elsewhere = () => this.publications(rec.id).find((p) => p.node !== req.node_id);
        for (;;) {
            const here = this.publications(rec.id).find((p) => p.node === req.node_id);
            if (here) {
                if (here.readonly !== readonly) fail(Code.ALREADY_EXISTS, `volume ${rec.id} is already published to node ${req.node_id} with readonly=${here.readonly}`);
                return ctx;
            }
            const other = single ? elsewhere() : undefined;
            if (other) fail(Code.FAILED_PRECONDITION, `volume ${rec.id} is published to node ${other.node} and its access mode ${mode} allows a single node`);
            const file = this.publicationPath(rec.id, req.node_id);
            if (!this.createFile(file, JSON.stringify({ node: req.node_id, readonly } satisfies Publication))) continue; // published meanwhile: compare
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
        if (!/^[0-9a-zA-Z-]+$/.test(req.volume_id)) return;
        if (req.node_id) fs.rmSync(this.publicationPath(req.volume_id, req.node_id), { force: true });
        else fs.rmSync(path.join(this.dir, 'publish', req.volume_id), { recursive: true, force: true });
    }

    async validateVolumeCapabilities(req: { volume_id: string; volume_capabilities: VolumeCapability[] }) {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ValidateVolumeCapabilities: volume ID missing in request');
        const { block } = this.checkCapabilities(req.volume_capabilities, 'ValidateVolumeCapabilities');
        const rec = this.read(req.volume_id);
        if (!rec) return fail(Code.NOT_FOUND, `volume ${req.volume_id} not found`);
        if (block !== rec.block) return { confirmed: false, message: 'access type does not match the volume' };
        return { confirmed: true, message: '' };
    }

    async listVolumes(req: { max_entries?: number; starting_token?: string }) {
        const max = req.max_entries ?? 0;
        if (max < 0) fail(Code.INVALID_ARGUMENT, 'ListVolumes: max_entries must not be negative');
        const recs = this.records();
        let start = 0;
        if (req.starting_token) {
            start = Number(req.starting_token);
            if (!Number.isInteger(start) || start < 0 || start > recs.length) fail(Code.ABORTED, `ListVolumes: invalid starting_token "${req.starting_token}"`);
        }
        const end = max > 0 ? Math.min(recs.length, start + max) : recs.length;
        const entries: ListVolumesEntry[] = recs.slice(start, end).map((rec) => ({ volume: this.toVolume(rec), published_node_ids: this.publications(rec.id).map((p) => p.node) }));
        return { entries, next_token: end < recs.length ? String(end) : '' };
    }

    async getCapacity(_req: { accessible_topology?: Topology }) {
        const free = this.capacity - this.used();
        return { available_capacity: free > 0n ? free : 0n, maximum_volume_size: free > 0n ? free : 0n };
    }

    async controllerExpandVolume(req: { volume_id: string; capacity_range?: { required_bytes?: bigint; limit_bytes?: bigint } }) {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'ControllerExpandVolume: volume ID missing in request');
        if (!req.capacity_range) fail(Code.INVALID_ARGUMENT, 'ControllerExpandVolume: capacity range missing in request');
        const rec = this.read(req.volume_id);
        if (!rec) return fail(Code.NOT_FOUND, `volume ${req.volume_id} not found`);
        const cur = BigInt(rec.capacityBytes);
        const want = req.capacity_range?.required_bytes ?? 0n;
        const limit = req.capacity_range?.limit_bytes ?? 0n;
        if (limit > 0n && want > limit) fail(Code.OUT_OF_RANGE, 'ControllerExpandVolume: required_bytes exceeds limit_bytes');
        if (want <= cur) return { capacity_bytes: cur, node_expansion_required: false };
        if (this.used() - cur + want > this.capacity) fail(Code.RESOURCE_EXHAUSTED, `insufficient capacity to expand volume ${rec.id} to ${want} bytes`);
        this.replaceFile(this.recordPath(rec.id), JSON.stringify({ ...rec, capacityBytes: want.toString() }, null, 2));
        return { capacity_bytes: want, node_expansion_required: false };
    }

    close(): void {}
}
