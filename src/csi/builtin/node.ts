// The built-in driver's node plugin (Identity + Node services): stages a volume by bind-mounting
// its directory from the shared data directory at the staging path, publishes it by bind-mounting
// the staging path at each pod's target path, and reports usage. Runs on every node as
// `volume-controller-manager node-plugin` (cmd/node-plugin.ts), registered with the kubelet
// through node-driver-registrar.
import fs from 'node:fs';
import path from 'node:path';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CsiError } from '../errors.ts';
import type { ServedDriver } from '../grpc.ts';
import type {
    NodeCapabilityName,
    NodeExpandVolumeRequest,
    NodeGetVolumeStatsRequest,
    NodeInfo,
    NodePublishVolumeRequest,
    NodeStageVolumeRequest,
    NodeUnpublishVolumeRequest,
    NodeUnstageVolumeRequest,
    NodeVolumeStats,
    PluginCapabilityName,
    VolumeCapability,
    VolumeExpansionType,
} from '../types.ts';
import { BUILTIN_DRIVER_NAME, BUILTIN_DRIVER_VERSION, READ_ONLY_MODES, checkCapabilities, fail, isDirectory, pluginCapabilities } from './common.ts';
import { bindMount, canonical, mountAt, sameDirectory, unmountAll } from './mounts.ts';
import { DirectoryStore } from './store.ts';
import type { VolumeRecord } from './store.ts';

export interface BuiltinNodeOptions {
    /** The shared data directory, as mounted on this node (the same one the controller writes). */
    dataDir: string;
    /** This node's ID: NodeGetInfo's node_id, the node ControllerPublish names. */
    nodeId: string;
    /** Topology key reported by NodeGetInfo (and VOLUME_ACCESSIBILITY_CONSTRAINTS); none when unset. */
    topologyKey?: string;
    /** This node's value of the topology key (default: the node ID). */
    topologyValue?: string;
    /** One line per mount change and per failure (no secrets: requests are never logged whole). */
    log?: Logger;
}

/** Usage of a directory tree: bytes allocated (512-byte blocks; hard links once) and inodes. */
export async function directoryUsage(dir: string): Promise<{ bytes: bigint; inodes: bigint }> {
    let bytes = 0n;
    let inodes = 0n;
    const seen = new Set<bigint>();
    const stack = [dir];
    while (stack.length) {
        const d = stack.pop() as string;
        const st = await fs.promises.lstat(d, { bigint: true });
        bytes += st.blocks * 512n;
        inodes++;
        let names: fs.Dirent[];
        try {
            names = await fs.promises.readdir(d, { withFileTypes: true });
        } catch {
            continue;
        }
        for (const e of names) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) {
                stack.push(p);
                continue;
            }
            try {
                const f = await fs.promises.lstat(p, { bigint: true });
                if (f.nlink > 1n) {
                    if (seen.has(f.ino)) continue;
                    seen.add(f.ino);
                }
                bytes += f.blocks * 512n;
                inodes++;
            } catch {
                /* removed meanwhile */
            }
        }
    }
    return { bytes, inodes };
}

/**
 * The Node service of the built-in driver, with STAGE_UNSTAGE_VOLUME, GET_VOLUME_STATS,
 * EXPAND_VOLUME and VOLUME_CONDITION.
 *
 * - NodeStageVolume bind-mounts the volume's directory (`<data dir>/volumes/<id>`) at the
 *   staging path, read-only when the controller published it read-only to this node or the
 *   access mode is a reader-only one. It refuses a volume the controller has not published to
 *   this node (FAILED_PRECONDITION): the publication records on the shared directory are the
 *   attach hand-off.
 * - NodePublishVolume bind-mounts the staging path at the pod's target path (created here),
 *   read-only when asked (remount ro) and with the capability's bind-mount flags.
 * - NodeUnpublish / NodeUnstage unmount; Unpublish removes the target directory it created.
 *
 * Every operation is idempotent; whether a volume is staged or published is read from the mount
 * table (/proc/self/mountinfo), so the plugin keeps no state and survives restarts. Operations on
 * one volume run one at a time.
 */
export class BuiltinNode implements ServedDriver {
    private readonly store: DirectoryStore;
    private readonly opts: BuiltinNodeOptions;
    private readonly locks = new Map<string, Promise<unknown>>();

    /** @throws Error (one line) when the data directory cannot be used */
    constructor(opts: BuiltinNodeOptions) {
        this.opts = opts;
        this.store = new DirectoryStore(opts.dataDir);
    }

    async getPluginInfo() {
        return { name: BUILTIN_DRIVER_NAME, vendor_version: BUILTIN_DRIVER_VERSION };
    }

    /** The driver's capabilities (the same as its controller's: one plugin). */
    async getPluginCapabilities(): Promise<PluginCapabilityName[]> {
        return pluginCapabilities(this.opts.topologyKey);
    }

    async getPluginVolumeExpansion(): Promise<VolumeExpansionType> {
        return 'ONLINE';
    }

    /** Ready while the shared data directory's layout is visible. */
    async probe() {
        return isDirectory(path.join(this.store.dir, 'volumes'));
    }

    async nodeGetCapabilities(): Promise<NodeCapabilityName[]> {
        return ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION'];
    }

    /** Node ID, no volume limit, and the topology segment when a key is configured. */
    async nodeGetInfo(): Promise<NodeInfo> {
        const { nodeId, topologyKey, topologyValue } = this.opts;
        return { node_id: nodeId, max_volumes_per_node: 0n, ...(topologyKey ? { accessible_topology: { segments: { [topologyKey]: topologyValue ?? nodeId } } } : {}) };
    }

    /** Runs fn after every earlier operation on volume id in this process. */
    private async serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
        const prev = this.locks.get(id) ?? Promise.resolve();
        const p = prev.catch(() => undefined).then(fn);
        this.locks.set(id, p);
        try {
            return await p;
        } finally {
            if (this.locks.get(id) === p) this.locks.delete(id);
        }
    }

    /** Logs the outcome of a node operation (fields name the volume and path; never the request). */
    private async op<T>(what: string, fields: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
        try {
            const r = await fn();
            this.opts.log?.debug({ ...fields, rpc: what }, `${what} done`);
            return r;
        } catch (e) {
            const code = e instanceof CsiError ? Code[e.code] : 'INTERNAL';
            this.opts.log?.warn({ ...fields, rpc: what, code, err: (e as Error).message }, `${what} failed`);
            if (e instanceof CsiError) throw e;
            throw new CsiError(Code.INTERNAL, `${what}: ${(e as Error).message}`);
        }
    }

    private record(id: string): VolumeRecord {
        const rec = this.store.readVolume(id);
        if (!rec) return fail(Code.NOT_FOUND, `volume ${id} not found in ${this.store.dir}`);
        return rec;
    }

    private absolute(p: string, field: string): void {
        if (!path.isAbsolute(p)) fail(Code.INVALID_ARGUMENT, `${field} "${p}" is not an absolute path`);
    }

    private readOnlyMode(cap: VolumeCapability): boolean {
        return READ_ONLY_MODES.has(cap.access_mode?.mode ?? 'UNKNOWN');
    }

    async nodeStageVolume(req: NodeStageVolumeRequest): Promise<void> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'NodeStageVolume: volume ID missing in request');
        if (!req.staging_target_path) fail(Code.INVALID_ARGUMENT, 'NodeStageVolume: staging target path missing in request');
        if (!req.volume_capability) fail(Code.INVALID_ARGUMENT, 'NodeStageVolume: volume capability missing in request');
        checkCapabilities([req.volume_capability], 'NodeStageVolume');
        this.absolute(req.staging_target_path, 'staging_target_path');
        const staging = req.staging_target_path;
        await this.serial(req.volume_id, () =>
            this.op('NodeStageVolume', { volume: req.volume_id, path: staging }, async () => {
                const rec = this.record(req.volume_id);
                const dir = this.store.volumePath(rec.id);
                if (!isDirectory(dir)) fail(Code.FAILED_PRECONDITION, `volume ${rec.id} has no directory in ${this.store.dir} yet`);
                const pub = this.store.publication(rec.id, this.opts.nodeId);
                if (!pub) fail(Code.FAILED_PRECONDITION, `volume ${rec.id} is not published to node ${this.opts.nodeId}: ControllerPublishVolume must succeed first`);
                const readonly = !!pub?.readonly || this.readOnlyMode(req.volume_capability);
                const m = mountAt(staging);
                if (m) {
                    if (!sameDirectory(staging, dir)) fail(Code.ALREADY_EXISTS, `staging path ${staging} has another volume mounted`);
                    if (m.options.includes('ro') !== readonly) fail(Code.ALREADY_EXISTS, `volume ${rec.id} is staged at ${staging} ${readonly ? 'read-write' : 'read-only'}`);
                    return;
                }
                fs.mkdirSync(staging, { recursive: true, mode: 0o750 });
                await bindMount(dir, staging, { readonly });
                this.opts.log?.info({ volume: rec.id, path: staging, readonly }, 'Volume staged');
            }),
        );
    }

    async nodeUnstageVolume(req: NodeUnstageVolumeRequest): Promise<void> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'NodeUnstageVolume: volume ID missing in request');
        if (!req.staging_target_path) fail(Code.INVALID_ARGUMENT, 'NodeUnstageVolume: staging target path missing in request');
        this.absolute(req.staging_target_path, 'staging_target_path');
        await this.serial(req.volume_id, () =>
            this.op('NodeUnstageVolume', { volume: req.volume_id, path: req.staging_target_path }, async () => {
                if (!mountAt(req.staging_target_path)) return;
                await unmountAll(req.staging_target_path);
                this.opts.log?.info({ volume: req.volume_id, path: req.staging_target_path }, 'Volume unstaged');
            }),
        );
    }

    async nodePublishVolume(req: NodePublishVolumeRequest): Promise<void> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'NodePublishVolume: volume ID missing in request');
        if (!req.target_path) fail(Code.INVALID_ARGUMENT, 'NodePublishVolume: target path missing in request');
        if (!req.volume_capability) fail(Code.INVALID_ARGUMENT, 'NodePublishVolume: volume capability missing in request');
        checkCapabilities([req.volume_capability], 'NodePublishVolume');
        this.absolute(req.target_path, 'target_path');
        if (!req.staging_target_path) fail(Code.FAILED_PRECONDITION, 'NodePublishVolume: staging target path not set (the driver has STAGE_UNSTAGE_VOLUME)');
        this.absolute(req.staging_target_path as string, 'staging_target_path');
        const { target_path: target, staging_target_path: staging } = req as Required<NodePublishVolumeRequest>;
        await this.serial(req.volume_id, () =>
            this.op('NodePublishVolume', { volume: req.volume_id, path: target }, async () => {
                const rec = this.record(req.volume_id);
                const dir = this.store.volumePath(rec.id);
                const staged = mountAt(staging);
                if (!staged || !sameDirectory(staging, dir)) fail(Code.FAILED_PRECONDITION, `volume ${rec.id} is not staged at ${staging}: NodeStageVolume must succeed first`);
                const stagedReadOnly = !!staged?.options.includes('ro');
                const readonly = !!req.readonly || this.readOnlyMode(req.volume_capability);
                if (stagedReadOnly && !readonly) fail(Code.FAILED_PRECONDITION, `volume ${rec.id} is staged read-only on node ${this.opts.nodeId}; it cannot be published read-write`);
                const m = mountAt(target);
                if (m) {
                    if (!sameDirectory(target, dir)) fail(Code.ALREADY_EXISTS, `target path ${target} has another volume mounted`);
                    if (m.options.includes('ro') !== readonly) fail(Code.ALREADY_EXISTS, `volume ${rec.id} is published at ${target} ${readonly ? 'read-write' : 'read-only'}`);
                    return;
                }
                const parent = path.dirname(canonical(target));
                if (!isDirectory(parent)) fail(Code.FAILED_PRECONDITION, `the parent directory of target path ${target} does not exist`);
                let created = false;
                try {
                    const st = fs.statSync(target);
                    if (!st.isDirectory()) fail(Code.FAILED_PRECONDITION, `target path ${target} exists and is not a directory`);
                } catch (e) {
                    if (e instanceof CsiError) throw e;
                    fs.mkdirSync(target, { mode: 0o750 });
                    created = true;
                }
                try {
                    await bindMount(staging, target, { readonly, flags: req.volume_capability.mount?.mount_flags });
                } catch (e) {
                    if (created) fs.rmSync(target, { recursive: false, force: true });
                    throw e;
                }
                this.opts.log?.info({ volume: rec.id, path: target, readonly }, 'Volume published');
            }),
        );
    }

    /**
     * Unmounts the target path and removes the directory there. Nothing mounted: OK (also for a
     * volume whose record is gone: answering NOT_FOUND would leave the kubelet retrying the
     * clean-up of a volume deleted under it forever).
     */
    async nodeUnpublishVolume(req: NodeUnpublishVolumeRequest): Promise<void> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'NodeUnpublishVolume: volume ID missing in request');
        if (!req.target_path) fail(Code.INVALID_ARGUMENT, 'NodeUnpublishVolume: target path missing in request');
        this.absolute(req.target_path, 'target_path');
        const target = req.target_path;
        await this.serial(req.volume_id, () =>
            this.op('NodeUnpublishVolume', { volume: req.volume_id, path: target }, async () => {
                const was = !!mountAt(target);
                await unmountAll(target);
                try {
                    // Never recursive: after the unmount only our empty mount point may be here.
                    fs.rmdirSync(target);
                } catch (e) {
                    const code = (e as NodeJS.ErrnoException).code;
                    if (code === 'ENOTEMPTY' || code === 'EEXIST') fail(Code.INTERNAL, `target path ${target} is not empty after unmounting; left in place`);
                    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
                }
                if (was) this.opts.log?.info({ volume: req.volume_id, path: target }, 'Volume unpublished');
            }),
        );
    }

    /** The volume's directory, after checking volume_path is where it is staged or published (NOT_FOUND otherwise). */
    private atPath(rec: VolumeRecord, volumePath: string): string {
        const dir = this.store.volumePath(rec.id);
        if (!path.isAbsolute(volumePath) || !sameDirectory(volumePath, dir)) fail(Code.NOT_FOUND, `volume ${rec.id} is not staged or published at ${volumePath}`);
        return dir;
    }

    /**
     * Bytes and inodes the volume's directory uses. Bytes: total is the volume's capacity,
     * available what is left of it (at most what the filesystem has free). Inodes: the
     * filesystem's free inodes are available (a directory has no inode quota). The condition is
     * abnormal when the directory uses more than its capacity (nothing enforces the size).
     * @throws CsiError INVALID_ARGUMENT (ID or path missing), NOT_FOUND (no such volume, or not at volume_path)
     */
    async nodeGetVolumeStats(req: NodeGetVolumeStatsRequest): Promise<NodeVolumeStats> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'NodeGetVolumeStats: volume ID missing in request');
        if (!req.volume_path) fail(Code.INVALID_ARGUMENT, 'NodeGetVolumeStats: volume path missing in request');
        const rec = this.record(req.volume_id);
        const dir = this.atPath(rec, req.volume_path);
        const used = await directoryUsage(dir);
        const fsStat = await fs.promises.statfs(dir, { bigint: true });
        const capacity = BigInt(rec.capacityBytes);
        const fsFree = fsStat.bavail * fsStat.bsize;
        const left = capacity > used.bytes ? capacity - used.bytes : 0n;
        const over = used.bytes > capacity;
        return {
            usage: [
                { unit: 'BYTES', total: capacity, used: used.bytes, available: left < fsFree ? left : fsFree },
                { unit: 'INODES', total: used.inodes + fsStat.ffree, used: used.inodes, available: fsStat.ffree },
            ],
            volume_condition: over
                ? { abnormal: true, message: `the volume uses ${used.bytes} bytes, more than its capacity of ${capacity} bytes` }
                : { abnormal: false, message: 'volume directory present and within its capacity' },
        };
    }

    /**
     * A directory has no filesystem to grow: ControllerExpandVolume records the new size (with the
     * pool's accounting) and answers node_expansion_required=false, so Kubernetes never calls this
     * for the driver's volumes. A CO that calls it anyway (after the controller step, as csi-sanity
     * does) gets the recorded size, once the volume is checked to be at volume_path; asking for more
     * than the controller recorded is OUT_OF_RANGE (a node plugin cannot take capacity from the pool).
     * @throws CsiError INVALID_ARGUMENT (ID or path missing, block), NOT_FOUND, OUT_OF_RANGE
     */
    async nodeExpandVolume(req: NodeExpandVolumeRequest): Promise<{ capacity_bytes: bigint }> {
        if (!req.volume_id) fail(Code.INVALID_ARGUMENT, 'NodeExpandVolume: volume ID missing in request');
        if (!req.volume_path) fail(Code.INVALID_ARGUMENT, 'NodeExpandVolume: volume path missing in request');
        if (req.volume_capability) checkCapabilities([req.volume_capability], 'NodeExpandVolume');
        const rec = this.record(req.volume_id);
        this.atPath(rec, req.volume_path);
        const cap = BigInt(rec.capacityBytes);
        const want = req.capacity_range?.required_bytes ?? 0n;
        const limit = req.capacity_range?.limit_bytes ?? 0n;
        if (limit > 0n && want > limit) fail(Code.OUT_OF_RANGE, 'NodeExpandVolume: required_bytes exceeds limit_bytes');
        if (want > cap) fail(Code.OUT_OF_RANGE, `NodeExpandVolume: volume ${rec.id} has ${cap} bytes; ControllerExpandVolume must record ${want} bytes first (a directory volume grows in its record, not on the node)`);
        return { capacity_bytes: cap };
    }
}
