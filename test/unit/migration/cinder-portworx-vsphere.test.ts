// cinder ⇄ cinder.csi.openstack.org, portworx-volume ⇄ pxd.portworx.com and vsphere-volume ⇄
// csi.vsphere.vmware.com, from csi-translation-lib's own cases (plugins/openstack_cinder_test.go,
// plugins/portworx_test.go, plugins/vsphere_volume_test.go). Empty volumeAttributes maps are
// absent, as the API server stores them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1PersistentVolume, V1StorageClass, V1Volume } from '@kubernetes/client-node';
import { TranslationError } from '../../../src/migration/index.ts';
import { CINDER_TOPOLOGY_KEY, cinder } from '../../../src/migration/plugins/cinder.ts';
import { PORTWORX_DRIVER, PORTWORX_IN_TREE, portworx } from '../../../src/migration/plugins/portworx.ts';
import { VSPHERE_DRIVER, vsphere } from '../../../src/migration/plugins/vsphere.ts';
import { topologySelectors } from '../../../src/migration/topology.ts';

const sc = (parameters: Record<string, string>, allowedTopologies?: V1StorageClass['allowedTopologies']): V1StorageClass => ({ provisioner: '', parameters, ...(allowedTopologies ? { allowedTopologies } : {}) });

describe('cinder: StorageClass', () => {
    const cases: [string, V1StorageClass, V1StorageClass][] = [
        ['translate normal', sc({ foo: 'bar' }), sc({ foo: 'bar' })],
        ['translate empty map', sc({}), sc({})],
        ['translate with fstype', sc({ fstype: 'ext3' }), sc({ 'csi.storage.k8s.io/fstype': 'ext3' })],
        ['translate with topology in parameters (no translation expected)', sc({ availability: 'nova' }), sc({ availability: 'nova' })],
        ['translate with topology', sc({}, topologySelectors('failure-domain.beta.kubernetes.io/zone', ['nova'])), sc({}, topologySelectors(CINDER_TOPOLOGY_KEY, ['nova']))],
    ];
    for (const [name, input, want] of cases) it(name, () => assert.deepEqual(cinder.translateStorageClass(input), want));
});

describe('cinder: PVs and inline volumes', () => {
    it('in-tree PV → CSI: handle is the volume ID; beta zone label becomes the CSI topology', () =>
        assert.deepEqual(cinder.translatePV({ metadata: { labels: { 'failure-domain.beta.kubernetes.io/zone': 'nova' } }, spec: { cinder: { volumeID: 'vol1', fsType: 'ext4' } } }), {
            metadata: { labels: { 'failure-domain.beta.kubernetes.io/zone': 'nova' } },
            spec: {
                csi: { driver: 'cinder.csi.openstack.org', volumeHandle: 'vol1', fsType: 'ext4' },
                nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: CINDER_TOPOLOGY_KEY, operator: 'In', values: ['nova'] }] }] } },
            },
        }));
    it('inline → CSI PV: RWO, named after the volume ID', () =>
        assert.deepEqual(cinder.translateInline({ name: 'v', cinder: { volumeID: 'vol1', readOnly: true } }, ''), {
            metadata: { name: 'cinder.csi.openstack.org-vol1' },
            spec: { csi: { driver: 'cinder.csi.openstack.org', volumeHandle: 'vol1', readOnly: true }, accessModes: ['ReadWriteOnce'] },
        }));
    it('CSI → in-tree: no region is guessed', () =>
        assert.deepEqual(
            cinder.translateCSIPV({ spec: { csi: { driver: 'cinder.csi.openstack.org', volumeHandle: 'vol1' }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: CINDER_TOPOLOGY_KEY, operator: 'In', values: ['nova'] }] }] } } } }),
            {
                metadata: { labels: { 'topology.kubernetes.io/zone': 'nova' } },
                spec: { cinder: { volumeID: 'vol1' }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['nova'] }] }] } } },
            },
        ));
});

describe('portworx: StorageClass', () => {
    const secrets = (n: string, ns: string) =>
        Object.fromEntries(
            ['provisioner', 'controller-publish', 'node-stage', 'node-publish', 'controller-expand', 'node-expand'].flatMap((u) => [
                [`csi.storage.k8s.io/${u}-secret-name`, n],
                [`csi.storage.k8s.io/${u}-secret-namespace`, ns],
            ]),
        );
    const cases: [string, V1StorageClass | undefined, V1StorageClass | 'error'][] = [
        [
            'correct',
            { provisioner: PORTWORX_IN_TREE, parameters: { repl: '1', fs: 'ext4', shared: 'true', priority_io: 'high' } },
            { provisioner: PORTWORX_DRIVER, parameters: { repl: '1', fs: 'ext4', shared: 'true', priority_io: 'high' } },
        ],
        ['nil, err expected', undefined, 'error'],
        ['empty', { provisioner: '' }, { provisioner: PORTWORX_DRIVER }],
        [
            'with secret params',
            { provisioner: '', parameters: { repl: '1', 'openstorage.io/auth-secret-name': 'test-secret', 'openstorage.io/auth-secret-namespace': 'test-namespace' } },
            { provisioner: PORTWORX_DRIVER, parameters: { repl: '1', ...secrets('test-secret', 'test-namespace') } },
        ],
    ];
    for (const [name, input, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => portworx.translateStorageClass(input as V1StorageClass), TranslationError);
            else assert.deepEqual(portworx.translateStorageClass(input as V1StorageClass), want);
        });
    }
});

describe('portworx: inline volumes and PVs', () => {
    it('inline normal', () =>
        assert.deepEqual(portworx.translateInline({ name: 'PortworxVol', portworxVolume: { volumeID: 'ID', fsType: 'type', readOnly: false } }, 'ns'), {
            metadata: { name: 'pxd.portworx.com-ID' },
            spec: { csi: { driver: PORTWORX_DRIVER, volumeHandle: 'ID', fsType: 'type' }, accessModes: ['ReadWriteOnce'] },
        }));
    it('inline nil', () => assert.throws(() => portworx.translateInline(undefined as unknown as V1Volume, 'ns'), TranslationError));
    it('inline read-only: ReadOnlyMany (readOnly itself is not carried, as upstream)', () =>
        assert.deepEqual(portworx.translateInline({ name: 'v', portworxVolume: { volumeID: 'ID', readOnly: true } }, '').spec, { csi: { driver: PORTWORX_DRIVER, volumeHandle: 'ID' }, accessModes: ['ReadOnlyMany'] }));

    const base = (source: object, annotations?: Record<string, string>): V1PersistentVolume => ({
        metadata: { name: 'pxd.portworx.com', ...(annotations ? { annotations } : {}) },
        spec: { accessModes: ['ReadWriteOnce'], claimRef: { name: 'test-pvc', namespace: 'default' }, ...source },
    });
    const ann = { 'openstorage.io/auth-secret-name': 'test-secret', 'openstorage.io/auth-secret-namespace': 'test-namespace' };
    const ref = { name: 'test-secret', namespace: 'test-namespace' };
    const cases: [string, V1PersistentVolume | undefined, V1PersistentVolume | 'error'][] = [
        ['no Portworx volume', base({}), 'error'],
        ['normal', base({ portworxVolume: { volumeID: 'ID1111', fsType: 'type', readOnly: false } }), base({ csi: { driver: PORTWORX_DRIVER, volumeHandle: 'ID1111', fsType: 'type' } })],
        [
            'with secret annotations',
            base({ portworxVolume: { volumeID: 'ID1111', fsType: 'type', readOnly: false } }, ann),
            base(
                {
                    csi: {
                        driver: PORTWORX_DRIVER,
                        volumeHandle: 'ID1111',
                        fsType: 'type',
                        controllerPublishSecretRef: ref,
                        nodeStageSecretRef: ref,
                        nodePublishSecretRef: ref,
                        controllerExpandSecretRef: ref,
                        nodeExpandSecretRef: ref,
                    },
                },
                ann,
            ),
        ],
        ['nil PV', undefined, 'error'],
    ];
    for (const [name, pv, want] of cases) {
        it(`PV ${name}`, () => {
            if (want === 'error') assert.throws(() => portworx.translatePV(pv as V1PersistentVolume), TranslationError);
            else assert.deepEqual(portworx.translatePV(structuredClone(pv) as V1PersistentVolume), want);
        });
    }
    const back: [string, V1PersistentVolume | undefined, V1PersistentVolume | 'error'][] = [
        ['no CSI section', base({}), 'error'],
        ['normal', base({ csi: { driver: PORTWORX_DRIVER, volumeHandle: 'ID1111', fsType: 'type' } }), base({ portworxVolume: { volumeID: 'ID1111', fsType: 'type' } })],
        ['nil PV', undefined, 'error'],
    ];
    for (const [name, pv, want] of back) {
        it(`CSI PV → in-tree ${name}`, () => {
            if (want === 'error') assert.throws(() => portworx.translateCSIPV(pv as V1PersistentVolume), TranslationError);
            else assert.deepEqual(portworx.translateCSIPV(structuredClone(pv) as V1PersistentVolume), want);
        });
    }
});

describe('vsphere: StorageClass', () => {
    const zoneA = [{ matchLabelExpressions: [{ key: 'topology.kubernetes.io/zone', values: ['zone-a'] }] }];
    const betaZoneA = [{ matchLabelExpressions: [{ key: 'failure-domain.beta.kubernetes.io/zone', values: ['zone-a'] }] }];
    const csiZoneA = [{ matchLabelExpressions: [{ key: 'topology.csi.vmware.com/zone', values: ['zone-a'] }] }];
    const cases: [string, V1StorageClass | undefined, V1StorageClass | 'error'][] = [
        ['expect error when sc is nil', undefined, 'error'],
        ['translate with no parameter', sc({}), sc({ csimigration: 'true' })],
        ['translate with unknown parameter', sc({ unknownparam: 'value' }), sc({ csimigration: 'true' })],
        ['translate with storagepolicyname and datastore', sc({ storagepolicyname: 'test-policy-name', datastore: 'vsanDatastore' }), sc({ storagepolicyname: 'test-policy-name', 'datastore-migrationparam': 'vsanDatastore', csimigration: 'true' })],
        ['translate with fstype', sc({ fstype: 'ext4' }), sc({ 'csi.storage.k8s.io/fstype': 'ext4', csimigration: 'true' })],
        ['translate with storagepolicyname and fstype', sc({ storagepolicyname: 'test-policy-name', fstype: 'ext4' }), sc({ 'csi.storage.k8s.io/fstype': 'ext4', storagepolicyname: 'test-policy-name', csimigration: 'true' })],
        ['translate with no parameter and allowedTopology', sc({}, zoneA), sc({ csimigration: 'true' }, csiZoneA)],
        ['translate with storagepolicyname and allowedTopology', sc({ storagepolicyname: 'test-policy-name' }, zoneA), sc({ storagepolicyname: 'test-policy-name', csimigration: 'true' }, csiZoneA)],
        ['translate with storagepolicyname and allowedTopology beta labels', sc({ storagepolicyname: 'test-policy-name' }, betaZoneA), sc({ storagepolicyname: 'test-policy-name', csimigration: 'true' }, csiZoneA)],
        [
            'translate with raw vSAN policy parameters, datastore and diskformat',
            sc({ hostfailurestotolerate: '2', datastore: 'vsanDatastore', diskformat: 'thin' }, zoneA),
            sc({ 'hostfailurestotolerate-migrationparam': '2', 'datastore-migrationparam': 'vsanDatastore', 'diskformat-migrationparam': 'thin', csimigration: 'true' }, csiZoneA),
        ],
        [
            'translate with all parameters',
            sc(
                { storagepolicyname: 'test-policy-name', datastore: 'test-datastore-name', fstype: 'ext4', diskformat: 'thin', hostfailurestotolerate: '1', forceprovisioning: 'yes', cachereservation: '25', diskstripes: '4', objectspacereservation: '10', iopslimit: '32' },
                zoneA,
            ),
            sc(
                {
                    storagepolicyname: 'test-policy-name',
                    'datastore-migrationparam': 'test-datastore-name',
                    'csi.storage.k8s.io/fstype': 'ext4',
                    'diskformat-migrationparam': 'thin',
                    'hostfailurestotolerate-migrationparam': '1',
                    'forceprovisioning-migrationparam': 'yes',
                    'cachereservation-migrationparam': '25',
                    'diskstripes-migrationparam': '4',
                    'objectspacereservation-migrationparam': '10',
                    'iopslimit-migrationparam': '32',
                    csimigration: 'true',
                },
                csiZoneA,
            ),
        ],
    ];
    for (const [name, input, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => vsphere.translateStorageClass(input as V1StorageClass), TranslationError);
            else assert.deepEqual(vsphere.translateStorageClass(input as V1StorageClass), want);
        });
    }
});

describe('vsphere: PVs both ways and inline volumes', () => {
    const path = '[vsanDatastore] 6785a85e-268e-6352-a2e8-02008b7afadd/kubernetes-dynamic-pvc-68734c9f-a679-42e6-a694-39632c51e31f.vmdk';
    const name = 'pvc-d8b4475f-2c47-486e-9b57-43ae006f9b59';
    const affinity = (zoneKey: string, regionKey: string) => ({
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: zoneKey, operator: 'In', values: ['z1'] }, { key: regionKey, operator: 'In', values: ['r1'] }] }] },
    });
    const csiPV = (withTopology: boolean, labels?: Record<string, string>): V1PersistentVolume => ({
        metadata: { name, ...(labels ? { labels } : {}) },
        spec: {
            csi: { driver: VSPHERE_DRIVER, volumeHandle: path, fsType: 'ext4', volumeAttributes: { storagepolicyname: 'vSAN Default Storage Policy' } },
            accessModes: ['ReadWriteOnce'],
            ...(withTopology ? { nodeAffinity: affinity('topology.csi.vmware.com/zone', 'topology.csi.vmware.com/region') } : {}),
        },
    });
    const inTreePV = (labels?: Record<string, string>): V1PersistentVolume => ({
        metadata: { name, ...(labels ? { labels } : {}) },
        spec: { vsphereVolume: { volumePath: path, fsType: 'ext4', storagePolicyName: 'vSAN Default Storage Policy' }, accessModes: ['ReadWriteOnce'] },
    });
    const beta = { 'failure-domain.beta.kubernetes.io/zone': 'z1', 'failure-domain.beta.kubernetes.io/region': 'r1' };
    const ga = { 'topology.kubernetes.io/zone': 'z1', 'topology.kubernetes.io/region': 'r1' };
    it('expect error when in-tree vsphere PV is nil', () => assert.throws(() => vsphere.translatePV({}), TranslationError));
    it('translate valid vSphere in-tree PV to vSphere CSI PV', () => assert.deepEqual(vsphere.translatePV(inTreePV()), csiPV(false)));
    it('translate valid vSphere in-tree PV with beta topology labels to vSphere CSI PV', () => assert.deepEqual(vsphere.translatePV(inTreePV(beta)), csiPV(true, beta)));
    it('translate valid vSphere in-tree PV with GA topology labels to vSphere CSI PV', () => assert.deepEqual(vsphere.translatePV(inTreePV(ga)), csiPV(true, ga)));

    const csiBack = (withTopology: boolean): V1PersistentVolume => ({
        metadata: { name },
        spec: {
            csi: { driver: VSPHERE_DRIVER, volumeHandle: 'e4073a6d-642e-4dff-8f4a-b4e3a47c4bbd', fsType: 'ext4', volumeAttributes: { storagepolicyname: 'vSAN Default Storage Policy', initialvolumefilepath: path } },
            accessModes: ['ReadWriteOnce'],
            ...(withTopology ? { nodeAffinity: affinity('topology.csi.vmware.com/zone', 'topology.csi.vmware.com/region') } : {}),
        },
    });
    it('CSI → in-tree: expect error when pv.Spec.CSI is nil', () => assert.throws(() => vsphere.translateCSIPV({ metadata: { name }, spec: { accessModes: ['ReadWriteOnce'] } }), TranslationError));
    it('CSI → in-tree: translate valid vSphere CSI PV to vSphere in-tree PV', () =>
        assert.deepEqual(vsphere.translateCSIPV(csiBack(false)), { metadata: { name }, spec: { vsphereVolume: { volumePath: path, fsType: 'ext4' }, accessModes: ['ReadWriteOnce'] } }));
    it('CSI → in-tree: topology node affinity becomes Kubernetes keys and labels', () =>
        assert.deepEqual(vsphere.translateCSIPV(csiBack(true)), {
            metadata: { name, labels: ga },
            spec: { vsphereVolume: { volumePath: path, fsType: 'ext4' }, accessModes: ['ReadWriteOnce'], nodeAffinity: affinity('topology.kubernetes.io/zone', 'topology.kubernetes.io/region') },
        }));

    it('inline: expect error when inline vsphere volume is nil', () => assert.throws(() => vsphere.translateInline({ name: '' }, ''), TranslationError));
    it('inline: translate valid in-tree vsphere volume to vSphere CSI PV', () =>
        assert.deepEqual(vsphere.translateInline({ name: 'inlinevolume', vsphereVolume: { volumePath: '[vsanDatastore] volume/inlinevolume.vmdk', fsType: 'ext4' } }, ''), {
            metadata: { name: `${VSPHERE_DRIVER}-[vsanDatastore] volume/inlinevolume.vmdk` },
            spec: { csi: { driver: VSPHERE_DRIVER, volumeHandle: '[vsanDatastore] volume/inlinevolume.vmdk', fsType: 'ext4' }, accessModes: ['ReadWriteOnce'] },
        }));
    it('inline with a storage policy: carried to the volume attributes (upstream v1.36 dereferences nil here)', () =>
        assert.deepEqual(vsphere.translateInline({ name: 'v', vsphereVolume: { volumePath: 'p', storagePolicyName: 'gold' } }, '').spec?.csi?.volumeAttributes, { storagepolicyname: 'gold' }));
});
