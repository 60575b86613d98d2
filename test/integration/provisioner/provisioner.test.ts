// The external-provisioner against a real API server and the built-in CSI driver on a socket:
// bulk provisioning, the PV it writes, deletion, secrets, driver errors, attached volumes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, useCluster } from '../../support/env.ts';
import type { ManagerProcess, TestCluster } from '../../support/env.ts';
import { Volumes, startManager, stopManager, withManager } from '../../support/volumes.ts';
import { DRIVER, PROVISIONING_CONTROLLERS, storageClass as sc, startDriver, withDriver } from './support.ts';
import type { DriverProcess } from './support.ts';

describe('provisioner with the built-in driver on a socket', () => {
    const ctx = withDriver({ driverArgs: ['--capacity=500Gi'] });
    before(async () => {
        await ctx.env.clients.storage.createStorageClass({ body: sc('dir', { mountOptions: ['noatime'], parameters: { directoryMode: '0770', 'csi.storage.k8s.io/fstype': 'xfs' } }) });
    });

    it('provisions 20 claims → 20 Bound PVs, each written as external-provisioner writes it', async () => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => ctx.v.createPVC(`d${i}`, { cls: 'dir', size: `${i + 1}Gi` })));
        for (let i = 0; i < 20; i++) await ctx.v.waitClaimPhase(`d${i}`, 'Bound', 30_000);
        assert.equal(await ctx.drv.volumeCount(), 20);
        const claim = await ctx.v.pvc('d4');
        const pv = await ctx.v.pv(claim.spec?.volumeName ?? '');
        assert.equal(pv.metadata?.name, `pvc-${claim.metadata?.uid}`);
        assert.equal(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'], DRIVER);
        assert.equal(pv.metadata?.annotations?.['volume.kubernetes.io/provisioner-deletion-secret-name'], '');
        assert.ok(pv.metadata?.finalizers?.includes('external-provisioner.volume.kubernetes.io/finalizer'));
        assert.equal(pv.spec?.csi?.driver, DRIVER);
        assert.equal(pv.spec?.csi?.fsType, 'xfs');
        assert.ok(pv.spec?.csi?.volumeHandle);
        assert.ok(pv.spec?.csi?.volumeAttributes?.['storage.kubernetes.io/csiProvisionerIdentity']);
        assert.equal(pv.spec?.capacity?.storage, '5Gi');
        assert.deepEqual(pv.spec?.mountOptions, ['noatime']);
        assert.equal(pv.spec?.persistentVolumeReclaimPolicy, 'Delete');
        assert.equal(pv.spec?.storageClassName, 'dir');
        assert.equal(pv.spec?.claimRef?.uid, claim.metadata?.uid);
        await eventually('in-flight record removed', async () => !(await ctx.v.pvc('d4')).metadata?.finalizers?.includes('volume-controller-manager.io/provisioning-in-progress'));
        // Events are written asynchronously: wait for each instead of reading once.
        await ctx.v.waitEvent('PersistentVolumeClaim', 'd4', 'Provisioning');
        const ok = await ctx.v.waitEvent('PersistentVolumeClaim', 'd4', 'ProvisioningSucceeded');
        assert.equal(ok?.message, `Successfully provisioned volume ${pv.metadata?.name}`);
        assert.match(ok?.source?.component ?? '', new RegExp(`^${DRIVER.replaceAll('.', '\\.')}_`));
    });

    it('deleting the claims deletes the PVs and every backend volume', async () => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => ctx.env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: `d${i}`, namespace: 'default' })));
        await eventually('no PVs left', async () => (await ctx.env.clients.core.listPersistentVolume()).items.length === 0, 60_000);
        assert.equal(await ctx.drv.volumeCount(), 0);
    });

    it('templates secrets: reads the provisioner secret, records the others as PV references', async () => {
        await ctx.env.clients.storage.createStorageClass({
            body: sc('secret', {
                parameters: {
                    'csi.storage.k8s.io/provisioner-secret-name': '${pvc.name}-creds',
                    'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.namespace}',
                    'csi.storage.k8s.io/controller-publish-secret-name': "${pvc.annotations['team']}-publish",
                    'csi.storage.k8s.io/controller-publish-secret-namespace': 'default',
                },
            }),
        });
        await ctx.v.createPVC('s1', { cls: 'secret', annotations: { team: 'blue' } });
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 's1', 'ProvisioningFailed');
        assert.equal(ev.message, 'error getting secret s1-creds in namespace default: secrets "s1-creds" not found');
        await ctx.env.clients.core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 's1-creds' }, stringData: { token: 'sekrit' } } });
        const bound = await ctx.v.waitClaimPhase('s1', 'Bound', 30_000);
        const pv = await ctx.v.pv(bound.spec?.volumeName ?? '');
        assert.deepEqual({ ...pv.spec?.csi?.controllerPublishSecretRef }, { name: 'blue-publish', namespace: 'default' });
        assert.equal(pv.metadata?.annotations?.['volume.kubernetes.io/provisioner-deletion-secret-name'], 's1-creds');
        assert.ok(!ctx.mgr.raw.some((l) => l.includes('sekrit')), 'secret values never reach a log');
    });

    it('explains driver errors: a parameter the driver rejects', async () => {
        await ctx.env.clients.storage.createStorageClass({ body: sc('bad-param', { parameters: { bogus: 'x' } }) });
        await ctx.v.createPVC('b1', { cls: 'bad-param' });
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 'b1', 'ProvisioningFailed');
        assert.match(ev.message ?? '', /^Volume provisioning failed with infeasible error\. Retries will be delayed\. rpc error: code = InvalidArgument desc = invalid parameter "bogus"/);
        assert.equal(await ctx.drv.volumeCount(), 1, 'only s1 exists');
        // A final error leaves no in-flight record.
        await eventually('no in-flight record after a final error', async () => !(await ctx.v.pvc('b1')).metadata?.finalizers?.includes('volume-controller-manager.io/provisioning-in-progress'));
    });

    it('refuses to delete a volume while a VolumeAttachment names it', async () => {
        const claim = await ctx.v.pvc('s1');
        const pvName = claim.spec?.volumeName ?? '';
        await ctx.env.clients.storage.createVolumeAttachment({ body: { metadata: { name: 'va-s1' }, spec: { attacher: DRIVER, nodeName: 'node-1', source: { persistentVolumeName: pvName } } } });
        await ctx.env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: 's1', namespace: 'default' });
        const ev = await ctx.v.waitEvent('PersistentVolume', pvName, 'VolumeFailedDelete');
        assert.equal(ev.message, `persistentvolume ${pvName} is still attached to node node-1`);
        assert.ok(await ctx.v.pvExists(pvName));
        await ctx.env.clients.storage.deleteVolumeAttachment({ name: 'va-s1' });
        await eventually('PV deleted after detach', async () => !(await ctx.v.pvExists(pvName)), 30_000);
        assert.equal(await ctx.drv.volumeCount(), 0);
    });
});

describe('provisioner and a driver that restarts', () => {
    const ctx = withDriver();
    before(async () => {
        await ctx.env.clients.storage.createStorageClass({ body: sc('dir') });
    });

    it('reconnects after the driver process is killed and restarted on the same socket', async () => {
        await ctx.v.createPVC('before', { cls: 'dir' });
        await ctx.v.waitClaimPhase('before', 'Bound', 30_000);
        await ctx.drv.restart();
        await ctx.v.createPVC('after', { cls: 'dir' });
        await ctx.v.waitClaimPhase('after', 'Bound', 30_000);
        assert.equal(await ctx.drv.volumeCount(), 2);
    });
});

describe('provisioner with a driver that is not running', () => {
    const ctx = withManager(PROVISIONING_CONTROLLERS, [`--csi-drivers=${DRIVER}=unix:///nonexistent/vcm.sock`, '--retry-interval-start=200ms', '--retry-interval-max=1s', '--timeout=2s']);
    before(async () => {
        await ctx.env.clients.storage.createStorageClass({ body: sc('dir') });
    });

    it('says the driver is not answering Probe', async () => {
        await ctx.v.createPVC('waits', { cls: 'dir' });
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 'waits', 'ProvisioningFailed');
        assert.match(ev.message ?? '', /CSI driver dir\.csi\.volume-controller-manager\.io at unix:\/\/\/nonexistent\/vcm\.sock is not answering Probe/);
        assert.doesNotMatch(ev.message ?? '', /(:|Resolution note:)\s*$/, 'no empty tail');
        assert.equal((await ctx.v.pvc('waits')).status?.phase, 'Pending');
    });
});

describe('provisioner with a driver that starts after it', () => {
    let env: TestCluster;
    let v: Volumes;
    let mgr: ManagerProcess;
    let drv: DriverProcess | undefined;
    let sockDir: string;
    before(async () => {
        env = await useCluster();
        v = new Volumes(env.clients);
        sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-csi-late-'));
    });
    after(async () => {
        if (mgr) await stopManager(mgr);
        await drv?.stop();
        await env.stop();
        fs.rmSync(sockDir, { recursive: true, force: true });
    });

    it('waits quietly while the driver starts: no ProvisioningFailed ("not probed yet"), the claim is Bound once the driver answers', async () => {
        const endpoint = `unix://${path.join(sockDir, 'csi.sock')}`;
        mgr = await startManager(env, PROVISIONING_CONTROLLERS, [`--csi-drivers=${DRIVER}=${endpoint}`, '--log-level=debug']);
        await env.clients.storage.createStorageClass({ body: sc('dir') });
        await v.createPVC('early', { cls: 'dir' });
        // The provisioner has seen the claim while the driver was still starting.
        await eventually('the claim handled while the driver starts', async () => mgr.find('Waiting for the CSI driver to start') ?? (await v.events('PersistentVolumeClaim', 'early')).find((e) => e.reason === 'ProvisioningFailed'));
        drv = await startDriver([], { endpoint });
        await v.waitClaimPhase('early', 'Bound', 30_000);
        const failed = (await v.events('PersistentVolumeClaim', 'early')).filter((e) => e.reason === 'ProvisioningFailed');
        assert.deepEqual(failed.map((e) => e.message), [], 'no ProvisioningFailed while the driver was starting');
    });
});
