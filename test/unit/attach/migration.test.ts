// The attach-detach controller's desired state for in-tree volumes of migrated plugins
// (ProcessPodVolumes → CreateVolumeSpecWithNodeMigration → csi_attacher.Attach): the CSI driver,
// the VolumeAttachment name of the translated handle, spec.source (persistentVolumeName for PVs,
// inlineVolumeSpec for inline volumes), access modes after translation, and the volumes whose
// translation fails (reported, not silently skipped).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import type { V1CSIDriver, V1PersistentVolume, V1Pod, V1Volume } from '@kubernetes/client-node';
import { desiredStateForNode, isMultiAttachAllowed, uniqueVolumeName } from '../../../controllers/attach-detach/decide.ts';
import type { DesiredWorld } from '../../../controllers/attach-detach/decide.ts';

const node = { metadata: { name: 'n1', annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } } };
const vaName = (handle: string, driver: string, n: string) => `csi-${crypto.createHash('sha256').update(`${handle}${driver}${n}`).digest('hex')}`;
const claim = { metadata: { name: 'c', namespace: 'app', uid: 'u1' }, spec: { volumeName: 'pv-1' }, status: { phase: 'Bound' } };
const pvWith = (source: object, modes = ['ReadWriteOnce']): V1PersistentVolume => ({ metadata: { name: 'pv-1', uid: 'pv-uid', resourceVersion: '1' }, spec: { accessModes: modes, claimRef: { uid: 'u1', name: 'c', namespace: 'app' }, ...source } });
const pod = (volumes: V1Volume[]): V1Pod => ({ metadata: { name: 'p', namespace: 'app', uid: 'pu' }, spec: { nodeName: 'n1', containers: [], volumes }, status: { phase: 'Running' } });
const claimPod = pod([{ name: 'v', persistentVolumeClaim: { claimName: 'c' } }]);
const world = (pv: V1PersistentVolume, drivers: V1CSIDriver[] = []): DesiredWorld => ({ claim: () => claim, volume: () => pv, csiDriver: (n) => drivers.find((d) => d.metadata?.name === n) });

describe('attach-detach: migrated in-tree PVs', () => {
    it('an EBS PV attaches through ebs.csi.aws.com: VA name of the translated handle, source persistentVolumeName', () => {
        const { desired, untranslatable } = desiredStateForNode(node, [claimPod], world(pvWith({ awsElasticBlockStore: { volumeID: 'aws://us-east-1a/vol-0abc', fsType: 'ext4' } })));
        assert.deepEqual(untranslatable, []);
        const d = [...desired.values()][0];
        assert.ok(d);
        assert.equal(d.vaName, vaName('vol-0abc', 'ebs.csi.aws.com', 'n1'));
        assert.equal(d.driver, 'ebs.csi.aws.com');
        assert.equal(d.handle, 'vol-0abc');
        assert.deepEqual(d.source, { persistentVolumeName: 'pv-1' });
        assert.equal(d.migrated, true);
        assert.equal(d.specName, 'pv-1');
        assert.equal(uniqueVolumeName(d.driver, d.handle), 'kubernetes.io/csi/ebs.csi.aws.com^vol-0abc');
    });
    const handles: [string, object, string, string][] = [
        ['gce-pd (zone from its label)', { gcePersistentDisk: { pdName: 'disk-1' } }, 'pd.csi.storage.gke.io', 'projects/UNSPECIFIED/zones/UNSPECIFIED/disks/disk-1'],
        ['azure-disk', { azureDisk: { diskName: 'd', diskURI: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d' } }, 'disk.csi.azure.com', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d'],
        ['azure-file', { azureFile: { secretName: 'azure-storage-account-acct-secret', shareName: 'share', secretNamespace: 'app' } }, 'file.csi.azure.com', '#acct#share#pv-1#app'],
        ['cinder', { cinder: { volumeID: 'c-1' } }, 'cinder.csi.openstack.org', 'c-1'],
        ['vsphere-volume', { vsphereVolume: { volumePath: '[ds] a.vmdk' } }, 'csi.vsphere.vmware.com', '[ds] a.vmdk'],
        ['portworx-volume', { portworxVolume: { volumeID: 'px-1' } }, 'pxd.portworx.com', 'px-1'],
    ];
    for (const [name, source, driver, handle] of handles) {
        it(`${name} attaches through ${driver}`, () => {
            const d = [...desiredStateForNode(node, [claimPod], world(pvWith(source))).desired.values()][0];
            assert.equal(d?.driver, driver);
            assert.equal(d?.handle, handle);
            assert.equal(d?.vaName, vaName(handle, driver, 'n1'));
        });
    }
    it('multi-attach is judged on the translated access modes (gce-pd RWX becomes RWO)', () => {
        const d = [...desiredStateForNode(node, [claimPod], world(pvWith({ gcePersistentDisk: { pdName: 'x' } }, ['ReadWriteMany']))).desired.values()][0];
        assert.deepEqual(d?.pv.spec?.accessModes, ['ReadWriteOnce']);
        assert.equal(isMultiAttachAllowed(d?.pv as V1PersistentVolume), false);
    });
    it('a CSIDriver that needs no attach: nothing to attach', () => {
        const drivers = [{ metadata: { name: 'ebs.csi.aws.com' }, spec: { attachRequired: false } }];
        assert.equal(desiredStateForNode(node, [claimPod], world(pvWith({ awsElasticBlockStore: { volumeID: 'vol-1' } }), drivers)).desired.size, 0);
    });
    it('an in-tree source no plugin migrates is not attached (nor reported: upstream has no CSI path for it)', () => {
        const s = desiredStateForNode(node, [claimPod], world(pvWith({ hostPath: { path: '/x' } })));
        assert.equal(s.desired.size, 0);
        assert.deepEqual(s.untranslatable, []);
    });
    it('a PV whose source cannot be translated is reported with upstream error text, not attached', () => {
        const s = desiredStateForNode(node, [claimPod], world(pvWith({ awsElasticBlockStore: { volumeID: 'aws://z/bad' } })));
        assert.equal(s.desired.size, 0);
        assert.deepEqual(
            s.untranslatable.map((u) => [u.pod.metadata?.name, u.volumeName, u.message]),
            [['p', 'pv-1', 'error performing CSI migration checks and translation for PVC "app"/"c": failed to translate in-tree pv to CSI: failed to translate Kubernetes ID to EBS Volume ID Invalid format for AWS volume (aws://z/bad)']],
        );
    });
    it('the memoizing translator of the caller is used', () => {
        let calls = 0;
        const w = world(pvWith({ cinder: { volumeID: 'c-1' } }));
        w.translatePV = (pv) => {
            calls++;
            return { ...pv, spec: { ...pv.spec, cinder: undefined, csi: { driver: 'cinder.csi.openstack.org', volumeHandle: 'memo' } } };
        };
        assert.equal([...desiredStateForNode(node, [claimPod, { ...claimPod, metadata: { ...claimPod.metadata, name: 'p2' } }], w).desired.values()][0]?.handle, 'memo');
        assert.equal(calls, 2);
    });
});

describe('attach-detach: migrated inline volumes', () => {
    const noClaims: DesiredWorld = { claim: () => undefined, volume: () => undefined, csiDriver: () => undefined };
    it('an inline EBS volume attaches with spec.source.inlineVolumeSpec = the translated CSI PV spec', () => {
        const { desired } = desiredStateForNode(node, [pod([{ name: 'data', awsElasticBlockStore: { volumeID: 'vol-0abc', fsType: 'ext4' } }])], noClaims);
        const d = [...desired.values()][0];
        assert.ok(d);
        assert.equal(d.vaName, vaName('vol-0abc', 'ebs.csi.aws.com', 'n1'));
        assert.equal(d.pvName, '');
        assert.equal(d.specName, 'ebs.csi.aws.com-vol-0abc');
        assert.deepEqual(d.source, {
            inlineVolumeSpec: {
                csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-0abc', fsType: 'ext4', volumeAttributes: { partition: '0' } },
                accessModes: ['ReadWriteOnce'],
                volumeMode: 'Filesystem',
            },
        });
        assert.equal(isMultiAttachAllowed(d.pv), false, 'RWO after translation');
    });
    it('an inline azure-file volume takes the pod namespace as its secret namespace', () => {
        const d = [...desiredStateForNode(node, [pod([{ name: 'files', azureFile: { secretName: 'azure-storage-account-acct-secret', shareName: 'share' } }])], noClaims).desired.values()][0];
        assert.equal(d?.handle, '#acct#share#files#app');
        assert.equal(isMultiAttachAllowed(d?.pv as V1PersistentVolume), true, 'RWX');
    });
    it('inline CSI (ephemeral) and other inline volumes are never attached', () => {
        const s = desiredStateForNode(node, [pod([{ name: 'e', csi: { driver: 'd' } }, { name: 'tmp', emptyDir: {} }, { name: 'n', nfs: { server: 's', path: '/' } }])], noClaims);
        assert.equal(s.desired.size, 0);
        assert.deepEqual(s.untranslatable, []);
    });
    it('an inline volume that cannot be translated is reported', () => {
        const s = desiredStateForNode(node, [pod([{ name: 'blob', azureDisk: { diskName: 'd', diskURI: 'u', kind: 'Dedicated' } }])], noClaims);
        assert.equal(s.desired.size, 0);
        assert.deepEqual(
            s.untranslatable.map((u) => [u.volumeName, u.message]),
            [['blob', 'error performing CSI migration checks and translation for PVC "app"/"": failed to translate in-tree pv to CSI: kind(Dedicated) is not supported in csi migration']],
        );
    });
});
