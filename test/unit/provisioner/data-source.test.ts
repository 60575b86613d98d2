// The provisioner's pure data-source decisions: every way a dataSource / dataSourceRef can fail,
// with upstream's exact message (external-provisioner controller.go), and the content source
// for the valid ones. A claim with a data source is never provisioned without it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import {
    ProvisionError,
    checkDriverCapabilities,
    claimDataSource,
    cloneContentSource,
    cloneSourceKey,
    hasContentSource,
    populatorReason,
    snapshotContentSource,
    sourceType,
} from '../../../controllers/provisioner/decide.ts';
import type { CloneInputs, DataSource, SnapshotInputs, VolumeSnapshot, VolumeSnapshotContent } from '../../../controllers/provisioner/decide.ts';
import { snapshotReadError } from '../../../controllers/provisioner/reconcile.ts';
import type { ControllerCapabilityName } from '../../../src/csi/types.ts';

const DRIVER = 'clone.csi.example';
type Spec = NonNullable<V1PersistentVolumeClaim['spec']>;

const claim = (spec: Partial<Spec> = {}, meta: Partial<NonNullable<V1PersistentVolumeClaim['metadata']>> = {}): V1PersistentVolumeClaim => ({
    metadata: { name: 'copy', namespace: 'team', uid: 'uid-copy', ...meta },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } }, storageClassName: 'fast', ...spec },
});
const sc: V1StorageClass = { metadata: { name: 'fast' }, provisioner: DRIVER };

/** Asserts fn throws a ProvisionError with exactly this message. */
function throwsExactly(fn: () => unknown, message: string): void {
    assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof ProvisionError, `a ProvisionError, got ${String(e)}`);
        assert.equal(e.message, message);
        return true;
    });
}

describe('claimDataSource: normalising dataSource / dataSourceRef', () => {
    const pvcRef = { kind: 'PersistentVolumeClaim', name: 'src' };
    const cases: { name: string; spec: Partial<Spec>; want?: DataSource; error?: string }[] = [
        { name: 'none', spec: {}, want: undefined },
        { name: 'dataSource, in the claim namespace', spec: { dataSource: pvcRef }, want: { kind: 'PersistentVolumeClaim', name: 'src', apiGroup: '', namespace: 'team' } },
        { name: 'dataSourceRef alone', spec: { dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 's' } }, want: { kind: 'VolumeSnapshot', name: 's', apiGroup: 'snapshot.storage.k8s.io', namespace: 'team' } },
        { name: 'both, agreeing (as the API server fills them)', spec: { dataSource: pvcRef, dataSourceRef: { ...pvcRef, apiGroup: '' } }, want: { kind: 'PersistentVolumeClaim', name: 'src', apiGroup: '', namespace: 'team' } },
        {
            name: 'cross-namespace dataSourceRef: the gate is off (upstream message)',
            spec: { dataSourceRef: { ...pvcRef, namespace: 'other' } },
            error: 'dataSourceRef namespace specified but the CrossNamespaceVolumeDataSource feature is disabled',
        },
        {
            name: 'cross-namespace dataSourceRef naming the claim namespace is still refused (as upstream)',
            spec: { dataSourceRef: { ...pvcRef, namespace: 'team' } },
            error: 'dataSourceRef namespace specified but the CrossNamespaceVolumeDataSource feature is disabled',
        },
        {
            name: 'dataSource and dataSourceRef disagree on the name',
            spec: { dataSource: pvcRef, dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'other' } },
            error: 'dataSource (PersistentVolumeClaim "src") and dataSourceRef (PersistentVolumeClaim "other") name different objects',
        },
        {
            name: 'dataSource and dataSourceRef disagree on the kind',
            spec: { dataSource: pvcRef, dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'src' } },
            error: 'dataSource (PersistentVolumeClaim "src") and dataSourceRef (snapshot.storage.k8s.io/VolumeSnapshot "src") name different objects',
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            if (c.error) throwsExactly(() => claimDataSource(claim(c.spec)), c.error);
            else assert.deepEqual(claimDataSource(claim(c.spec)), c.want);
        });
    }
});

describe('sourceType: restore, clone, or an external populator', () => {
    const ds = (kind: string, apiGroup: string, name = 'x'): DataSource => ({ kind, apiGroup, name, namespace: 'team' });
    it('VolumeSnapshot in snapshot.storage.k8s.io → restore', () => assert.equal(sourceType(ds('VolumeSnapshot', 'snapshot.storage.k8s.io'), 'copy'), 'snapshot'));
    it('core PersistentVolumeClaim → clone', () => assert.equal(sourceType(ds('PersistentVolumeClaim', ''), 'copy'), 'clone'));
    it('any other kind → populator, with upstream reason', () => {
        const d = ds('Widget', 'populator.example.com');
        assert.equal(sourceType(d, 'copy'), 'populator');
        assert.equal(populatorReason(d), 'data source (Widget) is not handled by the provisioner, assuming an external populator will provision it');
    });
    it('a PersistentVolumeClaim kind of another API group is not a core claim → populator', () => assert.equal(sourceType(ds('PersistentVolumeClaim', 'example.com'), 'copy'), 'populator'));
    it('VolumeSnapshot of the wrong API group (upstream message)', () =>
        throwsExactly(() => sourceType(ds('VolumeSnapshot', 'wrong.example.com'), 'copy'), 'the PVC source does not belong to the right APIGroup. Expected snapshot.storage.k8s.io, Got wrong.example.com'));
    it('VolumeSnapshot with no API group', () =>
        throwsExactly(() => sourceType(ds('VolumeSnapshot', ''), 'copy'), 'the PVC source does not belong to the right APIGroup. Expected snapshot.storage.k8s.io, Got '));
    it('an empty name (upstream message)', () => throwsExactly(() => sourceType(ds('PersistentVolumeClaim', '', ''), 'copy'), 'the PVC source not found for PVC copy'));
});

describe('checkDriverCapabilities', () => {
    const base: ControllerCapabilityName[] = ['CREATE_DELETE_VOLUME'];
    const cases: { name: string; plugin?: 'none'; caps: ControllerCapabilityName[]; source?: 'snapshot' | 'clone'; error?: string }[] = [
        { name: 'plain provisioning', caps: base },
        { name: 'no CONTROLLER_SERVICE', plugin: 'none', caps: base, error: 'CSI driver does not support dynamic provisioning: plugin CONTROLLER_SERVICE capability is not reported' },
        { name: 'no CREATE_DELETE_VOLUME', caps: [], error: 'CSI driver does not support dynamic provisioning: controller CREATE_DELETE_VOLUME capability is not reported' },
        { name: 'restore without CREATE_DELETE_SNAPSHOT', caps: [...base, 'CLONE_VOLUME'], source: 'snapshot', error: 'CSI driver does not support snapshot restore: controller CREATE_DELETE_SNAPSHOT capability is not reported' },
        { name: 'restore with it', caps: [...base, 'CREATE_DELETE_SNAPSHOT'], source: 'snapshot' },
        { name: 'clone without CLONE_VOLUME', caps: [...base, 'CREATE_DELETE_SNAPSHOT'], source: 'clone', error: 'CSI driver does not support clone operations: controller CLONE_VOLUME capability is not reported' },
        { name: 'clone with it', caps: [...base, 'CLONE_VOLUME'], source: 'clone' },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const run = () => checkDriverCapabilities(c.plugin === 'none' ? [] : ['CONTROLLER_SERVICE'], c.caps, c.source);
            if (c.error) throwsExactly(run, c.error);
            else assert.doesNotThrow(run);
        });
    }
});

describe('cloneContentSource', () => {
    const ds: DataSource = { kind: 'PersistentVolumeClaim', name: 'src', apiGroup: '', namespace: 'team' };
    const source = (o: { phase?: string; size?: string; cls?: string | null; volumeName?: string; deleting?: boolean; finalizers?: string[] } = {}): V1PersistentVolumeClaim => ({
        metadata: { name: 'src', namespace: 'team', uid: 'uid-src', finalizers: o.finalizers, ...(o.deleting ? { deletionTimestamp: new Date() } : {}) },
        spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: o.size ?? '2Gi' } },
            ...(o.cls === null ? {} : { storageClassName: o.cls ?? 'fast' }),
            volumeName: o.volumeName ?? 'pv-src',
        },
        status: { phase: o.phase ?? 'Bound' },
    });
    const volume = (o: { driver?: string; csi?: boolean; claimUid?: string; noClaimRef?: boolean; phase?: string; mode?: string; name?: string } = {}): V1PersistentVolume => ({
        metadata: { name: o.name ?? 'pv-src' },
        spec: {
            capacity: { storage: '2Gi' },
            ...(o.csi === false ? { hostPath: { path: '/x' } } : { csi: { driver: o.driver ?? DRIVER, volumeHandle: 'handle-src' } }),
            ...(o.noClaimRef ? {} : { claimRef: { name: 'src', namespace: 'team', uid: o.claimUid ?? 'uid-src' } }),
            volumeMode: o.mode,
        },
        status: { phase: o.phase ?? 'Bound' },
    });
    const prefix = 'error getting handle for DataSource Type PersistentVolumeClaim by Name src: ';
    const cases: { name: string; claim?: V1PersistentVolumeClaim; inputs: Partial<CloneInputs>; error?: string }[] = [
        { name: 'a Bound source of the same driver → volume content source', inputs: {} },
        { name: 'a larger clone is fine', claim: claim({ dataSource: { kind: 'PersistentVolumeClaim', name: 'src' }, resources: { requests: { storage: '5Gi' } } }), inputs: {} },
        { name: 'another class of the same driver is fine (as upstream)', claim: claim({ storageClassName: 'other-class-same-driver' }), inputs: {} },
        { name: 'source claim missing', inputs: { source: undefined }, error: `${prefix}error getting PVC src (namespace "team") from api server: persistentvolumeclaim "src" not found` },
        { name: 'source claim Pending', inputs: { source: source({ phase: 'Pending' }) }, error: `${prefix}the PVC DataSource src must have a status of Bound.  Got {"phase":"Pending"}` },
        { name: 'source claim being deleted', inputs: { source: source({ deleting: true }) }, error: `${prefix}the PVC DataSource src is currently being deleted` },
        {
            name: 'source being deleted, protected by our finalizer, but this claim not in flight yet',
            inputs: { source: source({ deleting: true, finalizers: ['provisioner.storage.kubernetes.io/cloning-protection'] }) },
            error: `${prefix}the PVC DataSource src is currently being deleted`,
        },
        { name: 'source being deleted but protected and this claim in flight: finish the clone', inputs: { source: source({ deleting: true, finalizers: ['provisioner.storage.kubernetes.io/cloning-protection'] }), inFlight: true } },
        { name: 'source without a class', inputs: { source: source({ cls: null }) }, error: `${prefix}the source PVC (src) storageclass cannot be empty` },
        { name: 'clone without a class', claim: claim({ storageClassName: undefined }), inputs: {}, error: `${prefix}the requested PVC (copy) storageclass cannot be empty` },
        {
            name: 'clone smaller than the source request',
            claim: claim({ resources: { requests: { storage: '1Gi' } } }),
            inputs: {},
            error: `${prefix}error, new PVC request must be greater than or equal in size to the specified PVC data source, requested 1073741824 but source is 2147483648`,
        },
        { name: 'source without a volume name', inputs: { source: source({ volumeName: '' }) }, error: `${prefix}volume name is empty in source PVC src` },
        { name: 'source PV unreadable', inputs: { volume: undefined }, error: `${prefix}claim in dataSource not bound or invalid` },
        { name: 'source PV not CSI', inputs: { volume: volume({ csi: false }) }, error: `${prefix}claim in dataSource not bound or invalid` },
        { name: 'source PV of another driver', inputs: { volume: volume({ driver: 'other.csi.example' }) }, error: `${prefix}claim in dataSource not bound or invalid` },
        { name: 'source PV without claimRef', inputs: { volume: volume({ noClaimRef: true }) }, error: `${prefix}claim in dataSource not bound or invalid` },
        { name: 'source PV bound to another claim (uid)', inputs: { volume: volume({ claimUid: 'someone-else' }) }, error: `${prefix}claim in dataSource not bound or invalid` },
        { name: 'source PV Released', inputs: { volume: volume({ phase: 'Released' }) }, error: `${prefix}claim in dataSource not bound or invalid` },
        { name: 'source PV is not the source claim volume', inputs: { volume: volume({ name: 'pv-other' }) }, error: `${prefix}claim in dataSource not bound or invalid` },
        {
            name: 'Filesystem clone of a Block source',
            inputs: { volume: volume({ mode: 'Block' }) },
            error: `${prefix}the source PVC and destination PVCs must have the same volume mode for cloning.  Source is Block, but new PVC requested Filesystem`,
        },
        {
            name: 'Block clone of a Filesystem source',
            claim: claim({ volumeMode: 'Block' }),
            inputs: {},
            error: `${prefix}the source PVC and destination PVCs must have the same volume mode for cloning.  Source is Filesystem, but new PVC requested Block`,
        },
        { name: 'Block clone of a Block source', claim: claim({ volumeMode: 'Block' }), inputs: { volume: volume({ mode: 'Block' }) } },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const inputs: CloneInputs = { source: source(), volume: volume(), inFlight: false, ...c.inputs };
            const run = () => cloneContentSource(c.claim ?? claim(), sc, ds, inputs);
            if (c.error) throwsExactly(run, c.error);
            else assert.deepEqual(run(), { volume: { volume_id: 'handle-src' } });
        });
    }
});

describe('snapshotContentSource', () => {
    const ds: DataSource = { kind: 'VolumeSnapshot', name: 'snap', apiGroup: 'snapshot.storage.k8s.io', namespace: 'team' };
    const snapshot = (o: { bound?: string | null; ready?: boolean; restoreSize?: string | null; deleting?: boolean; finalizers?: string[] } = {}): VolumeSnapshot => ({
        metadata: { name: 'snap', namespace: 'team', uid: 'uid-snap', finalizers: o.finalizers, ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
        status: {
            ...(o.bound === null ? {} : { boundVolumeSnapshotContentName: o.bound ?? 'snapcontent-1' }),
            readyToUse: o.ready ?? true,
            ...(o.restoreSize === null ? {} : { restoreSize: o.restoreSize ?? '2Gi' }),
        },
    });
    const content = (o: { driver?: string; refUid?: string; handle?: string | null; sourceMode?: string; allow?: string } = {}): VolumeSnapshotContent => ({
        metadata: { name: 'snapcontent-1', ...(o.allow !== undefined ? { annotations: { 'snapshot.storage.kubernetes.io/allow-volume-mode-change': o.allow } } : {}) },
        spec: { driver: o.driver ?? DRIVER, sourceVolumeMode: o.sourceMode, volumeSnapshotRef: { name: 'snap', namespace: 'team', uid: o.refUid ?? 'uid-snap' } },
        status: o.handle === null ? {} : { snapshotHandle: o.handle ?? 'snap-handle-1' },
    });
    const prefix = 'error getting handle for DataSource Type VolumeSnapshot by Name snap: ';
    const notPermitted = 'requested volume team/copy modifies the mode of the source volume but does not have permission to do so.';
    const cases: { name: string; claim?: V1PersistentVolumeClaim; inputs: Partial<SnapshotInputs>; error?: string }[] = [
        { name: 'a ready snapshot of the same driver → snapshot content source', inputs: {} },
        { name: 'a larger restore is fine', claim: claim({ resources: { requests: { storage: '10Gi' } } }), inputs: {} },
        { name: 'no restoreSize: no size check', claim: claim({ resources: { requests: { storage: '1Mi' } } }), inputs: { snapshot: snapshot({ restoreSize: null }) } },
        {
            name: 'snapshot missing (API server message)',
            inputs: { snapshot: undefined, snapshotError: 'volumesnapshots.snapshot.storage.k8s.io "snap" not found' },
            error: `${prefix}error getting snapshot snap from api server: volumesnapshots.snapshot.storage.k8s.io "snap" not found`,
        },
        { name: 'snapshot being deleted', inputs: { snapshot: snapshot({ deleting: true }) }, error: `${prefix}snapshot snap is being deleted` },
        { name: 'snapshot being deleted with the provisioner source-protection finalizer: go on (upstream #1448)', inputs: { snapshot: snapshot({ deleting: true, finalizers: ['provisioner.storage.kubernetes.io/volumesnapshot-as-source-protection'] }) } },
        { name: 'snapshot being deleted while this claim is in flight: finish or undo with the same request', inputs: { snapshot: snapshot({ deleting: true }), inFlight: true } },
        { name: 'snapshot not bound to a content', inputs: { snapshot: snapshot({ bound: null }) }, error: `${prefix}snapshot snap not bound` },
        { name: 'content unreadable', inputs: { content: undefined }, error: `${prefix}error getting snapshotcontent snapcontent-1 for snapshot snap` },
        {
            name: 'content unreadable, with the reason (beyond upstream, which only logs it)',
            inputs: { content: undefined, contentError: 'volumesnapshotcontents.snapshot.storage.k8s.io "snapcontent-1" is forbidden' },
            error: `${prefix}error getting snapshotcontent snapcontent-1 for snapshot snap: volumesnapshotcontents.snapshot.storage.k8s.io "snapcontent-1" is forbidden`,
        },
        { name: 'content bound to another snapshot', inputs: { content: content({ refUid: 'uid-other' }) }, error: `${prefix}snapshotcontent snapcontent-1 for snapshot snap is bound to a different snapshot` },
        { name: 'content of another driver', inputs: { content: content({ driver: 'other.csi.example' }) }, error: `${prefix}snapshotcontent snapcontent-1 for snapshot snap is not handled by CSI driver of StorageClass fast` },
        { name: 'snapshot not ready', inputs: { snapshot: snapshot({ ready: false }) }, error: `${prefix}snapshot snap is not Ready` },
        { name: 'content without a snapshot handle', inputs: { content: content({ handle: null }) }, error: `${prefix}snapshot handle snap is not available` },
        {
            name: 'restore smaller than restoreSize',
            claim: claim({ resources: { requests: { storage: '1Gi' } } }),
            inputs: {},
            error: `${prefix}requested volume size 1073741824 is less than the size 2147483648 for the source snapshot snap`,
        },
        { name: 'claim without a storage request', claim: claim({ resources: {} }), inputs: {}, error: `${prefix}error getting capacity for PVC copy when creating snapshot snap` },
        {
            name: 'volume mode change without the annotation',
            claim: claim({ volumeMode: 'Block' }),
            inputs: { content: content({ sourceMode: 'Filesystem' }) },
            error: `${prefix}${notPermitted} snapshot.storage.kubernetes.io/allow-volume-mode-change annotation is not present on snapshotcontent snapcontent-1`,
        },
        {
            name: 'volume mode change with the annotation false',
            claim: claim({ volumeMode: 'Block' }),
            inputs: { content: content({ sourceMode: 'Filesystem', allow: 'false' }) },
            error: `${prefix}${notPermitted} snapshot.storage.kubernetes.io/allow-volume-mode-change is set to false on snapshotcontent snapcontent-1`,
        },
        {
            name: 'volume mode change with an unparsable annotation',
            claim: claim({ volumeMode: 'Block' }),
            inputs: { content: content({ sourceMode: 'Filesystem', allow: 'yes' }) },
            error: `${prefix}${notPermitted} failed to convert snapshot.storage.kubernetes.io/allow-volume-mode-change annotation value to boolean with error: strconv.ParseBool: parsing "yes": invalid syntax`,
        },
        { name: 'volume mode change allowed', claim: claim({ volumeMode: 'Block' }), inputs: { content: content({ sourceMode: 'Filesystem', allow: 'true' }) } },
        { name: 'same volume mode', claim: claim({ volumeMode: 'Block' }), inputs: { content: content({ sourceMode: 'Block' }) } },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const inputs: SnapshotInputs = { snapshot: snapshot(), content: content(), inFlight: false, ...c.inputs };
            const run = () => snapshotContentSource(c.claim ?? claim(), sc, ds, inputs);
            if (c.error) throwsExactly(run, c.error);
            else assert.deepEqual(run(), { snapshot: { snapshot_id: 'snap-handle-1' } });
        });
    }
});

describe('after CreateVolume, and the clone-source index', () => {
    it('a response without content_source is detected', () => {
        assert.equal(hasContentSource({ capacity_bytes: 0n, volume_id: 'v' }), false);
        assert.equal(hasContentSource({ capacity_bytes: 0n, volume_id: 'v', content_source: {} }), false);
        assert.equal(hasContentSource({ capacity_bytes: 0n, volume_id: 'v', content_source: { volume: { volume_id: 'src' } } }), true);
        assert.equal(hasContentSource({ capacity_bytes: 0n, volume_id: 'v', content_source: { snapshot: { snapshot_id: 's' } } }), true);
    });
    it('cloneSourceKey names same-namespace core claims only, and never throws', () => {
        assert.equal(cloneSourceKey(claim({ dataSource: { kind: 'PersistentVolumeClaim', name: 'src' } })), 'team/src');
        assert.equal(cloneSourceKey(claim({ dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'src' } })), 'team/src');
        assert.equal(cloneSourceKey(claim({ dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 's' } })), undefined);
        assert.equal(cloneSourceKey(claim({ dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'src', namespace: 'other' } })), undefined);
        assert.equal(cloneSourceKey(claim()), undefined);
    });
});

describe('snapshotReadError: why a VolumeSnapshot could not be read', () => {
    it('the snapshot API is not installed: a 404 naming no object (kube-apiserver answers "404 page not found")', () =>
        assert.equal(
            snapshotReadError({ code: 404, body: '404 page not found\n' }, 'snap'),
            'the server could not find the requested resource (get volumesnapshots.snapshot.storage.k8s.io snap): the snapshot.storage.k8s.io/v1 API is not installed (no VolumeSnapshot CustomResourceDefinition)',
        ));
    it('the snapshot does not exist: the API server message', () => {
        const body = JSON.stringify({ kind: 'Status', message: 'volumesnapshots.snapshot.storage.k8s.io "snap" not found', reason: 'NotFound', details: { name: 'snap', group: 'snapshot.storage.k8s.io', kind: 'volumesnapshots' }, code: 404 });
        assert.equal(snapshotReadError({ code: 404, body }, 'snap'), 'volumesnapshots.snapshot.storage.k8s.io "snap" not found');
    });
    it('forbidden: the API server message', () => {
        const message = 'volumesnapshots.snapshot.storage.k8s.io "snap" is forbidden: User "x" cannot get resource "volumesnapshots"';
        assert.equal(snapshotReadError({ code: 403, body: JSON.stringify({ kind: 'Status', message, reason: 'Forbidden', code: 403 }) }, 'snap'), message);
    });
});
