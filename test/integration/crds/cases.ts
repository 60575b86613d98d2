// The objects the CRD equivalence test sends to the API server: upstream's examples and CEL test
// fixtures (read from the peers archive at run time), and our own table of valid and invalid
// objects, transitions (immutability, "required once set") and status writes.
import fs from 'node:fs';
import path from 'node:path';
import { loadAll } from 'js-yaml';

type Obj = Record<string, unknown> & { apiVersion: string; kind: string; metadata?: Record<string, unknown> };

/** What the API server is expected to do with a write. */
export type Expect = { accept: true } | { accept: false; code?: number; message?: string };

/** A create (dry run), or a create of `pre` then a write of `post` (PUT, or a merge patch of `/status`). */
export interface Case {
    id: string;
    pre?: Obj;
    post: Obj;
    /** For transitions: write post through the status subresource (merge patch of `post.status`). */
    status?: boolean;
    expect: Expect;
}

const V1 = 'snapshot.storage.k8s.io/v1';
const vs = (spec: unknown, extra: Record<string, unknown> = {}): Obj => ({ apiVersion: V1, kind: 'VolumeSnapshot', metadata: {}, spec, ...extra });
const vsc = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}): Obj => ({
    apiVersion: V1,
    kind: 'VolumeSnapshotContent',
    metadata: {},
    spec: { deletionPolicy: 'Retain', driver: 'hostpath.csi.k8s.io', source: { volumeHandle: 'vol-1' }, volumeSnapshotRef: { name: 'snap', namespace: 'default' }, ...spec },
    ...extra,
});
const cls = (fields: Record<string, unknown>): Obj => ({ apiVersion: V1, kind: 'VolumeSnapshotClass', metadata: {}, ...fields });
const ok: Expect = { accept: true };
const no = (message?: string, code = 422): Expect => ({ accept: false, code, ...(message ? { message } : {}) });
const pvcSource = { source: { persistentVolumeClaimName: 'data' } };

/** Our own cases: what the schema and CEL rules accept and reject, beyond upstream's fixtures. */
export const OWN_CASES: Case[] = [
    { id: 'vs-missing-spec', post: { apiVersion: V1, kind: 'VolumeSnapshot', metadata: {} }, expect: no('spec: Required value') },
    { id: 'vs-missing-source', post: vs({ volumeSnapshotClassName: 'x' }), expect: no('spec.source: Required value') },
    { id: 'vs-both-sources', post: vs({ source: { persistentVolumeClaimName: 'a', volumeSnapshotContentName: 'b' } }), expect: no('exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set') },
    { id: 'vs-claim-name-not-a-string', post: vs({ source: { persistentVolumeClaimName: 5 } }), expect: no('spec.source.persistentVolumeClaimName: Invalid value: "integer"') },
    { id: 'vs-unknown-fields-pruned', post: vs({ ...pvcSource, colour: 'blue' }, { extra: 1 }), expect: ok },
    { id: 'vs-status-on-create-dropped', post: vs(pvcSource, { status: { readyToUse: true, restoreSize: '1Gi' } }), expect: ok },
    { id: 'vs-v1beta1-not-served', post: { ...vs(pvcSource), apiVersion: 'snapshot.storage.k8s.io/v1beta1' }, expect: no(undefined, 404) },
    { id: 'vsc-pre-provisioned', post: vsc({ source: { snapshotHandle: 'snap-1' }, volumeSnapshotClassName: 'c', sourceVolumeMode: 'Block' }), expect: ok },
    { id: 'vsc-bad-deletion-policy', post: vsc({ deletionPolicy: 'Keep' }), expect: no('spec.deletionPolicy: Unsupported value: "Keep"') },
    { id: 'vsc-missing-driver', post: vsc({ driver: undefined }), expect: no('spec.driver: Required value') },
    { id: 'vsc-missing-ref', post: vsc({ volumeSnapshotRef: undefined }), expect: no('spec.volumeSnapshotRef: Required value') },
    { id: 'vsc-full-ref', post: vsc({ volumeSnapshotRef: { apiVersion: V1, kind: 'VolumeSnapshot', name: 's', namespace: 'n', uid: 'u', resourceVersion: '1', fieldPath: 'f' } }), expect: ok },
    { id: 'vsc-negative-restore-size-on-create-dropped', post: vsc({}, { status: { restoreSize: -1 } }), expect: ok },
    { id: 'class-ok', post: cls({ driver: 'd', deletionPolicy: 'Retain', parameters: { a: 'b' } }), expect: ok },
    { id: 'class-missing-policy', post: cls({ driver: 'd' }), expect: no('deletionPolicy: Required value') },
    { id: 'class-bad-policy', post: cls({ driver: 'd', deletionPolicy: 'delete' }), expect: no('deletionPolicy: Unsupported value: "delete"') },
    { id: 'class-missing-driver', post: cls({ deletionPolicy: 'Delete' }), expect: no('driver: Required value') },
    { id: 'class-parameter-not-a-string', post: cls({ driver: 'd', deletionPolicy: 'Delete', parameters: { a: 1 } }), expect: no('parameters.a: Invalid value: "integer"') },
    { id: 'class-unknown-field-pruned', post: cls({ driver: 'd', deletionPolicy: 'Delete', spec: { x: 1 } }), expect: ok },

    { id: 'tx-vs-class-changed', pre: vs({ ...pvcSource, volumeSnapshotClassName: 'a' }), post: vs({ ...pvcSource, volumeSnapshotClassName: 'b' }), expect: ok },
    { id: 'tx-vs-class-emptied', pre: vs({ ...pvcSource, volumeSnapshotClassName: 'a' }), post: vs({ ...pvcSource, volumeSnapshotClassName: '' }), expect: no('volumeSnapshotClassName must not be the empty string when set') },
    { id: 'tx-vs-source-removed', pre: vs(pvcSource), post: vs({ source: {} }), expect: no('persistentVolumeClaimName is required once set') },
    { id: 'tx-vsc-policy-changed', pre: vsc({}), post: vsc({ deletionPolicy: 'Delete' }), expect: ok },
    { id: 'tx-vsc-volume-mode-added', pre: vsc({}), post: vsc({ sourceVolumeMode: 'Filesystem' }), expect: ok },
    { id: 'tx-vsc-volume-mode-changed', pre: vsc({ sourceVolumeMode: 'Block' }), post: vsc({ sourceVolumeMode: 'Filesystem' }), expect: no('sourceVolumeMode is immutable') },
    { id: 'tx-vsc-ref-namespace-dropped', pre: vsc({}), post: vsc({ volumeSnapshotRef: { name: 'snap' } }), expect: no('both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set') },
    { id: 'tx-class-parameters-changed', pre: cls({ driver: 'd', deletionPolicy: 'Delete', parameters: { a: 'b' } }), post: cls({ driver: 'e', deletionPolicy: 'Retain', parameters: { a: 'c' } }), expect: ok },

    { id: 'status-vs-ok', status: true, pre: vs(pvcSource), post: vs(pvcSource, { status: { boundVolumeSnapshotContentName: 'c', readyToUse: true, restoreSize: '1Gi', creationTime: '2026-01-02T03:04:05Z', error: { message: 'm', time: '2026-01-02T03:04:05Z' }, volumeGroupSnapshotName: 'g' } }), expect: ok },
    { id: 'status-vs-restore-size-number', status: true, pre: vs(pvcSource), post: vs(pvcSource, { status: { restoreSize: 1073741824 } }), expect: ok },
    { id: 'status-vs-restore-size-not-a-quantity', status: true, pre: vs(pvcSource), post: vs(pvcSource, { status: { restoreSize: 'lots' } }), expect: no('status.restoreSize: Invalid value: "lots"') },
    { id: 'status-vs-ready-not-a-boolean', status: true, pre: vs(pvcSource), post: vs(pvcSource, { status: { readyToUse: 'yes' } }), expect: no('status.readyToUse: Invalid value: "string"') },
    { id: 'status-vs-creation-time-not-a-time', status: true, pre: vs(pvcSource), post: vs(pvcSource, { status: { creationTime: 'yesterday' } }), expect: no('status.creationTime: Invalid value: "yesterday"') },
    { id: 'status-vsc-ok', status: true, pre: vsc({}), post: vsc({}, { status: { snapshotHandle: 'h', creationTime: 1767323045000000000, restoreSize: 0, readyToUse: false, error: { message: 'm' }, volumeGroupSnapshotHandle: 'g' } }), expect: ok },
    { id: 'status-vsc-negative-restore-size', status: true, pre: vsc({}), post: vsc({}, { status: { restoreSize: -1 } }), expect: no('status.restoreSize: Invalid value: -1') },
    { id: 'status-vsc-creation-time-not-an-integer', status: true, pre: vsc({}), post: vsc({}, { status: { creationTime: '2026-01-02T03:04:05Z' } }), expect: no('status.creationTime: Invalid value: "string"') },
];

function readObjects(file: string): Obj[] {
    return (loadAll(fs.readFileSync(file, 'utf8')) as (Obj | null)[]).filter((o): o is Obj => !!o && typeof o.apiVersion === 'string' && o.apiVersion.startsWith('snapshot.storage.k8s.io/'));
}

/**
 * An expected error text from an upstream fixture, without the `Invalid value: "string": ` prefix
 * some carry: API servers before 1.3x printed the value's type there, v1.36 prints the value.
 */
const readIfExists = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().replace(/^Invalid value: "[^"]*": /, '') : undefined);

/**
 * Upstream's cases: every snapshot.storage.k8s.io object in examples/kubernetes (accepted, except
 * the example named invalid-*), and client/hack/cel-tests/{volumesnapshot,volumesnapshotcontent}:
 * `x.yaml` alone is a create, rejected with the text of `x.yaml.err` when that file exists;
 * `x.pre.yaml` then `x.post.yaml` is an update, rejected with the text of `x.post.yaml.tx_err`.
 */
export function upstreamCases(root: string): Case[] {
    const cases: Case[] = [];
    const examples = path.join(root, 'examples', 'kubernetes');
    for (const f of fs.readdirSync(examples).sort()) {
        for (const [i, o] of readObjects(path.join(examples, f)).entries()) {
            cases.push({ id: `examples/${f}#${i}`, post: o, expect: f.startsWith('invalid-') ? no('exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set') : ok });
        }
    }
    for (const kind of ['volumesnapshot', 'volumesnapshotcontent']) {
        const dir = path.join(root, 'client', 'hack', 'cel-tests', kind);
        for (const f of fs.readdirSync(dir).sort()) {
            const file = path.join(dir, f);
            if (!f.endsWith('.yaml') || f.endsWith('.post.yaml')) continue;
            if (f.endsWith('.pre.yaml')) {
                const postFile = file.replace(/\.pre\.yaml$/, '.post.yaml');
                const err = readIfExists(`${postFile}.tx_err`);
                const [pre] = readObjects(file);
                const [post] = readObjects(postFile);
                if (pre && post) cases.push({ id: `cel-tests/${kind}/${f.replace(/\.pre\.yaml$/, '')}`, pre, post, expect: err ? no(err) : ok });
            } else {
                const err = readIfExists(`${file}.err`);
                const [post] = readObjects(file);
                if (post) cases.push({ id: `cel-tests/${kind}/${f}`, post, expect: err ? no(err) : ok });
            }
        }
    }
    return cases;
}
