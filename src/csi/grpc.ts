import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { CsiClient, ControllerCapabilityName, PluginCapabilityName } from './types.ts';
import { CsiError } from './errors.ts';

/** Where csi.proto lives: next to this module (copied beside the compiled JS by `npm run build`). */
const PROTO = path.join(import.meta.dirname, 'csi.proto');

type Ctor = grpc.ServiceClientConstructor;
let loaded: { Identity: Ctor; Controller: Ctor; Node: Ctor } | undefined;

/** Loads our csi.v1 proto once (proto-loader: keepCase, int64 as strings, enums as names, oneof discriminators). */
export function csiServices(): { Identity: Ctor; Controller: Ctor; Node: Ctor } {
    if (!loaded) {
        if (!fs.existsSync(PROTO)) throw new Error(`csi.proto not found at ${PROTO}`);
        const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
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

const INT64 = new Set(['capacity_bytes', 'required_bytes', 'limit_bytes', 'available_capacity', 'max_volumes_per_node']);

/** Wire → TS: drops nulls, turns int64 strings into bigint (and Int64Value wrappers into bigint). */
export function fromWire<T>(v: unknown, key = ''): T {
    if (v === null || v === undefined) return undefined as T;
    if (Array.isArray(v)) return v.map((x) => fromWire(x)) as T;
    if (typeof v === 'object') {
        if (key === 'maximum_volume_size') return BigInt((v as { value: string }).value) as T;
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) {
            const c = fromWire(x, k);
            if (c !== undefined) out[k] = c;
        }
        return out as T;
    }
    if (INT64.has(key) && (typeof v === 'string' || typeof v === 'number')) return BigInt(v) as T;
    return v as T;
}

/** TS → wire: bigint → decimal string (int64), Int64Value wrappers for maximum_volume_size. */
export function toWire(v: unknown, key = ''): unknown {
    if (typeof v === 'bigint') return key === 'maximum_volume_size' ? { value: v.toString() } : v.toString();
    if (Array.isArray(v)) return v.map((x) => toWire(x));
    if (v && typeof v === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toWire(x, k);
        return out;
    }
    return v;
}

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/**
 * A CSI client over gRPC (any driver: unix socket or TCP), with a per-call deadline
 * (`--timeout`, default 10 s). grpc-js reconnects by itself after the driver restarts; calls
 * wait for the connection within their deadline. Errors become CsiError with the gRPC code.
 */
export class GrpcCsiClient implements CsiClient {
    readonly endpoint: string;
    private readonly timeoutMs: number;
    private readonly identity: grpc.Client;
    private readonly controller: grpc.Client;

    constructor(endpoint: string, timeoutMs = 10_000) {
        this.endpoint = normalizeEndpoint(endpoint);
        this.timeoutMs = timeoutMs;
        const s = csiServices();
        const creds = grpc.credentials.createInsecure();
        const opts = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 };
        this.identity = new s.Identity(this.endpoint, creds, opts);
        // One channel for both services.
        this.controller = new s.Controller(this.endpoint, creds, { ...opts, channelOverride: this.identity.getChannel() });
    }

    private call<T>(client: grpc.Client, method: string, req: unknown, timeoutMs = this.timeoutMs): Promise<T> {
        const fn = (client as unknown as Record<string, Unary>)[method];
        if (!fn) throw new Error(`unknown CSI method ${method}`);
        return new Promise((resolve, reject) => {
            fn.call(client, toWire(req), new grpc.Metadata(), { deadline: Date.now() + timeoutMs, waitForReady: true }, (err, res) => {
                if (err) reject(new CsiError(err.code, err.details || err.message));
                else resolve(fromWire<T>(res));
            });
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

    async probe(): Promise<boolean> {
        const r = await this.call<{ ready?: { value?: boolean } }>(this.identity, 'Probe', {});
        return r.ready === undefined ? true : !!r.ready.value;
    }

    async controllerGetCapabilities(): Promise<ControllerCapabilityName[]> {
        const r = await this.call<{ capabilities?: { rpc?: { type: ControllerCapabilityName } }[] }>(this.controller, 'ControllerGetCapabilities', {});
        return (r.capabilities ?? []).map((c) => c.rpc?.type).filter((t): t is ControllerCapabilityName => !!t);
    }

    async createVolume(req: Parameters<CsiClient['createVolume']>[0]) {
        const r = await this.call<{ volume?: Awaited<ReturnType<CsiClient['createVolume']>> }>(this.controller, 'CreateVolume', req);
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
        const r = await this.call<{ entries?: { volume?: Awaited<ReturnType<CsiClient['createVolume']>>; status?: { published_node_ids?: string[] } }[]; next_token?: string }>(
            this.controller,
            'ListVolumes',
            req,
        );
        return {
            entries: (r.entries ?? []).map((e) => ({
                volume: { capacity_bytes: 0n, volume_id: '', ...e.volume },
                published_node_ids: e.status?.published_node_ids ?? [],
            })),
            next_token: r.next_token ?? '',
        };
    }

    async getCapacity(req: Parameters<CsiClient['getCapacity']>[0]) {
        const r = await this.call<{ available_capacity?: bigint; maximum_volume_size?: bigint }>(this.controller, 'GetCapacity', req);
        return { available_capacity: r.available_capacity ?? 0n, maximum_volume_size: r.maximum_volume_size };
    }

    async controllerExpandVolume(req: Parameters<CsiClient['controllerExpandVolume']>[0]) {
        const r = await this.call<{ capacity_bytes?: bigint; node_expansion_required?: boolean }>(this.controller, 'ControllerExpandVolume', req);
        return { capacity_bytes: r.capacity_bytes ?? 0n, node_expansion_required: !!r.node_expansion_required };
    }

    close(): void {
        this.controller.close();
        this.identity.close();
    }
}

/** What a driver serves besides the controller side: the node identity (NodeGetInfo). */
export interface ServedDriver extends CsiClient {
    nodeGetInfo(): Promise<{ node_id: string; max_volumes_per_node?: bigint; accessible_topology?: { segments: Record<string, string> } }>;
}

/**
 * Serves a driver implementation over gRPC on `endpoint` (unix socket path or unix:// URL),
 * speaking the CSI wire protocol (Identity, Controller, and NodeGetInfo/NodeGetCapabilities).
 * Resolves to the running server; `server.forceShutdown()` stops it.
 */
export async function serveDriver(driver: ServedDriver, endpoint: string): Promise<grpc.Server> {
    const ep = normalizeEndpoint(endpoint);
    if (ep.startsWith('unix://')) fs.rmSync(ep.slice('unix://'.length), { force: true });
    const s = csiServices();
    const server = new grpc.Server();
    const wrap =
        (fn: (req: never) => Promise<unknown>) =>
        (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
            fn(fromWire<never>(call.request)).then(
                (res) => cb(null, toWire(res ?? {}) as never),
                (err: unknown) =>
                    cb({ code: err instanceof CsiError ? err.code : grpc.status.INTERNAL, details: (err as Error)?.message ?? String(err) } as grpc.ServiceError),
            );
        };
    const d = driver;
    server.addService(s.Identity.service, {
        GetPluginInfo: wrap(() => d.getPluginInfo()),
        GetPluginCapabilities: wrap(async () => ({ capabilities: (await d.getPluginCapabilities()).map((type) => ({ service: { type } })) })),
        Probe: wrap(async () => ({ ready: { value: await d.probe() } })),
    });
    server.addService(s.Controller.service, {
        CreateVolume: wrap(async (r: never) => ({ volume: await d.createVolume(r) })),
        DeleteVolume: wrap(async (r: never) => d.deleteVolume(r).then(() => ({}))),
        ControllerPublishVolume: wrap(async (r: never) => ({ publish_context: await d.controllerPublishVolume(r) })),
        ControllerUnpublishVolume: wrap(async (r: never) => d.controllerUnpublishVolume(r).then(() => ({}))),
        ValidateVolumeCapabilities: wrap(async (r: { volume_capabilities?: unknown[] }) => {
            const v = await d.validateVolumeCapabilities(r as never);
            return v.confirmed ? { confirmed: { volume_capabilities: r.volume_capabilities ?? [] }, message: v.message } : { message: v.message };
        }),
        ListVolumes: wrap(async (r: never) => {
            const l = await d.listVolumes(r);
            return { entries: l.entries.map((e) => ({ volume: e.volume, status: { published_node_ids: e.published_node_ids } })), next_token: l.next_token };
        }),
        GetCapacity: wrap((r: never) => d.getCapacity(r)),
        ControllerGetCapabilities: wrap(async () => ({ capabilities: (await d.controllerGetCapabilities()).map((type) => ({ rpc: { type } })) })),
        ControllerExpandVolume: wrap((r: never) => d.controllerExpandVolume(r)),
    });
    server.addService(s.Node.service, {
        // The built-in driver never mounts on nodes: node unstage/unpublish are no-ops.
        NodeUnstageVolume: wrap(async () => ({})),
        NodeUnpublishVolume: wrap(async () => ({})),
        NodeGetCapabilities: wrap(async () => ({ capabilities: [] })),
        NodeGetInfo: wrap(() => d.nodeGetInfo()),
    });
    await new Promise<void>((resolve, reject) =>
        server.bindAsync(ep, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    return server;
}
