// Shared informers over the snapshot custom resources (crds/ installed by the test environment):
// listed through CustomObjectsApi, watched, one object shape from list and watch (metadata as
// V1ObjectMeta with Date timestamps, spec/status as the API sent them), add/update/delete and
// indexes, for a namespaced kind (VolumeSnapshot) and the two cluster-scoped ones.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../../src/log.ts';
import { MERGE_PATCH } from '../../../src/kube/client.ts';
import { InformerFactory } from '../../../src/kube/informer.ts';
import { RESOURCES, keyOf } from '../../../src/kube/resources.ts';
import { SNAPSHOT_API_VERSION, SNAPSHOT_GROUP, SNAPSHOT_VERSION } from '../../../src/kube/snapshot-types.ts';
import type { VolumeSnapshot, VolumeSnapshotClass, VolumeSnapshotContent } from '../../../src/kube/snapshot-types.ts';
import { eventually, useCluster } from '../../support/env.ts';
import type { TestCluster } from '../../support/env.ts';

const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const NS = 'default';
const api = { group: SNAPSHOT_GROUP, version: SNAPSHOT_VERSION };

function snapshot(name: string, claim: string): VolumeSnapshot {
    return { apiVersion: SNAPSHOT_API_VERSION, kind: 'VolumeSnapshot', metadata: { name, namespace: NS }, spec: { source: { persistentVolumeClaimName: claim }, volumeSnapshotClassName: 'fast' } };
}

describe('SharedInformer over snapshot custom resources', () => {
    let env: TestCluster;
    let factory: InformerFactory;
    before(async () => {
        env = await useCluster();
    });
    after(async () => {
        factory?.stop();
        await env.stop();
    });

    it('VolumeSnapshots: listed and watched with one shape; add, update (spec and status) and delete reach handlers and indexes', async () => {
        const { custom } = env.clients;
        await custom.createNamespacedCustomObject({ ...api, namespace: NS, plural: 'volumesnapshots', body: snapshot('listed', 'data-1') });
        await custom.patchNamespacedCustomObjectStatus(
            { ...api, namespace: NS, plural: 'volumesnapshots', name: 'listed', body: { status: { readyToUse: true, restoreSize: '1Gi', creationTime: '2026-01-02T03:04:05Z' } } },
            MERGE_PATCH,
        );

        factory = new InformerFactory(env.clients, { log, backoffBaseMs: 200, backoffMaxMs: 1000 });
        const snapshots = factory.for(RESOURCES.volumeSnapshots);
        snapshots.addIndexer('claim', (s) => [`${s.metadata?.namespace}/${s.spec.source.persistentVolumeClaimName ?? ''}`]);
        const events: string[] = [];
        snapshots.addEventHandler({
            onAdd: (s) => events.push(`add ${keyOf(s)}`),
            onUpdate: (o, n) => events.push(`update ${keyOf(n)} ${o.metadata?.labels?.v ?? '-'}→${n.metadata?.labels?.v ?? '-'} ready=${n.status?.readyToUse ?? '-'}`),
            onDelete: (s) => events.push(`delete ${keyOf(s)}`),
        });
        factory.start();
        await factory.waitForSync();

        const listed = snapshots.get(`${NS}/listed`);
        assert.ok(listed, 'listed object is cached under namespace/name');
        assert.equal(listed.kind, 'VolumeSnapshot');
        assert.equal(listed.apiVersion, SNAPSHOT_API_VERSION);
        assert.ok(listed.metadata?.creationTimestamp instanceof Date, 'list objects carry Date metadata timestamps');
        assert.equal(listed.metadata?.managedFields, undefined, 'managedFields dropped');
        assert.deepEqual(listed.status, { readyToUse: true, restoreSize: '1Gi', creationTime: '2026-01-02T03:04:05Z' }, 'status as the API sent it');
        assert.ok(events.includes(`add ${NS}/listed`));

        await custom.createNamespacedCustomObject({ ...api, namespace: NS, plural: 'volumesnapshots', body: { ...snapshot('watched', 'data-2'), metadata: { name: 'watched', namespace: NS, labels: { v: '1' } } } });
        const watched = await eventually('watched snapshot in cache', () => snapshots.get(`${NS}/watched`));
        assert.ok(watched.metadata?.creationTimestamp instanceof Date, 'watch objects are normalized to Date metadata timestamps');
        assert.equal(watched.kind, 'VolumeSnapshot');
        assert.deepEqual(watched.spec, { source: { persistentVolumeClaimName: 'data-2' }, volumeSnapshotClassName: 'fast' });
        assert.deepEqual(snapshots.byIndex('claim', `${NS}/data-2`).map(keyOf), [`${NS}/watched`]);

        await custom.patchNamespacedCustomObject({ ...api, namespace: NS, plural: 'volumesnapshots', name: 'watched', body: { metadata: { labels: { v: '2' } } } }, MERGE_PATCH);
        await eventually('label update seen with old and new object', () => events.includes(`update ${NS}/watched 1→2 ready=-`));
        await custom.patchNamespacedCustomObjectStatus({ ...api, namespace: NS, plural: 'volumesnapshots', name: 'watched', body: { status: { readyToUse: false } } }, MERGE_PATCH);
        await eventually('status update seen', () => events.includes(`update ${NS}/watched 2→2 ready=false`));

        await custom.deleteNamespacedCustomObject({ ...api, namespace: NS, plural: 'volumesnapshots', name: 'watched' });
        await eventually('delete seen', () => events.includes(`delete ${NS}/watched`));
        assert.equal(snapshots.get(`${NS}/watched`), undefined);
        assert.deepEqual(snapshots.byIndex('claim', `${NS}/data-2`), [], 'index entry removed on delete');
    });

    it('VolumeSnapshotContents and VolumeSnapshotClasses (cluster-scoped): listed and watched, keyed by name', async () => {
        const { custom } = env.clients;
        const content: VolumeSnapshotContent = {
            apiVersion: SNAPSHOT_API_VERSION,
            kind: 'VolumeSnapshotContent',
            metadata: { name: 'snapcontent-1' },
            spec: { volumeSnapshotRef: { name: 'listed', namespace: NS }, deletionPolicy: 'Retain', driver: 'hostpath.csi.k8s.io', source: { snapshotHandle: 'snap-1' } },
        };
        const cls: VolumeSnapshotClass = { apiVersion: SNAPSHOT_API_VERSION, kind: 'VolumeSnapshotClass', metadata: { name: 'fast' }, driver: 'hostpath.csi.k8s.io', deletionPolicy: 'Delete', parameters: { a: 'b' } };
        await custom.createClusterCustomObject({ ...api, plural: 'volumesnapshotclasses', body: cls });
        const contents = factory.for(RESOURCES.volumeSnapshotContents);
        const classes = factory.for(RESOURCES.volumeSnapshotClasses);
        await factory.waitForSync();
        const listedClass = classes.get('fast');
        assert.ok(listedClass, 'class listed, keyed by name');
        assert.ok(listedClass.metadata?.creationTimestamp instanceof Date);
        assert.deepEqual([listedClass.driver, listedClass.deletionPolicy, listedClass.parameters], ['hostpath.csi.k8s.io', 'Delete', { a: 'b' }]);

        await custom.createClusterCustomObject({ ...api, plural: 'volumesnapshotcontents', body: content });
        const watched = await eventually('content in cache', () => contents.get('snapcontent-1'));
        assert.equal(watched.kind, 'VolumeSnapshotContent');
        assert.ok(watched.metadata?.creationTimestamp instanceof Date);
        assert.equal(watched.spec.source.snapshotHandle, 'snap-1');
        await custom.patchClusterCustomObjectStatus({ ...api, plural: 'volumesnapshotcontents', name: 'snapcontent-1', body: { status: { restoreSize: 1073741824, readyToUse: true, creationTime: 1767323045000000000 } } }, MERGE_PATCH);
        const updated = await eventually('content status in cache', () => contents.get('snapcontent-1')?.status);
        assert.equal(updated.restoreSize, 1073741824);
        assert.equal(typeof updated.creationTime, 'number', 'int64 nanoseconds arrive as a number');

        await custom.deleteClusterCustomObject({ ...api, plural: 'volumesnapshotcontents', name: 'snapcontent-1' });
        await eventually('content delete seen', () => !contents.get('snapcontent-1'));
    });
});
