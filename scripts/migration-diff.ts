// On demand: compares our CSI migration translation (src/migration) with upstream's own library,
// k8s.io/csi-translation-lib v0.36.3 (what kubernetes v1.36 uses), on generated objects: in-tree
// PVs of the seven plugins → CSI, CSI PVs → in-tree, pod inline volumes → CSI PVs, StorageClasses.
// The objects mix the shapes that matter (volume ID forms, zone/region labels GA and beta, node
// affinity keys, multi-zone values, access modes, secret references, attribute spellings, bad
// values). Every output (or error message) must be the same, after both are put in the API's JSON
// form. Needs Go and the module cache (the Go harness in scripts/migration-diff/ is built once
// into .cache/).
//
//   node scripts/migration-diff.ts [--cases N] [--seed S]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { V1NodeSelectorTerm, V1PersistentVolume, V1StorageClass, V1TopologySelectorTerm, V1Volume } from '@kubernetes/client-node';
import {
    PLUGINS,
    translateCSIPVToInTree,
    translateInTreeInlineVolumeToCSI,
    translateInTreePVToCSI,
    translateInTreeStorageClassToCSI,
} from '../src/migration/index.ts';
import { REPO_ROOT } from './lib/testbin.ts';

type Op = 'pv' | 'csipv' | 'inline' | 'sc';
interface Req {
    op: Op;
    plugin?: string;
    pv?: V1PersistentVolume;
    volume?: V1Volume;
    ns?: string;
    sc?: V1StorageClass;
}

function arg(name: string, def: number): number {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const CASES = arg('cases', 4000);
const SEED = arg('seed', 1);

// mulberry32: a small seeded PRNG, so a failing case can be reproduced.
let state = SEED >>> 0;
function rnd(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const maybe = <T>(p: number, f: () => T): T | undefined => (rnd() < p ? f() : undefined);
const some = <T>(xs: readonly T[], max = xs.length): T[] => xs.filter(() => rnd() < 0.5).slice(0, max);
/** An object without its undefined values (so Go and we get the same input). */
const clean = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;

const ZONE = 'topology.kubernetes.io/zone';
const REGION = 'topology.kubernetes.io/region';
const BZONE = 'failure-domain.beta.kubernetes.io/zone';
const BREGION = 'failure-domain.beta.kubernetes.io/region';
const CSI_KEYS = ['topology.ebs.csi.aws.com/zone', 'topology.gke.io/zone', 'topology.disk.csi.azure.com/zone', 'topology.cinder.csi.openstack.org/zone', 'topology.csi.vmware.com/zone', 'topology.csi.vmware.com/region'];
const ZONES = ['us-east-1a', 'us-east-1b', 'us-west-2a', 'us-east1-a', 'us-east1-c', 'europe-west1-b', 'us-west-2-lax-1a', 'us-east-1-wl1-bos-wlz-1', 'nova', '0', '12', 'z1', ' ', ''];
const REGIONS = ['us-east-1', 'us-east1', 'r1', ''];

function zoneValue(): string {
    return rnd() < 0.25 ? `${pick(ZONES)}__${pick(ZONES)}` : pick(ZONES);
}
function labels(): Record<string, string> | undefined {
    const l: Record<string, string> = {};
    for (const k of some([ZONE, BZONE])) l[k] = zoneValue();
    for (const k of some([REGION, BREGION])) l[k] = pick(REGIONS);
    if (rnd() < 0.2) l.app = 'x';
    return Object.keys(l).length ? l : undefined;
}
function terms(): V1NodeSelectorTerm[] {
    const n = pick([0, 1, 1, 2]);
    return Array.from({ length: n }, () => ({
        matchExpressions: Array.from({ length: pick([1, 1, 2, 3]) }, () => ({
            key: pick([ZONE, BZONE, REGION, BREGION, ...CSI_KEYS, 'kubernetes.io/hostname']),
            operator: 'In',
            values: some(ZONES, 3).filter((z) => z !== ''),
        })),
    }));
}
function affinity(): V1PersistentVolume['spec'] {
    return rnd() < 0.5 ? {} : { nodeAffinity: { required: { nodeSelectorTerms: terms() } } };
}
const MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];
const FS = ['', 'ext4', 'xfs'];

/** An in-tree source of a plugin (for PVs, or for pod volumes when inline). */
function source(field: string, inline: boolean): Record<string, unknown> {
    const fsType = pick(FS) || undefined;
    const readOnly = maybe(0.5, () => rnd() < 0.5);
    switch (field) {
        case 'awsElasticBlockStore':
            return { volumeID: pick(['vol-0123', 'aws://us-east-1a/vol-0abc', 'aws:///vol-9', 'aws://us-east-1a/abc', 'aws://zone:x/vol-1', 'aws:///vol-%41', 'aws:///vol-%zz', 'vol/x', '']), fsType, readOnly, partition: pick([undefined, 0, 1, 7]) };
        case 'gcePersistentDisk':
            return { pdName: pick(['disk-1', 'd', '']), fsType, readOnly, partition: pick([undefined, 0, 2]) };
        case 'azureDisk':
            return {
                diskName: 'n',
                diskURI: pick(['/subscriptions/1/resourceGroups/rg/providers/Microsoft.Compute/disks/d1', 'https://acct.blob.core.windows.net/vhds/d.vhd', 'uri']),
                cachingMode: pick([undefined, 'None', 'ReadOnly', '']),
                fsType: pick([undefined, '', 'ext4']),
                readOnly,
                kind: pick([undefined, 'Managed', 'managed', 'Dedicated', 'Shared']),
            };
        case 'azureFile':
            return {
                secretName: pick(['azure-storage-account-acct-secret', 'mysecret', '']),
                shareName: pick(['share', '']),
                readOnly,
                ...(inline ? {} : { secretNamespace: pick([undefined, 'ns1', '']) }),
            };
        case 'cinder':
            return { volumeID: pick(['c-1', '']), fsType, readOnly };
        case 'vsphereVolume':
            return { volumePath: pick(['[ds] vol/a.vmdk', '']), fsType, storagePolicyName: pick([undefined, 'gold']) };
        case 'portworxVolume':
            return { volumeID: pick(['px-1', '']), fsType, readOnly };
    }
    return {};
}

function inTreePV(): V1PersistentVolume {
    const field = rnd() < 0.05 ? 'hostPath' : pick(PLUGINS).sourceField;
    const annotations: Record<string, string> = {};
    if (rnd() < 0.3) annotations['kubernetes.io/azure-file-resource-group'] = pick(['rg', '']);
    if (rnd() < 0.3) annotations['openstorage.io/auth-secret-name'] = 's';
    if (rnd() < 0.3) annotations['openstorage.io/auth-secret-namespace'] = 'sns';
    return clean({
        metadata: { name: pick(['pv-1', 'pvc-abc']), labels: labels(), annotations: Object.keys(annotations).length ? annotations : undefined },
        spec: {
            capacity: { storage: '1Gi' },
            accessModes: maybe(0.8, () => some(MODES)),
            persistentVolumeReclaimPolicy: pick(['Delete', 'Retain']),
            claimRef: maybe(0.5, () => ({ namespace: pick(['default', 'team', undefined]), name: 'c' })),
            ...(field === 'hostPath' ? { hostPath: { path: '/x' } } : { [field]: source(field, false) }),
            ...affinity(),
        },
    });
}

const HANDLES: Record<string, string[]> = {
    'ebs.csi.aws.com': ['vol-1'],
    'pd.csi.storage.gke.io': ['projects/p/zones/us-east1-a/disks/d', 'projects/UNSPECIFIED/regions/us-east1/disks/d', 'short/handle'],
    'disk.csi.azure.com': ['/subscriptions/1/resourceGroups/rg/providers/Microsoft.Compute/disks/d1', 'https://a.blob.core.windows.net/vhds/d.vhd', 'bad'],
    'file.csi.azure.com': ['rg#acct#share#pv#ns', 'rg#acct', '#acct#share'],
    'cinder.csi.openstack.org': ['c-1'],
    'csi.vsphere.vmware.com': ['5f3a'],
    'pxd.portworx.com': ['px-1'],
    'dir.csi.example.io': ['h'],
};
function csiPV(): V1PersistentVolume {
    const driver = pick(Object.keys(HANDLES));
    const attrs: Record<string, string> = {};
    // One spelling per attribute: Go iterates maps in random order, so two spellings of one key
    // would make upstream itself nondeterministic.
    const attrKeys: [string[], string[]][] = [
        [['partition'], ['0', '3', '', 'x']],
        [['cachingmode', 'cachingMode'], ['None', 'ReadOnly', '']],
        [['fstype', 'fsType'], ['ext4', '']],
        [['sharename', 'shareName'], ['share', '']],
        [['secretname', 'secretName'], ['sec', '']],
        [['secretnamespace', 'secretNamespace'], ['sns', '']],
        [['initialvolumefilepath'], ['[ds] a.vmdk']],
        [['kind'], ['managed']],
    ];
    for (const [keys, values] of attrKeys) if (rnd() < 0.35) attrs[pick(keys)] = pick(values);
    return clean({
        metadata: { name: 'pv-1', labels: labels(), annotations: maybe(0.2, () => ({ x: 'y' })) },
        spec: {
            accessModes: maybe(0.8, () => some(MODES)),
            csi: {
                driver,
                volumeHandle: pick(HANDLES[driver] as string[]),
                fsType: pick(FS) || undefined,
                readOnly: maybe(0.5, () => rnd() < 0.5),
                volumeAttributes: Object.keys(attrs).length ? attrs : undefined,
                nodeStageSecretRef: maybe(0.3, () => ({ name: pick(['s', '']), namespace: pick(['n', '']) })),
            },
            ...affinity(),
        },
    });
}

function inlineVolume(): V1Volume {
    const field = rnd() < 0.05 ? 'emptyDir' : pick(PLUGINS).sourceField;
    return clean({ name: pick(['data', 'vol']), ...(field === 'emptyDir' ? { emptyDir: {} } : { [field]: source(field, true) }) });
}

const PARAM_KEYS = ['fstype', 'FSType', 'zone', 'zones', 'Zone', 'iopsPerGB', 'type', 'availability', 'storagepolicyname', 'datastore', 'diskformat', 'hostfailurestotolerate', 'iopslimit', 'openstorage.io/auth-secret-name', 'openstorage.io/auth-secret-namespace', 'repl', 'skuName'];
function storageClass(): { plugin: string; sc: V1StorageClass } {
    const plugin = rnd() < 0.05 ? 'kubernetes.io/rbd' : pick(PLUGINS).inTreeName;
    const params: Record<string, string> = {};
    let zoneKey = false;
    for (const k of some(PARAM_KEYS, 5)) {
        // two spellings of one key: upstream's result depends on Go's map order
        if (Object.keys(params).some((p) => p.toLowerCase() === k.toLowerCase())) continue;
        const isZone = k.toLowerCase() === 'zone' || k.toLowerCase() === 'zones';
        // upstream's result with two zone keys depends on Go's map order: one at most
        if (isZone && zoneKey) continue;
        zoneKey ||= isZone;
        params[k] = isZone ? pick(['us-east-1a', 'a,b', '']) : pick(['v', '1', 'ext4']);
    }
    const allowed: V1TopologySelectorTerm[] | undefined = maybe(0.4, () =>
        Array.from({ length: pick([1, 2]) }, () => ({ matchLabelExpressions: [{ key: pick([ZONE, BZONE, 'other', ...CSI_KEYS]), values: some(['0', '1', 'us-east-1a', 'z'], 2) }] })),
    );
    return { plugin, sc: clean({ metadata: { name: 'sc' }, provisioner: plugin, parameters: maybe(0.9, () => params), allowedTopologies: allowed }) };
}

/** The API's JSON form for comparison: empty objects and arrays dropped (Go's omitempty and ours differ only there). */
function canonical(v: unknown): unknown {
    if (Array.isArray(v)) {
        const a = v.map(canonical);
        return a;
    }
    if (v && typeof v === 'object') {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(v).sort()) {
            const c = canonical((v as Record<string, unknown>)[k]);
            if (c === undefined) continue;
            if (c && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 0) continue;
            if (Array.isArray(c) && c.length === 0) continue;
            out[k] = c;
        }
        return out;
    }
    return v;
}

/** Known, documented differences in error text: upstream prints the whole PV struct with %+v; we print its name. */
function comparableError(msg: string): string {
    return msg.replace(/PV:.*\. Error:/s, 'PV:<pv>. Error:');
}

function ours(r: Req): { out?: unknown; err?: string } {
    try {
        switch (r.op) {
            case 'pv':
                return { out: translateInTreePVToCSI(r.pv as V1PersistentVolume) };
            case 'csipv':
                return { out: translateCSIPVToInTree(r.pv as V1PersistentVolume) };
            case 'inline':
                return { out: translateInTreeInlineVolumeToCSI(r.volume as V1Volume, r.ns ?? '') };
            case 'sc':
                return { out: translateInTreeStorageClassToCSI(r.plugin ?? '', r.sc as V1StorageClass) };
        }
    } catch (e) {
        return { err: (e as Error).message };
    }
}

function buildHarness(): string {
    const src = path.join(REPO_ROOT, 'scripts', 'migration-diff');
    const bin = path.join(REPO_ROOT, '.cache', 'migration-diff', 'csi-translation-lib-v0.36.3');
    if (fs.existsSync(bin)) return bin;
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    const tmp = `${bin}.${process.pid}`;
    console.log('building the upstream harness (once; about a minute on 2 cores)…');
    const r = spawnSync('go', ['build', '-o', tmp, '.'], { cwd: src, stdio: 'inherit', env: { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOSUMDB: 'off', GOTOOLCHAIN: 'local' } });
    if (r.status !== 0) throw new Error('go build scripts/migration-diff failed (needs k8s.io/csi-translation-lib@v0.36.3 in the Go module cache: npm run testbin builds kubernetes, which fetches it)');
    fs.renameSync(tmp, bin);
    return bin;
}

function main(): void {
    const bin = buildHarness();
    const reqs: Req[] = [];
    for (let i = 0; i < CASES; i++) {
        const kind = pick(['pv', 'pv', 'csipv', 'inline', 'sc'] as const);
        if (kind === 'pv') reqs.push({ op: 'pv', pv: inTreePV() });
        else if (kind === 'csipv') reqs.push({ op: 'csipv', pv: csiPV() });
        else if (kind === 'inline') reqs.push({ op: 'inline', volume: inlineVolume(), ns: pick(['', 'team']) });
        else reqs.push({ op: 'sc', ...storageClass() });
    }
    const res = spawnSync(bin, [], { input: reqs.map((r) => JSON.stringify(r)).join('\n') + '\n', maxBuffer: 1 << 30 });
    if (res.status !== 0) throw new Error(`harness failed: ${res.stderr.toString()}`);
    const upstream = res.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as { out?: unknown; err?: string });
    const counts: Record<string, { same: number; errors: number }> = {};
    const diffs: string[] = [];
    let skipped = 0;
    reqs.forEach((r, i) => {
        const up = upstream[i] ?? {};
        if (up.err?.startsWith('panic:')) {
            // upstream crashes (vsphere inline volume with a storage policy): we translate instead
            skipped++;
            return;
        }
        const us = ours(r);
        const c = (counts[r.op] ??= { same: 0, errors: 0 });
        const same = up.err !== undefined || us.err !== undefined ? comparableError(up.err ?? '(no error)') === comparableError(us.err ?? '(no error)') : JSON.stringify(canonical(up.out)) === JSON.stringify(canonical(us.out));
        if (same) {
            c.same++;
            if (up.err) c.errors++;
        } else if (diffs.length < 10) {
            diffs.push(`#${i} ${r.op}\n  input:    ${JSON.stringify(r)}\n  upstream: ${JSON.stringify(up.err ?? canonical(up.out))}\n  ours:     ${JSON.stringify(us.err ?? canonical(us.out))}`);
        } else diffs.push('');
    });
    for (const [op, c] of Object.entries(counts)) console.log(`${op.padEnd(6)} ${c.same} identical (${c.errors} of them the same error)`);
    console.log(`${skipped} skipped: upstream panics (vsphere inline volume with a storage policy)`);
    if (diffs.length) {
        console.log(`${diffs.length} DIFFERENT (seed ${SEED}):\n${diffs.filter(Boolean).join('\n')}`);
        process.exit(1);
    }
    console.log(`all ${reqs.length - skipped} cases identical to csi-translation-lib v0.36.3 (seed ${SEED})`);
}

main();
