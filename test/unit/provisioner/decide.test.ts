import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { ProvisionError, accessibilityRequirements, buildPV, flattenAllowed, fsTypeOf, makeVolumeName, secretRef, stripParameters, toCsiAccessModes, volumeCapabilities } from '../../../controllers/provisioner/decide.ts';

const claim = (o: Partial<V1PersistentVolumeClaim['spec']> = {}, ann?: Record<string, string>): V1PersistentVolumeClaim => ({
    metadata: { name: 'data-0', namespace: 'team', uid: '1234-abcd-5678', annotations: ann, resourceVersion: '7' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'fast', ...o },
});

describe('makeVolumeName', () => {
    it('prefix-uid by default', () => assert.equal(makeVolumeName('pvc', '1234-abcd', -1), 'pvc-1234-abcd'));
    it('uid without dashes, truncated', () => assert.equal(makeVolumeName('vol', '1234-abcd-5678', 6), 'vol-1234ab'));
    it('rejects an empty prefix or uid', () => {
        assert.throws(() => makeVolumeName('', 'x', -1), /volume name prefix cannot be of length 0/);
        assert.throws(() => makeVolumeName('pvc', undefined, -1), /corrupted PVC object, it is missing UID/);
    });
});

describe('access modes and capabilities', () => {
    it('maps each Kubernetes mode to its CSI mode', () => {
        assert.deepEqual(toCsiAccessModes(['ReadWriteOnce', 'ReadWriteMany'], false), ['SINGLE_NODE_WRITER', 'MULTI_NODE_MULTI_WRITER']);
        assert.deepEqual(toCsiAccessModes(['ReadOnlyMany'], false), ['MULTI_NODE_READER_ONLY']);
        assert.deepEqual(toCsiAccessModes(['ReadWriteOnce', 'ReadWriteOncePod'].slice(0, 1), true), ['SINGLE_NODE_MULTI_WRITER']);
        assert.deepEqual(toCsiAccessModes(['ReadWriteOncePod'], true), ['SINGLE_NODE_SINGLE_WRITER']);
    });
    it('rejects combinations CSI cannot express', () => {
        assert.throws(() => toCsiAccessModes(['ReadWriteOncePod', 'ReadWriteOnce'], false), /ReadWriteOncePod with other access modes/);
        assert.throws(() => toCsiAccessModes(['ReadOnlyMany', 'ReadWriteOnce'], false), /CSI does not support ReadOnlyMany and ReadWriteOnce/);
    });
    it('mount capability carries fsType and mount options; block has none', () => {
        assert.deepEqual(volumeCapabilities(claim(), 'ext4', ['noatime'], false), [{ mount: { fs_type: 'ext4', mount_flags: ['noatime'] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }]);
        assert.deepEqual(volumeCapabilities(claim({ volumeMode: 'Block' }), 'ext4', [], false), [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }]);
    });
});

describe('parameters', () => {
    it('fsType from the prefixed key, the legacy key, or the default; both is an error', () => {
        assert.equal(fsTypeOf({ 'csi.storage.k8s.io/fstype': 'xfs' }, 'ext4'), 'xfs');
        assert.equal(fsTypeOf({ fsType: 'btrfs' }, 'ext4'), 'btrfs');
        assert.equal(fsTypeOf({}, 'ext4'), 'ext4');
        assert.throws(() => fsTypeOf({ fstype: 'a', 'csi.storage.k8s.io/fstype': 'b' }, ''), /both "fstype" and "csi.storage.k8s.io\/fstype"/);
    });
    it('strips every csi.storage.k8s.io/ key and rejects unknown reserved ones', () => {
        assert.deepEqual(stripParameters({ a: '1', 'csi.storage.k8s.io/fstype': 'x', 'csi.storage.k8s.io/provisioner-secret-name': 's', csiProvisionerSecretName: 'legacy' }), { a: '1', csiProvisionerSecretName: 'legacy' });
        assert.throws(() => stripParameters({ 'csi.storage.k8s.io/whatever': 'x' }), (e: unknown) => e instanceof ProvisionError && e.final && /found unknown parameter key "csi.storage.k8s.io\/whatever"/.test(e.message));
    });
});

describe('secretRef templating', () => {
    const ctx = { claim: claim({}, { team: 'blue' }), pvName: 'pvc-1' };
    it('expands name and namespace tokens', () => {
        const p = { 'csi.storage.k8s.io/provisioner-secret-name': "${pvc.name}-${pvc.annotations['team']}", 'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.namespace}' };
        assert.deepEqual(secretRef(p, 'provisioner', ctx), { name: 'data-0-blue', namespace: 'team' });
    });
    it('falls back to the default secret keys', () => {
        assert.deepEqual(secretRef({ 'csi.storage.k8s.io/secret-name': 'all', 'csi.storage.k8s.io/secret-namespace': 'ops' }, 'node-stage', ctx), { name: 'all', namespace: 'ops' });
        assert.equal(secretRef({}, 'node-stage', ctx), undefined);
    });
    it('rejects half pairs, namespace tokens that are not allowed, and invalid names', () => {
        assert.throws(() => secretRef({ 'csi.storage.k8s.io/provisioner-secret-name': 'x' }, 'provisioner', ctx), /Both must be specified/);
        assert.throws(() => secretRef({ 'csi.storage.k8s.io/provisioner-secret-name': 'x', 'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.name}' }, 'provisioner', ctx), /invalid tokens: \["pvc.name"\]/);
        assert.throws(() => secretRef({ 'csi.storage.k8s.io/provisioner-secret-name': 'UPPER', 'csi.storage.k8s.io/provisioner-secret-namespace': 'ns' }, 'provisioner', ctx), /not a valid secret name/);
    });

    describe('validates resolved names as the API server would, before any request', () => {
        const huge = 'a'.repeat(200 * 1024);
        const big = claim({}, { team: huge, ok: 'b'.repeat(242), dotted: 'x.y', ns: 'n'.repeat(64) });
        const ref = (name: string, namespace = 'ns', c = big) =>
            secretRef({ 'csi.storage.k8s.io/provisioner-secret-name': name, 'csi.storage.k8s.io/provisioner-secret-namespace': namespace }, 'provisioner', { claim: c, pvName: 'pvc-1' });
        const table: [string, string, string, RegExp | { name: string; namespace: string }][] = [
            ['a 200 KB annotation', "${pvc.annotations['team']}", 'ns', /^"\$\{pvc\.annotations\['team'\]\}" resolved to "a{64}"… \(204800 characters\) which is not a valid secret name: must be no more than 253 characters$/],
            ['253 characters', "${pvc.annotations['ok']}-creds-abcd", 'ns', { name: `${'b'.repeat(242)}-creds-abcd`, namespace: 'ns' }],
            ['254 characters', "${pvc.annotations['ok']}-creds-abcde", 'ns', /which is not a valid secret name: must be no more than 253 characters/],
            ['dots are fine in a name', "${pvc.annotations['dotted']}", 'ns', { name: 'x.y', namespace: 'ns' }],
            ['a trailing dash', '${pvc.name}-', 'ns', /resolved to "data-0-" which is not a valid secret name: a lowercase RFC 1123 subdomain/],
            ['an upper-case literal', 'Creds', 'ns', /^"Creds" is not a valid secret name: a lowercase RFC 1123 subdomain/],
            ['a 64-character namespace', 'creds', 'n'.repeat(64), /^"n{64}" is not a valid namespace name: must be no more than 63 characters$/],
            ['a dotted namespace', 'creds', 'a.b', /"a\.b" is not a valid namespace name: a lowercase RFC 1123 label/],
        ];
        for (const [what, name, namespace, want] of table) {
            it(what, () => {
                if (want instanceof RegExp) {
                    assert.throws(
                        () => ref(name, namespace),
                        (e: unknown) => e instanceof ProvisionError && e.final && want.test(e.message) && e.message.length < 600,
                    );
                } else assert.deepEqual(ref(name, namespace), want);
            });
        }
    });
});

describe('topology', () => {
    const K = 'zone';
    const nodes: V1Node[] = [
        { metadata: { name: 'a', labels: { zone: 'z1' } } },
        { metadata: { name: 'b', labels: { zone: 'z2' } } },
        { metadata: { name: 'c', labels: { zone: 'z3' } } },
        { metadata: { name: 'x', labels: {} as Record<string, string> } },
    ];
    const csiNodes = nodes.slice(0, 2).map((n) => ({ metadata: { name: n.metadata?.name }, spec: { drivers: [{ name: 'd', nodeID: n.metadata?.name ?? '', topologyKeys: [K] }] } }));
    const req = (sel: string | undefined, allowed?: { key: string; values: string[] }[][]) =>
        accessibilityRequirements(
            'd',
            { metadata: { name: 'sc' }, provisioner: 'd', allowedTopologies: allowed?.map((t) => ({ matchLabelExpressions: t })) },
            sel,
            (n) => nodes.find((x) => x.metadata?.name === n),
            () => nodes,
            (n) => csiNodes.find((x) => x.metadata.name === n),
            () => csiNodes,
        );
    it('selected node: requisite = every node term, preferred starts at the selected node', () => {
        const r = req('b');
        assert.deepEqual(r?.requisite?.map((t) => t.segments.zone), ['z1', 'z2', 'z3']);
        assert.deepEqual(r?.preferred?.map((t) => t.segments.zone), ['z2', 'z3', 'z1']);
    });
    it('allowedTopologies are flattened into the requisite', () => {
        assert.deepEqual(flattenAllowed([{ matchLabelExpressions: [{ key: 'zone', values: ['z2', 'z1'] }, { key: 'rack', values: ['r1'] }] }]).map((t) => `${t.segments.zone}/${t.segments.rack}`), ['z1/r1', 'z2/r1']);
        assert.deepEqual(req(undefined, [[{ key: 'zone', values: ['z9'] }]])?.requisite, [{ segments: { zone: 'z9' } }]);
    });
    it('a selected node without a CSINode or keys asks for a reschedule', () => {
        assert.throws(() => req('c'), (e: unknown) => e instanceof ProvisionError && e.reschedule && /failed to get selected CSINode c/.test(e.message));
    });
});

describe('buildPV', () => {
    it('writes the upstream PV shape', () => {
        const pv = buildPV({
            pvName: 'pvc-1',
            driver: 'd.example',
            identity: 'id-1',
            claim: claim(),
            sc: { metadata: { name: 'fast' }, provisioner: 'd.example', reclaimPolicy: 'Retain', mountOptions: ['ro'] },
            volume: { capacity_bytes: 0n, volume_id: 'vol-9', volume_context: { k: 'v' }, accessible_topology: [{ segments: { zone: 'z1' } }] },
            requestedBytes: 1n << 30n,
            fsType: 'ext4',
            secretRefs: { provisioner: { name: 's', namespace: 'n' }, 'node-stage': { name: 'ns', namespace: 'n' } },
        });
        assert.equal(pv.spec?.capacity?.storage, '1Gi', 'unknown capacity → the request');
        assert.equal(pv.spec?.persistentVolumeReclaimPolicy, 'Retain');
        assert.deepEqual(pv.metadata?.finalizers, ['external-provisioner.volume.kubernetes.io/finalizer']);
        assert.equal(pv.metadata?.annotations?.['volume.kubernetes.io/provisioner-deletion-secret-name'], 's');
        assert.deepEqual(pv.spec?.csi?.volumeAttributes, { 'storage.kubernetes.io/csiProvisionerIdentity': 'id-1', k: 'v' });
        assert.deepEqual(pv.spec?.csi?.nodeStageSecretRef, { name: 'ns', namespace: 'n' });
        assert.equal(pv.spec?.claimRef?.uid, '1234-abcd-5678');
        assert.deepEqual(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms, [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }]);
    });
});
