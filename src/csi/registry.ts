import type { Logger } from 'pino';
import { describeCsiError } from './errors.ts';
import { GrpcCsiClient } from './grpc.ts';
import type { ControllerCapabilityName, CsiClient, PluginCapabilityName } from './types.ts';

/** How often work for a driver that is still starting looks again, ms. */
export const DRIVER_STARTING_RETRY_MS = 1000;

/** One CSI driver this process serves, as the provisioner and attacher see it. */
export interface DriverEntry {
    name: string;
    /** `builtin` for the in-process driver, else the gRPC endpoint. */
    endpoint: string;
    client: CsiClient;
    /** Filled once the driver answered Probe (ready) and its capabilities. */
    ready: boolean;
    /**
     * True while the driver is starting: from start() until it is ready, or until it has failed
     * to become ready for the registry's start-up grace (--timeout). Meanwhile callers wait
     * quietly (no event, no status error) instead of reporting a driver that is only starting
     * (a driver container that comes up beside us) as down.
     */
    starting: boolean;
    pluginCapabilities: PluginCapabilityName[];
    controllerCapabilities: ControllerCapabilityName[];
    /** The last reason it is not ready (for explainable events). */
    lastError: string;
}

/**
 * The CSI drivers of this process (`--csi-drivers name=endpoint,…` and the built-in driver).
 * `start` waits for each driver's socket and Probe (retrying every second, with a log line
 * saying what it waits for), then reads GetPluginInfo and the capabilities; a driver whose
 * reported name differs from its configured name is refused. The provisioner and attacher see
 * only this interface, never the transport.
 */
export class DriverRegistry {
    /** Its name as a Runnable of the manager (a service every replica runs). */
    readonly name = 'csi-drivers';
    private readonly entries = new Map<string, DriverEntry>();
    private readonly log: Logger;
    private readonly startupGraceMs: number;

    /**
     * @param opts.startupGraceMs how long a driver may fail to become ready before it counts as
     *   down rather than starting, in ms (default 10 s; main passes --timeout)
     */
    constructor(log: Logger, opts: { startupGraceMs?: number } = {}) {
        this.log = log;
        this.startupGraceMs = opts.startupGraceMs ?? 10_000;
    }

    /** Registers a driver client under its name. */
    add(name: string, endpoint: string, client: CsiClient): void {
        this.entries.set(name, { name, endpoint, client, ready: false, starting: true, pluginCapabilities: [], controllerCapabilities: [], lastError: `CSI driver ${name} at ${endpoint} has not answered yet` });
    }

    /** Registers drivers from `name → endpoint` (gRPC clients with the given per-call timeout). */
    addEndpoints(drivers: Record<string, string>, timeoutMs: number): void {
        for (const [name, ep] of Object.entries(drivers)) this.add(name, ep, new GrpcCsiClient(ep, timeoutMs));
    }

    /** The driver with that name, if this process serves it (ready or not). */
    get(name: string): DriverEntry | undefined {
        return this.entries.get(name);
    }

    /** Names of every configured driver. */
    names(): string[] {
        return [...this.entries.keys()];
    }

    /** True when this process serves a driver of that name. */
    has(name: string): boolean {
        return this.entries.has(name);
    }

    /** Probes every driver until ready (or the signal aborts); never throws. */
    async start(signal: AbortSignal): Promise<void> {
        await Promise.all([...this.entries.values()].map((e) => this.connect(e, signal)));
    }

    private async connect(e: DriverEntry, signal: AbortSignal): Promise<void> {
        let logged = 0;
        const since = Date.now();
        while (!signal.aborted && !e.ready) {
            // The call in progress, so a failure says which one failed.
            let call: 'Probe' | 'GetPluginInfo' | 'GetPluginCapabilities' | 'ControllerGetCapabilities' = 'Probe';
            try {
                if (!(await e.client.probe())) throw new Error('the driver answered ready=false');
                call = 'GetPluginInfo';
                const info = await e.client.getPluginInfo();
                if (info.name !== e.name) {
                    e.lastError = `driver at ${e.endpoint} reports name "${info.name}", not "${e.name}"`;
                    this.log.error({ driver: e.name, endpoint: e.endpoint, reported: info.name }, 'CSI driver name mismatch; not serving it');
                    e.starting = false;
                    return;
                }
                call = 'GetPluginCapabilities';
                e.pluginCapabilities = await e.client.getPluginCapabilities();
                call = 'ControllerGetCapabilities';
                e.controllerCapabilities = await e.client.controllerGetCapabilities();
                e.ready = true;
                e.starting = false;
                e.lastError = '';
                this.log.info({ driver: e.name, endpoint: e.endpoint, version: info.vendor_version, capabilities: e.controllerCapabilities }, 'CSI driver ready');
            } catch (err) {
                const what = call === 'Probe' ? 'is not answering Probe' : `answered Probe, but ${call} failed`;
                const detail = describeCsiError(err).trim();
                e.lastError = `CSI driver ${e.name} at ${e.endpoint} ${what}${detail ? `: ${detail}` : ''}`;
                if (Date.now() - since >= this.startupGraceMs) e.starting = false;
                if (Date.now() - logged > 10_000) {
                    this.log.warn({ driver: e.name, endpoint: e.endpoint, call, err: detail }, 'Waiting for CSI driver');
                    logged = Date.now();
                }
                await new Promise((r) => setTimeout(r, 1000).unref());
            }
        }
    }

    /** Closes every client. */
    close(): void {
        for (const e of this.entries.values()) e.client.close();
    }
}
