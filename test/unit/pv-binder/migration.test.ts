// The PV binder's CSI migration decisions, from upstream's own tables: pv_controller_test.go
// TestAnnealMigrationAnnotations and TestModifyDeletionFinalizers (13-x), provision_test.go 11-21
// (external provisioning of a migrated class) and delete_test.go 8-10-3 (a migrated volume is left
// to its CSI driver's provisioner), with kubernetes v1.36's real migration state (all seven
// plugins migrated) where upstream's tests fake it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { claimProvisionerAnnotations, decideClaim, decideReclaim, deletionFinalizers, migrationAnnotations, volumeMigrationUpdate } from '../../../controllers/pv-binder/decide.ts';
import { pv, pvc, sc, world } from './fixtures.ts';

const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
const BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
const MIGRATED_TO = 'pv.kubernetes.io/migrated-to';
const PV_CONTROLLER = 'kubernetes.io/pv-controller';
const EXTERNAL = 'external-provisioner.volume.kubernetes.io/finalizer';
const CUSTOM = 'test.volume.kubernetes.io/finalizer';

/** Apply a merge patch of annotations (null removes). */
function apply(ann: Record<string, string> | undefined, patch: Record<string, string | null> | undefined): Record<string, string> | undefined {
    if (!patch || !ann) return ann;
    const out = { ...ann };
    for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete out[k];
        else out[k] = v;
    }
    return out;
}

describe('updateMigrationAnnotations (TestAnnealMigrationAnnotations)', () => {
    const migratedPlugin = 'kubernetes.io/gce-pd';
    const migratedDriver = 'pd.csi.storage.gke.io';
    const nonmigratedPlugin = 'kubernetes.io/rbd';
    const nonmigratedDriver = 'rbd.csi.ceph.com';
    const testPlugin = 'non-migrated-plugin';
    type Ann = Record<string, string> | undefined;
    const cases: [string, Ann, Ann, Ann, Ann][] = [
        ['migration on', { [PROVISIONED_BY]: migratedPlugin }, { [PROVISIONED_BY]: migratedPlugin, [MIGRATED_TO]: migratedDriver }, { [STORAGE_PROVISIONER]: migratedPlugin }, { [STORAGE_PROVISIONER]: migratedPlugin, [MIGRATED_TO]: migratedDriver }],
        [
            'migration on with Beta storage provisioner annotation',
            { [PROVISIONED_BY]: migratedPlugin },
            { [PROVISIONED_BY]: migratedPlugin, [MIGRATED_TO]: migratedDriver },
            { [BETA_STORAGE_PROVISIONER]: migratedPlugin },
            { [BETA_STORAGE_PROVISIONER]: migratedPlugin, [MIGRATED_TO]: migratedDriver },
        ],
        ['migration off', { [PROVISIONED_BY]: nonmigratedPlugin }, { [PROVISIONED_BY]: nonmigratedPlugin }, { [STORAGE_PROVISIONER]: nonmigratedPlugin }, { [STORAGE_PROVISIONER]: nonmigratedPlugin }],
        [
            'migration off removes migrated to (rollback)',
            { [PROVISIONED_BY]: nonmigratedPlugin, [MIGRATED_TO]: nonmigratedDriver },
            { [PROVISIONED_BY]: nonmigratedPlugin },
            { [STORAGE_PROVISIONER]: nonmigratedPlugin, [MIGRATED_TO]: nonmigratedDriver },
            { [STORAGE_PROVISIONER]: nonmigratedPlugin },
        ],
        [
            'migration off removes migrated to (rollback) with Beta storage provisioner annotation',
            { [PROVISIONED_BY]: nonmigratedPlugin, [MIGRATED_TO]: nonmigratedDriver },
            { [PROVISIONED_BY]: nonmigratedPlugin },
            { [BETA_STORAGE_PROVISIONER]: nonmigratedPlugin, [MIGRATED_TO]: nonmigratedDriver },
            { [BETA_STORAGE_PROVISIONER]: nonmigratedPlugin },
        ],
        ['migration on, other plugin not affected', { [PROVISIONED_BY]: testPlugin }, { [PROVISIONED_BY]: testPlugin }, { [STORAGE_PROVISIONER]: testPlugin }, { [STORAGE_PROVISIONER]: testPlugin }],
        ['not dynamically provisioned', {}, {}, {}, {}],
        ['nil annotations', undefined, undefined, undefined, undefined],
        // ours: the other six plugins, and a migrated-to naming the wrong driver is corrected
        ['aws-ebs', { [PROVISIONED_BY]: 'kubernetes.io/aws-ebs' }, { [PROVISIONED_BY]: 'kubernetes.io/aws-ebs', [MIGRATED_TO]: 'ebs.csi.aws.com' }, { [STORAGE_PROVISIONER]: 'kubernetes.io/aws-ebs' }, { [STORAGE_PROVISIONER]: 'kubernetes.io/aws-ebs', [MIGRATED_TO]: 'ebs.csi.aws.com' }],
        ['azure-disk', { [PROVISIONED_BY]: 'kubernetes.io/azure-disk' }, { [PROVISIONED_BY]: 'kubernetes.io/azure-disk', [MIGRATED_TO]: 'disk.csi.azure.com' }, undefined, undefined],
        ['azure-file', { [PROVISIONED_BY]: 'kubernetes.io/azure-file' }, { [PROVISIONED_BY]: 'kubernetes.io/azure-file', [MIGRATED_TO]: 'file.csi.azure.com' }, undefined, undefined],
        ['cinder', { [PROVISIONED_BY]: 'kubernetes.io/cinder' }, { [PROVISIONED_BY]: 'kubernetes.io/cinder', [MIGRATED_TO]: 'cinder.csi.openstack.org' }, undefined, undefined],
        ['vsphere-volume', { [PROVISIONED_BY]: 'kubernetes.io/vsphere-volume' }, { [PROVISIONED_BY]: 'kubernetes.io/vsphere-volume', [MIGRATED_TO]: 'csi.vsphere.vmware.com' }, undefined, undefined],
        ['portworx-volume', { [PROVISIONED_BY]: 'kubernetes.io/portworx-volume' }, { [PROVISIONED_BY]: 'kubernetes.io/portworx-volume', [MIGRATED_TO]: 'pxd.portworx.com' }, undefined, undefined],
        ['a wrong driver in migrated-to is corrected', { [PROVISIONED_BY]: migratedPlugin, [MIGRATED_TO]: 'other' }, { [PROVISIONED_BY]: migratedPlugin, [MIGRATED_TO]: migratedDriver }, undefined, undefined],
        ['a claim handed to the CSI driver itself gets no migrated-to', undefined, undefined, { [STORAGE_PROVISIONER]: migratedDriver }, { [STORAGE_PROVISIONER]: migratedDriver }],
    ];
    for (const [name, vol, expVol, claim, expClaim] of cases) {
        it(name, () => {
            if (vol !== undefined || expVol !== undefined) assert.deepEqual(apply(vol, migrationAnnotations(vol, false)), expVol);
            if (claim !== undefined || expClaim !== undefined) assert.deepEqual(apply(claim, migrationAnnotations(claim, true)), expClaim);
        });
    }
    it('no change is no patch', () => {
        assert.equal(migrationAnnotations({ [PROVISIONED_BY]: migratedPlugin, [MIGRATED_TO]: migratedDriver }, false), undefined);
        assert.equal(migrationAnnotations({ [PROVISIONED_BY]: testPlugin }, false), undefined);
    });
});

describe('modifyDeletionFinalizers (TestModifyDeletionFinalizers)', () => {
    const mock = 'kubernetes.io/mock-volume';
    const vol = (finalizers: string[] | undefined, o: { ann?: Record<string, string>; policy?: string } = {}): V1PersistentVolume => {
        const v = pv('v', '1Gi', { policy: o.policy ?? 'Delete', claimRef: { name: 'claim11-23', uid: 'uid11-23' }, phase: 'Bound', ann: o.ann ?? { [PROVISIONED_BY]: mock, 'pv.kubernetes.io/bound-by-controller': 'yes' } });
        if (finalizers) (v.metadata ??= {}).finalizers = finalizers;
        return v;
    };
    const external = (finalizers?: string[]) => vol(finalizers, { ann: { [PROVISIONED_BY]: 'rbd.csi.ceph.com', 'pv.kubernetes.io/bound-by-controller': 'yes' } });
    const cases: [string, V1PersistentVolume, string[] | undefined, boolean][] = [
        ['13-1 migration was never enabled, volume has the finalizer', external([EXTERNAL]), [EXTERNAL], false],
        ['13-2 migration was never enabled, volume does not have the finalizer', external(), undefined, false],
        ['13-3 migration was disabled, volume has existing custom finalizer, does not have in-tree pv deletion protection finalizer', vol([CUSTOM]), [CUSTOM, PV_CONTROLLER], true],
        ['13-4 migration was disabled, volume has no finalizers', vol(undefined), [PV_CONTROLLER], true],
        ['13-5 migration was disabled, volume has external PV deletion finalizer', vol([EXTERNAL]), [PV_CONTROLLER], true],
        ['13-6 migration was disabled, volume has multiple finalizers', vol([EXTERNAL, CUSTOM]), [CUSTOM, PV_CONTROLLER], true],
        [
            '13-7 migration is enabled, volume has both the in-tree and external PV deletion protection finalizer',
            vol([EXTERNAL, PV_CONTROLLER], { ann: { [PROVISIONED_BY]: 'kubernetes.io/gce-pd', [MIGRATED_TO]: 'pd.csi.storage.gke.io' } }),
            [EXTERNAL],
            true,
        ],
        ['13-8 migration is enabled but plugin migration feature is disabled, volume has the external PV deletion protection finalizer', vol([EXTERNAL]), [PV_CONTROLLER], true],
        ['13-9 migration is enabled but plugin migration feature is disabled, volume has multiple finalizers including external PV deletion protection finalizer', vol([EXTERNAL, CUSTOM]), [CUSTOM, PV_CONTROLLER], true],
        ['13-10 missing annotations but finalizers exist', vol([EXTERNAL], { ann: {} }), [EXTERNAL], false],
        ['13-11 missing annotations and finalizers', vol(undefined, { ann: {} }), undefined, false],
        ['13-12 migration is disabled, volume has no finalizers, reclaimPolicy is Retain', vol(undefined, { policy: 'Retain' }), undefined, false],
        ['13-13 migration is disabled, volume has no finalizers, reclaimPolicy is Recycle', vol(undefined, { policy: 'Recycle' }), undefined, false],
        ['13-14 migration is disabled, volume has in-tree pv deletion finalizers, reclaimPolicy is Retain', vol([PV_CONTROLLER], { policy: 'Retain' }), [], true],
        ['13-15 migration is disabled, statically provisioned PV', vol(undefined, { ann: {} }), undefined, false],
        // ours: the EBS volumes of the migration integration test
        ['migrated aws-ebs Delete volume: the in-tree finalizer goes, the CSI provisioner protects it', vol([PV_CONTROLLER, 'kubernetes.io/pv-protection'], { ann: { [PROVISIONED_BY]: 'kubernetes.io/aws-ebs' } }), ['kubernetes.io/pv-protection'], true],
        ['migrated aws-ebs volume: the external provisioner finalizer stays', vol([EXTERNAL], { ann: { [PROVISIONED_BY]: 'kubernetes.io/aws-ebs' } }), [EXTERNAL], false],
        ['every copy of a removed finalizer goes', vol([EXTERNAL, CUSTOM, EXTERNAL]), [CUSTOM, PV_CONTROLLER], true],
    ];
    for (const [name, v, want, modified] of cases) {
        it(name, () => {
            const got = deletionFinalizers(v);
            assert.equal(got !== undefined, modified, 'modified');
            assert.deepEqual(got ?? v.metadata?.finalizers, want);
        });
    }
    it('5-9: a migrated-to of a plugin not migrated goes, the external finalizer is swapped for the in-tree one', () => {
        const v = vol([EXTERNAL], { ann: { [PROVISIONED_BY]: mock, [MIGRATED_TO]: 'pd.csi.storage.gke.io' } });
        assert.deepEqual(volumeMigrationUpdate(v), { annotations: { [MIGRATED_TO]: null }, finalizers: [PV_CONTROLLER] });
    });
    it('nothing to do is no update', () => assert.equal(volumeMigrationUpdate(vol(undefined, { ann: {} })), undefined));
});

describe('provisioning of a migrated in-tree class (provisionClaimOperationExternal, setClaimProvisioner)', () => {
    it('11-21: handed to the CSI driver, both storage-provisioner annotations name it, no migrated-to', () => {
        const d = decideClaim(pvc('c', '1Gi', { cls: 'gold' }), world([], [sc('gold', 'kubernetes.io/aws-ebs')]));
        assert.equal(d.action, 'provision');
        if (d.action !== 'provision') return;
        assert.equal(d.provisioner, 'ebs.csi.aws.com');
        assert.deepEqual(d.annotations, { [BETA_STORAGE_PROVISIONER]: 'ebs.csi.aws.com', [STORAGE_PROVISIONER]: 'ebs.csi.aws.com' });
        assert.deepEqual(
            d.events.map((e) => `${e.type} ${e.reason} ${e.message}`),
            ["Normal ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."],
        );
    });
    it('a claim still naming the in-tree plugin (with its migrated-to) is handed to the driver and loses migrated-to', () => {
        const claim = pvc('c', '1Gi', { cls: 'gold', ann: { [STORAGE_PROVISIONER]: 'kubernetes.io/aws-ebs', [BETA_STORAGE_PROVISIONER]: 'kubernetes.io/aws-ebs', [MIGRATED_TO]: 'ebs.csi.aws.com' } });
        assert.deepEqual(claimProvisionerAnnotations(claim, 'ebs.csi.aws.com'), { [BETA_STORAGE_PROVISIONER]: 'ebs.csi.aws.com', [STORAGE_PROVISIONER]: 'ebs.csi.aws.com', [MIGRATED_TO]: null });
    });
    it('already handed to the driver: no write', () =>
        assert.equal(claimProvisionerAnnotations(pvc('c', '1Gi', { ann: { [STORAGE_PROVISIONER]: 'ebs.csi.aws.com' } }), 'ebs.csi.aws.com'), undefined));
    it('an in-tree class of a plugin that is not migrated fails with upstream message', () => {
        const d = decideClaim(pvc('c', '1Gi', { cls: 'rbd' }), world([], [sc('rbd', 'kubernetes.io/rbd')]));
        assert.deepEqual(
            d.events.map((e) => `${e.type} ${e.reason} ${e.message}`),
            ['Warning ProvisioningFailed no volume plugin matched name: kubernetes.io/rbd'],
        );
    });
    for (const [plugin, driver] of [
        ['kubernetes.io/gce-pd', 'pd.csi.storage.gke.io'],
        ['kubernetes.io/azure-disk', 'disk.csi.azure.com'],
        ['kubernetes.io/azure-file', 'file.csi.azure.com'],
        ['kubernetes.io/cinder', 'cinder.csi.openstack.org'],
        ['kubernetes.io/vsphere-volume', 'csi.vsphere.vmware.com'],
        ['kubernetes.io/portworx-volume', 'pxd.portworx.com'],
    ]) {
        it(`${plugin} classes go to ${driver}`, () => {
            const d = decideClaim(pvc('c', '1Gi', { cls: 'x' }), world([], [sc('x', plugin as string)]));
            assert.equal(d.action === 'provision' && d.provisioner, driver);
        });
    }
});

describe('reclaim of migrated volumes (reclaimVolume, findDeletablePlugin)', () => {
    const rel = (ann: Record<string, string>, o: { csi?: boolean } = {}) => pv('v', '1Gi', { policy: 'Delete', phase: 'Released', claimRef: { name: 'gone', uid: 'u1' }, ann, csi: o.csi });
    it('8-10-3: a migrated volume is left to its CSI driver (no in-tree deleter is called)', () => {
        const d = decideReclaim(rel({ [PROVISIONED_BY]: 'kubernetes.io/gce-pd', [MIGRATED_TO]: 'pd.csi.storage.gke.io' }), [], false);
        assert.deepEqual(d, { action: 'none', events: [] });
    });
    it('an empty migrated-to does not stand down; the in-tree provisioner has no deleter here', () => {
        const d = decideReclaim(rel({ [PROVISIONED_BY]: 'kubernetes.io/rbd', [MIGRATED_TO]: '' }), [], false);
        assert.equal(d.action, 'phase');
        assert.deepEqual(d.events.map((e) => `${e.reason} ${e.message}`), ['VolumeFailedDelete no volume plugin matched name: kubernetes.io/rbd']);
    });
    it('a static volume with an (empty) migrated-to key is left to an external deleter', () => assert.equal(decideReclaim(rel({ [MIGRATED_TO]: '' }), [], false).action, 'none'));
    it('a static in-tree EBS volume (never migrated-to) has no deleter, as upstream', () => {
        const v = pv('static-ebs', '1Gi', { policy: 'Delete', phase: 'Released', claimRef: { name: 'gone', uid: 'u1' } });
        const d = decideReclaim(v, [], false);
        assert.deepEqual(d.events.map((e) => `${e.reason} ${e.message}`), ['VolumeFailedDelete error getting deleter volume plugin for volume "static-ebs": no volume plugin matched']);
    });
});
