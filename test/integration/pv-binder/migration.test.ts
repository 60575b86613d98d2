// CSI migration in the PV binder against a real API server: in-tree EBS volumes and claims bind
// and carry the annotations and finalizers kube-controller-manager v1.36 writes
// (updateVolumeMigrationAnnotationsAndFinalizers, updateClaimMigrationAnnotations), a claim of an
// in-tree class is handed to the CSI driver, a Released migrated Delete volume is left to that
// driver's provisioner, and a stale migrated-to of a plugin that is not migrated is removed.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { eventually } from '../../support/env.ts';
import { withManager } from '../../support/volumes.ts';

const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
const BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
const MIGRATED_TO = 'pv.kubernetes.io/migrated-to';
const PV_CONTROLLER = 'kubernetes.io/pv-controller';
const PV_PROTECTION = 'kubernetes.io/pv-protection';
const EXTERNAL = 'external-provisioner.volume.kubernetes.io/finalizer';

function ebsPV(name: string, o: { annotations?: Record<string, string>; finalizers?: string[]; policy?: string; cls?: string } = {}): V1PersistentVolume {
    return {
        metadata: { name, annotations: o.annotations, finalizers: o.finalizers, labels: { 'topology.kubernetes.io/zone': 'us-east-1a' } },
        spec: {
            capacity: { storage: '1Gi' },
            accessModes: ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: o.policy ?? 'Delete',
            storageClassName: o.cls ?? '',
            awsElasticBlockStore: { volumeID: `aws://us-east-1a/vol-${name}`, fsType: 'ext4' },
            nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['us-east-1a'] }] }] } },
        },
    };
}

function claim(name: string, o: { annotations?: Record<string, string>; cls?: string; volumeName?: string } = {}): V1PersistentVolumeClaim {
    return {
        metadata: { name, annotations: o.annotations },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: o.cls ?? '', volumeName: o.volumeName },
    };
}

const ann = (o: { metadata?: { annotations?: Record<string, string> } }) => o.metadata?.annotations ?? {};
const sorted = (xs: string[] | undefined) => [...(xs ?? [])].sort();

describe('pv-binder: CSI migration of in-tree volumes', () => {
    const ctx = withManager('pv-binder,pvc-protection,pv-protection');
    before(async () => {
        await ctx.env.clients.storage.createStorageClass({ body: { metadata: { name: 'gp2' }, provisioner: 'kubernetes.io/aws-ebs', parameters: { type: 'gp2' }, volumeBindingMode: 'Immediate' } });
    });

    it('an EBS volume provisioned in-tree and its claim: bound, migrated-to ebs.csi.aws.com on both, the in-tree finalizer taken off', async () => {
        const c = ctx.env.clients.core;
        await c.createPersistentVolume({ body: ebsPV('ebs-dyn', { annotations: { [PROVISIONED_BY]: 'kubernetes.io/aws-ebs' }, finalizers: [PV_CONTROLLER], cls: 'gp2' }) });
        await c.createNamespacedPersistentVolumeClaim({
            namespace: 'default',
            body: claim('ebs-dyn-c', { cls: 'gp2', volumeName: 'ebs-dyn', annotations: { [STORAGE_PROVISIONER]: 'kubernetes.io/aws-ebs', [BETA_STORAGE_PROVISIONER]: 'kubernetes.io/aws-ebs' } }),
        });
        const bound = await ctx.v.waitClaimPhase('ebs-dyn-c', 'Bound');
        assert.deepEqual(ann(bound), {
            [STORAGE_PROVISIONER]: 'kubernetes.io/aws-ebs',
            [BETA_STORAGE_PROVISIONER]: 'kubernetes.io/aws-ebs',
            [MIGRATED_TO]: 'ebs.csi.aws.com',
            'pv.kubernetes.io/bind-completed': 'yes',
        });
        const pv = await eventually('PV bound with pv-protection only', async () => {
            const v = await ctx.v.pv('ebs-dyn');
            return v.status?.phase === 'Bound' && JSON.stringify(sorted(v.metadata?.finalizers)) === JSON.stringify([PV_PROTECTION]) ? v : undefined;
        });
        assert.deepEqual(ann(pv), { [PROVISIONED_BY]: 'kubernetes.io/aws-ebs', [MIGRATED_TO]: 'ebs.csi.aws.com', 'pv.kubernetes.io/bound-by-controller': 'yes' });
        assert.deepEqual({ ...pv.spec?.awsElasticBlockStore }, { volumeID: 'aws://us-east-1a/vol-ebs-dyn', fsType: 'ext4' }, 'the PV keeps its in-tree source');
    });

    it('a statically created in-tree EBS volume binds and gets no migration annotation or in-tree finalizer (upstream anneals provisioned volumes only)', async () => {
        await ctx.env.clients.core.createPersistentVolume({ body: ebsPV('ebs-static') });
        await ctx.env.clients.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: claim('ebs-static-c') });
        const bound = await ctx.v.waitClaimPhase('ebs-static-c', 'Bound');
        assert.equal(bound.spec?.volumeName, 'ebs-static');
        assert.equal(ann(bound)[MIGRATED_TO], undefined);
        const pv = await ctx.v.waitVolumePhase('ebs-static', 'Bound');
        assert.equal(ann(pv)[MIGRATED_TO], undefined);
        assert.ok(!pv.metadata?.finalizers?.includes(PV_CONTROLLER));
    });

    it('a claim of an in-tree class is handed to the CSI driver: storage-provisioner ebs.csi.aws.com (both), ExternalProvisioning naming it', async () => {
        await ctx.env.clients.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: claim('new-c', { cls: 'gp2' }) });
        const c = await eventually('claim handed to the driver', async () => {
            const x = await ctx.v.pvc('new-c');
            return ann(x)[STORAGE_PROVISIONER] ? x : undefined;
        });
        assert.deepEqual(ann(c), { [STORAGE_PROVISIONER]: 'ebs.csi.aws.com', [BETA_STORAGE_PROVISIONER]: 'ebs.csi.aws.com' }, 'no migrated-to: the claim names the CSI driver itself, as upstream');
        const ev = await ctx.v.waitEvent('PersistentVolumeClaim', 'new-c', 'ExternalProvisioning');
        assert.match(ev.message ?? '', /external provisioner 'ebs\.csi\.aws\.com'/);
        assert.equal(ev.source?.component, 'persistentvolume-controller');
    });

    it("a Released migrated Delete volume is left to ebs.csi.aws.com's provisioner: no in-tree deleter, no Failed, no in-tree finalizer back", async () => {
        await ctx.env.clients.core.deleteNamespacedPersistentVolumeClaim({ name: 'ebs-dyn-c', namespace: 'default' });
        await ctx.mgr.waitForLog('Volume deletion left to its external provisioner', 30_000, { pv: 'ebs-dyn', deleter: 'ebs.csi.aws.com' });
        const pv = await ctx.v.pv('ebs-dyn');
        assert.equal(pv.status?.phase, 'Released');
        assert.deepEqual(sorted(pv.metadata?.finalizers), [PV_PROTECTION]);
        assert.equal(ann(pv)[MIGRATED_TO], 'ebs.csi.aws.com');
        assert.deepEqual((await ctx.v.events('PersistentVolume', 'ebs-dyn')).map((e) => e.reason), []);
    });

    it('rollback: a migrated-to of a plugin that is not migrated goes; its Delete volume gets the in-tree finalizer instead of the external one', async () => {
        await ctx.env.clients.core.createPersistentVolume({
            body: {
                metadata: { name: 'rbd-old', annotations: { [PROVISIONED_BY]: 'kubernetes.io/rbd', [MIGRATED_TO]: 'rbd.csi.ceph.com' }, finalizers: [EXTERNAL] },
                spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'ceph', rbd: { monitors: ['m:6789'], image: 'img' } },
            },
        });
        await ctx.env.clients.core.createNamespacedPersistentVolumeClaim({
            namespace: 'default',
            body: claim('rbd-c', { cls: 'nothing-matches', annotations: { [STORAGE_PROVISIONER]: 'kubernetes.io/rbd', [MIGRATED_TO]: 'rbd.csi.ceph.com' } }),
        });
        const pv = await eventually('stale migrated-to removed from the volume', async () => {
            const v = await ctx.v.pv('rbd-old');
            return ann(v)[MIGRATED_TO] === undefined ? v : undefined;
        });
        assert.deepEqual(sorted(pv.metadata?.finalizers).filter((f) => f !== PV_PROTECTION), [PV_CONTROLLER]);
        const c = await eventually('stale migrated-to removed from the claim', async () => {
            const x = await ctx.v.pvc('rbd-c');
            return ann(x)[MIGRATED_TO] === undefined ? x : undefined;
        });
        assert.equal(ann(c)[STORAGE_PROVISIONER], 'kubernetes.io/rbd');
    });
});
