// Decision tables for the PV binder (pv_controller.go syncClaim / syncVolume / reclaimVolume),
// in the style of upstream binder_test.go, including "complete bind after crash" rows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { NO_VOLUMES_NO_CLASS, decideClaim, decideReclaim, decideVolume, externalProvisioningMessage } from '../../../controllers/pv-binder/decide.ts';
import type { BinderWorld, ClaimDecision } from '../../../controllers/pv-binder/decide.ts';
import { decidePvcProtection, podUsesClaim } from '../../../controllers/pvc-protection/decide.ts';
import { decidePvProtection } from '../../../controllers/pv-protection/decide.ts';
import { pod, pv, pvc, sc, world } from './fixtures.ts';

const BC = { 'pv.kubernetes.io/bind-completed': 'yes' };
const BBC = { 'pv.kubernetes.io/bound-by-controller': 'yes' };

function summary(d: ClaimDecision): string {
    const ev = d.events.map((e) => `${e.type}/${e.reason}`).join(',');
    const detail = d.action === 'bind' ? d.volume.metadata?.name : d.action === 'status' ? d.phase : d.action === 'assign-default-class' ? d.className : d.action === 'provision' ? d.provisioner : d.action === 'fail' ? 'error' : '';
    return `${d.action}${detail ? ':' + detail : ''}${ev ? ' ' + ev : ''}`;
}

describe('decideClaim', () => {
    const cases: [string, V1PersistentVolumeClaim, BinderWorld, string][] = [
        // unbound claims, no volumeName
        ['1-1 binds the matching PV', pvc('c', '1Gi'), world([pv('a', '1Gi')]), 'bind:a'],
        ['1-2 nothing matches, no class → Pending + FailedBinding', pvc('c', '5Gi'), world([pv('a', '1Gi')]), 'status:Pending Normal/FailedBinding'],
        ['1-9 binds a PV pre-bound to it by the admin', pvc('c', '1Gi'), world([pv('pre', '1Gi', { claimRef: { name: 'c' }, phase: 'Pending' })]), 'bind:pre'],
        ['no class at all + default class → assign it', pvc('c', '1Gi', { cls: null }), world([], [sc('std', 'p', { def: true })]), 'assign-default-class:std'],
        ['class "" is a class: no default assignment', pvc('c', '1Gi', { cls: '' }), world([], [sc('std', 'p', { def: true })]), 'status:Pending Normal/FailedBinding'],
        ['class with an external provisioner → hand-off', pvc('c', '1Gi', { cls: 'csi' }), world([], [sc('csi', 'dir.csi.example.io')]), 'provision:dir.csi.example.io Normal/ExternalProvisioning'],
        ['missing class → ProvisioningFailed', pvc('c', '1Gi', { cls: 'gone' }), world(), 'none Warning/ProvisioningFailed'],
        ['in-tree provisioner without plugin → ProvisioningFailed', pvc('c', '1Gi', { cls: 'np' }), world([], [sc('np', 'kubernetes.io/no-provisioner')]), 'none Warning/ProvisioningFailed'],
        ['WaitForFirstConsumer, no consumer', pvc('c', '1Gi', { cls: 'wffc' }), world([pv('a', '1Gi', { cls: 'wffc' })], [sc('wffc', 'p', { mode: 'WaitForFirstConsumer' })]), 'status:Pending Normal/WaitForFirstConsumer'],
        [
            'WaitForFirstConsumer with an unscheduled pod',
            pvc('c', '1Gi', { cls: 'wffc' }),
            world([], [sc('wffc', 'p', { mode: 'WaitForFirstConsumer' })], [pod('p1', 'c'), pod('p0', 'c'), pod('done', 'c', { phase: 'Succeeded' }), pod('sched', 'c', { node: 'n1' })]),
            'status:Pending Normal/WaitForPodScheduled',
        ],
        [
            'WaitForFirstConsumer with selected-node → hand-off',
            pvc('c', '1Gi', { cls: 'wffc', ann: { 'volume.kubernetes.io/selected-node': 'n1' } }),
            world([], [sc('wffc', 'p', { mode: 'WaitForFirstConsumer' })]),
            'provision:p Normal/ExternalProvisioning',
        ],
        ['WaitForFirstConsumer still binds a pre-bound PV', pvc('c', '1Gi', { cls: 'wffc' }), world([pv('pre', '1Gi', { cls: 'wffc', claimRef: { name: 'c' } })], [sc('wffc', 'p', { mode: 'WaitForFirstConsumer' })]), 'bind:pre'],
        // pre-bound claims (spec.volumeName)
        ['2-1 volumeName of a missing PV → Pending, no event', pvc('c', '1Gi', { volumeName: 'nope' }), world(), 'status:Pending'],
        ['2-3 volumeName of an unbound fitting PV → bind (selector ignored)', pvc('c', '1Gi', { volumeName: 'a', selector: { matchLabels: { x: 'y' } } }), world([pv('a', '1Gi', { phase: 'Released' })]), 'bind:a'],
        ['2-4 volumeName of a too-small PV → VolumeMismatch', pvc('c', '5Gi', { volumeName: 'a' }), world([pv('a', '1Gi')]), 'status:Pending Warning/VolumeMismatch'],
        ['2-5 volumeName of a PV pre-bound to it → bind', pvc('c', '1Gi', { volumeName: 'a' }), world([pv('a', '1Gi', { claimRef: { name: 'c' } })]), 'bind:a'],
        ['2-7 volumeName of a PV bound elsewhere (user) → Warning FailedBinding + Pending', pvc('c', '1Gi', { volumeName: 'a' }), world([pv('a', '1Gi', { claimRef: { name: 'o', uid: 'uo' } })]), 'status:Pending Warning/FailedBinding'],
        ['volumeName set by the controller, PV bound elsewhere → error', pvc('c', '1Gi', { volumeName: 'a', ann: BBC }), world([pv('a', '1Gi', { claimRef: { name: 'o', uid: 'uo' } })]), 'fail:error Warning/FailedBinding'],
        // bound claims
        ['3-1 bind-completed without volumeName → Lost', pvc('c', '1Gi', { ann: BC, phase: 'Bound' }), world(), 'status:Lost Warning/ClaimLost'],
        ['3-2 bound claim whose PV vanished → Lost', pvc('c', '1Gi', { ann: BC, volumeName: 'a', phase: 'Bound' }), world(), 'status:Lost Warning/ClaimLost'],
        ['3-3 bound claim, PV with empty claimRef → bind again', pvc('c', '1Gi', { ann: BC, volumeName: 'a' }), world([pv('a', '1Gi')]), 'bind:a'],
        ['3-4 bound claim, PV bound to it → bind (idempotent)', pvc('c', '1Gi', { ann: BC, volumeName: 'a' }), world([pv('a', '1Gi', { claimRef: { name: 'c', uid: 'uid-c' }, phase: 'Bound' })]), 'bind:a'],
        ['3-5 bound claim, PV bound to another → Misbound', pvc('c', '1Gi', { ann: BC, volumeName: 'a', phase: 'Bound' }), world([pv('a', '1Gi', { claimRef: { name: 'o', uid: 'uo' } })]), 'status:Lost Warning/ClaimMisbound'],
        // complete bind after crash: the PV was written, the claim was not
        ['1-8 crash after the PV write: claim finds its pre-bound PV and completes', pvc('c', '1Gi'), world([pv('a', '1Gi', { claimRef: { name: 'c', uid: 'uid-c' }, phase: 'Bound', ann: BBC })]), 'bind:a'],
        ['crash after the claim spec write: bound claim completes status', pvc('c', '1Gi', { ann: { ...BC, ...BBC }, volumeName: 'a' }), world([pv('a', '1Gi', { claimRef: { name: 'c', uid: 'uid-c' }, phase: 'Bound', ann: BBC })]), 'bind:a'],
    ];
    for (const [title, claim, w, want] of cases) it(title, () => assert.equal(summary(decideClaim(claim, w)), want));

    it('FailedBinding explains, keeping the upstream sentence', () => {
        const d = decideClaim(pvc('c', '5Gi'), world([pv('a', '1Gi')]));
        assert.equal(d.events[0]?.message, `${NO_VOLUMES_NO_CLASS} (0/1 volumes match: 1 too small (largest 1Gi < 5Gi))`);
    });
    it('WaitForPodScheduled lists unscheduled, running pods by name, sorted', () => {
        const d = decideClaim(pvc('c', '1Gi', { cls: 'w' }), world([], [sc('w', 'p', { mode: 'WaitForFirstConsumer' })], [pod('p1', 'c'), pod('p0', 'c'), pod('s', 'c', { node: 'n' })]));
        assert.equal(d.events[0]?.message, 'waiting for pods p0,p1 to be scheduled');
    });
    it('ExternalProvisioning text is upstream', () => {
        assert.equal(
            externalProvisioningMessage('x.io'),
            "Waiting for a volume to be created either by the external provisioner 'x.io' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
        );
    });
    it('a class without volumeBindingMode is bad input: an outcome with the event, never an exception', () => {
        const bad = { ...sc('b', 'p'), volumeBindingMode: undefined };
        const d = decideClaim(pvc('c', '1Gi', { cls: 'b' }), world([], [bad]));
        assert.equal(d.action, 'invalid');
        assert.deepEqual(d.events, [{ on: 'claim', type: 'Warning', reason: 'FailedBinding', message: 'VolumeBindingMode not set for StorageClass "b"' }]);
    });
    it('an invalid selector operator is bad input too', () => {
        const c = pvc('c', '1Gi');
        c.spec = { ...c.spec, selector: { matchExpressions: [{ key: 'k', operator: 'Near' }] } };
        const d = decideClaim(c, world([pv('a', '1Gi')]));
        assert.equal(d.action, 'invalid');
        assert.match(d.events[0]?.message ?? '', /"Near" is not a valid label selector operator/);
    });
    it('VolumeMismatch message names the volume and the reason', () => {
        const d = decideClaim(pvc('c', '1Gi', { volumeName: 'a', cls: 'x' }), world([pv('a', '1Gi')]));
        assert.equal(d.events[0]?.message, 'Cannot bind to requested volume "a": storageClassName does not match');
    });
});

describe('decideVolume', () => {
    const claimC = pvc('c', '1Gi', { volumeName: 'a' });
    const cases: [string, V1PersistentVolume, V1PersistentVolumeClaim | undefined, string][] = [
        ['4-1 no claimRef → Available', pv('a', '1Gi', { phase: 'Pending' }), undefined, 'phase:Available'],
        ['4-2 claimRef without uid (user pre-bound) → Available', pv('a', '1Gi', { claimRef: { name: 'c' }, phase: 'Pending' }), undefined, 'phase:Available'],
        ['4-3 claim gone → Released', pv('a', '1Gi', { claimRef: { name: 'c', uid: 'uid-c' }, phase: 'Bound' }), undefined, 'phase:Released'],
        ['4-4 already Released, claim gone → reclaim', pv('a', '1Gi', { claimRef: { name: 'c', uid: 'uid-c' }, phase: 'Released' }), undefined, 'reclaim'],
        ['4-5 claim not yet bound to it → enqueue the claim', pv('a', '1Gi', { claimRef: { name: 'c', uid: 'uid-c' } }), pvc('c', '1Gi'), 'enqueue-claim'],
        ['4-6 claim bound to it → Bound', pv('a', '1Gi', { claimRef: { name: 'c', uid: 'uid-c' } }), claimC, 'phase:Bound'],
        ['4-7 claim bound elsewhere, controller-bound PV → unbind all', pv('x', '1Gi', { claimRef: { name: 'c', uid: 'uid-c' }, ann: BBC }), claimC, 'unbind:drop'],
        ['4-8 claim bound elsewhere, user pre-bound PV → unbind uid only', pv('x', '1Gi', { claimRef: { name: 'c', uid: 'uid-c' } }), claimC, 'unbind:keep'],
        ['8-11 claim bound elsewhere, provisioned Delete PV → Released', pv('x', '1Gi', { claimRef: { name: 'c', uid: 'uid-c' }, ann: { 'pv.kubernetes.io/provisioned-by': 'd' }, policy: 'Delete' }), claimC, 'phase:Released'],
        ['volumeMode mismatch with its claim → two VolumeMismatch events', pv('a', '1Gi', { claimRef: { name: 'c', uid: 'uid-c' }, mode: 'Block' }), pvc('c', '1Gi'), 'none'],
    ];
    for (const [title, vol, claim, want] of cases) {
        it(title, () => {
            const d = decideVolume(vol, claim);
            const detail = d.action === 'phase' ? `:${d.phase}` : d.action === 'unbind' ? (d.keepClaimName ? ':keep' : ':drop') : '';
            assert.equal(d.action + detail, want);
            if (title.startsWith('volumeMode')) assert.deepEqual(d.events.map((e) => `${e.on}/${e.reason}`), ['volume/VolumeMismatch', 'claim/VolumeMismatch']);
        });
    }
});

describe('decideReclaim', () => {
    const rel = (o: Parameters<typeof pv>[2]) => pv('a', '1Gi', { claimRef: { name: 'c', uid: 'u' }, phase: 'Released', ...o });
    it('Retain keeps the volume', () => assert.equal(decideReclaim(rel({ policy: 'Retain' }), [], false).action, 'none'));
    it('Delete of an externally provisioned PV is left to the provisioner', () => assert.equal(decideReclaim(rel({ policy: 'Delete', ann: { 'pv.kubernetes.io/provisioned-by': 'dir.csi' } }), [], false).action, 'none'));
    it('Delete of a CSI PV without provisioned-by is left to an external deleter', () => assert.equal(decideReclaim(rel({ policy: 'Delete', csi: true }), [], false).action, 'none'));
    it('Delete of a static non-CSI PV fails with upstream text', () => {
        const d = decideReclaim(rel({ policy: 'Delete' }), [], false);
        assert.equal(d.action, 'phase');
        assert.deepEqual(d.events.map((e) => `${e.type}/${e.reason}: ${e.message}`), ['Warning/VolumeFailedDelete: error getting deleter volume plugin for volume "a": no volume plugin matched']);
    });
    it('an already Failed PV is not re-announced', () => assert.deepEqual(decideReclaim(rel({ policy: 'Delete', phase: 'Failed' }), [], false).events, []));
    it('Recycle without a recycler fails', () => {
        const d = decideReclaim(rel({ policy: 'Recycle' }), [], false);
        assert.equal(d.events[0]?.message, 'No recycler plugin found for the volume!');
    });
    it('Recycle waits while pods use the claim', () => {
        const d = decideReclaim(rel({ policy: 'Recycle' }), [pod('p2', 'c', { node: 'n' }), pod('p1', 'c', { node: 'n' })], false);
        assert.equal(d.action, 'none');
        assert.equal(d.events[0]?.type, 'Normal');
        assert.equal(d.events[0]?.message, 'Volume is used by pods: ns/p1,ns/p2');
    });
    it('an unknown policy fails', () => assert.equal(decideReclaim(rel({ policy: 'Shred' }), [], false).events[0]?.reason, 'VolumeUnknownReclaimPolicy'));
});

describe('protection decisions', () => {
    const del = { deletionTimestamp: new Date() };
    it('pvc-protection adds, checks usage, or does nothing', () => {
        assert.equal(decidePvcProtection({ metadata: {} }), 'add-finalizer');
        assert.equal(decidePvcProtection({ metadata: { finalizers: ['kubernetes.io/pvc-protection'] } }), 'none');
        assert.equal(decidePvcProtection({ metadata: { ...del, finalizers: ['kubernetes.io/pvc-protection'] } }), 'check-usage');
        assert.equal(decidePvcProtection({ metadata: { ...del, finalizers: ['other'] } }), 'none');
    });
    it('only scheduled pods use a claim; terminated ones still count (upstream)', () => {
        const claim = pvc('c', '1Gi');
        assert.equal(podUsesClaim(pod('p', 'c'), claim), false);
        assert.equal(podUsesClaim(pod('p', 'c', { node: 'n' }), claim), true);
        assert.equal(podUsesClaim(pod('p', 'c', { node: 'n', phase: 'Succeeded' }), claim), true);
        assert.equal(podUsesClaim(pod('p', 'other', { node: 'n' }), claim), false);
    });
    it('pv-protection removes only when deleting and not Bound', () => {
        const f = ['kubernetes.io/pv-protection'];
        assert.equal(decidePvProtection({ metadata: {} }), 'add-finalizer');
        assert.equal(decidePvProtection({ metadata: { ...del, finalizers: f }, status: { phase: 'Bound' } }), 'none');
        assert.equal(decidePvProtection({ metadata: { ...del, finalizers: f }, status: { phase: 'Released' } }), 'remove-finalizer');
    });
});
