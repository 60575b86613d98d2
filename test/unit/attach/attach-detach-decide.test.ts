import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { attachmentName, decideDetach, desiredForNode, isMultiAttachAllowed, isPodTerminated, multiAttachMessage, uniqueVolumeName, volumeMsg } from '../../../controllers/attach-detach/decide.ts';
import { attacherFinalizer, pvAccessMode, publishCapability, sanitizeDriverName, vaSource } from '../../../controllers/attacher/decide.ts';

describe('attach-detach names and predicates', () => {
    it('VolumeAttachment name is csi- + sha256(handle + driver + node), 68 chars', () => {
        const n = attachmentName('vol-1', 'd.example.com', 'node-a');
        assert.equal(n, `csi-${crypto.createHash('sha256').update('vol-1d.example.comnode-a').digest('hex')}`);
        assert.equal(n.length, 68);
    });
    it('unique volume name', () => assert.equal(uniqueVolumeName('d', 'h'), 'kubernetes.io/csi/d^h'));
    it('multi-attach allowed for RWX/ROX or no modes', () => {
        assert.equal(isMultiAttachAllowed({ spec: { accessModes: ['ReadWriteOnce'] } }), false);
        assert.equal(isMultiAttachAllowed({ spec: { accessModes: ['ReadWriteOncePod'] } }), false);
        assert.equal(isMultiAttachAllowed({ spec: { accessModes: ['ReadWriteOnce', 'ReadOnlyMany'] } }), true);
        assert.equal(isMultiAttachAllowed({ spec: {} }), true);
    });
    it('terminated pods', () => {
        const p = (o: Partial<V1Pod>): V1Pod => ({ metadata: {}, ...o });
        assert.equal(isPodTerminated(p({ status: { phase: 'Succeeded' } })), true);
        assert.equal(isPodTerminated(p({ status: { phase: 'Running' } })), false);
        assert.equal(isPodTerminated(p({ metadata: { deletionTimestamp: new Date() }, status: { containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] } })), false);
        assert.equal(isPodTerminated(p({ metadata: { deletionTimestamp: new Date() }, status: {} })), true);
    });
});

describe('decideDetach', () => {
    const base = { nodeExists: true, mounted: false, ready: true, outOfService: false, waitedMs: 0, maxWaitMs: 360_000, disableForce: false };
    const table: [string, Partial<typeof base>, string][] = [
        ['unmounted → detach', {}, 'detach'],
        ['mounted on a Ready node → wait, however long', { mounted: true, waitedMs: 3_600_000 }, 'wait'],
        ['mounted, NotReady, before 6 min → wait', { mounted: true, ready: false, waitedMs: 60_000 }, 'wait'],
        ['mounted, NotReady, after 6 min → forced (timeout)', { mounted: true, ready: false, waitedMs: 361_000 }, 'detach:timeout'],
        ['… unless force detach on timeout is disabled', { mounted: true, ready: false, waitedMs: 361_000, disableForce: true }, 'wait'],
        ['out-of-service taint → at once', { mounted: true, outOfService: true }, 'detach:out-of-service'],
        ['node deleted → at once', { nodeExists: false, mounted: true }, 'detach:node-deleted'],
    ];
    for (const [title, o, want] of table) {
        it(title, () => {
            const d = decideDetach({ ...base, ...o });
            assert.equal(d.action === 'detach' ? `detach${d.force ? ':' + d.force : ''}` : 'wait', want);
        });
    }
});

describe('messages', () => {
    const pod = (name: string, ns = 'app'): V1Pod => ({ metadata: { name, namespace: ns } });
    it('attach success keeps upstream trailing space', () => assert.equal(volumeMsg('AttachVolume.Attach succeeded', 'pv-1', ''), 'AttachVolume.Attach succeeded for volume "pv-1" '));
    it('multi-attach names same-namespace pods and counts others (v1.36 wording)', () => {
        assert.equal(multiAttachMessage('pv-1', 'app', [{ node: 'n1', pods: [pod('a'), pod('b'), pod('x', 'other')] }]), 'Waiting for detach for volume "pv-1" Volume is already used by pod(s) a, b and 1 pod(s) in different namespaces');
        assert.equal(multiAttachMessage('pv-1', 'app', [{ node: 'n1', pods: [pod('x', 'other')] }]), 'Waiting for detach for volume "pv-1" Volume is already used by 1 pod(s) in different namespaces');
    });
    it('with no pod left, it says what the detach waits for', () => {
        assert.equal(
            multiAttachMessage('pv-1', 'app', [{ node: 'n1', pods: [], mounted: true, waitingSince: new Date('2026-01-01T00:00:00Z') }]),
            'Waiting for detach for volume "pv-1" Volume is already exclusively attached to one node, waiting on detach before it can be attached to another node (node n1 still reports it in use (status.volumesInUse) since 2026-01-01T00:00:00.000Z; detach follows the unmount)',
        );
    });
});

describe('desiredForNode', () => {
    const nodeObj = { metadata: { name: 'n1', annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } } };
    const claim = { metadata: { name: 'c', namespace: 'app', uid: 'u1' }, spec: { volumeName: 'pv-1' }, status: { phase: 'Bound' } };
    const pv = { metadata: { name: 'pv-1' }, spec: { claimRef: { uid: 'u1' }, csi: { driver: 'd', volumeHandle: 'h' } } };
    const pod = (name: string, phase = 'Running'): V1Pod => ({ metadata: { name, namespace: 'app' }, spec: { nodeName: 'n1', containers: [], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'c' } }] }, status: { phase } });
    const w = (o: { attachRequired?: boolean; bound?: boolean } = {}) => ({
        claim: () => (o.bound === false ? { ...claim, status: { phase: 'Pending' } } : claim),
        volume: () => pv,
        csiDriver: () => (o.attachRequired === undefined ? undefined : { metadata: { name: 'd' }, spec: { attachRequired: o.attachRequired } }),
    });
    it('one entry per volume, listing every running pod', () => {
        const d = desiredForNode(nodeObj, [pod('a'), pod('b'), pod('done', 'Succeeded')], w());
        assert.equal(d.size, 1);
        assert.deepEqual([...d.values()][0]?.pods.map((p) => p.metadata?.name), ['a', 'b']);
    });
    it('nothing for an unmanaged node, an unbound claim, or a driver that needs no attach', () => {
        assert.equal(desiredForNode({ metadata: { name: 'n1' } }, [pod('a')], w()).size, 0);
        assert.equal(desiredForNode(nodeObj, [pod('a')], w({ bound: false })).size, 0);
        assert.equal(desiredForNode(nodeObj, [pod('a')], w({ attachRequired: false })).size, 0);
        assert.equal(desiredForNode(nodeObj, [pod('a')], w({ attachRequired: true })).size, 1);
    });
});

describe('attacher plan', () => {
    it('sanitizes driver names like csi-lib-utils', () => {
        assert.equal(sanitizeDriverName('ebs.csi.aws.com'), 'ebs-csi-aws-com');
        assert.equal(sanitizeDriverName('x.'), 'x-X');
        assert.equal(attacherFinalizer('dir.csi.volume-controller-manager.io'), 'external-attacher/dir-csi-volume-controller-manager-io');
    });
    it('maps the PV access modes as a whole', () => {
        assert.equal(pvAccessMode(['ReadWriteOnce'], false), 'SINGLE_NODE_WRITER');
        assert.equal(pvAccessMode(['ReadWriteOnce', 'ReadWriteMany'], false), 'MULTI_NODE_MULTI_WRITER');
        assert.equal(pvAccessMode(['ReadOnlyMany'], false), 'MULTI_NODE_READER_ONLY');
        assert.equal(pvAccessMode(['ReadWriteOnce'], true), 'SINGLE_NODE_MULTI_WRITER');
        assert.throws(() => pvAccessMode(['ReadOnlyMany', 'ReadWriteOnce'], false), /ReadOnlyMany and ReadWriteOnce/);
    });
    it('publish capability from the PV', () => {
        assert.deepEqual(publishCapability({ accessModes: ['ReadWriteOnce'], csi: { driver: 'd', volumeHandle: 'h', fsType: 'xfs' }, mountOptions: ['ro'] }, 'ext4', false), {
            mount: { fs_type: 'xfs', mount_flags: ['ro'] },
            access_mode: { mode: 'SINGLE_NODE_WRITER' },
        });
        assert.deepEqual(publishCapability({ accessModes: ['ReadWriteOnce'], volumeMode: 'Block', csi: { driver: 'd', volumeHandle: 'h' } }, 'ext4', false), { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } });
    });
    it('VA source errors use upstream texts', () => {
        assert.throws(() => vaSource({ spec: { attacher: 'd', nodeName: 'n', source: {} } }, () => undefined), /neither InlineCSIVolumeSource nor PersistentVolumeName specified in VA source/);
        assert.throws(() => vaSource({ spec: { attacher: 'd', nodeName: 'n', source: { persistentVolumeName: 'p' } } }, () => ({ spec: { hostPath: { path: '/x' } } })), /pv spec contained non-csi source that was not migrated/);
    });
});
