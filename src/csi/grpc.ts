import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type {
    ControllerCapabilityName,
    CsiClient,
    CsiNodeClient,
    ListVolumesEntry,
    NodeCapabilityName,
    NodeInfo,
    NodeVolumeStats,
    PluginCapabilityName,
    Snapshot,
    Volume,
    VolumeCondition,
    VolumeExpansionType,
    VolumeUsage,
} from './types.ts';
import { abortError, currentSignal, withSignal } from '../runtime/scope.ts';
import { CsiError, orUnimplemented } from './errors.ts';

/** Where csi.proto lives: next to this module (copied beside the compiled JS by `npm run build`). */
const PROTO = path.join(import.meta.dirname, 'csi.proto');

type Ctor = grpc.ServiceClientConstructor;
let loaded: { Identity: Ctor; Controller: Ctor; Node: Ctor } | undefined;

/**
 * Loads our csi.v1 proto once. proto-loader options: keepCase (the proto's snake_case names),
 * longs: BigInt (every int64 decodes as a bigint, by schema, so a map value is never mistaken
 * for a number), enums as names, defaults filled in (absent scalars arrive as 0n / '' / false,
 * absent messages as null), and no virtual oneof discriminators (a set oneof member is simply
 * the present field).
 */
export function csiServices(): { Identity: Ctor; Controller: Ctor; Node: Ctor } {
    if (!loaded) {
        if (!fs.existsSync(PROTO)) throw new Error(`csi.proto not found at ${PROTO}`);
        const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: BigInt, enums: String, defaults: true, oneofs: false });
        const pkg = grpc.loadPackageDefinition(def) as unknown as { csi: { v1: { Identity: Ctor; Controller: Ctor; Node: Ctor } } };
        loaded = pkg.csi.v1;
    }
    return loaded;
}

/** Normalizes an endpoint: `/path` or `unix:///path` → `unix:///path`; `unix:path`, `dns:…`, `host:port` unchanged. */
export function normalizeEndpoint(endpoint: string): string {
    if (endpoint.startsWith('/')) return `unix://${endpoint}`;
    return endpoint;
}

/** The int64 fields of our proto, by name (all of them; for loaders that give strings). */
export const INT64 = new Set(['capacity_bytes', 'required_bytes', 'limit_bytes', 'available_capacity', 'max_volumes_per_node', 'size_bytes', 'available', 'total', 'used', 'seconds']);

/** The map<string,string> fields of our proto: copied as they are, never converted. */
const MAP_FIELDS = new Set(['manifest', 'parameters', 'secrets', 'mutable_parameters', 'volume_context', 'publish_context', 'segments']);

/** google.protobuf.Int64Value fields of our proto (GetCapacityResponse); bigint | undefined in TS. */
const INT64_WRAPPERS = new Set(['maximum_volume_size', 'minimum_volume_size']);

/**
 * Wire → TS: drops nulls (absent messages) and unwraps the Int64Value fields (maximum_volume_size,
 * minimum_volume_size) into bigint. Every int64 field (capacity_bytes, required_bytes,
 * limit_bytes, available_capacity, max_volumes_per_node, size_bytes, available, total, used,
 * Timestamp seconds) already arrives as bigint from the loader (csiServices); a string or number
 * there (another loader) is converted too. Map values stay strings whatever their key.
 */
export function fromWire<T>(v: unknown, key = ''): T {
    if (v === null || v === undefined) return undefined as T;
    if (Array.isArray(v)) return v.map((x) => fromWire(x, key)) as T;
    if (typeof v === 'object') {
        if (INT64_WRAPPERS.has(key)) {
            const inner = (v as { value?: unknown }).value;
            return (inner === undefined || inner === null ? 0n : BigInt(inner as string)) as T;
        }
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) {
            const c = MAP_FIELDS.has(k) ? x : fromWire(x, k);
            if (c !== undefined && c !== null) out[k] = c;
        }
        return out as T;
    }
    if (INT64.has(key) && (typeof v === 'string' || typeof v === 'number')) return BigInt(v) as T;
    return v as T;
}

/** TS → wire: bigint → decimal string (int64), wrapped as Int64Value for maximum_volume_size / minimum_volume_size; undefined dropped. */
export function toWire(v: unknown, key = ''): unknown {
    if (typeof v === 'bigint') return INT64_WRAPPERS.has(key) ? { value: v.toString() } : v.toString();
    if (Array.isArray(v)) return v.map((x) => toWire(x, key));
    if (v && typeof v === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = MAP_FIELDS.has(k) ? x : toWire(x, k);
        return out;
    }
    return v;
}

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall;

/** Wire shape of ListVolumesResponse.Entry / ControllerGetVolumeResponse after fromWire. */
interface WireVolumeEntry {
    volume?: Partial<Volume>;
    status?: { published_node_ids?: string[]; volume_condition?: VolumeCondition };
}

/** A wire Snapshot with the spec's defaults filled in (0n size, '' ids, not ready). */
function snapshotOf(s: Partial<Snapshot> | undefined, rpc: string): Snapshot {
    if (!s) throw new CsiError(grpc.status.INTERNAL, `${rpc} returned no snapshot`);
    return { size_bytes: 0n, snapshot_id: '', source_volume_id: '', ready_to_use: false, ...s };
}

/** ListVolumesResponse.Entry / ControllerGetVolumeResponse → ListVolumesEntry (status flattened). */
function entryOf(e: WireVolumeEntry): ListVolumesEntry {
    return {
        volume: { capacity_bytes: 0n, volume_id: '', ...e.volume },
        published_node_ids: e.status?.published_node_ids ?? [],
        ...(e.status?.volume_condition ? { volume_condition: e.status.volume_condition } : {}),
    };
}

/**
 * A CSI client over gRPC (any driver: unix socket or TCP) for all three services (Identity,
 * Controller, Node) on one channel, with a per-call deadline (`--timeout`, default 10 s).
 * grpc-js reconnects by itself after the driver restarts; calls wait for the connection within
 * their deadline. Errors become CsiError with the gRPC code (an RPC the driver does not serve is
 * UNIMPLEMENTED). Mirrors the sidecars' `connection.Connect` + generated csi clients.
 */
export class GrpcCsiClient implements Required<CsiClient>, CsiNodeClient {
    readonly endpoint: string;
    private readonly timeoutMs: number;
    private readonly identity: grpc.Client;
    private readonly controller: grpc.Client;
    private readonly node: grpc.Client;

    constructor(endpoint: string, timeoutMs = 10_000) {
        this.endpoint = normalizeEndpoint(endpoint);
        this.timeoutMs = timeoutMs;
        const s = csiServices();
        const creds = grpc.credentials.createInsecure();
        const opts = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 };
        this.identity = new s.Identity(this.endpoint, creds, opts);
        // One channel for all services.
        const channelOverride = this.identity.getChannel();
        this.controller = new s.Controller(this.endpoint, creds, { ...opts, channelOverride });
        this.node = new s.Node(this.endpoint, creds, { ...opts, channelOverride });
    }

    private call<T>(client: grpc.Client, method: string, req: unknown, timeoutMs = this.timeoutMs): Promise<T> {
        const fn = (client as unknown as Record<string, Unary>)[method];
        if (!fn) throw new Error(`unknown CSI method ${method}`);
        // The reconcile's signal (leadership lost, shutdown) cancels the call, as Go's ctx does.
        const signal = currentSignal();
        if (signal?.aborted) return Promise.reject(new CsiError(grpc.status.CANCELLED, `${method} not started: ${abortError(signal).message}`));
        return new Promise((resolve, reject) => {
            const onAbort = () => call.cancel();
            const call = fn.call(client, toWire(req), new grpc.Metadata(), { deadline: Date.now() + timeoutMs, waitForReady: true }, (err, res) => {
                signal?.removeEventListener('abort', onAbort);
                if (err) reject(new CsiError(err.code, err.details || err.message));
                else resolve(fromWire<T>(res));
            });
            signal?.addEventListener('abort', onAbort, { once: true });
        });
    }

    async getPluginInfo() {
        const r = await this.call<{ name?: string; vendor_version?: string; manifest?: Record<string, string> }>(this.identity, 'GetPluginInfo', {});
        return { name: r.name ?? '', vendor_version: r.vendor_version ?? '', manifest: r.manifest };
    }

    async getPluginCapabilities(): Promise<PluginCapabilityName[]> {
        const r = await this.call<{ capabilities?: { service?: { type: PluginCapabilityName } }[] }>(this.identity, 'GetPluginCapabilities', {});
        return (r.capabilities ?? []).map((c) => c.service?.type).filter((t): t is PluginCapabilityName => !!t);
    }

    async getPluginVolumeExpansion(): Promise<VolumeExpansionType | undefined> {
        const r = await this.call<{ capabilities?: { volume_expansion?: { type: VolumeExpansionType | 'UNKNOWN' } }[] }>(this.identity, 'GetPluginCapabilities', {});
        const t = r.capabilities?.find((c) => c.volume_expansion)?.volume_expansion?.type;
        return t && t !== 'UNKNOWN' ? t : undefined;
    }

    async probe(): Promise<boolean> {
        const r = await this.call<{ ready?: { value?: boolean } }>(this.identity, 'Probe', {});
        return r.ready === undefined ? true : !!r.ready.value;
    }

    async controllerGetCapabilities(): Promise<ControllerCapabilityName[]> {
        const r = await this.call<{ capabilities?: { rpc?: { type: ControllerCapabilityName } }[] }>(this.controller, 'ControllerGetCapabilities', {});
        return (r.capabilities ?? []).map((c) => c.rpc?.type).filter((t): t is ControllerCapabilityName => !!t);
    }

    async createVolume(req: Parameters<CsiClient['createVolume']>[0]) {
        const r = await this.call<{ volume?: Volume }>(this.controller, 'CreateVolume', req);
        if (!r.volume) throw new CsiError(grpc.status.INTERNAL, 'CreateVolume returned no volume');
        return { ...r.volume, capacity_bytes: r.volume.capacity_bytes ?? 0n };
    }

    async deleteVolume(req: Parameters<CsiClient['deleteVolume']>[0]) {
        await this.call(this.controller, 'DeleteVolume', req);
    }

    async controllerPublishVolume(req: Parameters<CsiClient['controllerPublishVolume']>[0]) {
        const r = await this.call<{ publish_context?: Record<string, string> }>(this.controller, 'ControllerPublishVolume', req);
        return r.publish_context ?? {};
    }

    async controllerUnpublishVolume(req: Parameters<CsiClient['controllerUnpublishVolume']>[0]) {
        await this.call(this.controller, 'ControllerUnpublishVolume', req);
    }

    async validateVolumeCapabilities(req: Parameters<CsiClient['validateVolumeCapabilities']>[0]) {
        const r = await this.call<{ confirmed?: object; message?: string }>(this.controller, 'ValidateVolumeCapabilities', req);
        return { confirmed: !!r.confirmed, message: r.message ?? '' };
    }

    async listVolumes(req: Parameters<CsiClient['listVolumes']>[0]) {
        const r = await this.call<{ entries?: WireVolumeEntry[]; next_token?: string }>(this.controller, 'ListVolumes', req);
        return { entries: (r.entries ?? []).map(entryOf), next_token: r.next_token ?? '' };
    }

    async getCapacity(req: Parameters<CsiClient['getCapacity']>[0]) {
        const r = await this.call<{ available_capacity?: bigint; maximum_volume_size?: bigint; minimum_volume_size?: bigint }>(this.controller, 'GetCapacity', req);
        return { available_capacity: r.available_capacity ?? 0n, maximum_volume_size: r.maximum_volume_size, minimum_volume_size: r.minimum_volume_size };
    }

    async controllerExpandVolume(req: Parameters<CsiClient['controllerExpandVolume']>[0]) {
        const r = await this.call<{ capacity_bytes?: bigint; node_expansion_required?: boolean }>(this.controller, 'ControllerExpandVolume', req);
        return { capacity_bytes: r.capacity_bytes ?? 0n, node_expansion_required: !!r.node_expansion_required };
    }

    async createSnapshot(req: Parameters<Required<CsiClient>['createSnapshot']>[0]): Promise<Snapshot> {
        const r = await this.call<{ snapshot?: Partial<Snapshot> }>(this.controller, 'CreateSnapshot', req);
        return snapshotOf(r.snapshot, 'CreateSnapshot');
    }

    async deleteSnapshot(req: Parameters<Required<CsiClient>['deleteSnapshot']>[0]): Promise<void> {
        await this.call(this.controller, 'DeleteSnapshot', req);
    }

    async listSnapshots(req: Parameters<Required<CsiClient>['listSnapshots']>[0]) {
        const r = await this.call<{ entries?: { snapshot?: Partial<Snapshot> }[]; next_token?: string }>(this.controller, 'ListSnapshots', req);
        return { entries: (r.entries ?? []).map((e) => snapshotOf(e.snapshot, 'ListSnapshots')), next_token: r.next_token ?? '' };
    }

    async getSnapshot(req: Parameters<Required<CsiClient>['getSnapshot']>[0]): Promise<Snapshot> {
        const r = await this.call<{ snapshot?: Partial<Snapshot> }>(this.controller, 'GetSnapshot', req);
        return snapshotOf(r.snapshot, 'GetSnapshot');
    }

    async controllerGetVolume(req: Parameters<Required<CsiClient>['controllerGetVolume']>[0]): Promise<ListVolumesEntry> {
        const r = await this.call<WireVolumeEntry>(this.controller, 'ControllerGetVolume', req);
        if (!r.volume) throw new CsiError(grpc.status.INTERNAL, 'ControllerGetVolume returned no volume');
        return entryOf(r);
    }

    async controllerModifyVolume(req: Parameters<Required<CsiClient>['controllerModifyVolume']>[0]): Promise<void> {
        await this.call(this.controller, 'ControllerModifyVolume', req);
    }

    async nodeStageVolume(req: Parameters<CsiNodeClient['nodeStageVolume']>[0]): Promise<void> {
        await this.call(this.node, 'NodeStageVolume', req);
    }

    async nodeUnstageVolume(req: Parameters<CsiNodeClient['nodeUnstageVolume']>[0]): Promise<void> {
        await this.call(this.node, 'NodeUnstageVolume', req);
    }

    async nodePublishVolume(req: Parameters<CsiNodeClient['nodePublishVolume']>[0]): Promise<void> {
        await this.call(this.node, 'NodePublishVolume', req);
    }

    async nodeUnpublishVolume(req: Parameters<CsiNodeClient['nodeUnpublishVolume']>[0]): Promise<void> {
        await this.call(this.node, 'NodeUnpublishVolume', req);
    }

    async nodeGetVolumeStats(req: Parameters<CsiNodeClient['nodeGetVolumeStats']>[0]): Promise<NodeVolumeStats> {
        const r = await this.call<{ usage?: Partial<VolumeUsage>[]; volume_condition?: VolumeCondition }>(this.node, 'NodeGetVolumeStats', req);
        return {
            usage: (r.usage ?? []).map((u) => ({ available: 0n, total: 0n, used: 0n, unit: 'UNKNOWN' as const, ...u })),
            ...(r.volume_condition ? { volume_condition: r.volume_condition } : {}),
        };
    }

    async nodeExpandVolume(req: Parameters<CsiNodeClient['nodeExpandVolume']>[0]): Promise<{ capacity_bytes: bigint }> {
        const r = await this.call<{ capacity_bytes?: bigint }>(this.node, 'NodeExpandVolume', req);
        return { capacity_bytes: r.capacity_bytes ?? 0n };
    }

    async nodeGetCapabilities(): Promise<NodeCapabilityName[]> {
        const r = await this.call<{ capabilities?: { rpc?: { type: NodeCapabilityName | 'UNKNOWN' } }[] }>(this.node, 'NodeGetCapabilities', {});
        return (r.capabilities ?? []).map((c) => c.rpc?.type).filter((t): t is NodeCapabilityName => !!t && t !== 'UNKNOWN');
    }

    /** NodeGetInfo; max_volumes_per_node is always set (0n = no limit). */
    async nodeGetInfo(): Promise<NodeInfo & { max_volumes_per_node: bigint }> {
        const r = await this.call<Partial<NodeInfo>>(this.node, 'NodeGetInfo', {});
        return { node_id: '', ...r, max_volumes_per_node: r.max_volumes_per_node ?? 0n };
    }

    close(): void {
        this.node.close();
        this.controller.close();
        this.identity.close();
    }
}

/**
 * What serveDriver can serve: any part of the Identity, Controller and Node services. A method
 * the object lacks answers UNIMPLEMENTED, as a real driver does, with one exception for
 * controller-only drivers (see serveDriver).
 */
export interface ServedDriver extends Partial<CsiClient>, Partial<CsiNodeClient> {}

/** The node-side operations; a served object with none of them is a controller-only driver. */
const NODE_OPERATIONS = ['nodeStageVolume', 'nodeUnstageVolume', 'nodePublishVolume', 'nodeUnpublishVolume', 'nodeGetVolumeStats', 'nodeExpandVolume', 'nodeGetCapabilities'] as const;

/**
 * Serves a driver implementation over gRPC on `endpoint` (unix socket path or unix:// URL),
 * speaking the CSI wire protocol: every RPC of Identity, Controller and Node maps onto the
 * object's method of the same name (camelCase), with the TS shapes of types.ts; a thrown
 * CsiError keeps its code, anything else is INTERNAL; a missing method is UNIMPLEMENTED.
 *
 * Controller-only drivers (none of NODE_OPERATIONS, at most nodeGetInfo for their node ID) keep
 * the answers tools such as csi-sanity need for their cleanup: NodeGetCapabilities is the empty
 * list and NodeUnstageVolume / NodeUnpublishVolume succeed (such a driver never stages or
 * publishes anything on a node, so the volume is already unstaged / unpublished, which the spec
 * answers with OK). Resolves to the running server; `server.forceShutdown()` stops it.
 */
export async function serveDriver(driver: ServedDriver, endpoint: string): Promise<grpc.Server> {
    const ep = normalizeEndpoint(endpoint);
    if (ep.startsWith('unix://')) fs.rmSync(ep.slice('unix://'.length), { force: true });
    const s = csiServices();
    const server = new grpc.Server();
    const wrap =
        <R>(fn: (req: R) => Promise<unknown>) =>
        (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
            // The caller cancelling (or its deadline passing) aborts the handler's scope signal, so
            // a served driver can stop long work (currentSignal()).
            const ac = new AbortController();
            call.once('cancelled', () => ac.abort());
            // A synchronous throw becomes a rejection: the caller always gets a status, never a crash.
            Promise.resolve()
                .then(() => withSignal(ac.signal, () => fn(fromWire<R>(call.request))))
                .then(
                    (res) => cb(null, toWire(res ?? {}) as never),
                    (err: unknown) =>
                        cb({ code: err instanceof CsiError ? err.code : grpc.status.INTERNAL, details: (err as Error)?.message ?? String(err) } as grpc.ServiceError),
                );
        };
    const d = driver;
    const m = <K extends keyof ServedDriver>(method: K) => orUnimplemented(d, method) as Exclude<ServedDriver[K], undefined>;
    const volumeStatus = (e: ListVolumesEntry) => ({
        volume: e.volume,
        status: { published_node_ids: e.published_node_ids, ...(e.volume_condition ? { volume_condition: e.volume_condition } : {}) },
    });
    server.addService(s.Identity.service, {
        GetPluginInfo: wrap(() => m('getPluginInfo')()),
        GetPluginCapabilities: wrap(async () => {
            const services = (await m('getPluginCapabilities')()).map((type) => ({ service: { type } }));
            const expansion = d.getPluginVolumeExpansion ? await d.getPluginVolumeExpansion() : undefined;
            return { capabilities: expansion ? [...services, { volume_expansion: { type: expansion } }] : services };
        }),
        Probe: wrap(async () => ({ ready: { value: await m('probe')() } })),
    });
    server.addService(s.Controller.service, {
        CreateVolume: wrap(async (r: Parameters<CsiClient['createVolume']>[0]) => ({ volume: await m('createVolume')(r) })),
        DeleteVolume: wrap(async (r: Parameters<CsiClient['deleteVolume']>[0]) => m('deleteVolume')(r).then(() => ({}))),
        ControllerPublishVolume: wrap(async (r: Parameters<CsiClient['controllerPublishVolume']>[0]) => ({ publish_context: await m('controllerPublishVolume')(r) })),
        ControllerUnpublishVolume: wrap(async (r: Parameters<CsiClient['controllerUnpublishVolume']>[0]) => m('controllerUnpublishVolume')(r).then(() => ({}))),
        ValidateVolumeCapabilities: wrap(async (r: Parameters<CsiClient['validateVolumeCapabilities']>[0]) => {
            const v = await m('validateVolumeCapabilities')(r);
            return v.confirmed ? { confirmed: { volume_capabilities: r.volume_capabilities ?? [] }, message: v.message } : { message: v.message };
        }),
        ListVolumes: wrap(async (r: Parameters<CsiClient['listVolumes']>[0]) => {
            const l = await m('listVolumes')(r);
            return { entries: l.entries.map(volumeStatus), next_token: l.next_token };
        }),
        GetCapacity: wrap((r: Parameters<CsiClient['getCapacity']>[0]) => m('getCapacity')(r)),
        ControllerGetCapabilities: wrap(async () => ({ capabilities: (await m('controllerGetCapabilities')()).map((type) => ({ rpc: { type } })) })),
        ControllerExpandVolume: wrap((r: Parameters<CsiClient['controllerExpandVolume']>[0]) => m('controllerExpandVolume')(r)),
        CreateSnapshot: wrap(async (r: Parameters<Required<CsiClient>['createSnapshot']>[0]) => ({ snapshot: await m('createSnapshot')(r) })),
        DeleteSnapshot: wrap(async (r: Parameters<Required<CsiClient>['deleteSnapshot']>[0]) => m('deleteSnapshot')(r).then(() => ({}))),
        ListSnapshots: wrap(async (r: Parameters<Required<CsiClient>['listSnapshots']>[0]) => {
            const l = await m('listSnapshots')(r);
            return { entries: l.entries.map((snapshot) => ({ snapshot })), next_token: l.next_token };
        }),
        GetSnapshot: wrap(async (r: Parameters<Required<CsiClient>['getSnapshot']>[0]) => ({ snapshot: await m('getSnapshot')(r) })),
        ControllerGetVolume: wrap(async (r: Parameters<Required<CsiClient>['controllerGetVolume']>[0]) => volumeStatus(await m('controllerGetVolume')(r))),
        ControllerModifyVolume: wrap(async (r: Parameters<Required<CsiClient>['controllerModifyVolume']>[0]) => m('controllerModifyVolume')(r).then(() => ({}))),
    });
    const controllerOnly = NODE_OPERATIONS.every((op) => typeof d[op] !== 'function');
    const ok = async () => ({});
    server.addService(s.Node.service, {
        NodeStageVolume: wrap(async (r: Parameters<CsiNodeClient['nodeStageVolume']>[0]) => m('nodeStageVolume')(r).then(() => ({}))),
        NodeUnstageVolume: controllerOnly ? wrap(ok) : wrap(async (r: Parameters<CsiNodeClient['nodeUnstageVolume']>[0]) => m('nodeUnstageVolume')(r).then(() => ({}))),
        NodePublishVolume: wrap(async (r: Parameters<CsiNodeClient['nodePublishVolume']>[0]) => m('nodePublishVolume')(r).then(() => ({}))),
        NodeUnpublishVolume: controllerOnly ? wrap(ok) : wrap(async (r: Parameters<CsiNodeClient['nodeUnpublishVolume']>[0]) => m('nodeUnpublishVolume')(r).then(() => ({}))),
        NodeGetVolumeStats: wrap((r: Parameters<CsiNodeClient['nodeGetVolumeStats']>[0]) => m('nodeGetVolumeStats')(r)),
        NodeExpandVolume: wrap((r: Parameters<CsiNodeClient['nodeExpandVolume']>[0]) => m('nodeExpandVolume')(r)),
        NodeGetCapabilities: wrap(async () => ({ capabilities: (controllerOnly ? [] : await m('nodeGetCapabilities')()).map((type) => ({ rpc: { type } })) })),
        NodeGetInfo: wrap(() => m('nodeGetInfo')()),
    });
    await new Promise<void>((resolve, reject) =>
        server.bindAsync(ep, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    return server;
}
