// azure-disk ⇄ disk.csi.azure.com and azure-file ⇄ file.csi.azure.com, from csi-translation-lib's
// own cases (plugins/azure_disk_test.go, plugins/azure_file_test.go). Expected objects are what
// the API server stores: Go pointer fields stay when empty (azureDisk fsType "", readOnly false).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1PersistentVolume, V1StorageClass, V1Volume } from '@kubernetes/client-node';
import { TranslationError } from '../../../src/migration/index.ts';
import { AZURE_DISK_TOPOLOGY_KEY, azureDisk, diskName, isManagedDisk } from '../../../src/migration/plugins/azure-disk.ts';
import { AZURE_FILE_RESOURCE_GROUP_ANNOTATION, azureFile, fileShareInfo, storageAccountName } from '../../../src/migration/plugins/azure-file.ts';
import { topologySelectors } from '../../../src/migration/topology.ts';

const sc = (parameters: Record<string, string>, allowedTopologies?: V1StorageClass['allowedTopologies']): V1StorageClass => ({ provisioner: '', parameters, ...(allowedTopologies ? { allowedTopologies } : {}) });
const diskURI = '/subscriptions/12/resourceGroups/23/providers/Microsoft.Compute/disks/name';

describe('azure-disk: isManagedDisk / getDiskName', () => {
    const managed: [string, boolean][] = [
        ['testurl/subscriptions/12/resourceGroups/23/providers/Microsoft.Compute/disks/name', true],
        ['test.com', true],
        ['HTTP://test.com', false],
        ['http://test.com/vhds/name', false],
    ];
    for (const [uri, want] of managed) it(`isManagedDisk(${uri})`, () => assert.equal(isManagedDisk(uri), want));
    const names: [string, string][] = [
        ['testurl/subscriptions/12/resourceGroups/23/providers/Microsoft.Compute/disks/name', 'name'],
        ['testurl/subscriptions/23/providers/Microsoft.Compute/disks/name', 'error: could not get disk name from testurl/subscriptions/23/providers/Microsoft.Compute/disks/name, correct format: .*/subscriptions/(?:.*)/resourceGroups/(?:.*)/providers/Microsoft.Compute/disks/(.+)'],
        ['http://test.com/vhds/name', 'name'],
        ['http://test.io/name', 'error: could not get disk name from http://test.io/name, correct format: http(?:.*)://(?:.*)/vhds/(.+)'],
    ];
    for (const [uri, want] of names) {
        it(`getDiskName(${uri})`, () => {
            if (want.startsWith('error: ')) assert.throws(() => diskName(uri), { message: want.slice(7) });
            else assert.equal(diskName(uri), want);
        });
    }
});

describe('azure-disk: inline volumes', () => {
    const cases: [string, V1Volume | undefined, V1PersistentVolume | 'error'][] = [
        ['empty volume', undefined, 'error'],
        ['no azure disk volume', { name: '' }, 'error'],
        [
            'azure disk volume',
            { name: '', azureDisk: { diskName: 'diskname', diskURI: 'datadiskuri' } },
            {
                metadata: { name: 'datadiskuri' },
                spec: { csi: { driver: 'disk.csi.azure.com', volumeHandle: 'datadiskuri', volumeAttributes: { kind: 'Managed' } }, accessModes: ['ReadWriteOnce'] },
            },
        ],
        ['azure disk volume with non-managed kind', { name: '', azureDisk: { diskName: 'diskname', diskURI: 'datadiskuri', kind: 'Dedicated' } }, 'error'],
    ];
    for (const [name, vol, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => azureDisk.translateInline(vol as V1Volume, ''), TranslationError);
            else assert.deepEqual(azureDisk.translateInline(vol as V1Volume, ''), want);
        });
    }
    it('a non-managed kind names itself in the error', () =>
        assert.throws(() => azureDisk.translateInline({ name: '', azureDisk: { diskName: 'd', diskURI: 'u', kind: 'Dedicated' } }, ''), { message: 'kind(Dedicated) is not supported in csi migration' }));
});

describe('azure-disk: PVs', () => {
    const cases: [string, V1PersistentVolume | undefined, V1PersistentVolume | 'error'][] = [
        ['empty volume', undefined, 'error'],
        ['no azure disk volume', {}, 'error'],
        [
            'azure disk volume',
            { spec: { azureDisk: { cachingMode: 'cachingmode', diskName: '', diskURI, fsType: 'fstype', readOnly: true } } },
            {
                spec: {
                    csi: { driver: 'disk.csi.azure.com', fsType: 'fstype', readOnly: true, volumeAttributes: { cachingmode: 'cachingmode', fstype: 'fstype', kind: 'Managed' }, volumeHandle: diskURI },
                },
            },
        ],
        ['azure disk volume with non-managed kind', { spec: { azureDisk: { cachingMode: 'cachingmode', diskName: '', diskURI, fsType: 'fstype', readOnly: true, kind: 'Dedicated' } } }, 'error'],
        [
            'node affinity and access modes are kept as they are',
            { spec: { accessModes: ['ReadWriteMany'], azureDisk: { diskName: 'n', diskURI }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['1'] }] }] } } } },
            {
                spec: {
                    accessModes: ['ReadWriteMany'],
                    csi: { driver: 'disk.csi.azure.com', volumeHandle: diskURI, volumeAttributes: { kind: 'Managed' } },
                    nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['1'] }] }] } },
                },
            },
        ],
    ];
    for (const [name, pv, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => azureDisk.translatePV(pv as V1PersistentVolume), TranslationError);
            else assert.deepEqual(azureDisk.translatePV(structuredClone(pv) as V1PersistentVolume), want);
        });
    }
});

describe('azure-disk: CSI PV → in-tree', () => {
    const csiPV = (attrs: Record<string, string>): V1PersistentVolume => ({
        spec: { csi: { driver: 'disk.csi.azure.com', fsType: 'fstype', readOnly: true, volumeAttributes: attrs, volumeHandle: diskURI } },
    });
    const inTree = (cachingMode: string): V1PersistentVolume => ({ spec: { azureDisk: { cachingMode, diskURI, fsType: 'fstype', readOnly: true, kind: 'Managed', diskName: 'name' } } });
    const cases: [string, Record<string, string>, string][] = [
        ['azure disk volume with ReadOnly cachingMode', { cachingmode: 'ReadOnly', fstype: 'fstype', kind: 'managed' }, 'ReadOnly'],
        ['azure disk volume with ReadOnly cachingMode (fstype attribute)', { cachingmode: 'ReadOnly', fstype: 'fstype', kind: 'managed' }, 'ReadOnly'],
        ['azure disk volume with None cachingMode', { cachingMode: 'None', fsType: 'fstype', kind: 'managed' }, 'None'],
        ['azure disk volume with ReadWrite cachingMode', { cachingMode: 'ReadWrite', fsType: 'fstype', kind: 'managed' }, 'ReadWrite'],
    ];
    for (const [name, attrs, mode] of cases) it(name, () => assert.deepEqual(azureDisk.translateCSIPV(csiPV(attrs)), inTree(mode)));
    it('fsType and readOnly are written even when empty (pointer fields)', () =>
        assert.deepEqual(azureDisk.translateCSIPV({ spec: { csi: { driver: 'disk.csi.azure.com', volumeHandle: diskURI } } }).spec, {
            azureDisk: { diskName: 'name', diskURI, fsType: '', readOnly: false, kind: 'Managed' },
        }));
});

describe('azure-disk: StorageClass', () => {
    const cases: [string, V1StorageClass, V1StorageClass | 'error'][] = [
        ['nothing special', sc({ foo: 'bar' }), sc({ foo: 'bar' })],
        ['empty params', sc({}), sc({})],
        ['zone', sc({ zone: 'foo' }), sc({}, topologySelectors(AZURE_DISK_TOPOLOGY_KEY, ['foo']))],
        ['zones', sc({ zones: 'foo,bar,baz' }), sc({}, topologySelectors(AZURE_DISK_TOPOLOGY_KEY, ['foo', 'bar', 'baz']))],
        ['some normal topology', sc({}, topologySelectors(AZURE_DISK_TOPOLOGY_KEY, ['foo'])), sc({}, topologySelectors(AZURE_DISK_TOPOLOGY_KEY, ['foo']))],
        ['some translated topology', sc({}, topologySelectors('topology.kubernetes.io/zone', ['foo'])), sc({}, topologySelectors(AZURE_DISK_TOPOLOGY_KEY, ['foo']))],
        ['some translated topology with beta labels', sc({}, topologySelectors('failure-domain.beta.kubernetes.io/zone', ['foo'])), sc({}, topologySelectors(AZURE_DISK_TOPOLOGY_KEY, ['foo']))],
        ['zone and topology', sc({ zone: 'foo' }, topologySelectors(AZURE_DISK_TOPOLOGY_KEY, ['foo'])), 'error'],
        ['topology in regions without zones', sc({}, topologySelectors('topology.kubernetes.io/zone', ['0'])), sc({}, topologySelectors(AZURE_DISK_TOPOLOGY_KEY, ['']))],
        ['longer topology in regions without zones', sc({}, topologySelectors('topology.kubernetes.io/zone', ['1234'])), sc({}, topologySelectors(AZURE_DISK_TOPOLOGY_KEY, ['']))],
        ['topology in regions with zones', sc({}, topologySelectors('topology.kubernetes.io/zone', ['centralus-1'])), sc({}, topologySelectors(AZURE_DISK_TOPOLOGY_KEY, ['centralus-1']))],
        ['fstype passes unchanged (no CSI fstype key for azure-disk)', sc({ fsType: 'xfs' }), sc({ fsType: 'xfs' })],
    ];
    for (const [name, input, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => azureDisk.translateStorageClass(input), TranslationError);
            else assert.deepEqual(azureDisk.translateStorageClass(input), want);
        });
    }
});

describe('azure-file: getFileShareInfo / getStorageAccountName', () => {
    const cases: [string, [string, string, string, string] | string][] = [
        ['rg#f5713de20cde511e8ba4900#pvc-file-dynamic-17e43f84-f474-11e8-acd0-000d3a00df41#diskname.vhd', ['rg', 'f5713de20cde511e8ba4900', 'pvc-file-dynamic-17e43f84-f474-11e8-acd0-000d3a00df41', 'diskname.vhd']],
        ['rg#f5713de20cde511e8ba4900#pvc-file-dynamic-17e43f84-f474-11e8-acd0-000d3a00df41', ['rg', 'f5713de20cde511e8ba4900', 'pvc-file-dynamic-17e43f84-f474-11e8-acd0-000d3a00df41', '']],
        ['rg#f5713de20cde511e8ba4900', 'error parsing volume id: "rg#f5713de20cde511e8ba4900", should at least contain two #'],
        ['rg', 'error parsing volume id: "rg", should at least contain two #'],
        ['', 'error parsing volume id: "", should at least contain two #'],
    ];
    for (const [id, want] of cases) {
        it(`getFileShareInfo(${JSON.stringify(id)})`, () => {
            if (typeof want === 'string') assert.throws(() => fileShareInfo(id), { message: want });
            else assert.deepEqual(fileShareInfo(id), want);
        });
    }
    const accounts: [string, string | undefined][] = [
        ['azure-storage-account-accountname-secret', 'accountname'],
        ['azure-storage-account-accountname-dup-secret', 'accountname-dup'],
        ['invalid', undefined],
    ];
    for (const [secret, want] of accounts) {
        it(`getStorageAccountName(${secret})`, () => {
            if (want === undefined) assert.throws(() => storageAccountName(secret), TranslationError);
            else assert.equal(storageAccountName(secret), want);
        });
    }
});

describe('azure-file: inline volumes', () => {
    const cases: [string, V1Volume | undefined, string, V1PersistentVolume | 'error'][] = [
        ['empty volume', undefined, '', 'error'],
        ['no azure file volume', { name: '' }, '', 'error'],
        [
            'azure file volume',
            { name: 'name', azureFile: { readOnly: true, secretName: 'secretname', shareName: 'sharename' } },
            '',
            {
                metadata: { name: '#secretname#sharename#name#default' },
                spec: {
                    csi: {
                        driver: 'file.csi.azure.com',
                        nodeStageSecretRef: { name: 'secretname', namespace: 'default' },
                        readOnly: true,
                        volumeAttributes: { sharename: 'sharename' },
                        volumeHandle: '#secretname#sharename#name#default',
                    },
                    accessModes: ['ReadWriteMany'],
                },
            },
        ],
        [
            'azure file volume with a pod namespace',
            { name: 'name', azureFile: { readOnly: true, secretName: 'secretname', shareName: 'sharename' } },
            'test',
            {
                metadata: { name: '#secretname#sharename#name#test' },
                spec: {
                    csi: {
                        driver: 'file.csi.azure.com',
                        nodeStageSecretRef: { name: 'secretname', namespace: 'test' },
                        readOnly: true,
                        volumeAttributes: { sharename: 'sharename' },
                        volumeHandle: '#secretname#sharename#name#test',
                    },
                    accessModes: ['ReadWriteMany'],
                },
            },
        ],
    ];
    for (const [name, vol, ns, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => azureFile.translateInline(vol as V1Volume, ns), TranslationError);
            else assert.deepEqual(azureFile.translateInline(vol as V1Volume, ns), want);
        });
    }
});

describe('azure-file: PVs', () => {
    const csi = (handle: string, ns = 'secretnamespace') => ({
        driver: 'file.csi.azure.com',
        readOnly: true,
        nodeStageSecretRef: { name: 'secretname', namespace: ns },
        volumeAttributes: { sharename: 'sharename' },
        volumeHandle: handle,
    });
    const cases: [string, V1PersistentVolume | undefined, V1PersistentVolume | 'error'][] = [
        ['empty volume', undefined, 'error'],
        ['no azure file volume', {}, 'error'],
        [
            'return error if secret namespace could not be found',
            { metadata: { name: 'uuid', annotations: { [AZURE_FILE_RESOURCE_GROUP_ANNOTATION]: 'rg' } }, spec: { azureFile: { shareName: 'sharename', secretName: 'secretname', readOnly: true } } },
            'error',
        ],
        [
            'azure file volume',
            { metadata: { name: 'uuid' }, spec: { azureFile: { shareName: 'sharename', secretName: 'secretname', secretNamespace: 'secretnamespace', readOnly: true } } },
            { metadata: { name: 'uuid' }, spec: { csi: csi('#secretname#sharename#uuid#secretnamespace') } },
        ],
        [
            'azure file volume with rg annotation',
            { metadata: { name: 'uuid', annotations: { [AZURE_FILE_RESOURCE_GROUP_ANNOTATION]: 'rg' } }, spec: { azureFile: { shareName: 'sharename', secretName: 'secretname', secretNamespace: 'secretnamespace', readOnly: true } } },
            { metadata: { name: 'uuid', annotations: { [AZURE_FILE_RESOURCE_GROUP_ANNOTATION]: 'rg' } }, spec: { csi: csi('rg#secretname#sharename#uuid#secretnamespace') } },
        ],
        [
            "get secret namespace from ClaimRef when it's missing in pv spec source",
            { metadata: { name: 'uuid', annotations: { [AZURE_FILE_RESOURCE_GROUP_ANNOTATION]: 'rg' } }, spec: { azureFile: { shareName: 'sharename', secretName: 'secretname', readOnly: true }, claimRef: { namespace: 'secretnamespace' } } },
            { metadata: { name: 'uuid', annotations: { [AZURE_FILE_RESOURCE_GROUP_ANNOTATION]: 'rg' } }, spec: { csi: csi('rg#secretname#sharename#uuid#secretnamespace'), claimRef: { namespace: 'secretnamespace' } } },
        ],
    ];
    for (const [name, pv, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => azureFile.translatePV(pv as V1PersistentVolume), TranslationError);
            else assert.deepEqual(azureFile.translatePV(structuredClone(pv) as V1PersistentVolume), want);
        });
    }
    it('the missing secret namespace is named in the error', () =>
        assert.throws(() => azureFile.translatePV({ metadata: { name: 'x' }, spec: { azureFile: { shareName: 's', secretName: 'n' } } }), {
            message: 'could not find a secret namespace in PersistentVolumeSource or ClaimRef',
        }));
});

describe('azure-file: CSI PV → in-tree', () => {
    const mp = { shareName: 'sharename' };
    const secretMap = { shareName: 'sharename', secretName: 'secretname', secretNamespace: 'secretnamespace' };
    const cases: [string, V1PersistentVolume | undefined, V1PersistentVolume | 'error'][] = [
        ['empty volume', undefined, 'error'],
        [
            'resource group empty',
            { spec: { csi: { driver: '', volumeHandle: '', nodeStageSecretRef: { name: 'ut', namespace: 'secretnamespace' }, readOnly: true, volumeAttributes: mp } } },
            { metadata: { annotations: {} }, spec: { azureFile: { secretName: 'ut', secretNamespace: 'secretnamespace', readOnly: true, shareName: 'sharename' } } },
        ],
        ['translate from volume handle error', { spec: { csi: { driver: '', volumeHandle: 'sharename', readOnly: true, volumeAttributes: mp } } }, 'error'],
        [
            'translate from VolumeAttributes',
            { metadata: { name: 'file.csi.azure.com-sharename' }, spec: { csi: { driver: '', volumeHandle: 'rg#st#pvc-file-dynamic#diskname.vhd', readOnly: true, volumeAttributes: mp } } },
            {
                metadata: { name: 'file.csi.azure.com-sharename', annotations: { [AZURE_FILE_RESOURCE_GROUP_ANNOTATION]: 'rg' } },
                spec: { azureFile: { secretName: 'azure-storage-account-st-secret', shareName: 'sharename', secretNamespace: 'default', readOnly: true } },
            },
        ],
        [
            'translate from SecretMap VolumeAttributes',
            { metadata: { name: 'file.csi.azure.com-sharename', annotations: {} }, spec: { csi: { driver: '', volumeHandle: 'rg#st#pvc-file-dynamic#diskname.vhd', readOnly: true, volumeAttributes: secretMap } } },
            { metadata: { name: 'file.csi.azure.com-sharename', annotations: {} }, spec: { azureFile: { secretName: 'secretname', secretNamespace: 'secretnamespace', shareName: 'sharename', readOnly: true } } },
        ],
        [
            'translate from NodeStageSecretRef',
            {
                metadata: { name: 'file.csi.azure.com-sharename' },
                spec: { csi: { driver: '', volumeHandle: 'rg#st#pvc-file-dynamic#diskname.vhd', readOnly: true, volumeAttributes: mp, nodeStageSecretRef: { name: 'secretname', namespace: 'secretnamespace' } } },
            },
            { metadata: { name: 'file.csi.azure.com-sharename', annotations: {} }, spec: { azureFile: { secretName: 'secretname', shareName: 'sharename', secretNamespace: 'secretnamespace', readOnly: true } } },
        ],
        [
            'translate from VolumeHandle',
            { metadata: { name: 'file.csi.azure.com-sharename' }, spec: { csi: { driver: '', volumeHandle: 'rg#st#pvc-file-dynamic#diskname.vhd', readOnly: true } } },
            {
                metadata: { name: 'file.csi.azure.com-sharename', annotations: { [AZURE_FILE_RESOURCE_GROUP_ANNOTATION]: 'rg' } },
                spec: { azureFile: { secretName: 'azure-storage-account-st-secret', shareName: 'pvc-file-dynamic', secretNamespace: 'default', readOnly: true } },
            },
        ],
    ];
    for (const [name, pv, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => azureFile.translateCSIPV(pv as V1PersistentVolume), TranslationError);
            else assert.deepEqual(azureFile.translateCSIPV(structuredClone(pv) as V1PersistentVolume), want);
        });
    }
    it('StorageClass parameters pass unchanged', () => assert.deepEqual(azureFile.translateStorageClass(sc({ skuName: 'Standard_LRS' })), sc({ skuName: 'Standard_LRS' })));
});
