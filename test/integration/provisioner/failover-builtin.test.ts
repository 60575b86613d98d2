// Two replicas share the built-in driver's directory; the leader is SIGKILLed right after a
// CreateVolume returned (mid-provisioning, before the PV exists). The standby takes over and must
// find the volumes the dead leader created (on disk), not create second ones: after the claims are
// Bound there is exactly one backend volume per PV, and after they are deleted, none.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BuiltinDriver } from '../../../src/csi/builtin.ts';
import { ManagerProcess, childEnv, eventually, managerArgs, useCluster } from '../../support/env.ts';
import type { TestCluster } from '../../support/env.ts';
import { Volumes, stopManager } from '../../support/volumes.ts';
import { PROVISIONING_CONTROLLERS, storageClass as sc } from './support.ts';

const CLAIMS = 10;

describe('built-in driver shared by two replicas: leader killed mid-provisioning', () => {
    let env: TestCluster;
    let v: Volumes;
    let dataDir: string;
    let standby: ManagerProcess | undefined;
    before(async () => {
        env = await useCluster();
        v = new Volumes(env.clients);
        dataDir = path.join(env.dir, 'builtin');
        fs.mkdirSync(dataDir);
        await env.clients.storage.createStorageClass({ body: sc('dir') });
    });
    after(async () => {
        if (standby) await stopManager(standby);
        await env.stop();
    });

    it('no duplicate and no leaked volume: ListVolumes matches the PVs, then is empty', async () => {
        const args = managerArgs(env.cp.kubeconfig, [`--controllers=${PROVISIONING_CONTROLLERS}`, `--builtin-driver-dir=${dataDir}`, '--leader-elect-resource-name=vcm-shared-builtin']);
        const leader = new ManagerProcess(args, childEnv({ VCM_FAULT: 'provisioner:after-create' }));
        await leader.waitForLog('Caches synced; starting controllers');
        standby = new ManagerProcess(args);
        await standby.waitForLog('Attempting to acquire leader lease');
        await Promise.all(Array.from({ length: CLAIMS }, (_, i) => v.createPVC(`fo-${i}`, { cls: 'dir' })));
        await leader.exited;
        assert.equal(leader.child.signalCode, 'SIGKILL', 'the leader died right after a CreateVolume');
        const driver = new BuiltinDriver({ dataDir });
        const createdByLeader = (await driver.listVolumes({})).entries.map((e) => e.volume.volume_id);
        assert.ok(createdByLeader.length >= 1, 'the dead leader left at least one volume without a PV');

        await standby.waitForLog('Successfully acquired lease', 20_000);
        for (let i = 0; i < CLAIMS; i++) await v.waitClaimPhase(`fo-${i}`, 'Bound', 30_000);
        const handles = (await env.clients.core.listPersistentVolume()).items.map((p) => p.spec?.csi?.volumeHandle ?? '').sort();
        const volumes = (await driver.listVolumes({})).entries.map((e) => e.volume.volume_id).sort();
        assert.equal(handles.length, CLAIMS);
        assert.deepEqual(volumes, handles, 'exactly one backend volume per PV: no duplicate, no leak');
        for (const id of createdByLeader) assert.ok(handles.includes(id), `the standby used the volume ${id} the leader created`);

        await Promise.all(Array.from({ length: CLAIMS }, (_, i) => env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: `fo-${i}`, namespace: 'default' })));
        await eventually('every PV deleted', async () => (await env.clients.core.listPersistentVolume()).items.length === 0, 60_000);
        assert.equal(driver.volumeCount(), 0, 'no backend volume left');
        assert.deepEqual(fs.readdirSync(path.join(dataDir, 'volumes')), [], 'no volume directory left');
    });
});
