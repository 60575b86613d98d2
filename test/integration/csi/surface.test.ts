// The whole csi.v1 surface over a real unix socket: a small in-test driver implementing every
// Controller and Node RPC is served with serveDriver, and GrpcCsiClient calls each RPC with every
// field set. The driver records the request it got and answers with a fixed response, so each
// field is checked in both directions. A driver object lacking methods answers UNIMPLEMENTED;
// a controller-only one keeps the answers csi-sanity's cleanup needs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status as Code } from '@grpc/grpc-js';
import type { Server } from '@grpc/grpc-js';
import { CsiError } from '../../../src/csi/errors.ts';
import { GrpcCsiClient, serveDriver } from '../../../src/csi/grpc.ts';
import type { ServedDriver } from '../../../src/csi/grpc.ts';
import type { ListVolumesEntry, NodeVolumeStats, Snapshot, VolumeCapability } from '../../../src/csi/types.ts';

const BIG = (1n << 62n) + 11n;
const mountCap: VolumeCapability = { mount: { fs_type: 'ext4', mount_flags: ['noatime', 'nodev'], volume_mount_group: '2000' }, access_mode: { mode: 'SINGLE_NODE_MULTI_WRITER' } };
const blockCap: VolumeCapability = { block: {}, access_mode: { mode: 'MULTI_NODE_READER_ONLY' } };
const secrets = { token: 's3cr3t' };
const snapshot: Snapshot = {
    size_bytes: BIG,
    snapshot_id: 'snap-1',
    source_volume_id: 'vol-1',
    creation_time: { seconds: 1_759_926_896n, nanos: 123_456_789 },
    ready_to_use: true,
    group_snapshot_id: 'group-1',
};
const snapshot2: Snapshot = { size_bytes: 1n, snapshot_id: 'snap-2', source_volume_id: 'vol-2', creation_time: { seconds: 1n, nanos: 0 }, ready_to_use: false, group_snapshot_id: '' };
const entry: ListVolumesEntry = {
    volume: {
        capacity_bytes: BIG,
        volume_id: 'vol-1',
        volume_context: { path: '/data/vol-1' },
        content_source: { snapshot: { snapshot_id: 'snap-0' } },
        accessible_topology: [{ segments: { zone: 'a' } }],
    },
    published_node_ids: ['node-1', 'node-2'],
    volume_condition: { abnormal: true, message: 'disk is degraded' },
};
const stats: NodeVolumeStats = {
    usage: [
        { available: BIG, total: BIG + 100n, used: 100n, unit: 'BYTES' },
        { available: 9n, total: 10n, used: 1n, unit: 'INODES' },
    ],
    volume_condition: { abnormal: false, message: 'ok' },
};

describe('csi.v1 surface over gRPC: every Controller and Node RPC, every field', () => {
    let dir: string;
    const servers: Server[] = [];
    const clients: GrpcCsiClient[] = [];
    /** The last request the in-test driver got, per method. */
    const got = new Map<string, unknown>();
    const record = (name: string, req: unknown) => got.set(name, structuredClone(req));
    let client: GrpcCsiClient;

    const full: ServedDriver = {
        getPluginInfo: async () => ({ name: 'surface.csi.test', vendor_version: '1.2.3', manifest: { commit: 'abc' } }),
        getPluginCapabilities: async () => ['CONTROLLER_SERVICE', 'VOLUME_ACCESSIBILITY_CONSTRAINTS', 'GROUP_CONTROLLER_SERVICE', 'SNAPSHOT_METADATA_SERVICE'],
        probe: async () => true,
        controllerGetCapabilities: async () => ['CREATE_DELETE_SNAPSHOT', 'LIST_SNAPSHOTS', 'GET_SNAPSHOT', 'GET_VOLUME', 'VOLUME_CONDITION', 'MODIFY_VOLUME'],
        async createVolume(req) {
            record('createVolume', req);
            return entry.volume;
        },
        async listVolumes(req) {
            record('listVolumes', req);
            return { entries: [entry, { volume: { capacity_bytes: 0n, volume_id: 'vol-2' }, published_node_ids: [] }], next_token: 'page-2' };
        },
        async getCapacity(req) {
            record('getCapacity', req);
            return { available_capacity: BIG, maximum_volume_size: BIG - 1n, minimum_volume_size: 4096n };
        },
        async controllerExpandVolume(req) {
            record('controllerExpandVolume', req);
            return { capacity_bytes: BIG, node_expansion_required: true };
        },
        async createSnapshot(req) {
            record('createSnapshot', req);
            return snapshot;
        },
        async deleteSnapshot(req) {
            record('deleteSnapshot', req);
        },
        async listSnapshots(req) {
            record('listSnapshots', req);
            return { entries: [snapshot, snapshot2], next_token: 'next' };
        },
        async getSnapshot(req) {
            record('getSnapshot', req);
            if (req.snapshot_id === 'missing') throw new CsiError(Code.NOT_FOUND, 'snapshot missing not found');
            return snapshot;
        },
        async controllerGetVolume(req) {
            record('controllerGetVolume', req);
            return entry;
        },
        async controllerModifyVolume(req) {
            record('controllerModifyVolume', req);
        },
        async nodeStageVolume(req) {
            record('nodeStageVolume', req);
        },
        async nodeUnstageVolume(req) {
            record('nodeUnstageVolume', req);
        },
        async nodePublishVolume(req) {
            record('nodePublishVolume', req);
        },
        async nodeUnpublishVolume(req) {
            record('nodeUnpublishVolume', req);
        },
        async nodeGetVolumeStats(req) {
            record('nodeGetVolumeStats', req);
            return stats;
        },
        async nodeExpandVolume(req) {
            record('nodeExpandVolume', req);
            return { capacity_bytes: BIG };
        },
        nodeGetCapabilities: async () => ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION', 'SINGLE_NODE_MULTI_WRITER', 'VOLUME_MOUNT_GROUP'],
        nodeGetInfo: async () => ({ node_id: 'node-1', max_volumes_per_node: 17n, accessible_topology: { segments: { zone: 'a', rack: '3' } } }),
    };

    /** Serves `impl` on a fresh socket and returns a client for it. */
    const serve = async (impl: ServedDriver, name: string) => {
        const endpoint = `unix://${path.join(dir, `${name}.sock`)}`;
        servers.push(await serveDriver(impl, endpoint));
        const c = new GrpcCsiClient(endpoint, 5000);
        clients.push(c);
        return c;
    };

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-csi-surface-'));
        client = await serve(full, 'full');
    });
    after(() => {
        for (const c of clients) c.close();
        for (const s of servers) s.forceShutdown();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it('Identity: plugin info with manifest, every plugin capability, probe', async () => {
        assert.deepEqual(await client.getPluginInfo(), { name: 'surface.csi.test', vendor_version: '1.2.3', manifest: { commit: 'abc' } });
        assert.deepEqual(await client.getPluginCapabilities(), ['CONTROLLER_SERVICE', 'VOLUME_ACCESSIBILITY_CONSTRAINTS', 'GROUP_CONTROLLER_SERVICE', 'SNAPSHOT_METADATA_SERVICE']);
        assert.equal(await client.probe(), true);
    });

    it('CreateVolume carries mutable_parameters and every other field; the volume comes back whole', async () => {
        const req = {
            name: 'pvc-1',
            capacity_range: { required_bytes: BIG, limit_bytes: BIG + 1n },
            volume_capabilities: [mountCap, blockCap],
            parameters: { type: 'fast' },
            secrets,
            volume_content_source: { volume: { volume_id: 'vol-0' } },
            accessibility_requirements: { requisite: [{ segments: { zone: 'a' } }], preferred: [{ segments: { zone: 'b' } }] },
            mutable_parameters: { iops: '3000' },
        };
        assert.deepEqual(await client.createVolume(req), entry.volume);
        assert.deepEqual(got.get('createVolume'), req);
    });

    it('ListVolumes and ControllerGetVolume: status with published nodes and volume condition', async () => {
        const l = await client.listVolumes({ max_entries: 2, starting_token: 'page-1' });
        assert.deepEqual(got.get('listVolumes'), { max_entries: 2, starting_token: 'page-1' });
        assert.deepEqual(l, { entries: [entry, { volume: { capacity_bytes: 0n, volume_id: 'vol-2', volume_context: {}, accessible_topology: [] }, published_node_ids: [] }], next_token: 'page-2' });
        assert.deepEqual(await client.controllerGetVolume({ volume_id: 'vol-1' }), entry);
        assert.deepEqual(got.get('controllerGetVolume'), { volume_id: 'vol-1' });
    });

    it('GetCapacity: available, maximum and minimum volume size; ControllerExpandVolume with secrets', async () => {
        const creq = { volume_capabilities: [mountCap], parameters: { type: 'fast' }, accessible_topology: { segments: { zone: 'a' } } };
        assert.deepEqual(await client.getCapacity(creq), { available_capacity: BIG, maximum_volume_size: BIG - 1n, minimum_volume_size: 4096n });
        assert.deepEqual(got.get('getCapacity'), creq);
        const ereq = { volume_id: 'vol-1', capacity_range: { required_bytes: BIG, limit_bytes: 0n }, secrets, volume_capability: blockCap };
        assert.deepEqual(await client.controllerExpandVolume(ereq), { capacity_bytes: BIG, node_expansion_required: true });
        assert.deepEqual(got.get('controllerExpandVolume'), ereq);
    });

    it('CreateSnapshot, GetSnapshot, ListSnapshots, DeleteSnapshot: every Snapshot field, Timestamp exact', async () => {
        const creq = { source_volume_id: 'vol-1', name: 'snapshot-uid', secrets, parameters: { class: 'gold' } };
        assert.deepEqual(await client.createSnapshot(creq), snapshot);
        assert.deepEqual(got.get('createSnapshot'), creq);
        assert.deepEqual(await client.getSnapshot({ snapshot_id: 'snap-1', secrets }), snapshot);
        assert.deepEqual(got.get('getSnapshot'), { snapshot_id: 'snap-1', secrets });
        const lreq = { max_entries: 10, starting_token: 't', source_volume_id: 'vol-1', snapshot_id: 'snap-1', secrets };
        assert.deepEqual(await client.listSnapshots(lreq), { entries: [snapshot, snapshot2], next_token: 'next' });
        assert.deepEqual(got.get('listSnapshots'), lreq);
        await client.deleteSnapshot({ snapshot_id: 'snap-1', secrets });
        assert.deepEqual(got.get('deleteSnapshot'), { snapshot_id: 'snap-1', secrets });
        await assert.rejects(client.getSnapshot({ snapshot_id: 'missing' }), (e: unknown) => e instanceof CsiError && e.code === Code.NOT_FOUND && e.message === 'snapshot missing not found');
    });

    it('ControllerModifyVolume carries volume_id, secrets and mutable_parameters', async () => {
        const req = { volume_id: 'vol-1', secrets, mutable_parameters: { iops: '5000', throughput: '200' } };
        await client.controllerModifyVolume(req);
        assert.deepEqual(got.get('controllerModifyVolume'), req);
    });

    it('every controller capability name comes back', async () => {
        assert.deepEqual(await client.controllerGetCapabilities(), ['CREATE_DELETE_SNAPSHOT', 'LIST_SNAPSHOTS', 'GET_SNAPSHOT', 'GET_VOLUME', 'VOLUME_CONDITION', 'MODIFY_VOLUME']);
    });

    it('Node: stage, publish, stats, expand, unpublish, unstage, capabilities and info, every field', async () => {
        const stage = { volume_id: 'vol-1', publish_context: { device: '/dev/x' }, staging_target_path: '/var/lib/kubelet/staging/vol-1', volume_capability: mountCap, secrets, volume_context: { path: '/data/vol-1' } };
        await client.nodeStageVolume(stage);
        assert.deepEqual(got.get('nodeStageVolume'), stage);
        const publish = { ...stage, target_path: '/var/lib/kubelet/pods/uid/volumes/vol-1/mount', volume_capability: blockCap, readonly: true };
        await client.nodePublishVolume(publish);
        assert.deepEqual(got.get('nodePublishVolume'), publish);
        const sreq = { volume_id: 'vol-1', volume_path: publish.target_path, staging_target_path: stage.staging_target_path };
        assert.deepEqual(await client.nodeGetVolumeStats(sreq), stats);
        assert.deepEqual(got.get('nodeGetVolumeStats'), sreq);
        const ereq = { volume_id: 'vol-1', volume_path: publish.target_path, capacity_range: { required_bytes: BIG, limit_bytes: BIG }, staging_target_path: stage.staging_target_path, volume_capability: mountCap, secrets };
        assert.deepEqual(await client.nodeExpandVolume(ereq), { capacity_bytes: BIG });
        assert.deepEqual(got.get('nodeExpandVolume'), ereq);
        await client.nodeUnpublishVolume({ volume_id: 'vol-1', target_path: publish.target_path });
        assert.deepEqual(got.get('nodeUnpublishVolume'), { volume_id: 'vol-1', target_path: publish.target_path });
        await client.nodeUnstageVolume({ volume_id: 'vol-1', staging_target_path: stage.staging_target_path });
        assert.deepEqual(got.get('nodeUnstageVolume'), { volume_id: 'vol-1', staging_target_path: stage.staging_target_path });
        assert.deepEqual(await client.nodeGetCapabilities(), ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION', 'SINGLE_NODE_MULTI_WRITER', 'VOLUME_MOUNT_GROUP']);
        assert.deepEqual(await client.nodeGetInfo(), { node_id: 'node-1', max_volumes_per_node: 17n, accessible_topology: { segments: { zone: 'a', rack: '3' } } });
    });

    it('a method the served object lacks answers UNIMPLEMENTED; a thrown error keeps its code, a synchronous throw is INTERNAL', async () => {
        const partial = await serve(
            {
                getPluginInfo: async () => ({ name: 'partial.csi.test', vendor_version: '0' }),
                nodeGetCapabilities: async () => ['STAGE_UNSTAGE_VOLUME'],
                // A synchronous throw (not a rejected promise) must still become a gRPC status.
                nodeStageVolume: () => {
                    throw new Error('boom');
                },
            },
            'partial',
        );
        const unimplemented = (e: unknown) => e instanceof CsiError && e.code === Code.UNIMPLEMENTED;
        const calls: [string, () => Promise<unknown>][] = [
            ['Probe', () => partial.probe()],
            ['CreateVolume', () => partial.createVolume({ name: 'x', volume_capabilities: [mountCap] })],
            ['CreateSnapshot', () => partial.createSnapshot({ name: 's', source_volume_id: 'v' })],
            ['DeleteSnapshot', () => partial.deleteSnapshot({ snapshot_id: 's' })],
            ['ListSnapshots', () => partial.listSnapshots({})],
            ['GetSnapshot', () => partial.getSnapshot({ snapshot_id: 's' })],
            ['ControllerGetVolume', () => partial.controllerGetVolume({ volume_id: 'v' })],
            ['ControllerModifyVolume', () => partial.controllerModifyVolume({ volume_id: 'v', mutable_parameters: { a: 'b' } })],
            ['NodePublishVolume', () => partial.nodePublishVolume({ volume_id: 'v', target_path: '/t', volume_capability: mountCap })],
            ['NodeUnpublishVolume', () => partial.nodeUnpublishVolume({ volume_id: 'v', target_path: '/t' })],
            ['NodeUnstageVolume', () => partial.nodeUnstageVolume({ volume_id: 'v', staging_target_path: '/s' })],
            ['NodeGetVolumeStats', () => partial.nodeGetVolumeStats({ volume_id: 'v', volume_path: '/t' })],
            ['NodeExpandVolume', () => partial.nodeExpandVolume({ volume_id: 'v', volume_path: '/t' })],
            ['NodeGetInfo', () => partial.nodeGetInfo()],
        ];
        for (const [name, call] of calls) await assert.rejects(call(), unimplemented, `${name} is UNIMPLEMENTED`);
        assert.equal((await partial.getPluginInfo()).name, 'partial.csi.test');
        assert.deepEqual(await partial.nodeGetCapabilities(), ['STAGE_UNSTAGE_VOLUME']);
        await assert.rejects(partial.nodeStageVolume({ volume_id: 'v', staging_target_path: '/s', volume_capability: mountCap }), (e: unknown) => e instanceof CsiError && e.code === Code.INTERNAL && e.message === 'boom');
    });

    it('a controller-only driver (no node operation) answers the cleanup RPCs csi-sanity sends: empty node capabilities, unstage/unpublish OK', async () => {
        const ctrl = await serve({ probe: async () => true, nodeGetInfo: async () => ({ node_id: 'n1' }) }, 'controller-only');
        assert.deepEqual(await ctrl.nodeGetCapabilities(), []);
        await ctrl.nodeUnpublishVolume({ volume_id: 'v', target_path: '/t' });
        await ctrl.nodeUnstageVolume({ volume_id: 'v', staging_target_path: '/s' });
        assert.deepEqual(await ctrl.nodeGetInfo(), { node_id: 'n1', max_volumes_per_node: 0n });
        await assert.rejects(ctrl.nodeStageVolume({ volume_id: 'v', staging_target_path: '/s', volume_capability: mountCap }), (e: unknown) => e instanceof CsiError && e.code === Code.UNIMPLEMENTED);
        await assert.rejects(ctrl.nodePublishVolume({ volume_id: 'v', target_path: '/t', volume_capability: mountCap }), (e: unknown) => e instanceof CsiError && e.code === Code.UNIMPLEMENTED);
    });
});
