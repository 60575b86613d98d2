// The built-in CSI driver on a real gRPC socket: csi-sanity (identity and controller suites)
// and our own gRPC client speaking csi.v1 to it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Server } from '@grpc/grpc-js';
import { status as Code } from '@grpc/grpc-js';
import { BUILTIN_DRIVER_NAME, BuiltinDriver } from '../../../src/csi/builtin.ts';
import { CsiError, describeCsiError, mayBeInProgress } from '../../../src/csi/errors.ts';
import { GrpcCsiClient, serveDriver } from '../../../src/csi/grpc.ts';
import { testbinPath } from '../../../scripts/lib/testbin.ts';

const run = promisify(execFile);
const GiB = 1n << 30n;
const mount = (mode: 'SINGLE_NODE_WRITER' | 'MULTI_NODE_MULTI_WRITER' = 'SINGLE_NODE_WRITER') => ({ mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode } });

describe('built-in CSI driver over gRPC', () => {
    let dir: string;
    let server: Server;
    let client: GrpcCsiClient;
    let endpoint: string;
    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-csi-'));
        endpoint = `unix://${path.join(dir, 'csi.sock')}`;
        server = await serveDriver(new BuiltinDriver({ dataDir: path.join(dir, 'data'), nodeId: 'node-1', nodeIds: () => ['node-1', 'node-2'], capacityBytes: 100n * GiB }), endpoint);
        client = new GrpcCsiClient(endpoint, 5000);
    });
    after(() => {
        client.close();
        server.forceShutdown();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it('passes csi-sanity for the identity and controller services (node service skipped: the driver has none)', async () => {
        const { stdout } = await run(testbinPath('csi-sanity'), [`--csi.endpoint=${endpoint}`, '--ginkgo.skip=Node Service', '--ginkgo.no-color'], { maxBuffer: 64 * 1024 * 1024 }).catch((e: { stdout: string }) => {
            throw new Error(`csi-sanity failed:\n${e.stdout.split('\n').filter((l) => /FAIL|Passed/.test(l)).join('\n')}`);
        });
        const summary = stdout.split('\n').find((l) => /Passed \|/.test(l)) ?? '';
        assert.match(summary, /SUCCESS! -- \d+ Passed \| 0 Failed/);
        assert.ok(Number(/(\d+) Passed/.exec(summary)?.[1]) >= 30, summary);
    });

    it('speaks csi.v1 with our client: identity, capabilities, create (idempotent), publish, list, capacity, delete', async () => {
        assert.equal((await client.getPluginInfo()).name, BUILTIN_DRIVER_NAME);
        assert.equal(await client.probe(), true);
        assert.deepEqual(await client.getPluginCapabilities(), ['CONTROLLER_SERVICE']);
        assert.ok((await client.controllerGetCapabilities()).includes('PUBLISH_UNPUBLISH_VOLUME'));
        const req = { name: 'pvc-1', capacity_range: { required_bytes: 2n * GiB }, volume_capabilities: [mount()], parameters: { directoryMode: '0770' } };
        const v = await client.createVolume(req);
        assert.equal(v.capacity_bytes, 2n * GiB, 'int64 capacity as bigint');
        assert.equal((await client.createVolume(req)).volume_id, v.volume_id, 'same name, same volume');
        await assert.rejects(client.createVolume({ ...req, capacity_range: { required_bytes: 3n * GiB } }), (e: CsiError) => e.code === Code.ALREADY_EXISTS);
        await assert.rejects(client.createVolume({ ...req, name: 'pvc-2', parameters: { bogus: 'x' } }), (e: CsiError) => e.code === Code.INVALID_ARGUMENT && /"bogus"/.test(e.message));
        await assert.rejects(client.createVolume({ ...req, name: 'pvc-3', capacity_range: { required_bytes: 200n * GiB } }), (e: CsiError) => e.code === Code.RESOURCE_EXHAUSTED);
        const free = (await client.getCapacity({})).available_capacity;
        assert.ok(free <= 98n * GiB, `capacity is accounted: ${free}`);
        const ctx = await client.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'node-1', volume_capability: mount() });
        assert.ok(ctx.path);
        await assert.rejects(client.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'node-2', volume_capability: mount() }), (e: CsiError) => e.code === Code.FAILED_PRECONDITION);
        await assert.rejects(client.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'nowhere', volume_capability: mount() }), (e: CsiError) => e.code === Code.NOT_FOUND);
        const l = await client.listVolumes({});
        assert.deepEqual(l.entries.find((e) => e.volume.volume_id === v.volume_id)?.published_node_ids, ['node-1']);
        await assert.rejects(client.deleteVolume({ volume_id: v.volume_id }), (e: CsiError) => e.code === Code.FAILED_PRECONDITION);
        await client.controllerUnpublishVolume({ volume_id: v.volume_id, node_id: 'node-1' });
        await client.controllerUnpublishVolume({ volume_id: v.volume_id, node_id: 'node-1' });
        await client.deleteVolume({ volume_id: v.volume_id });
        await client.deleteVolume({ volume_id: v.volume_id });
        assert.ok(!(await client.listVolumes({})).entries.some((e) => e.volume.volume_id === v.volume_id));
    });

    it('a multi-node volume publishes to several nodes; ListVolumes pages', async () => {
        for (let i = 0; i < 5; i++) await client.createVolume({ name: `multi-${i}`, volume_capabilities: [mount('MULTI_NODE_MULTI_WRITER')] });
        const before = (await client.listVolumes({})).entries.length;
        const first = (await client.createVolume({ name: 'multi-0', volume_capabilities: [mount('MULTI_NODE_MULTI_WRITER')] })).volume_id;
        await client.controllerPublishVolume({ volume_id: first, node_id: 'node-1', volume_capability: mount('MULTI_NODE_MULTI_WRITER') });
        await client.controllerPublishVolume({ volume_id: first, node_id: 'node-2', volume_capability: mount('MULTI_NODE_MULTI_WRITER') });
        const seen: string[] = [];
        let token = '';
        do {
            const page = await client.listVolumes({ max_entries: 2, starting_token: token });
            seen.push(...page.entries.map((e) => e.volume.volume_id));
            token = page.next_token;
        } while (token);
        assert.equal(seen.length, before);
        assert.equal(new Set(seen).size, before, 'no duplicates across pages');
        await assert.rejects(client.listVolumes({ starting_token: 'garbage' }), (e: CsiError) => e.code === Code.ABORTED);
    });

    it('classifies errors as upstream: timeouts and unreachable drivers may still be in progress', async () => {
        const dead = new GrpcCsiClient(`unix://${path.join(dir, 'nobody.sock')}`, 300);
        const err = await dead.probe().then(() => undefined, (e: unknown) => e);
        dead.close();
        assert.ok(err instanceof CsiError);
        assert.ok(mayBeInProgress(err), `code ${(err as CsiError).code} counts as in progress`);
        assert.equal(mayBeInProgress(new CsiError(Code.INVALID_ARGUMENT, 'x')), false);
        assert.equal(mayBeInProgress(new CsiError(Code.ABORTED, 'x')), true);
        assert.equal(mayBeInProgress(new Error('socket hang up')), true, 'a non-gRPC failure is treated as in progress');
        assert.equal(describeCsiError(new CsiError(Code.RESOURCE_EXHAUSTED, 'full')), 'rpc error: code = ResourceExhausted desc = full');
    });

    it('keeps its volumes across a restart', async () => {
        const d2 = new BuiltinDriver({ dataDir: path.join(dir, 'data') });
        assert.equal(d2.volumeCount(), (await client.listVolumes({})).entries.length);
        assert.ok(d2.volumeCount() >= 5);
    });
});
