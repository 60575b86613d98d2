// The attacher and a CSI driver that comes up after it (a driver container starting beside us):
// while the driver is starting the VolumeAttachment is requeued quietly, with no attachError
// saying "not probed yet"; once the driver answers, the volume is attached.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { volumeIdFor } from '../../../src/csi/builtin.ts';
import { eventually, useCluster } from '../../support/env.ts';
import type { ManagerProcess, TestCluster } from '../../support/env.ts';
import { pvObject, startManager, stopManager } from '../../support/volumes.ts';
import { DRIVER, startDriver } from '../provisioner/support.ts';
import type { DriverProcess } from '../provisioner/support.ts';

describe('attacher with a driver that starts after it', () => {
    let env: TestCluster;
    let mgr: ManagerProcess;
    let drv: DriverProcess | undefined;
    let sockDir: string;
    before(async () => {
        env = await useCluster();
        sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-csi-late-'));
        await env.clients.core.createNode({ body: { metadata: { name: 'n1' } } });
        await env.clients.storage.createCSINode({ body: { metadata: { name: 'n1' }, spec: { drivers: [{ name: DRIVER, nodeID: 'id-n1' }] } } });
    });
    after(async () => {
        if (mgr) await stopManager(mgr);
        await drv?.stop();
        await env.stop();
        fs.rmSync(sockDir, { recursive: true, force: true });
    });

    it('waits quietly (no attachError) while the driver starts, then attaches', async () => {
        const endpoint = `unix://${path.join(sockDir, 'csi.sock')}`;
        mgr = await startManager(env, 'attacher', [`--csi-drivers=${DRIVER}=${endpoint}`, '--log-level=debug']);
        // The built-in driver's volume IDs derive from the name: the PV can name it before it exists.
        const handle = volumeIdFor('late-vol');
        await env.clients.core.createPersistentVolume({ body: pvObject('late-pv', { csi: { driver: DRIVER, volumeHandle: handle } }) });
        await env.clients.storage.createVolumeAttachment({ body: { metadata: { name: 'va-late' }, spec: { attacher: DRIVER, nodeName: 'n1', source: { persistentVolumeName: 'late-pv' } } } });
        const va = () => env.clients.storage.readVolumeAttachment({ name: 'va-late' });
        // The attacher has handled the VolumeAttachment while the driver was starting.
        await eventually('the VolumeAttachment handled while the driver starts', async () => mgr.find('Waiting for the CSI driver to start') ?? (await va()).status?.attachError);
        assert.equal((await va()).status?.attachError, undefined, 'no attach error while the driver starts');
        drv = await startDriver(['--known-nodes=id-n1'], { endpoint });
        await drv.client.createVolume({ name: 'late-vol', volume_capabilities: [{ mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] });
        const attached = await eventually('attached', async () => ((await va()).status?.attached ? va() : undefined), 30_000);
        assert.equal(attached.status?.attachError, undefined);
        assert.deepEqual((await drv.client.listVolumes({})).entries[0]?.published_node_ids, ['id-n1']);
    });
});
