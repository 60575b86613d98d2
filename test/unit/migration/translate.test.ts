// The translation entry points every loop uses, from csi-translation-lib's translate_test.go
// (TestTranslationStability, TestTopologyTranslation, TestTranslateInTreeInlineVolumeToCSINameUniqueness,
// TestPluginNameMappings) and the migration state of plugins (pkg/volume/csimigration).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import type { V1NodeSelectorRequirement, V1PersistentVolume, V1Volume } from '@kubernetes/client-node';
import {
    ANN_MIGRATED_PLUGINS,
    PLUGINS,
    TranslationError,
    csiNameFromInTreeName,
    csiSourceOf,
    inTreeNameFromCSIName,
    inTreePluginNameFromSpec,
    isCSIMigrationSupportedOnNode,
    isMigratable,
    isMigratableIntreePluginByName,
    isMigratedCSIDriverByName,
    isMigrationEnabledForPlugin,
    translateCSIPVToInTree,
    translateInTreeInlineVolumeToCSI,
    translateInTreePVToCSI,
    translateInTreeSpecToCSI,
    translateInTreeStorageClassToCSI,
} from '../../../src/migration/index.ts';
import { AWS_EBS_TOPOLOGY_KEY } from '../../../src/migration/plugins/aws-ebs.ts';
import { CINDER_TOPOLOGY_KEY } from '../../../src/migration/plugins/cinder.ts';
import { GCE_PD_TOPOLOGY_KEY } from '../../../src/migration/plugins/gce-pd.ts';
import { topologyKeyExist } from '../../../src/migration/topology.ts';

const ZONE = 'topology.kubernetes.io/zone';
const BZONE = 'failure-domain.beta.kubernetes.io/zone';
const betaLabels = { [BZONE]: 'us-east-1a', 'failure-domain.beta.kubernetes.io/region': 'us-east-1' };
const gaLabels = { [ZONE]: 'us-east-1a', 'topology.kubernetes.io/region': 'us-east-1' };
const regionalBeta = { [BZONE]: 'europe-west1-b__europe-west1-c' };
const regionalGA = { [ZONE]: 'europe-west1-b__europe-west1-c' };

const topo = (key: string, ...values: string[]): V1NodeSelectorRequirement => ({ key, operator: 'In', values });
function makePV(labels: Record<string, string> | undefined, source: object, ...topologies: V1NodeSelectorRequirement[]): V1PersistentVolume {
    return {
        metadata: labels ? { labels: { ...labels } } : {},
        spec: { ...source, ...(topologies.length ? { nodeAffinity: { required: { nodeSelectorTerms: topologies.map((t) => ({ matchExpressions: [t] })) } } } : {}) },
    };
}
const gce = (labels?: Record<string, string>, ...t: V1NodeSelectorRequirement[]) => makePV(labels, { gcePersistentDisk: { pdName: 'test-disk', fsType: 'ext4' } }, ...t);
const ebs = (labels?: Record<string, string>, ...t: V1NodeSelectorRequirement[]) => makePV(labels, { awsElasticBlockStore: { volumeID: 'vol01', fsType: 'ext3', partition: 1, readOnly: true } }, ...t);
const cin = (labels?: Record<string, string>, ...t: V1NodeSelectorRequirement[]) => makePV(labels, { cinder: { volumeID: 'vol1', fsType: 'ext4' } }, ...t);
function affinity(multiTerms: boolean, key: string, ...values: string[]) {
    const terms = multiTerms ? values.map((v) => ({ matchExpressions: [topo(key, v)] })) : [{ matchExpressions: [topo(key, ...values)] }];
    return { required: { nodeSelectorTerms: terms } };
}

describe('translation stability: in-tree → CSI → in-tree is the identity', () => {
    it('GCE PD PV Source', () => {
        const pv = gce();
        assert.deepEqual(translateCSIPVToInTree(translateInTreePVToCSI(pv)), pv);
    });
    it('AWS EBS PV Source', () => {
        const pv = ebs();
        assert.deepEqual(translateCSIPVToInTree(translateInTreePVToCSI(pv)), pv);
    });
    it('the input is never modified', () => {
        const pv = ebs(betaLabels);
        const before = structuredClone(pv);
        translateInTreePVToCSI(pv);
        assert.deepEqual(pv, before);
    });
});

describe('topology translation', () => {
    const cases: [string, string, V1PersistentVolume, ReturnType<typeof affinity>][] = [
        ['GCE PD with beta zone labels', GCE_PD_TOPOLOGY_KEY, gce(betaLabels), affinity(false, GCE_PD_TOPOLOGY_KEY, 'us-east-1a')],
        ['GCE PD with GA kubernetes zone labels', GCE_PD_TOPOLOGY_KEY, gce(gaLabels), affinity(false, GCE_PD_TOPOLOGY_KEY, 'us-east-1a')],
        ['GCE PD with existing topology (beta keys)', '', gce(undefined, topo(BZONE, 'us-east-2a')), affinity(false, GCE_PD_TOPOLOGY_KEY, 'us-east-2a')],
        ['GCE PD with existing topology (CSI keys)', GCE_PD_TOPOLOGY_KEY, gce(undefined, topo(GCE_PD_TOPOLOGY_KEY, 'us-east-2a')), affinity(false, GCE_PD_TOPOLOGY_KEY, 'us-east-2a')],
        ['GCE PD with zone labels and topology', '', gce(betaLabels, topo(BZONE, 'us-east-2a')), affinity(false, GCE_PD_TOPOLOGY_KEY, 'us-east-2a')],
        ['GCE PD with regional zones', GCE_PD_TOPOLOGY_KEY, gce(regionalBeta), affinity(false, GCE_PD_TOPOLOGY_KEY, 'europe-west1-b', 'europe-west1-c')],
        ['GCE PD with regional topology', GCE_PD_TOPOLOGY_KEY, gce(undefined, topo(ZONE, 'europe-west1-b', 'europe-west1-c')), affinity(false, GCE_PD_TOPOLOGY_KEY, 'europe-west1-b', 'europe-west1-c')],
        ['GCE PD with Beta regional zone and topology', GCE_PD_TOPOLOGY_KEY, gce(regionalBeta, topo(BZONE, 'europe-west1-f', 'europe-west1-g')), affinity(false, GCE_PD_TOPOLOGY_KEY, 'europe-west1-f', 'europe-west1-g')],
        ['GCE PD with GA regional zone and topology', GCE_PD_TOPOLOGY_KEY, gce(regionalGA, topo(ZONE, 'europe-west1-f', 'europe-west1-g')), affinity(false, GCE_PD_TOPOLOGY_KEY, 'europe-west1-f', 'europe-west1-g')],
        ['GCE PD with multiple node selector terms', GCE_PD_TOPOLOGY_KEY, gce(undefined, topo(ZONE, 'europe-west1-f'), topo(ZONE, 'europe-west1-g')), affinity(true, GCE_PD_TOPOLOGY_KEY, 'europe-west1-f', 'europe-west1-g')],
        ['AWS EBS with beta zone labels', '', ebs(betaLabels), affinity(false, AWS_EBS_TOPOLOGY_KEY, 'us-east-1a')],
        ['AWS EBS with beta zone labels and topology', '', ebs(betaLabels, topo(BZONE, 'us-east-2a')), affinity(false, AWS_EBS_TOPOLOGY_KEY, 'us-east-2a')],
        ['AWS EBS with GA zone labels', '', ebs(gaLabels), affinity(false, AWS_EBS_TOPOLOGY_KEY, 'us-east-1a')],
        ['AWS EBS with GA zone labels and topology', '', ebs(gaLabels, topo(ZONE, 'us-east-2a')), affinity(false, AWS_EBS_TOPOLOGY_KEY, 'us-east-2a')],
        ['OpenStack Cinder with zone labels', '', cin(betaLabels), affinity(false, CINDER_TOPOLOGY_KEY, 'us-east-1a')],
        ['OpenStack Cinder with zone labels and topology', '', cin(betaLabels, topo(BZONE, 'us-east-2a')), affinity(false, CINDER_TOPOLOGY_KEY, 'us-east-2a')],
    ];
    for (const [name, key, pv, want] of cases) {
        it(name, () => {
            const csi = translateInTreePVToCSI(pv);
            assert.deepEqual(csi.spec?.nodeAffinity, want);
            const back = translateCSIPVToInTree(csi);
            if (key) {
                assert.equal(topologyKeyExist(key, back.spec?.nodeAffinity), false, 'the CSI key is gone after translating back');
                assert.ok(topologyKeyExist(BZONE, back.spec?.nodeAffinity) || topologyKeyExist(ZONE, back.spec?.nodeAffinity), 'a Kubernetes zone key is back');
            }
        });
    }
});

describe('inline volumes', () => {
    const sources: Record<string, () => V1Volume> = {
        'pd.csi.storage.gke.io': () => ({ name: '', gcePersistentDisk: { pdName: crypto.randomUUID() } }),
        'ebs.csi.aws.com': () => ({ name: '', awsElasticBlockStore: { volumeID: crypto.randomUUID() } }),
        'cinder.csi.openstack.org': () => ({ name: '', cinder: { volumeID: crypto.randomUUID() } }),
        'disk.csi.azure.com': () => ({ name: '', azureDisk: { diskName: crypto.randomUUID(), diskURI: crypto.randomUUID() } }),
        'file.csi.azure.com': () => ({ name: '', azureFile: { secretName: crypto.randomUUID(), shareName: crypto.randomUUID() } }),
        'csi.vsphere.vmware.com': () => ({ name: '', vsphereVolume: { volumePath: ` [vsanDatastore] 6785a85e-268e-6352-a2e8-02008b7afadd/kubernetes-dynamic-pvc-${crypto.randomUUID()}.vmdk`, fsType: 'ext4' } }),
        'pxd.portworx.com': () => ({ name: '', portworxVolume: { volumeID: crypto.randomUUID() } }),
    };
    it('covers every plugin', () => assert.deepEqual(Object.keys(sources).sort(), PLUGINS.map((p) => p.driverName).sort()));
    for (const [driver, make] of Object.entries(sources)) {
        it(`${driver}: PV names unique per disk, Filesystem volume mode`, () => {
            const a = translateInTreeInlineVolumeToCSI(make(), '');
            const b = translateInTreeInlineVolumeToCSI(make(), '');
            assert.notEqual(a.metadata?.name, b.metadata?.name);
            assert.equal(a.spec?.csi?.driver, driver);
            assert.equal(a.spec?.volumeMode, 'Filesystem');
        });
    }
    it('a volume no plugin handles is an error naming it', () =>
        assert.throws(() => translateInTreeInlineVolumeToCSI({ name: 'data', emptyDir: {} }, 'ns'), { name: 'TranslationError', message: 'could not find in-tree plugin translation logic for "data"' }));
});

describe('plugin names', () => {
    const all: [string, string][] = [
        ['kubernetes.io/gce-pd', 'pd.csi.storage.gke.io'],
        ['kubernetes.io/aws-ebs', 'ebs.csi.aws.com'],
        ['kubernetes.io/azure-disk', 'disk.csi.azure.com'],
        ['kubernetes.io/azure-file', 'file.csi.azure.com'],
        ['kubernetes.io/cinder', 'cinder.csi.openstack.org'],
        ['kubernetes.io/vsphere-volume', 'csi.vsphere.vmware.com'],
        ['kubernetes.io/portworx-volume', 'pxd.portworx.com'],
    ];
    for (const [inTree, csi] of all) {
        it(`${inTree} ⇄ ${csi}`, () => {
            assert.equal(csiNameFromInTreeName(inTree), csi);
            assert.ok(isMigratedCSIDriverByName(csi));
            assert.equal(inTreeNameFromCSIName(csi), inTree);
            assert.ok(isMigratableIntreePluginByName(inTree));
            assert.ok(isMigrationEnabledForPlugin(inTree), 'GA and locked on in v1.36');
        });
    }
    it('plugins upstream no longer migrates are not migrated', () => {
        for (const p of ['kubernetes.io/rbd', 'kubernetes.io/glusterfs', 'kubernetes.io/host-path', 'ebs.csi.aws.com', '']) {
            assert.equal(isMigrationEnabledForPlugin(p), false, p);
            assert.equal(isMigratableIntreePluginByName(p), false, p);
        }
        assert.throws(() => csiNameFromInTreeName('kubernetes.io/rbd'), { message: 'could not find CSI Driver name for plugin kubernetes.io/rbd' });
        assert.throws(() => inTreeNameFromCSIName('rbd.csi.ceph.com'), { message: 'could not find In-Tree driver name for CSI plugin rbd.csi.ceph.com' });
    });
    it('plugin of a spec', () => {
        assert.equal(inTreePluginNameFromSpec(ebs(), undefined), 'kubernetes.io/aws-ebs');
        assert.equal(inTreePluginNameFromSpec(undefined, { name: 'v', cinder: { volumeID: 'x' } }), 'kubernetes.io/cinder');
        assert.throws(() => inTreePluginNameFromSpec({ metadata: { name: 'h' }, spec: { hostPath: { path: '/x' } } }, undefined), { message: 'could not find in-tree plugin name from persistent volume h' });
        assert.throws(() => inTreePluginNameFromSpec(undefined, undefined), { message: 'both persistent volume and volume are nil' });
    });
    it('a StorageClass of a plugin without translation is an error', () =>
        assert.throws(() => translateInTreeStorageClassToCSI('kubernetes.io/rbd', { provisioner: 'kubernetes.io/rbd' }), { message: 'could not find in-tree storage class parameter translation logic for "kubernetes.io/rbd"' }));
    it('a PV no plugin handles is an error naming it', () =>
        assert.throws(() => translateInTreePVToCSI({ metadata: { name: 'nfs-1' }, spec: { nfs: { server: 's', path: '/' } } }), { message: 'could not find in-tree plugin translation logic for "nfs-1"' }));
    it('a CSI PV of a driver that replaces no plugin is an error naming it', () =>
        assert.throws(() => translateCSIPVToInTree({ spec: { csi: { driver: 'dir.csi.example.io', volumeHandle: 'h' } } }), { message: 'could not find in-tree plugin translation logic for dir.csi.example.io' }));
});

describe('migration state (csimigration)', () => {
    it('isMigratable: in-tree sources of migrated plugins only', () => {
        assert.equal(isMigratable({ pv: ebs() }), true);
        assert.equal(isMigratable({ volume: { name: 'v', azureFile: { secretName: 's', shareName: 'x' } } }), true);
        assert.equal(isMigratable({ pv: { spec: { csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'h' } } } }), false);
        assert.equal(isMigratable({ pv: { spec: { rbd: { image: 'i', monitors: [] } } } }), false);
        assert.equal(isMigratable({}), false);
    });
    it('migration is complete for all seven plugins in v1.36: the CSINode annotation is not consulted', () => {
        for (const p of PLUGINS) {
            assert.equal(isCSIMigrationSupportedOnNode(p.inTreeName, undefined), true);
            assert.equal(isCSIMigrationSupportedOnNode(p.inTreeName, { metadata: { name: 'n', annotations: { [ANN_MIGRATED_PLUGINS]: '' } }, spec: { drivers: [] } }), true);
        }
        assert.equal(isCSIMigrationSupportedOnNode('kubernetes.io/rbd', { metadata: { name: 'n', annotations: { [ANN_MIGRATED_PLUGINS]: 'kubernetes.io/rbd' } }, spec: { drivers: [] } }), true);
        assert.equal(isCSIMigrationSupportedOnNode('kubernetes.io/rbd', { metadata: { name: 'n' }, spec: { drivers: [] } }), false);
    });
    it('translateInTreeSpecToCSI prefixes its errors as upstream', () => {
        assert.throws(() => translateInTreeSpecToCSI({ pv: { metadata: { name: 'x' }, spec: { awsElasticBlockStore: { volumeID: 'aws://z/bad' } } } }, 'ns'), (e: Error) => {
            assert.ok(e instanceof TranslationError);
            assert.equal(e.message, 'failed to translate in-tree pv to CSI: failed to translate Kubernetes ID to EBS Volume ID Invalid format for AWS volume (aws://z/bad)');
            return true;
        });
        assert.deepEqual(translateInTreeSpecToCSI({ volume: { name: 'v', cinder: { volumeID: 'c1' } } }, 'ns').inline, true);
    });
    it('csiSourceOf: a CSI PV as is, a migrated PV translated, others none', () => {
        assert.deepEqual(csiSourceOf({ spec: { csi: { driver: 'd', volumeHandle: 'h' } } }), { driver: 'd', volumeHandle: 'h' });
        assert.equal(csiSourceOf(ebs())?.volumeHandle, 'vol01');
        assert.equal(csiSourceOf({ spec: { hostPath: { path: '/x' } } }), undefined);
    });
});
