// The built-in driver keeps its state on disk, so several drivers on one directory (two replicas
// sharing a volume, one of which takes over from the other) see the same volumes: no duplicate
// on a CreateVolume or CreateSnapshot race, and a volume created by one is really deleted by another.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status as Code } from '@grpc/grpc-js';
import { BuiltinDriver } from '../../../src/csi/builtin.ts';
import type { CsiError } from '../../../src/csi/errors.ts';
import { startDriver } from '../provisioner/support.ts';
import type { DriverProcess } from '../provisioner/support.ts';

const mount = (mode: 'SINGLE_NODE_WRITER' | 'MULTI_NODE_MULTI_WRITER' = 'SINGLE_NODE_WRITER') => ({ mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode } });
const volumeDirs = (data: string) => fs.readdirSync(path.join(data, 'volumes')).filter((f) => !f.endsWith('.json'));

describe('built-in driver: two processes on one directory', () => {
    let data: string;
    let a: DriverProcess;
    let b: DriverProcess;
    before(async () => {
        data = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-csi-shared-'));
        [a, b] = await Promise.all([startDriver(['--known-nodes=*'], { dataDir: data }), startDriver(['--known-nodes=*'], { dataDir: data })]);
    });
    after(async () => {
        await a?.stop();
        await b?.stop();
        fs.rmSync(data, { recursive: true, force: true });
    });

    it('racing CreateVolume of the same names from both gives one volume per name', async () => {
        const names = Array.from({ length: 40 }, (_, i) => `race-${i}`);
        const results = await Promise.all(names.flatMap((name) => [a, b].map((d) => d.client.createVolume({ name, volume_capabilities: [mount()] }).then((v) => [name, v.volume_id] as const))));
        const ids = new Map<string, Set<string>>();
        for (const [name, id] of results) ids.set(name, (ids.get(name) ?? new Set()).add(id));
        for (const [name, s] of ids) assert.equal(s.size, 1, `${name}: one volume, got ${[...s].join(', ')}`);
        assert.equal((await a.client.listVolumes({})).entries.length, 40);
        assert.equal((await b.client.listVolumes({})).entries.length, 40);
        assert.equal(volumeDirs(data).length, 40, 'one directory per volume');
    });

    it('a volume created by one is deleted by the other: record and directory gone', async () => {
        const v = await a.client.createVolume({ name: 'made-by-a', volume_capabilities: [mount()] });
        assert.ok(fs.existsSync(v.volume_context?.path ?? ''));
        await b.client.deleteVolume({ volume_id: v.volume_id });
        assert.ok(!fs.existsSync(v.volume_context?.path ?? ''), 'the directory is gone');
        assert.ok(!(await a.client.listVolumes({})).entries.some((e) => e.volume.volume_id === v.volume_id), 'a no longer lists it');
        const again = await a.client.createVolume({ name: 'made-by-a', volume_capabilities: [mount()] });
        assert.ok(fs.existsSync(again.volume_context?.path ?? ''), 'created afresh after the delete');
        await a.client.deleteVolume({ volume_id: again.volume_id });
    });

    it('publications are shared: b sees a publish by a, refuses to delete, and a single-node volume goes to one node only', async () => {
        const v = await a.client.createVolume({ name: 'published', volume_capabilities: [mount()] });
        await a.client.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'n1', volume_capability: mount() });
        const seen = (await b.client.listVolumes({})).entries.find((e) => e.volume.volume_id === v.volume_id);
        assert.deepEqual(seen?.published_node_ids, ['n1']);
        await assert.rejects(b.client.deleteVolume({ volume_id: v.volume_id }), (e: CsiError) => e.code === Code.FAILED_PRECONDITION);
        await assert.rejects(b.client.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'n2', volume_capability: mount() }), (e: CsiError) => e.code === Code.FAILED_PRECONDITION);
        await b.client.controllerUnpublishVolume({ volume_id: v.volume_id, node_id: 'n1' });
        // Both publish the single-node volume to different nodes at once: at most one wins.
        const raced = await Promise.allSettled([a, b].map((d, i) => d.client.controllerPublishVolume({ volume_id: v.volume_id, node_id: `m${i}`, volume_capability: mount() })));
        const nodes = (await a.client.listVolumes({})).entries.find((e) => e.volume.volume_id === v.volume_id)?.published_node_ids ?? [];
        assert.ok(nodes.length <= 1, `published to ${nodes.join(', ')}`);
        assert.equal(raced.filter((r) => r.status === 'fulfilled').length, nodes.length);
        for (const n of nodes) await a.client.controllerUnpublishVolume({ volume_id: v.volume_id, node_id: n });
        await b.client.deleteVolume({ volume_id: v.volume_id });
    });

    it('snapshots are shared too: racing CreateSnapshot gives one snapshot per name; one process restores and deletes what the other cut', async () => {
        const v = await a.client.createVolume({ name: 'snap-source', volume_capabilities: [mount()] });
        fs.writeFileSync(path.join(v.volume_context?.path ?? '', 'f'), 'data');
        const names = Array.from({ length: 8 }, (_, i) => `snap-race-${i}`);
        const results = await Promise.all(names.flatMap((name) => [a, b].map((d) => d.client.createSnapshot({ name, source_volume_id: v.volume_id }).then((s) => [name, s.snapshot_id] as const))));
        const ids = new Map<string, Set<string>>();
        for (const [name, id] of results) ids.set(name, (ids.get(name) ?? new Set()).add(id));
        for (const [name, set] of ids) assert.equal(set.size, 1, `${name}: one snapshot, got ${[...set].join(', ')}`);
        assert.equal((await b.client.listSnapshots({ source_volume_id: v.volume_id })).entries.length, names.length);
        const snapIds = [...ids.values()].map((set) => [...set][0] as string);
        for (const id of snapIds) assert.equal(fs.readdirSync(path.join(data, 'snapshots', id)).length, 1, `${id}: the losing copy was removed`);
        const restored = await b.client.createVolume({ name: 'restored-by-b', volume_capabilities: [mount()], volume_content_source: { snapshot: { snapshot_id: snapIds[0] as string } } });
        assert.equal(fs.readFileSync(path.join(restored.volume_context?.path ?? '', 'f'), 'utf8'), 'data');
        for (const id of snapIds) await a.client.deleteSnapshot({ snapshot_id: id });
        assert.deepEqual((await b.client.listSnapshots({})).entries, []);
        await b.client.deleteVolume({ volume_id: restored.volume_id });
        await b.client.deleteVolume({ volume_id: v.volume_id });
        assert.deepEqual(fs.readdirSync(path.join(data, 'snapshots')), [], 'no snapshot data left');
        assert.deepEqual(fs.readdirSync(path.join(data, 'tmp')), [], 'no copy left in tmp/');
    });

    it('accounts capacity from disk: what one created counts for the other', async () => {
        const small = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-csi-cap-'));
        try {
            const GiB = 1n << 30n;
            const x = new BuiltinDriver({ dataDir: small, capacityBytes: 3n * GiB });
            const y = new BuiltinDriver({ dataDir: small, capacityBytes: 3n * GiB });
            await x.createVolume({ name: 'c1', capacity_range: { required_bytes: 2n * GiB }, volume_capabilities: [mount()] });
            assert.equal((await y.getCapacity({})).available_capacity, 1n * GiB);
            await assert.rejects(y.createVolume({ name: 'c2', capacity_range: { required_bytes: 2n * GiB }, volume_capabilities: [mount()] }), (e: CsiError) => e.code === Code.RESOURCE_EXHAUSTED);
            const v = await y.createVolume({ name: 'c1', capacity_range: { required_bytes: 2n * GiB }, volume_capabilities: [mount()] });
            await y.deleteVolume({ volume_id: v.volume_id });
            assert.equal(x.volumeCount(), 0);
            assert.equal((await x.getCapacity({})).available_capacity, 3n * GiB);
        } finally {
            fs.rmSync(small, { recursive: true, force: true });
        }
    });
});
