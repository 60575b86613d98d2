// The built-in CSI driver on real gRPC sockets, in its two roles sharing one data directory: the
// controller (served from this process) and the node plugin (the `volume-controller-manager
// node-plugin` subcommand, a separate process). csi-sanity runs every suite against the pair
// (the Node service needs root to bind-mount); our own gRPC client then checks snapshots,
// restore, clone, expansion and modification down to the bytes on disk.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
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
import { REPO_ROOT, testbinPath } from '../../../scripts/lib/testbin.ts';
import { childEnv, eventually } from '../../support/env.ts';

const run = promisify(execFile);
const GiB = 1n << 30n;
const NODE = 'sanity-node';
const mount = (mode: 'SINGLE_NODE_WRITER' | 'MULTI_NODE_MULTI_WRITER' = 'SINGLE_NODE_WRITER') => ({ mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode } });
const isCode = (code: Code) => (e: unknown) => e instanceof CsiError && e.code === code;
const notRoot = process.getuid?.() !== 0 ? `the node service needs root to bind-mount (running as uid ${process.getuid?.()}); its csi-sanity specs are skipped` : undefined;

/** One spec of a ginkgo JSON report. */
interface SpecReport {
    ContainerHierarchyTexts: string[] | null;
    LeafNodeText: string;
    State: string;
    Failure?: { Message: string };
}

describe('built-in CSI driver over gRPC: controller and node plugin on one data directory', () => {
    let dir: string;
    let data: string;
    let server: Server;
    let client: GrpcCsiClient;
    let endpoint: string;
    let nodeEndpoint: string;
    let nodePlugin: ChildProcess | undefined;
    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-csi-'));
        data = path.join(dir, 'data');
        endpoint = `unix://${path.join(dir, 'csi.sock')}`;
        nodeEndpoint = `unix://${path.join(dir, 'node.sock')}`;
        server = await serveDriver(new BuiltinDriver({ dataDir: data, nodeId: 'node-1', nodeIds: () => ['node-1', 'node-2', NODE], capacityBytes: 100n * GiB }), endpoint);
        client = new GrpcCsiClient(endpoint, 5000);
        if (!notRoot) {
            nodePlugin = spawn(process.execPath, [path.join(REPO_ROOT, 'cmd', 'volume-controller-manager.ts'), 'node-plugin', `--endpoint=${nodeEndpoint}`, `--node-id=${NODE}`, `--data-dir=${data}`], {
                stdio: 'ignore',
                env: childEnv(),
            });
            process.once('exit', () => nodePlugin?.kill('SIGKILL'));
            const probe = new GrpcCsiClient(nodeEndpoint, 2000);
            await eventually('node plugin answers Probe', () => probe.probe().catch(() => false), 20_000);
            probe.close();
        }
    });
    after(async () => {
        client?.close();
        server?.forceShutdown();
        if (nodePlugin && nodePlugin.exitCode === null) {
            const exited = new Promise((r) => nodePlugin?.once('exit', r));
            nodePlugin.kill('SIGTERM');
            await exited;
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it('passes csi-sanity for the whole driver: identity, controller (snapshots, clone, expansion, modification) and node, with no node spec skipped', async () => {
        const report = path.join(dir, 'sanity.json');
        const mutable = path.join(dir, 'mutable.yaml');
        fs.writeFileSync(mutable, 'tier: fast\ndirectoryMode: "0770"\n');
        const args = [
            `--csi.controllerendpoint=${endpoint}`,
            `--csi.endpoint=${notRoot ? endpoint : nodeEndpoint}`,
            `--csi.mountdir=${path.join(dir, 'mnt')}`,
            `--csi.stagingdir=${path.join(dir, 'staging')}`,
            `--csi.testvolumemutableparameters=${mutable}`,
            `--ginkgo.json-report=${report}`,
            '--ginkgo.no-color',
            ...(notRoot ? ['--ginkgo.skip=Node Service'] : []),
        ];
        await run(testbinPath('csi-sanity'), args, { maxBuffer: 64 * 1024 * 1024 }).catch((e: { stdout: string }) => {
            throw new Error(`csi-sanity failed:\n${e.stdout.split('\n').filter((l) => /FAIL|Passed/.test(l)).join('\n')}`);
        });
        const specs = (JSON.parse(fs.readFileSync(report, 'utf8')) as { SpecReports: SpecReport[] }[])[0]?.SpecReports ?? [];
        const name = (s: SpecReport) => [...(s.ContainerHierarchyTexts ?? []), s.LeafNodeText].join(' / ');
        assert.deepEqual(specs.filter((s) => s.State === 'failed').map(name), []);
        const passed = new Set(specs.filter((s) => s.State === 'passed').map(name));
        for (const want of [
            'Controller Service [Controller Server] / CreateVolume / should create volume from an existing source snapshot',
            'Controller Service [Controller Server] / CreateVolume / should create volume from an existing source volume',
            'Controller Service [Controller Server] / CreateVolume / should create volume with a volume attribute class',
            'ListSnapshots [Controller Server] / should return snapshots that match the specified source volume id',
            'DeleteSnapshot [Controller Server] / should return appropriate values (no optional values added)',
            'ExpandVolume [Controller Server] / should work',
            'ModifyVolume [Controller Server] / should modify a volume created with a volume attribute class',
        ]) {
            assert.ok(passed.has(want), `passed: ${want}`);
        }
        if (notRoot) {
            process.stderr.write(`# ${notRoot}\n`);
            return;
        }
        const node = specs.filter((s) => s.ContainerHierarchyTexts?.[0] === 'Node Service');
        assert.deepEqual(node.filter((s) => s.State !== 'passed').map(name), [], 'no node spec skipped');
        assert.ok(node.length >= 20, `${node.length} node specs`);
        for (const want of ['NodeStageVolume', 'NodeGetVolumeStats', 'NodeExpandVolume']) assert.ok(node.some((s) => s.ContainerHierarchyTexts?.[1] === want && s.State === 'passed'), want);
        assert.ok(passed.has('Node Service / should be idempotent'));
        assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), 'no mount left below the test directory');
    });

    it('speaks csi.v1 with our client: identity, capabilities, create (idempotent), publish, list, capacity, delete', async () => {
        assert.equal((await client.getPluginInfo()).name, BUILTIN_DRIVER_NAME);
        assert.equal(await client.probe(), true);
        assert.deepEqual(await client.getPluginCapabilities(), ['CONTROLLER_SERVICE']);
        assert.equal(await client.getPluginVolumeExpansion(), 'ONLINE');
        const caps = await client.controllerGetCapabilities();
        for (const c of ['PUBLISH_UNPUBLISH_VOLUME', 'PUBLISH_READONLY', 'CREATE_DELETE_SNAPSHOT', 'LIST_SNAPSHOTS', 'CLONE_VOLUME', 'EXPAND_VOLUME', 'MODIFY_VOLUME', 'GET_VOLUME', 'VOLUME_CONDITION'] as const) assert.ok(caps.includes(c), c);
        const req = { name: 'pvc-1', capacity_range: { required_bytes: 2n * GiB }, volume_capabilities: [mount()], parameters: { directoryMode: '0770' } };
        const v = await client.createVolume(req);
        assert.equal(v.capacity_bytes, 2n * GiB, 'int64 capacity as bigint');
        assert.equal((await client.createVolume(req)).volume_id, v.volume_id, 'same name, same volume');
        await assert.rejects(client.createVolume({ ...req, capacity_range: { required_bytes: 3n * GiB } }), isCode(Code.ALREADY_EXISTS));
        await assert.rejects(client.createVolume({ ...req, name: 'pvc-2', parameters: { bogus: 'x' } }), (e: CsiError) => e.code === Code.INVALID_ARGUMENT && /"bogus"/.test(e.message));
        await assert.rejects(client.createVolume({ ...req, name: 'pvc-3', capacity_range: { required_bytes: 200n * GiB } }), isCode(Code.RESOURCE_EXHAUSTED));
        await assert.rejects(client.createVolume({ ...req, name: 'pvc-4', volume_capabilities: [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] }), (e: CsiError) => e.code === Code.INVALID_ARGUMENT && /block access type is not supported/.test(e.message));
        await assert.rejects(client.createVolume({ ...req, name: 'pvc-5', volume_capabilities: [{ mount: { mount_flags: ['vers=4'] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] }), (e: CsiError) => e.code === Code.INVALID_ARGUMENT && /"vers=4"/.test(e.message));
        const meta = await client.createVolume({ ...req, name: 'pvc-6', parameters: { 'csi.storage.k8s.io/pvc/name': 'data' } });
        await client.deleteVolume({ volume_id: meta.volume_id });
        const free = (await client.getCapacity({})).available_capacity;
        assert.ok(free <= 98n * GiB, `capacity is accounted: ${free}`);
        const ctx = await client.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'node-1', volume_capability: mount() });
        assert.ok(ctx.path);
        await assert.rejects(client.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'node-1', volume_capability: mount(), readonly: true }), isCode(Code.ALREADY_EXISTS));
        await assert.rejects(client.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'node-2', volume_capability: mount() }), isCode(Code.FAILED_PRECONDITION));
        await assert.rejects(client.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'nowhere', volume_capability: mount() }), isCode(Code.NOT_FOUND));
        const l = await client.listVolumes({});
        const listed = l.entries.find((e) => e.volume.volume_id === v.volume_id);
        assert.deepEqual(listed?.published_node_ids, ['node-1']);
        assert.equal(listed?.volume_condition?.abnormal, false);
        assert.deepEqual((await client.controllerGetVolume({ volume_id: v.volume_id })).published_node_ids, ['node-1']);
        await assert.rejects(client.controllerGetVolume({ volume_id: 'nope' }), isCode(Code.NOT_FOUND));
        await assert.rejects(client.deleteVolume({ volume_id: v.volume_id }), isCode(Code.FAILED_PRECONDITION));
        await client.controllerUnpublishVolume({ volume_id: v.volume_id, node_id: 'node-1' });
        await client.controllerUnpublishVolume({ volume_id: v.volume_id, node_id: 'node-1' });
        await client.deleteVolume({ volume_id: v.volume_id });
        await client.deleteVolume({ volume_id: v.volume_id });
        assert.ok(!(await client.listVolumes({})).entries.some((e) => e.volume.volume_id === v.volume_id));
    });

    it('snapshot, restore and clone copy the data: the restore has the snapshot-time bytes, the clone the current ones', async () => {
        const src = await client.createVolume({ name: 'src', capacity_range: { required_bytes: 2n * GiB }, volume_capabilities: [mount()] });
        const srcDir = src.volume_context?.path as string;
        fs.mkdirSync(path.join(srcDir, 'sub'));
        fs.writeFileSync(path.join(srcDir, 'sub', 'a'), 'before');
        fs.chmodSync(path.join(srcDir, 'sub', 'a'), 0o640);
        const snap = await client.createSnapshot({ name: 'snapshot-1', source_volume_id: src.volume_id });
        assert.equal(snap.ready_to_use, true);
        assert.equal(snap.size_bytes, 2n * GiB, 'the snapshot is as large as its source');
        assert.ok(snap.creation_time && snap.creation_time.seconds > 0n);
        assert.deepEqual(await client.createSnapshot({ name: 'snapshot-1', source_volume_id: src.volume_id }), snap, 'idempotent by name');
        await assert.rejects(client.createSnapshot({ name: 'snapshot-1', source_volume_id: 'other' }), isCode(Code.ALREADY_EXISTS));
        await assert.rejects(client.createSnapshot({ name: 'snapshot-2', source_volume_id: 'nope' }), isCode(Code.NOT_FOUND));
        await assert.rejects(client.createSnapshot({ name: 'snapshot-2', source_volume_id: src.volume_id, parameters: { x: 'y' } }), isCode(Code.INVALID_ARGUMENT));
        fs.writeFileSync(path.join(srcDir, 'sub', 'a'), 'after');

        const restored = await client.createVolume({ name: 'restored', volume_capabilities: [mount()], volume_content_source: { snapshot: { snapshot_id: snap.snapshot_id } } });
        assert.deepEqual(restored.content_source, { snapshot: { snapshot_id: snap.snapshot_id } });
        assert.equal(restored.capacity_bytes, 2n * GiB, 'no size given: the snapshot size');
        const rfile = path.join(restored.volume_context?.path as string, 'sub', 'a');
        assert.equal(fs.readFileSync(rfile, 'utf8'), 'before');
        assert.equal(fs.statSync(rfile).mode & 0o777, 0o640, 'modes are kept');
        const cloned = await client.createVolume({ name: 'cloned', capacity_range: { required_bytes: 3n * GiB }, volume_capabilities: [mount()], volume_content_source: { volume: { volume_id: src.volume_id } } });
        assert.deepEqual(cloned.content_source, { volume: { volume_id: src.volume_id } });
        assert.equal(fs.readFileSync(path.join(cloned.volume_context?.path as string, 'sub', 'a'), 'utf8'), 'after');
        assert.equal((await client.createVolume({ name: 'cloned', capacity_range: { required_bytes: 3n * GiB }, volume_capabilities: [mount()], volume_content_source: { volume: { volume_id: src.volume_id } } })).volume_id, cloned.volume_id);
        await assert.rejects(client.createVolume({ name: 'cloned', capacity_range: { required_bytes: 3n * GiB }, volume_capabilities: [mount()] }), isCode(Code.ALREADY_EXISTS), 'same name without the source');
        await assert.rejects(client.createVolume({ name: 'small', capacity_range: { required_bytes: GiB }, volume_capabilities: [mount()], volume_content_source: { volume: { volume_id: src.volume_id } } }), isCode(Code.OUT_OF_RANGE));
        await assert.rejects(client.createVolume({ name: 'lost', volume_capabilities: [mount()], volume_content_source: { snapshot: { snapshot_id: 'snap-nope' } } }), isCode(Code.NOT_FOUND));

        // Snapshots are independent copies: they outlive their volume and are listed by source.
        await client.deleteVolume({ volume_id: src.volume_id });
        assert.deepEqual((await client.listSnapshots({ source_volume_id: src.volume_id })).entries.map((s) => s.snapshot_id), [snap.snapshot_id]);
        assert.deepEqual((await client.listSnapshots({ snapshot_id: 'snap-nope' })).entries, []);
        await assert.rejects(client.listSnapshots({ starting_token: 'x' }), isCode(Code.ABORTED));
        const again = await client.createVolume({ name: 'restored-2', volume_capabilities: [mount()], volume_content_source: { snapshot: { snapshot_id: snap.snapshot_id } } });
        assert.equal(fs.readFileSync(path.join(again.volume_context?.path as string, 'sub', 'a'), 'utf8'), 'before');
        await client.deleteSnapshot({ snapshot_id: snap.snapshot_id });
        await client.deleteSnapshot({ snapshot_id: snap.snapshot_id });
        for (const v of [restored, cloned, again]) await client.deleteVolume({ volume_id: v.volume_id });
        assert.deepEqual(fs.readdirSync(path.join(data, 'snapshots')), [], 'no snapshot data left');
        assert.deepEqual(fs.readdirSync(path.join(data, 'tmp')), [], 'no copy left in tmp/');
    });

    it('expands with capacity accounting (online, no node step) and modifies tier and directory mode', async () => {
        const v = await client.createVolume({ name: 'grow', capacity_range: { required_bytes: GiB }, volume_capabilities: [mount()], mutable_parameters: { tier: 'standard' } });
        assert.equal(v.volume_context?.tier, 'standard');
        await client.controllerPublishVolume({ volume_id: v.volume_id, node_id: 'node-1', volume_capability: mount() });
        assert.deepEqual(await client.controllerExpandVolume({ volume_id: v.volume_id, capacity_range: { required_bytes: 3n * GiB } }), { capacity_bytes: 3n * GiB, node_expansion_required: false });
        assert.equal((await client.controllerExpandVolume({ volume_id: v.volume_id, capacity_range: { required_bytes: 2n * GiB } })).capacity_bytes, 3n * GiB, 'never shrinks');
        const before = (await client.getCapacity({})).available_capacity;
        await assert.rejects(client.controllerExpandVolume({ volume_id: v.volume_id, capacity_range: { required_bytes: before + 4n * GiB } }), isCode(Code.RESOURCE_EXHAUSTED));
        await assert.rejects(client.controllerExpandVolume({ volume_id: 'nope', capacity_range: { required_bytes: GiB } }), isCode(Code.NOT_FOUND));

        await client.controllerModifyVolume({ volume_id: v.volume_id, mutable_parameters: { directoryMode: '0700' } });
        assert.equal(fs.statSync(v.volume_context?.path as string).mode & 0o777, 0o700, 'the mode is applied at once');
        assert.equal((await client.controllerGetVolume({ volume_id: v.volume_id })).volume.volume_context?.tier, 'standard', 'keys not given keep their value');
        await client.controllerModifyVolume({ volume_id: v.volume_id, mutable_parameters: { tier: 'fast' } });
        assert.equal((await client.controllerGetVolume({ volume_id: v.volume_id })).volume.volume_context?.tier, 'fast');
        await assert.rejects(client.controllerModifyVolume({ volume_id: v.volume_id, mutable_parameters: { tier: 'slow', iops: '100' } }), (e: CsiError) => e.code === Code.INVALID_ARGUMENT && /"iops"/.test(e.message));
        await assert.rejects(client.controllerModifyVolume({ volume_id: v.volume_id, mutable_parameters: { tier: 'Not A Name' } }), isCode(Code.INVALID_ARGUMENT));
        assert.equal((await client.controllerGetVolume({ volume_id: v.volume_id })).volume.volume_context?.tier, 'fast', 'a refused modification changes nothing');
        await assert.rejects(client.controllerModifyVolume({ volume_id: 'nope', mutable_parameters: { tier: 'fast' } }), isCode(Code.NOT_FOUND));
        await client.controllerUnpublishVolume({ volume_id: v.volume_id, node_id: 'node-1' });
        await client.deleteVolume({ volume_id: v.volume_id });
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
        await assert.rejects(client.listVolumes({ starting_token: 'garbage' }), isCode(Code.ABORTED));
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
        const d2 = new BuiltinDriver({ dataDir: data });
        assert.equal(d2.volumeCount(), (await client.listVolumes({})).entries.length);
        assert.ok(d2.volumeCount() >= 5);
    });
});
