// The built-in driver's node plugin with real mounts (root only): staging and publishing are bind
// mounts of the volume's directory from the shared data directory, read-only is enforced by the
// kernel, every call is idempotent, the mount table (not a state file) says what is mounted, and
// the CSI error codes for missing volumes and bad paths are the spec's.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status as Code } from '@grpc/grpc-js';
import { BuiltinDriver, BuiltinNode } from '../../../src/csi/builtin.ts';
import { CsiError } from '../../../src/csi/errors.ts';
import type { AccessModeName, VolumeCapability } from '../../../src/csi/types.ts';
import { mountAt, parseMountinfo } from '../../../src/csi/builtin/mounts.ts';

const skip = process.getuid?.() !== 0 ? `the node plugin needs root to bind-mount (running as uid ${process.getuid?.()})` : undefined;
const MiB = 1n << 20n;
const KEY = 'topology.dir.csi.volume-controller-manager.io/node';
const cap = (mode: AccessModeName = 'SINGLE_NODE_WRITER', mount_flags: string[] = []): VolumeCapability => ({ mount: { fs_type: 'ext4', mount_flags }, access_mode: { mode } });
const isCode = (code: Code, re?: RegExp) => (e: unknown) => e instanceof CsiError && e.code === code && (!re || re.test(e.message));

describe('built-in node plugin: real bind mounts', { skip }, () => {
    let dir = '';
    let ctrl: BuiltinDriver;
    let node: BuiltinNode;
    /** A kubelet-shaped staging path and target path for volume name. */
    const paths = (name: string, pod = 'pod-1') => ({
        staging: path.join(dir, 'kubelet', 'plugins', 'kubernetes.io', 'csi', 'dir', name, 'globalmount'),
        target: path.join(dir, 'kubelet', 'pods', pod, 'volumes', 'kubernetes.io~csi', name, 'mount'),
    });
    /** A volume published to n1, staged and published at its paths. */
    const ready = async (name: string, o: { readonly?: boolean; mode?: AccessModeName } = {}) => {
        const v = await ctrl.createVolume({ name, capacity_range: { required_bytes: MiB }, volume_capabilities: [cap(o.mode)] });
        await ctrl.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'n1', volume_capability: cap(o.mode), readonly: o.readonly });
        const p = paths(name);
        fs.mkdirSync(p.staging, { recursive: true });
        fs.mkdirSync(path.dirname(p.target), { recursive: true });
        await node.nodeStageVolume({ volume_id: v.volume_id, staging_target_path: p.staging, volume_capability: cap(o.mode) });
        await node.nodePublishVolume({ volume_id: v.volume_id, staging_target_path: p.staging, target_path: p.target, volume_capability: cap(o.mode), readonly: o.readonly });
        return { v, ...p };
    };
    const teardown = async (id: string, p: { staging: string; target: string }) => {
        await node.nodeUnpublishVolume({ volume_id: id, target_path: p.target });
        await node.nodeUnstageVolume({ volume_id: id, staging_target_path: p.staging });
        await ctrl.controllerUnpublishVolume({ volume_id: id, node_id: 'n1' });
        await ctrl.deleteVolume({ volume_id: id });
    };

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-node-'));
        ctrl = new BuiltinDriver({ dataDir: path.join(dir, 'data'), nodeIds: () => ['n1', 'n2'], topologyKey: KEY });
        node = new BuiltinNode({ dataDir: path.join(dir, 'data'), nodeId: 'n1', topologyKey: KEY });
    });
    after(() => {
        if (!dir) return;
        // Whatever a failed test left mounted goes before the directory does.
        for (const m of parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).reverse()) {
            if (m.mountPoint.startsWith(`${dir}/`)) execFileSync('umount', [m.mountPoint]);
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it('reports its node ID, topology segment and capabilities', async () => {
        assert.deepEqual(await node.nodeGetInfo(), { node_id: 'n1', max_volumes_per_node: 0n, accessible_topology: { segments: { [KEY]: 'n1' } } });
        assert.deepEqual(await node.nodeGetCapabilities(), ['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION']);
        assert.deepEqual(await node.getPluginCapabilities(), ['CONTROLLER_SERVICE', 'VOLUME_ACCESSIBILITY_CONSTRAINTS'], 'the plugin as a whole, as its controller reports it');
        assert.equal(await node.probe(), true);
    });

    it('stages and publishes by bind mounts: a write at the target lands in the volume; idempotent; incompatible calls are ALREADY_EXISTS', async () => {
        const { v, staging, target } = await ready('rw');
        fs.writeFileSync(path.join(target, 'hello'), 'world');
        assert.equal(fs.readFileSync(path.join(v.volume_context?.path as string, 'hello'), 'utf8'), 'world');
        assert.equal(mountAt(target)?.options.includes('rw'), true);
        // The same calls again: OK, nothing stacked.
        await node.nodeStageVolume({ volume_id: v.volume_id, staging_target_path: staging, volume_capability: cap() });
        await node.nodePublishVolume({ volume_id: v.volume_id, staging_target_path: staging, target_path: target, volume_capability: cap() });
        const table = fs.readFileSync('/proc/self/mountinfo', 'utf8');
        assert.equal(table.split('\n').filter((l) => l.includes(` ${target} `)).length, 1, 'one mount at the target');
        await assert.rejects(node.nodePublishVolume({ volume_id: v.volume_id, staging_target_path: staging, target_path: target, volume_capability: cap(), readonly: true }), isCode(Code.ALREADY_EXISTS));
        // A second pod on the same node: another target, the same data.
        const second = paths('rw', 'pod-2').target;
        fs.mkdirSync(path.dirname(second), { recursive: true });
        await node.nodePublishVolume({ volume_id: v.volume_id, staging_target_path: staging, target_path: second, volume_capability: cap() });
        assert.equal(fs.readFileSync(path.join(second, 'hello'), 'utf8'), 'world');
        await node.nodeUnpublishVolume({ volume_id: v.volume_id, target_path: second });
        await teardown(v.volume_id, { staging, target });
        assert.equal(mountAt(target), undefined, 'unmounted');
        assert.ok(!fs.existsSync(target), 'the target directory is removed');
        assert.equal(mountAt(staging), undefined);
        // Unpublish and unstage again: nothing to do, OK.
        await node.nodeUnpublishVolume({ volume_id: v.volume_id, target_path: target });
        await node.nodeUnstageVolume({ volume_id: v.volume_id, staging_target_path: staging });
    });

    it('read-only is enforced by the kernel: a read-only publish, and a volume published read-only to the node', async () => {
        const a = await ready('ro-pod', { readonly: true });
        assert.throws(() => fs.writeFileSync(path.join(a.target, 'x'), 'y'), (e: NodeJS.ErrnoException) => e.code === 'EROFS');
        await teardown(a.v.volume_id, a);

        // ControllerPublish readonly: the node stages read-only and refuses a read-write publish.
        const v = await ctrl.createVolume({ name: 'ro-node', capacity_range: { required_bytes: MiB }, volume_capabilities: [cap()] });
        await ctrl.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'n1', volume_capability: cap(), readonly: true });
        const p = paths('ro-node');
        fs.mkdirSync(p.staging, { recursive: true });
        fs.mkdirSync(path.dirname(p.target), { recursive: true });
        await node.nodeStageVolume({ volume_id: v.volume_id, staging_target_path: p.staging, volume_capability: cap() });
        assert.equal(mountAt(p.staging)?.options.includes('ro'), true);
        await assert.rejects(node.nodePublishVolume({ volume_id: v.volume_id, staging_target_path: p.staging, target_path: p.target, volume_capability: cap() }), isCode(Code.FAILED_PRECONDITION, /read-only/));
        await node.nodePublishVolume({ volume_id: v.volume_id, staging_target_path: p.staging, target_path: p.target, volume_capability: cap(), readonly: true });
        assert.throws(() => fs.writeFileSync(path.join(p.target, 'x'), 'y'), (e: NodeJS.ErrnoException) => e.code === 'EROFS');
        await teardown(v.volume_id, p);

        // A reader-only access mode and bind-mount flags.
        const r = await ready('reader', { mode: 'MULTI_NODE_READER_ONLY' });
        assert.equal(mountAt(r.target)?.options.includes('ro'), true);
        await teardown(r.v.volume_id, r);
        const f = await ctrl.createVolume({ name: 'flags', capacity_range: { required_bytes: MiB }, volume_capabilities: [cap()] });
        await ctrl.controllerPublishVolume({ volume_id: f.volume_id, node_id: 'n1', volume_capability: cap() });
        const fp = paths('flags');
        fs.mkdirSync(fp.staging, { recursive: true });
        fs.mkdirSync(path.dirname(fp.target), { recursive: true });
        await node.nodeStageVolume({ volume_id: f.volume_id, staging_target_path: fp.staging, volume_capability: cap() });
        await node.nodePublishVolume({ volume_id: f.volume_id, staging_target_path: fp.staging, target_path: fp.target, volume_capability: cap('SINGLE_NODE_WRITER', ['noexec', 'nosuid']) });
        const opts = mountAt(fp.target)?.options ?? [];
        assert.ok(opts.includes('noexec') && opts.includes('nosuid') && opts.includes('rw'), opts.join(','));
        await teardown(f.volume_id, fp);
    });

    it('answers bad requests with the spec codes', async () => {
        const v = await ctrl.createVolume({ name: 'bad', capacity_range: { required_bytes: MiB }, volume_capabilities: [cap()] });
        const p = paths('bad');
        fs.mkdirSync(p.staging, { recursive: true });
        const stage = (o: Partial<Parameters<BuiltinNode['nodeStageVolume']>[0]> = {}) => node.nodeStageVolume({ volume_id: v.volume_id, staging_target_path: p.staging, volume_capability: cap(), ...o });
        await assert.rejects(stage(), isCode(Code.FAILED_PRECONDITION, /not published to node n1/), 'not ControllerPublished to this node');
        await ctrl.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'n1', volume_capability: cap() });
        await assert.rejects(stage({ volume_id: 'f00' }), isCode(Code.NOT_FOUND));
        await assert.rejects(stage({ staging_target_path: 'relative/path' }), isCode(Code.INVALID_ARGUMENT));
        await assert.rejects(stage({ volume_capability: { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } }), isCode(Code.INVALID_ARGUMENT, /block/));
        const publish = (o: Partial<Parameters<BuiltinNode['nodePublishVolume']>[0]> = {}) =>
            node.nodePublishVolume({ volume_id: v.volume_id, staging_target_path: p.staging, target_path: p.target, volume_capability: cap(), ...o });
        await assert.rejects(publish(), isCode(Code.FAILED_PRECONDITION, /not staged/), 'publish before stage');
        await stage();
        await assert.rejects(publish({ staging_target_path: '' }), isCode(Code.FAILED_PRECONDITION, /staging target path not set/));
        await assert.rejects(publish(), isCode(Code.FAILED_PRECONDITION, /parent directory/), 'the CO did not make the parent');
        fs.mkdirSync(path.dirname(p.target), { recursive: true });
        await assert.rejects(publish({ target_path: 'mount' }), isCode(Code.INVALID_ARGUMENT));
        await assert.rejects(publish({ volume_capability: cap('SINGLE_NODE_WRITER', ['discard']) }), isCode(Code.INVALID_ARGUMENT, /"discard"/));
        fs.writeFileSync(p.target, '');
        await assert.rejects(publish(), isCode(Code.FAILED_PRECONDITION, /not a directory/));
        fs.rmSync(p.target);
        await publish();
        await assert.rejects(node.nodeGetVolumeStats({ volume_id: v.volume_id, volume_path: 'some/path' }), isCode(Code.NOT_FOUND));
        await assert.rejects(node.nodeGetVolumeStats({ volume_id: v.volume_id, volume_path: dir }), isCode(Code.NOT_FOUND), 'a path that is not the volume');
        await assert.rejects(node.nodeGetVolumeStats({ volume_id: 'f00', volume_path: p.target }), isCode(Code.NOT_FOUND));
        await assert.rejects(node.nodeGetVolumeStats({ volume_id: v.volume_id, volume_path: '' }), isCode(Code.INVALID_ARGUMENT));
        await assert.rejects(node.nodeUnpublishVolume({ volume_id: v.volume_id, target_path: '' }), isCode(Code.INVALID_ARGUMENT));
        await teardown(v.volume_id, p);
    });

    it('reports bytes and inodes used within the capacity, and an abnormal condition above it', async () => {
        const { v, staging, target } = await ready('stats');
        fs.writeFileSync(path.join(target, 'half'), Buffer.alloc(512 * 1024, 1));
        fs.mkdirSync(path.join(target, 'd'));
        fs.writeFileSync(path.join(target, 'd', 'x'), 'x');
        fs.linkSync(path.join(target, 'half'), path.join(target, 'd', 'link'));
        const s = await node.nodeGetVolumeStats({ volume_id: v.volume_id, volume_path: target });
        const bytes = s.usage.find((u) => u.unit === 'BYTES');
        const inodes = s.usage.find((u) => u.unit === 'INODES');
        assert.equal(bytes?.total, MiB, 'total is the capacity');
        assert.ok(bytes && bytes.used >= 512n * 1024n && bytes.used < MiB, `used ${bytes?.used}: the hard link counted once`);
        assert.equal(bytes.available, MiB - bytes.used, 'the rest of the capacity');
        assert.equal(inodes?.used, 4n, 'the directory, half, d, d/x');
        assert.ok(inodes && inodes.available > 0n && inodes.total === inodes.used + inodes.available);
        assert.equal(s.volume_condition?.abnormal, false);
        assert.deepEqual(await node.nodeGetVolumeStats({ volume_id: v.volume_id, volume_path: staging }).then((x) => x.usage[0]?.used), bytes.used, 'the staging path works too');
        fs.writeFileSync(path.join(target, 'big'), Buffer.alloc(Number(MiB), 1));
        const over = await node.nodeGetVolumeStats({ volume_id: v.volume_id, volume_path: target });
        assert.equal(over.usage[0]?.available, 0n);
        assert.equal(over.volume_condition?.abnormal, true);
        assert.match(over.volume_condition?.message ?? '', /more than its capacity of 1048576 bytes/);

        // NodeExpandVolume: the controller's record is the size; the node reports it.
        await ctrl.controllerExpandVolume({ volume_id: v.volume_id, capacity_range: { required_bytes: 4n * MiB } });
        assert.deepEqual(await node.nodeExpandVolume({ volume_id: v.volume_id, volume_path: target, capacity_range: { required_bytes: 4n * MiB } }), { capacity_bytes: 4n * MiB });
        assert.equal((await node.nodeGetVolumeStats({ volume_id: v.volume_id, volume_path: target })).usage[0]?.total, 4n * MiB);
        await assert.rejects(node.nodeExpandVolume({ volume_id: v.volume_id, volume_path: target, capacity_range: { required_bytes: 8n * MiB } }), isCode(Code.OUT_OF_RANGE, /ControllerExpandVolume must record/));
        await assert.rejects(node.nodeExpandVolume({ volume_id: 'f00', volume_path: target }), isCode(Code.NOT_FOUND));
        await teardown(v.volume_id, { staging, target });
        assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), 'nothing mounted below the test directory');
    });
});
