// Wire conversion of our csi.v1 proto: every int64 field of the spec subset survives
// TS → protobuf bytes → TS as an exact bigint (values above 2^53 and negative ones included),
// Int64Value wrappers unwrap, Timestamps stay exact, map values are never converted, and a
// missing in-process method behaves as UNIMPLEMENTED.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status as Code } from '@grpc/grpc-js';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { CsiError, orUnimplemented } from '../../../src/csi/errors.ts';
import { csiServices, fromWire, INT64, toWire } from '../../../src/csi/grpc.ts';
import { timestampFromDate, timestampToDate, timestampToNanos } from '../../../src/csi/types.ts';
import type { CsiClient } from '../../../src/csi/types.ts';

const BIG = (1n << 62n) + 7n; // not representable as a double
const NEG = -(1n << 40n) - 3n;

type Service = 'Identity' | 'Controller' | 'Node';
/** The method's definition in our loaded proto. */
const method = (service: Service, rpc: string) => (csiServices()[service].service as ServiceDefinition)[rpc] as MethodDefinition<unknown, unknown>;
/** TS → bytes → TS through the real protobuf encoding of the RPC's request. */
const viaRequest = (service: Service, rpc: string, v: unknown) => {
    const m = method(service, rpc);
    return fromWire(m.requestDeserialize(m.requestSerialize(toWire(v))));
};
/** TS → bytes → TS through the real protobuf encoding of the RPC's response. */
const viaResponse = (service: Service, rpc: string, v: unknown) => {
    const m = method(service, rpc);
    return fromWire(m.responseDeserialize(m.responseSerialize(toWire(v))));
};

describe('int64 fields survive the protobuf encoding as exact bigints', () => {
    // [field, service, rpc, request|response, message carrying it, how to read it back]
    const table: [string, Service, string, 'req' | 'res', Record<string, unknown>, (o: never) => unknown][] = [
        ['Volume.capacity_bytes', 'Controller', 'CreateVolume', 'res', { volume: { capacity_bytes: BIG, volume_id: 'v' } }, (o: { volume: { capacity_bytes: bigint } }) => o.volume.capacity_bytes],
        ['CapacityRange.required_bytes', 'Controller', 'CreateVolume', 'req', { name: 'n', capacity_range: { required_bytes: BIG, limit_bytes: 1n } }, (o: { capacity_range: { required_bytes: bigint } }) => o.capacity_range.required_bytes],
        ['CapacityRange.limit_bytes', 'Controller', 'ControllerExpandVolume', 'req', { volume_id: 'v', capacity_range: { required_bytes: 1n, limit_bytes: BIG } }, (o: { capacity_range: { limit_bytes: bigint } }) => o.capacity_range.limit_bytes],
        ['GetCapacityResponse.available_capacity', 'Controller', 'GetCapacity', 'res', { available_capacity: BIG }, (o: { available_capacity: bigint }) => o.available_capacity],
        ['ControllerExpandVolumeResponse.capacity_bytes', 'Controller', 'ControllerExpandVolume', 'res', { capacity_bytes: BIG, node_expansion_required: true }, (o: { capacity_bytes: bigint }) => o.capacity_bytes],
        ['Snapshot.size_bytes', 'Controller', 'CreateSnapshot', 'res', { snapshot: { size_bytes: BIG, snapshot_id: 's' } }, (o: { snapshot: { size_bytes: bigint } }) => o.snapshot.size_bytes],
        ['Timestamp.seconds', 'Controller', 'GetSnapshot', 'res', { snapshot: { snapshot_id: 's', creation_time: { seconds: BIG, nanos: 1 } } }, (o: { snapshot: { creation_time: { seconds: bigint } } }) => o.snapshot.creation_time.seconds],
        ['Timestamp.seconds (before 1970)', 'Controller', 'ListSnapshots', 'res', { entries: [{ snapshot: { creation_time: { seconds: NEG, nanos: 5 } } }] }, (o: { entries: { snapshot: { creation_time: { seconds: bigint } } }[] }) => o.entries[0]?.snapshot.creation_time.seconds],
        ['NodeGetInfoResponse.max_volumes_per_node', 'Node', 'NodeGetInfo', 'res', { node_id: 'n', max_volumes_per_node: BIG }, (o: { max_volumes_per_node: bigint }) => o.max_volumes_per_node],
        ['VolumeUsage.available', 'Node', 'NodeGetVolumeStats', 'res', { usage: [{ available: BIG, total: 1n, used: 1n, unit: 'BYTES' }] }, (o: { usage: { available: bigint }[] }) => o.usage[0]?.available],
        ['VolumeUsage.total', 'Node', 'NodeGetVolumeStats', 'res', { usage: [{ available: 1n, total: BIG, used: 1n, unit: 'INODES' }] }, (o: { usage: { total: bigint }[] }) => o.usage[0]?.total],
        ['VolumeUsage.used', 'Node', 'NodeGetVolumeStats', 'res', { usage: [{ available: 1n, total: 1n, used: BIG, unit: 'BYTES' }] }, (o: { usage: { used: bigint }[] }) => o.usage[0]?.used],
        ['NodeExpandVolumeRequest.capacity_range', 'Node', 'NodeExpandVolume', 'req', { volume_id: 'v', volume_path: '/p', capacity_range: { required_bytes: BIG, limit_bytes: 0n } }, (o: { capacity_range: { required_bytes: bigint } }) => o.capacity_range.required_bytes],
        ['NodeExpandVolumeResponse.capacity_bytes', 'Node', 'NodeExpandVolume', 'res', { capacity_bytes: BIG }, (o: { capacity_bytes: bigint }) => o.capacity_bytes],
        ['negative int64', 'Controller', 'GetCapacity', 'res', { available_capacity: NEG }, (o: { available_capacity: bigint }) => o.available_capacity],
    ];
    for (const [field, service, rpc, dir, msg, read] of table) {
        it(`${field} (${rpc} ${dir === 'req' ? 'request' : 'response'})`, () => {
            const back = dir === 'req' ? viaRequest(service, rpc, msg) : viaResponse(service, rpc, msg);
            const v = read(back as never);
            assert.equal(typeof v, 'bigint', `${field} decodes as bigint`);
            assert.ok(v === BIG || v === NEG, `${field} is exact: ${String(v)}`);
        });
    }

    it('every int64 field name of the proto is in INT64 (for loaders that give strings)', () => {
        assert.deepEqual([...INT64].sort(), ['available', 'available_capacity', 'capacity_bytes', 'limit_bytes', 'max_volumes_per_node', 'required_bytes', 'seconds', 'size_bytes', 'total', 'used']);
        for (const f of INT64) assert.equal((fromWire<Record<string, unknown>>({ [f]: '9223372036854775807' }))[f], 9223372036854775807n, f);
    });

    it('Int64Value wrappers: maximum_volume_size and minimum_volume_size unwrap; absent stays undefined', () => {
        const back = viaResponse('Controller', 'GetCapacity', { available_capacity: 1n, maximum_volume_size: BIG, minimum_volume_size: 4096n }) as Record<string, unknown>;
        assert.deepEqual(back, { available_capacity: 1n, maximum_volume_size: BIG, minimum_volume_size: 4096n });
        assert.deepEqual(viaResponse('Controller', 'GetCapacity', { available_capacity: 2n }), { available_capacity: 2n });
        assert.deepEqual(viaResponse('Controller', 'GetCapacity', { available_capacity: 2n, maximum_volume_size: 0n }), { available_capacity: 2n, maximum_volume_size: 0n }, 'a wrapper holding 0 is present');
        assert.deepEqual(toWire({ maximum_volume_size: 5n, minimum_volume_size: 6n, available_capacity: 7n }), { maximum_volume_size: { value: '5' }, minimum_volume_size: { value: '6' }, available_capacity: '7' });
    });
});

describe('map values and defaults', () => {
    it('a map entry named like an int64 field stays a string (fromWire used to turn it into a bigint)', () => {
        const params = { capacity_bytes: '10', required_bytes: '1', size_bytes: '3', used: '4', total: '5', available: '6', seconds: '7', maximum_volume_size: '8' };
        const back = viaRequest('Controller', 'CreateVolume', { name: 'n', parameters: params, mutable_parameters: params, secrets: params }) as Record<string, unknown>;
        assert.deepEqual(back.parameters, params);
        assert.deepEqual(back.mutable_parameters, params);
        assert.deepEqual(back.secrets, params);
        assert.deepEqual(fromWire({ volume_context: { capacity_bytes: '10' }, publish_context: { total: '1' }, segments: { used: '2' } }), {
            volume_context: { capacity_bytes: '10' },
            publish_context: { total: '1' },
            segments: { used: '2' },
        });
    });

    it('absent fields arrive as the proto3 defaults, absent messages are dropped, no oneof discriminator is added', () => {
        const back = viaRequest('Node', 'NodePublishVolume', { volume_id: 'v', target_path: '/t', volume_capability: { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } });
        assert.deepEqual(back, {
            volume_id: 'v',
            publish_context: {},
            staging_target_path: '',
            target_path: '/t',
            volume_capability: { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
            readonly: false,
            secrets: {},
            volume_context: {},
        });
        assert.deepEqual(viaResponse('Controller', 'CreateSnapshot', { snapshot: { snapshot_id: 's' } }), {
            snapshot: { size_bytes: 0n, snapshot_id: 's', source_volume_id: '', ready_to_use: false, group_snapshot_id: '' },
        });
    });

    it('oneofs round-trip: content source, access type, plugin and node capabilities', () => {
        const req = { name: 'n', volume_content_source: { snapshot: { snapshot_id: 'snap' } }, volume_capabilities: [{ mount: { fs_type: 'xfs', mount_flags: ['ro'], volume_mount_group: 'g' }, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }] };
        const back = viaRequest('Controller', 'CreateVolume', req) as typeof req;
        assert.deepEqual(back.volume_content_source, req.volume_content_source);
        assert.deepEqual(back.volume_capabilities, req.volume_capabilities);
        assert.deepEqual(viaResponse('Node', 'NodeGetCapabilities', { capabilities: [{ rpc: { type: 'VOLUME_MOUNT_GROUP' } }] }), { capabilities: [{ rpc: { type: 'VOLUME_MOUNT_GROUP' } }] });
        assert.deepEqual(viaResponse('Identity', 'GetPluginCapabilities', { capabilities: [{ volume_expansion: { type: 'ONLINE' } }] }), { capabilities: [{ volume_expansion: { type: 'ONLINE' } }] });
    });

    it('every controller and node capability of CSI v1.12 is in the proto', () => {
        const ctrl = ['CREATE_DELETE_VOLUME', 'PUBLISH_UNPUBLISH_VOLUME', 'LIST_VOLUMES', 'GET_CAPACITY', 'CREATE_DELETE_SNAPSHOT', 'LIST_SNAPSHOTS', 'CLONE_VOLUME', 'PUBLISH_READONLY', 'EXPAND_VOLUME', 'LIST_VOLUMES_PUBLISHED_NODES', 'VOLUME_CONDITION', 'GET_VOLUME', 'SINGLE_NODE_MULTI_WRITER', 'MODIFY_VOLUME', 'GET_SNAPSHOT'];
        const res = { capabilities: ctrl.map((type) => ({ rpc: { type } })) };
        assert.deepEqual(viaResponse('Controller', 'ControllerGetCapabilities', res), res);
        const node = ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION', 'SINGLE_NODE_MULTI_WRITER', 'VOLUME_MOUNT_GROUP'];
        const nres = { capabilities: node.map((type) => ({ rpc: { type } })) };
        assert.deepEqual(viaResponse('Node', 'NodeGetCapabilities', nres), nres);
    });
});

describe('Timestamp', () => {
    it('round-trips exactly through the encoding, nanos included', () => {
        const t = { seconds: 1_700_000_000n, nanos: 123_456_789 };
        assert.deepEqual((viaResponse('Controller', 'GetSnapshot', { snapshot: { creation_time: t } }) as { snapshot: { creation_time: unknown } }).snapshot.creation_time, t);
        assert.equal(timestampToNanos(t), 1_700_000_000_123_456_789n);
    });
    const dates: [string, Date, { seconds: bigint; nanos: number }][] = [
        ['epoch', new Date(0), { seconds: 0n, nanos: 0 }],
        ['2025 with ms', new Date('2025-10-08T12:34:56.789Z'), { seconds: 1759926896n, nanos: 789_000_000 }],
        ['before 1970', new Date(-1500), { seconds: -2n, nanos: 500_000_000 }],
    ];
    for (const [name, d, t] of dates) {
        it(`Date ↔ Timestamp: ${name}`, () => {
            assert.deepEqual(timestampFromDate(d), t);
            assert.equal(timestampToDate(t).getTime(), d.getTime());
        });
    }
    it('timestampToDate truncates sub-millisecond nanos', () => {
        assert.equal(timestampToDate({ seconds: 1n, nanos: 999_999 }).getTime(), 1000);
    });
});

describe('orUnimplemented', () => {
    it('binds a present method and turns a missing one into UNIMPLEMENTED', async () => {
        class Driver {
            n = 3;
            async getPluginInfo() {
                return { name: `d${this.n}`, vendor_version: '1' };
            }
        }
        const driver = new Driver() as unknown as CsiClient;
        assert.equal((await orUnimplemented(driver, 'getPluginInfo')()).name, 'd3');
        await assert.rejects(orUnimplemented(driver, 'createSnapshot')({ name: 'x', source_volume_id: 'v' }), (e: unknown) => e instanceof CsiError && e.code === Code.UNIMPLEMENTED && /createSnapshot/.test(e.message));
    });
});
