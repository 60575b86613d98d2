// The driver registry's connection to a driver: what it says when a driver fails a start-up call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status as Code } from '@grpc/grpc-js';
import { CsiError } from '../../../src/csi/errors.ts';
import { DriverRegistry } from '../../../src/csi/registry.ts';
import type { CsiClient } from '../../../src/csi/types.ts';
import { createLogger } from '../../../src/log.ts';

/** A driver whose identity calls answer as scripted (the controller calls are never reached). */
function driver(o: { probe?: () => Promise<boolean>; info?: () => Promise<{ name: string; vendor_version: string }>; pluginCaps?: () => Promise<never> }): CsiClient {
    const unused = async (): Promise<never> => {
        throw new Error('not used');
    };
    return {
        probe: o.probe ?? (async () => true),
        getPluginInfo: o.info ?? (async () => ({ name: 'd.example.com', vendor_version: '1' })),
        getPluginCapabilities: o.pluginCaps ?? (async () => ['CONTROLLER_SERVICE']),
        controllerGetCapabilities: async () => ['CREATE_DELETE_VOLUME'],
        createVolume: unused,
        deleteVolume: unused,
        controllerPublishVolume: unused,
        controllerUnpublishVolume: unused,
        validateVolumeCapabilities: unused,
        listVolumes: unused,
        getCapacity: unused,
        controllerExpandVolume: unused,
        close() {},
    } as CsiClient;
}

/** Lets the registry make its first attempt, then stops it; returns the entry. */
async function firstAttempt(client: CsiClient) {
    const r = new DriverRegistry(createLogger('silent'));
    r.add('d.example.com', 'unix:///d.sock', client);
    const stop = new AbortController();
    const started = r.start(stop.signal);
    const e = r.get('d.example.com');
    const initial = e?.lastError;
    for (let i = 0; i < 100 && e?.lastError === initial && !e?.ready; i++) await new Promise((res) => setTimeout(res, 5));
    stop.abort();
    void started;
    return e;
}

describe('DriverRegistry: which start-up call failed', () => {
    const table: [string, CsiClient, string][] = [
        ['Probe fails', driver({ probe: async () => Promise.reject(new CsiError(Code.UNAVAILABLE, 'connection refused')) }), 'CSI driver d.example.com at unix:///d.sock is not answering Probe: rpc error: code = Unavailable desc = connection refused'],
        ['Probe answers not ready', driver({ probe: async () => false }), 'CSI driver d.example.com at unix:///d.sock is not answering Probe: the driver answered ready=false'],
        ['GetPluginInfo fails', driver({ info: async () => Promise.reject(new CsiError(Code.UNIMPLEMENTED, 'unknown method')) }), 'CSI driver d.example.com at unix:///d.sock answered Probe, but GetPluginInfo failed: rpc error: code = Unimplemented desc = unknown method'],
        ['GetPluginCapabilities fails', driver({ pluginCaps: async () => Promise.reject(new CsiError(Code.INTERNAL, 'boom')) }), 'CSI driver d.example.com at unix:///d.sock answered Probe, but GetPluginCapabilities failed: rpc error: code = Internal desc = boom'],
    ];
    for (const [what, client, want] of table) {
        it(what, async () => {
            const e = await firstAttempt(client);
            assert.equal(e?.ready, false);
            assert.equal(e?.lastError, want);
        });
    }

    it('a driver that answers every call is ready', async () => {
        const e = await firstAttempt(driver({}));
        assert.equal(e?.ready, true);
        assert.equal(e?.starting, false);
        assert.deepEqual(e?.controllerCapabilities, ['CREATE_DELETE_VOLUME']);
    });

    it('a driver that fails is starting during the grace period, then down', async () => {
        const failing = driver({ probe: async () => Promise.reject(new CsiError(Code.UNAVAILABLE, 'connection refused')) });
        const r = new DriverRegistry(createLogger('silent'), { startupGraceMs: 1500 });
        r.add('d.example.com', 'unix:///d.sock', failing);
        const stop = new AbortController();
        void r.start(stop.signal);
        const e = r.get('d.example.com');
        await new Promise((res) => setTimeout(res, 100));
        assert.equal(e?.starting, true, 'failed once, still within the grace');
        for (let i = 0; i < 60 && e?.starting; i++) await new Promise((res) => setTimeout(res, 100));
        stop.abort();
        assert.equal(e?.starting, false, 'down after failing for the grace period');
        assert.match(e?.lastError ?? '', /is not answering Probe: rpc error: code = Unavailable desc = connection refused$/);
    });
});
