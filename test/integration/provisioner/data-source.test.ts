// Never an empty volume by mistake: claims with a dataSource / dataSourceRef against a real API
// server and a scripted CSI driver that advertises CLONE_VOLUME and CREATE_DELETE_SNAPSHOT (and
// records every request). Bad sources get ProvisioningFailed with upstream's words and stay
// Pending; the driver never sees a CreateVolume without the content source; a valid clone and a
// valid restore are provisioned from their source; a driver that ignores the source gets its
// volume deleted; the cloning-protection finalizer holds the source while a clone is Pending.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { eventually, useCluster } from '../../support/env.ts';
import type { ManagerProcess, TestCluster } from '../../support/env.ts';
import { startScriptedDriver } from '../../support/scripted-driver.ts';
import type { ScriptedDriver } from '../../support/scripted-driver.ts';
import { createSnapshot, installSnapshotCrds } from '../../support/snapshots.ts';
import { Volumes, pvcObject, startManager, stopManager } from '../../support/volumes.ts';
import type { PVCOpts } from '../../support/volumes.ts';
import { PROVISIONING_CONTROLLERS, storageClass } from './support.ts';

const SCRIPTED = 'clone.csi.vcm.test';
/** A second driver with no data-source capability (neither CLONE_VOLUME nor CREATE_DELETE_SNAPSHOT). */
const PLAIN = 'plain.csi.vcm.test';
const SNAP = { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot' };
const CLONE_PROTECTION = 'provisioner.storage.kubernetes.io/cloning-protection';
const HANDLE = 'error getting handle for DataSource Type';

describe('provisioner: claims with a data source', () => {
    let env: TestCluster;
    let drv: ScriptedDriver;
    let plain: ScriptedDriver;
    let mgr: ManagerProcess;
    let v: Volumes;

    type Source = NonNullable<V1PersistentVolumeClaim['spec']>['dataSource'];
    const create = (name: string, o: PVCOpts & { dataSource?: Source; dataSourceRef?: Source; volumeMode?: string } = {}) => {
        const body = pvcObject(name, { cls: 'scripted', ...o });
        body.spec = { ...body.spec, dataSource: o.dataSource, dataSourceRef: o.dataSourceRef, volumeMode: o.volumeMode };
        return env.clients.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body });
    };
    const pvc = (name: string) => ({ kind: 'PersistentVolumeClaim', name });
    /** The ProvisioningFailed message a claim got (waits for the first). */
    const failure = async (name: string) => (await v.waitEvent('PersistentVolumeClaim', name, 'ProvisioningFailed')).message;
    /** CreateVolume requests the driver got for a claim (its volume name is pvc-<uid>). */
    const createsFor = async (name: string) => {
        const uid = (await v.pvc(name)).metadata?.uid;
        return drv.creates.filter((r) => r.name === `pvc-${uid}`);
    };

    before(async () => {
        // Without the snapshot API at first: a restore must say it is missing, then work once installed.
        env = await useCluster({ crds: false });
        v = new Volumes(env.clients);
        drv = await startScriptedDriver(SCRIPTED, ['CLONE_VOLUME', 'CREATE_DELETE_SNAPSHOT']);
        plain = await startScriptedDriver(PLAIN, []);
        for (const [name, provisioner] of [
            ['scripted', SCRIPTED],
            ['scripted-2', SCRIPTED],
            ['plain', PLAIN],
        ] as const) {
            await env.clients.storage.createStorageClass({ body: storageClass(name, { provisioner }) });
        }
        mgr = await startManager(env, PROVISIONING_CONTROLLERS, [
            `--csi-drivers=${drv.flag},${plain.flag}`,
            '--retry-interval-start=200ms',
            '--retry-interval-max=2s',
        ]);
        await create('src', { size: '2Gi' });
        await create('src-plain', { cls: 'plain' });
        await create('src-pending', { cls: '' });
        await v.waitClaimPhase('src', 'Bound');
        await v.waitClaimPhase('src-plain', 'Bound');
    });
    after(async () => {
        if (mgr) await stopManager(mgr);
        await drv?.stop();
        await plain?.stop();
        await env?.stop();
    });

    it('refuses every source it cannot honour with upstream wording, before any CreateVolume', async () => {
        await create('c-missing', { dataSource: pvc('nosuch') });
        await create('c-pending', { dataSource: pvc('src-pending') });
        await create('c-small', { size: '1Gi', dataSource: pvc('src') });
        await create('c-other-driver', { dataSource: pvc('src-plain') });
        await create('c-block', { size: '2Gi', volumeMode: 'Block', dataSource: pvc('src') });
        await create('c-plain', { cls: 'plain', dataSource: pvc('src-plain') });
        // (Through dataSourceRef: the API server drops such a dataSource as disabled.)
        await create('r-wrong-group', { dataSourceRef: { ...SNAP, apiGroup: 'wrong.example.com', name: 'snap' } });
        await create('r-no-api', { dataSource: { ...SNAP, name: 'snap' } });
        const want: Record<string, string> = {
            'c-missing': `${HANDLE} PersistentVolumeClaim by Name nosuch: error getting PVC nosuch (namespace "default") from api server: persistentvolumeclaim "nosuch" not found`,
            'c-pending': `${HANDLE} PersistentVolumeClaim by Name src-pending: the PVC DataSource src-pending must have a status of Bound.  Got {"phase":"Pending"}`,
            'c-small': `${HANDLE} PersistentVolumeClaim by Name src: error, new PVC request must be greater than or equal in size to the specified PVC data source, requested 1073741824 but source is 2147483648`,
            'c-other-driver': `${HANDLE} PersistentVolumeClaim by Name src-plain: claim in dataSource not bound or invalid`,
            'c-block': `${HANDLE} PersistentVolumeClaim by Name src: the source PVC and destination PVCs must have the same volume mode for cloning.  Source is Filesystem, but new PVC requested Block`,
            'c-plain': 'CSI driver does not support clone operations: controller CLONE_VOLUME capability is not reported',
            'r-wrong-group': 'the PVC source does not belong to the right APIGroup. Expected snapshot.storage.k8s.io, Got wrong.example.com',
            'r-no-api': `${HANDLE} VolumeSnapshot by Name snap: error getting snapshot snap from api server: the server could not find the requested resource (get volumesnapshots.snapshot.storage.k8s.io snap): the snapshot.storage.k8s.io/v1 API is not installed (no VolumeSnapshot CustomResourceDefinition)`,
        };
        for (const [name, message] of Object.entries(want)) assert.equal(await failure(name), message, name);
        for (const name of Object.keys(want)) {
            assert.equal((await v.pvc(name)).status?.phase, 'Pending', `${name} stays Pending`);
            assert.deepEqual(await createsFor(name), [], `no CreateVolume for ${name}`);
        }
        assert.ok(!(await v.pvc('src-plain')).metadata?.finalizers?.includes(CLONE_PROTECTION), 'a refused clone does not protect its source');
    });

    it('leaves a populator data source alone, as upstream: a Normal event and no provisioning', async () => {
        await create('p-widget', { dataSourceRef: { apiGroup: 'populator.example.com', kind: 'Widget', name: 'w' } });
        const ev = await v.waitEvent('PersistentVolumeClaim', 'p-widget', 'Provisioning');
        assert.equal(ev.type, 'Normal');
        assert.equal(ev.message, 'Assuming an external populator will provision the volume');
        assert.equal(ev.source?.component, 'external-provisioner');
        const reasons = (await v.events('PersistentVolumeClaim', 'p-widget')).map((e) => e.reason);
        assert.ok(!reasons.includes('ProvisioningFailed'), reasons.join(','));
        assert.deepEqual(await createsFor('p-widget'), []);
        assert.equal((await v.pvc('p-widget')).status?.phase, 'Pending');
    });

    it('clones a Bound claim of the same driver (another class): CreateVolume carries the source volume', async () => {
        await create('c-ok', { cls: 'scripted-2', size: '3Gi', dataSource: pvc('src') });
        const bound = await v.waitClaimPhase('c-ok', 'Bound');
        const srcPv = await v.pv((await v.pvc('src')).spec?.volumeName ?? '');
        const [req, ...more] = await createsFor('c-ok');
        assert.deepEqual(more, [], 'one CreateVolume');
        assert.equal(req?.volume_content_source?.volume?.volume_id, srcPv.spec?.csi?.volumeHandle);
        assert.equal(req?.capacity_range?.required_bytes, 3n << 30n);
        assert.equal((await v.pv(bound.spec?.volumeName ?? '')).spec?.csi?.driver, SCRIPTED);
        assert.ok((await v.pvc('src')).metadata?.finalizers?.includes(CLONE_PROTECTION), 'the source is protected while cloning');
    });

    it('deletes the volume when the driver ignores the content source, then succeeds when it honours it', async () => {
        drv.dropContentSource = true;
        await create('c-dropped', { size: '2Gi', dataSource: pvc('src') });
        assert.equal(await failure('c-dropped'), 'volume content source missing');
        const [first] = await createsFor('c-dropped');
        assert.ok(first?.volume_content_source?.volume, 'CreateVolume carried the source');
        await eventually('the volume without content was deleted', () => drv.deletes.includes(`vol-${first?.name}`));
        assert.equal((await v.pvc('c-dropped')).status?.phase, 'Pending');
        drv.dropContentSource = false;
        await v.waitClaimPhase('c-dropped', 'Bound');
    });

    it('restores from a snapshot once the snapshot API exists; refuses missing, not-ready and too-large snapshots', async () => {
        await installSnapshotCrds(env.cp);
        await createSnapshot(env.clients, { name: 'snap', driver: SCRIPTED, handle: 'snap-handle-1', ready: true, restoreSize: '1Gi' });
        await createSnapshot(env.clients, { name: 'not-ready', driver: SCRIPTED, handle: 'snap-handle-2', ready: false });
        await createSnapshot(env.clients, { name: 'big', driver: SCRIPTED, handle: 'snap-handle-3', ready: true, restoreSize: '5Gi' });
        await create('r-missing', { dataSource: { ...SNAP, name: 'nosnap' } });
        await create('r-not-ready', { dataSource: { ...SNAP, name: 'not-ready' } });
        await create('r-small', { size: '1Gi', dataSource: { ...SNAP, name: 'big' } });
        const want: Record<string, string> = {
            'r-missing': `${HANDLE} VolumeSnapshot by Name nosnap: error getting snapshot nosnap from api server: volumesnapshots.snapshot.storage.k8s.io "nosnap" not found`,
            'r-not-ready': `${HANDLE} VolumeSnapshot by Name not-ready: snapshot not-ready is not Ready`,
            'r-small': `${HANDLE} VolumeSnapshot by Name big: requested volume size 1073741824 is less than the size 5368709120 for the source snapshot big`,
        };
        for (const [name, message] of Object.entries(want)) assert.equal(await failure(name), message, name);
        // The claim refused while the API was missing is retried and restored now.
        await v.waitClaimPhase('r-no-api', 'Bound');
        const reqs = await createsFor('r-no-api');
        assert.equal(reqs.length, 1);
        assert.deepEqual(reqs[0]?.volume_content_source?.snapshot, { snapshot_id: 'snap-handle-1' });
        for (const name of Object.keys(want)) {
            assert.equal((await v.pvc(name)).status?.phase, 'Pending', `${name} stays Pending`);
            assert.deepEqual(await createsFor(name), [], `no CreateVolume for ${name}`);
        }
    });

    it('the driver never received a CreateVolume without the content source for a claim that has one', async () => {
        const claims = (await env.clients.core.listNamespacedPersistentVolumeClaim({ namespace: 'default' })).items;
        const byVolume = new Map(claims.map((c) => [`pvc-${c.metadata?.uid}`, c]));
        let withSource = 0;
        for (const req of drv.creates) {
            const c = byVolume.get(req.name);
            assert.ok(c, `CreateVolume ${req.name} belongs to a claim`);
            if (c.spec?.dataSource || c.spec?.dataSourceRef) {
                withSource++;
                assert.ok(req.volume_content_source?.volume || req.volume_content_source?.snapshot, `CreateVolume for ${c.metadata?.name} has its content source`);
            }
        }
        assert.ok(withSource >= 3, `clones and restores were provisioned (${withSource})`);
    });

    it('keeps the cloning-protection finalizer on a deleted source while a clone of it is Pending', async () => {
        await env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: 'src', namespace: 'default' });
        // c-small and c-block clone src and are Pending (refused): the loop holds the source.
        const held = await eventually('the cloning-protection loop saw the Pending clones', () =>
            mgr.lines.find((l) => l.key === 'default/src' && /PVC 'c-(small|block)' is in 'Pending' state, cloning in progress/.test(JSON.stringify(l.err))),
        );
        assert.equal(held.msg, 'Reconcile failed; retrying with backoff');
        const src = await v.pvc('src');
        assert.ok(src.metadata?.deletionTimestamp && src.metadata.finalizers?.includes(CLONE_PROTECTION), 'deleting, and still protected');
        await env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: 'c-small', namespace: 'default' });
        await env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: 'c-block', namespace: 'default' });
        await eventually('src gone once no clone is Pending', async () => !(await v.pvcExists('src')), 30_000);
    });
});
