// CSI migration in the attach-detach controller against a real API server: an in-tree EBS PV and
// an inline EBS volume attach through ebs.csi.aws.com with kube-controller-manager v1.36's
// VolumeAttachment name (of the translated handle) and spec.source; node volumesAttached and the
// unmount wait use upstream's unique name kubernetes.io/csi/ebs.csi.aws.com^<handle>; a node whose
// CSINode does not list the plugin as migrated attaches it all the same (migration is complete for
// these plugins in v1.36: upstream does not consult the CSINode); a spec that cannot be translated
// gets a FailedAttachVolume event saying why. No CSI driver runs: VolumeAttachments are the output.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { eventually } from '../../support/env.ts';
import { withManager } from '../../support/volumes.ts';

const DRIVER = 'ebs.csi.aws.com';
const MIGRATED_PLUGINS = 'storage.alpha.kubernetes.io/migrated-plugins';
const vaName = (handle: string, node: string) => `csi-${crypto.createHash('sha256').update(handle + DRIVER + node).digest('hex')}`;
const uniqueName = (handle: string) => `kubernetes.io/csi/${DRIVER}^${handle}`;

function pod(name: string, node: string, volumes: V1Pod['spec'] extends infer S ? (S extends { volumes?: infer V } ? V : never) : never): V1Pod {
    return { metadata: { name }, spec: { nodeName: node, containers: [{ name: 'app', image: 'registry.invalid/app:1' }], volumes } };
}

describe('attach-detach: in-tree volumes through their CSI driver (CSI migration)', () => {
    const ctx = withManager('pv-binder,pvc-protection,pv-protection,attach-detach');
    const c = () => ctx.env.clients;

    before(async () => {
        for (const [n, migrated] of [
            ['n1', true],
            ['n2', false],
        ] as const) {
            await c().core.createNode({ body: { metadata: { name: n, annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } } } });
            await c().storage.createCSINode({
                body: { metadata: { name: n, ...(migrated ? { annotations: { [MIGRATED_PLUGINS]: 'kubernetes.io/aws-ebs' } } : {}) }, spec: { drivers: [{ name: DRIVER, nodeID: `i-${n}` }] } },
            });
        }
    });

    async function boundEBS(pvName: string, volumeID: string) {
        await c().core.createPersistentVolume({
            body: {
                metadata: { name: pvName, annotations: { 'pv.kubernetes.io/provisioned-by': 'kubernetes.io/aws-ebs' } },
                spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: '', awsElasticBlockStore: { volumeID, fsType: 'ext4' } },
            },
        });
        await c().core.createNamespacedPersistentVolumeClaim({
            namespace: 'default',
            body: { metadata: { name: `${pvName}-c` }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '', volumeName: pvName } },
        });
        await ctx.v.waitClaimPhase(`${pvName}-c`, 'Bound');
    }
    const va = (name: string) => c().storage.readVolumeAttachment({ name });
    const vaExists = (name: string) => va(name).then(() => true, () => false);
    const waitVA = (name: string) => eventually(`VolumeAttachment ${name}`, () => va(name).catch(() => undefined), 30_000);

    it('an in-tree EBS PV: VolumeAttachment csi-<sha256(vol-id + ebs.csi.aws.com + node)>, attacher ebs.csi.aws.com, source persistentVolumeName', async () => {
        await boundEBS('ebs-a', 'aws://us-east-1a/vol-0aaaaaaaaaaaaaaaa');
        await c().core.createNamespacedPod({ namespace: 'default', body: pod('pa', 'n1', [{ name: 'data', persistentVolumeClaim: { claimName: 'ebs-a-c' } }]) });
        const a = await waitVA(vaName('vol-0aaaaaaaaaaaaaaaa', 'n1'));
        assert.equal(a.spec?.attacher, DRIVER);
        assert.equal(a.spec?.nodeName, 'n1');
        assert.deepEqual({ ...a.spec?.source }, { persistentVolumeName: 'ebs-a' });
    });

    it("node volumesAttached and the unmount wait use upstream's unique name kubernetes.io/csi/ebs.csi.aws.com^<translated handle>", async () => {
        const name = vaName('vol-0aaaaaaaaaaaaaaaa', 'n1');
        const uniq = uniqueName('vol-0aaaaaaaaaaaaaaaa');
        // No driver runs here: report the attachment as its attacher would.
        await c().storage.patchVolumeAttachmentStatus({ name, body: [{ op: 'add', path: '/status', value: { attached: true } }] });
        await eventually('node n1 reports the attachment', async () => (await c().core.readNode({ name: 'n1' })).status?.volumesAttached?.some((v) => v.name === uniq));
        await c().core.patchNodeStatus({ name: 'n1', body: [{ op: 'add', path: '/status/volumesInUse', value: [uniq] }] });
        await c().core.deleteNamespacedPod({ name: 'pa', namespace: 'default', gracePeriodSeconds: 0 });
        await ctx.mgr.waitForLog('Detach waits until the node no longer reports the volume in use', 30_000, { va: name, volume: uniq });
        assert.equal(await vaExists(name), true, 'no detach while the node still uses it');
        await c().core.patchNodeStatus({ name: 'n1', body: [{ op: 'replace', path: '/status/volumesInUse', value: [] }] });
        await eventually('detached once unmounted', async () => !(await vaExists(name)), 30_000);
        assert.deepEqual((await c().core.readNode({ name: 'n1' })).status?.volumesAttached ?? [], []);
    });

    it('a node whose CSINode does not list kubernetes.io/aws-ebs as migrated attaches through the CSI driver too (migration complete in v1.36)', async () => {
        await boundEBS('ebs-b', 'vol-0bbbbbbbbbbbbbbbb');
        await c().core.createNamespacedPod({ namespace: 'default', body: pod('pb', 'n2', [{ name: 'data', persistentVolumeClaim: { claimName: 'ebs-b-c' } }]) });
        const a = await waitVA(vaName('vol-0bbbbbbbbbbbbbbbb', 'n2'));
        assert.equal(a.spec?.attacher, DRIVER);
        assert.equal(a.spec?.source?.persistentVolumeName, 'ebs-b');
    });

    it('an inline EBS volume: source inlineVolumeSpec, the translated CSI PV spec', async () => {
        await c().core.createNamespacedPod({ namespace: 'default', body: pod('inline', 'n1', [{ name: 'scratch', awsElasticBlockStore: { volumeID: 'aws:///vol-0cccccccccccccccc', fsType: 'xfs' } }]) });
        const a = await waitVA(vaName('vol-0cccccccccccccccc', 'n1'));
        assert.equal(a.spec?.attacher, DRIVER);
        assert.equal(a.spec?.source?.persistentVolumeName, undefined);
        const spec = JSON.parse(JSON.stringify(a.spec?.source?.inlineVolumeSpec));
        assert.deepEqual(spec, {
            csi: { driver: DRIVER, volumeHandle: 'vol-0cccccccccccccccc', fsType: 'xfs', volumeAttributes: { partition: '0' } },
            accessModes: ['ReadWriteOnce'],
            volumeMode: 'Filesystem',
        });
    });

    it('an in-tree PV whose spec cannot be translated is not attached, and its pod is told why', async () => {
        await boundEBS('ebs-bad', 'aws://us-east-1a/not-a-volume');
        await c().core.createNamespacedPod({ namespace: 'default', body: pod('pbad', 'n1', [{ name: 'data', persistentVolumeClaim: { claimName: 'ebs-bad-c' } }]) });
        const ev = await ctx.v.waitEvent('Pod', 'pbad', 'FailedAttachVolume');
        assert.equal(ev.type, 'Warning');
        assert.equal(ev.source?.component, 'attachdetach-controller');
        assert.equal(
            ev.message,
            'AttachVolume.Attach failed for volume "ebs-bad" : error performing CSI migration checks and translation for PVC "default"/"ebs-bad-c": failed to translate in-tree pv to CSI: failed to translate Kubernetes ID to EBS Volume ID Invalid format for AWS volume (aws://us-east-1a/not-a-volume)',
        );
        const vas = await c().storage.listVolumeAttachment();
        assert.deepEqual(vas.items.filter((x) => x.spec?.source?.persistentVolumeName === 'ebs-bad'), []);
    });
});
