// A small scripted CSI driver served on a unix socket from the test process (serveDriver): it
// advertises the capabilities a test asks for, keeps volumes in memory, records every request,
// and can be told to ignore content sources (a driver bug the provisioner must catch).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { status as Code } from '@grpc/grpc-js';
import type { Server } from '@grpc/grpc-js';
import { CsiError } from '../../src/csi/errors.ts';
import { serveDriver } from '../../src/csi/grpc.ts';
import type { ServedDriver } from '../../src/csi/grpc.ts';
import type { ControllerCapabilityName, CreateVolumeRequest, Volume } from '../../src/csi/types.ts';

export interface ScriptedDriver {
    name: string;
    endpoint: string;
    /** `--csi-drivers` value for the manager. */
    flag: string;
    /** Every CreateVolume request received, in order. */
    creates: CreateVolumeRequest[];
    /** Every DeleteVolume volume_id received, in order. */
    deletes: string[];
    /** Live volumes by id. */
    volumes: Map<string, Volume>;
    /** When true, CreateVolume answers without content_source (as a driver ignoring the source would). */
    dropContentSource: boolean;
    stop(): Promise<void>;
}

const unimplemented = async (): Promise<never> => {
    throw new CsiError(Code.UNIMPLEMENTED, 'not implemented by the scripted driver');
};

/** Serves a scripted driver named `name` with CREATE_DELETE_VOLUME plus `capabilities`. */
export async function startScriptedDriver(name: string, capabilities: ControllerCapabilityName[]): Promise<ScriptedDriver> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-scripted-'));
    const endpoint = `unix://${path.join(dir, 'csi.sock')}`;
    const d: ScriptedDriver = {
        name,
        endpoint,
        flag: `${name}=${endpoint}`,
        creates: [],
        deletes: [],
        volumes: new Map(),
        dropContentSource: false,
        stop: async () => undefined,
    };
    const impl: ServedDriver = {
        getPluginInfo: async () => ({ name, vendor_version: '0.0.1' }),
        getPluginCapabilities: async () => ['CONTROLLER_SERVICE'],
        probe: async () => true,
        controllerGetCapabilities: async () => ['CREATE_DELETE_VOLUME', ...capabilities],
        async createVolume(req) {
            d.creates.push(structuredClone(req));
            const id = `vol-${req.name}`;
            const cs = req.volume_content_source;
            const volume: Volume = {
                volume_id: id,
                capacity_bytes: req.capacity_range?.required_bytes ?? 0n,
                ...(cs && !d.dropContentSource ? { content_source: cs } : {}),
            };
            d.volumes.set(id, volume);
            return volume;
        },
        async deleteVolume(req) {
            d.deletes.push(req.volume_id);
            d.volumes.delete(req.volume_id);
        },
        controllerPublishVolume: unimplemented,
        controllerUnpublishVolume: unimplemented,
        validateVolumeCapabilities: unimplemented,
        listVolumes: unimplemented,
        getCapacity: unimplemented,
        controllerExpandVolume: unimplemented,
        close: () => undefined,
        nodeGetInfo: async () => ({ node_id: 'node-1' }),
    };
    const server: Server = await serveDriver(impl, endpoint);
    d.stop = async () => {
        server.forceShutdown();
        fs.rmSync(dir, { recursive: true, force: true });
    };
    return d;
}
