// gce-pd ⇄ pd.csi.storage.gke.io, from csi-translation-lib's own cases (plugins/gce_pd_test.go).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1StorageClass } from '@kubernetes/client-node';
import { TranslationError } from '../../../src/migration/index.ts';
import { GCE_PD_TOPOLOGY_KEY, UNSPECIFIED, backwardCompatibleAccessModes, gcePd, regionalHandle, zonalHandle } from '../../../src/migration/plugins/gce-pd.ts';
import { topologySelectors } from '../../../src/migration/topology.ts';

const sc = (parameters: Record<string, string>, allowedTopologies?: V1StorageClass['allowedTopologies']): V1StorageClass => ({ provisioner: '', parameters, ...(allowedTopologies ? { allowedTopologies } : {}) });
const nodeID = (project: string, zone: string, name: string) => `projects/${project}/zones/${zone}/instances/${name}`;

describe('gce-pd: StorageClass', () => {
    const cases: [string, V1StorageClass, V1StorageClass | 'error'][] = [
        ['nothing special', sc({ foo: 'bar' }), sc({ foo: 'bar' })],
        ['fstype', sc({ fstype: 'myfs' }), sc({ 'csi.storage.k8s.io/fstype': 'myfs' })],
        ['empty params', sc({}), sc({})],
        ['zone', sc({ zone: 'foo' }), sc({}, topologySelectors(GCE_PD_TOPOLOGY_KEY, ['foo']))],
        ['zones', sc({ zones: 'foo,bar,baz' }), sc({}, topologySelectors(GCE_PD_TOPOLOGY_KEY, ['foo', 'bar', 'baz']))],
        ['some normal topology', sc({}, topologySelectors(GCE_PD_TOPOLOGY_KEY, ['foo'])), sc({}, topologySelectors(GCE_PD_TOPOLOGY_KEY, ['foo']))],
        ['some translated topology', sc({}, topologySelectors('failure-domain.beta.kubernetes.io/zone', ['foo'])), sc({}, topologySelectors(GCE_PD_TOPOLOGY_KEY, ['foo']))],
        ['zone and topology', sc({ zone: 'foo' }, topologySelectors(GCE_PD_TOPOLOGY_KEY, ['foo'])), 'error'],
    ];
    for (const [name, input, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => gcePd.translateStorageClass(input), TranslationError);
            else assert.deepEqual(gcePd.translateStorageClass(input), want);
        });
    }
});

describe('gce-pd: RepairVolumeHandle', () => {
    const cases: [string, string, string, string | 'error'][] = [
        ['fully specified', zonalHandle('foo', 'bar', 'baz'), nodeID('bing', 'bada', 'boom'), zonalHandle('foo', 'bar', 'baz')],
        ['fully specified (regional)', regionalHandle('foo', 'us-central1-c', 'baz'), nodeID('bing', 'bada', 'boom'), regionalHandle('foo', 'us-central1-c', 'baz')],
        ['no project', zonalHandle(UNSPECIFIED, 'bar', 'baz'), nodeID('bing', 'bada', 'boom'), zonalHandle('bing', 'bar', 'baz')],
        ['no project or zone', zonalHandle(UNSPECIFIED, UNSPECIFIED, 'baz'), nodeID('bing', 'bada', 'boom'), zonalHandle('bing', 'bada', 'baz')],
        ['no project or region', regionalHandle(UNSPECIFIED, UNSPECIFIED, 'baz'), nodeID('bing', 'us-central1-c', 'boom'), regionalHandle('bing', 'us-central1', 'baz')],
        ['no project (regional)', regionalHandle(UNSPECIFIED, 'us-west1', 'baz'), nodeID('bing', 'us-central1-c', 'boom'), regionalHandle('bing', 'us-west1', 'baz')],
        ['invalid handle', 'foo', nodeID('bing', 'us-central1-c', 'boom'), 'error'],
        ['invalid node ID', regionalHandle(UNSPECIFIED, 'us-west1', 'baz'), 'foo', 'error'],
    ];
    for (const [name, handle, node, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => gcePd.repairVolumeHandle(handle, node), TranslationError);
            else assert.equal(gcePd.repairVolumeHandle(handle, node), want);
        });
    }
});

describe('gce-pd: backwardCompatibleAccessModes', () => {
    const cases: [string, string[], string[]][] = [
        ['ROX', ['ReadOnlyMany'], ['ReadOnlyMany']],
        ['RWO', ['ReadWriteOnce'], ['ReadWriteOnce']],
        ['RWX', ['ReadWriteMany'], ['ReadWriteOnce']],
        ['RWO, ROX', ['ReadOnlyMany', 'ReadWriteOnce'], ['ReadWriteOnce']],
        ['RWO, RWX', ['ReadWriteOnce', 'ReadWriteMany'], ['ReadWriteOnce']],
        ['RWX, ROX', ['ReadWriteMany', 'ReadOnlyMany'], ['ReadWriteOnce']],
        ['RWX, ROX, RWO', ['ReadWriteMany', 'ReadWriteOnce', 'ReadOnlyMany'], ['ReadWriteOnce']],
    ];
    for (const [name, modes, want] of cases) it(name, () => assert.deepEqual(backwardCompatibleAccessModes(modes), want));
    it('none stays none', () => assert.equal(backwardCompatibleAccessModes(undefined), undefined));
});

describe('gce-pd: inline volumes', () => {
    it('read-only inline volume: ReadOnlyMany and readOnly', () => {
        const pv = gcePd.translateInline({ name: '', gcePersistentDisk: { pdName: 'foo', readOnly: true } }, '');
        assert.equal(pv.spec?.csi?.readOnly, true);
        assert.deepEqual(pv.spec?.accessModes, ['ReadOnlyMany']);
    });
    it('the whole inline PV: unspecified project and zone, Filesystem, empty partition', () => {
        assert.deepEqual(gcePd.translateInline({ name: 'v', gcePersistentDisk: { pdName: 'disk-1', fsType: 'ext4' } }, ''), {
            metadata: { name: 'pd.csi.storage.gke.io-disk-1' },
            spec: {
                csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: 'projects/UNSPECIFIED/zones/UNSPECIFIED/disks/disk-1', fsType: 'ext4', volumeAttributes: { partition: '' } },
                accessModes: ['ReadWriteOnce'],
                volumeMode: 'Filesystem',
            },
        });
    });
});

describe('gce-pd: PV volume handle from the zone labels', () => {
    const cases: [string, string, string, string][] = [
        ['beta topology key zonal', 'failure-domain.beta.kubernetes.io/zone', 'us-east1-a', 'projects/UNSPECIFIED/zones/us-east1-a/disks/pd-name'],
        ['v1 topology key zonal', 'topology.kubernetes.io/zone', 'us-east1-a', 'projects/UNSPECIFIED/zones/us-east1-a/disks/pd-name'],
        ['beta topology key regional', 'failure-domain.beta.kubernetes.io/zone', 'us-central1-a__us-central1-c', 'projects/UNSPECIFIED/regions/us-central1/disks/pd-name'],
        ['v1 topology key regional', 'topology.kubernetes.io/zone', 'us-central1-a__us-central1-c', 'projects/UNSPECIFIED/regions/us-central1/disks/pd-name'],
    ];
    for (const [name, key, value, want] of cases) {
        it(name, () => assert.equal(gcePd.translatePV({ metadata: { labels: { [key]: value } }, spec: { gcePersistentDisk: { pdName: 'pd-name' } } }).spec?.csi?.volumeHandle, want));
    }
    it('no zone label: zone unspecified', () => assert.equal(gcePd.translatePV({ spec: { gcePersistentDisk: { pdName: 'p' } } }).spec?.csi?.volumeHandle, 'projects/UNSPECIFIED/zones/UNSPECIFIED/disks/p'));
    it('zones of two regions: an error naming them', () =>
        assert.throws(() => gcePd.translatePV({ metadata: { labels: { 'topology.kubernetes.io/zone': 'us-east1-a__eu-west1-b' } }, spec: { gcePersistentDisk: { pdName: 'p' } } }), {
            message: 'failed to get region from zones: multiple or no regions gotten from zones, got: map[eu-west1:{} us-east1:{}]',
        }));
    it('RWX becomes RWO on the CSI PV (the driver refuses RWX)', () =>
        assert.deepEqual(gcePd.translatePV({ spec: { accessModes: ['ReadWriteMany'], gcePersistentDisk: { pdName: 'p' } } }).spec?.accessModes, ['ReadWriteOnce']));
    it('CSI → in-tree: the disk name from the handle, partition parsed', () =>
        assert.deepEqual(gcePd.translateCSIPV({ spec: { csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: 'projects/p/zones/z/disks/d', volumeAttributes: { partition: '3' }, readOnly: true } } }).spec, {
            gcePersistentDisk: { pdName: 'd', partition: 3, readOnly: true },
        }));
    it('CSI → in-tree: a short handle is an error', () =>
        assert.throws(() => gcePd.translateCSIPV({ spec: { csi: { driver: 'pd.csi.storage.gke.io', volumeHandle: 'a/b' } } }), { message: 'failed to get id components.Got: 2, wanted 6 components or more. ' }));
});
