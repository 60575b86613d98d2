// Our snapshot CRDs (crds/) against upstream's (kubernetes-csi/external-snapshotter
// client/config/crd, read from the peers archive at run time) on one real control plane:
// upstream's CRDs first, then ours applied over them in place, then upstream's again. Under
// each, the same objects (upstream's examples and CEL fixtures, and our table in cases.ts) must
// get the same answer (accepted with the same stored object, or rejected with the same message),
// `kubectl explain --recursive` must show the same field tree, `kubectl get` the same columns,
// and objects stored under one definition must read back unchanged under the other.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadAll } from 'js-yaml';
import { applyCrds, crdFiles, readCrds, request } from '../../../scripts/lib/crds.ts';
import type { ApiTarget, CrdManifest } from '../../../scripts/lib/crds.ts';
import { testbinPath } from '../../../scripts/lib/testbin.ts';
import { eventually, useCluster } from '../../support/env.ts';
import type { TestCluster } from '../../support/env.ts';
import { extractPeer } from '../../support/peers.ts';
import type { PeerTree } from '../../support/peers.ts';
import { OWN_CASES, upstreamCases } from './cases.ts';
import type { Case } from './cases.ts';

const run = promisify(execFile);
const GROUP = 'snapshot.storage.k8s.io';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const KINDS: Record<string, { plural: string; namespaced: boolean }> = {
    VolumeSnapshot: { plural: 'volumesnapshots', namespaced: true },
    VolumeSnapshotContent: { plural: 'volumesnapshotcontents', namespaced: false },
    VolumeSnapshotClass: { plural: 'volumesnapshotclasses', namespaced: false },
};
const PLURALS = Object.values(KINDS).map((k) => k.plural);
const SKIP = 'external-snapshotter peers archive not found (set VCM_PEERS_DIR)';

type Obj = Record<string, unknown> & { apiVersion: string; kind: string; metadata?: Record<string, unknown> };
/** What the API server answered: the HTTP code and the message, or the accepted object minus metadata. */
interface Outcome {
    code: number;
    message?: string;
    object?: unknown;
}
/** What one set of CRDs showed. */
interface Observed {
    outcomes: Record<string, Outcome>;
    /** Cases answered other than their expectation. */
    unexpected: string[];
    explain: Record<string, string>;
    tables: Record<string, { columns: unknown[]; rows: unknown[][] }>;
    headers: Record<string, string[]>;
}
type FullCrd = Omit<CrdManifest, 'spec'> & {
    spec: Omit<CrdManifest['spec'], 'versions'> & {
        versions: { name: string; served: boolean; additionalPrinterColumns?: { name: string; description?: string }[]; schema: { openAPIV3Schema: { description?: string } } }[];
    };
};

function url(o: Obj, name?: string, sub?: string, dryRun = false): string {
    const k = KINDS[o.kind];
    if (!k) throw new Error(`unknown kind ${o.kind}`);
    const ns = k.namespaced ? `/namespaces/${(o.metadata?.namespace as string | undefined) ?? 'default'}` : '';
    return `/apis/${o.apiVersion}${ns}/${k.plural}${name ? `/${name}` : ''}${sub ? `/${sub}` : ''}${dryRun ? '?dryRun=All' : ''}`;
}

function outcome(r: { status: number; body: string }): Outcome {
    let body: Record<string, unknown> = {};
    try {
        body = JSON.parse(r.body) as Record<string, unknown>;
    } catch {
        /* not JSON (e.g. a plain 404 page) */
    }
    if (r.status >= 300) return { code: r.status, message: (body.message as string | undefined) ?? r.body.trim() };
    const { metadata: _m, ...object } = body;
    return { code: r.status, object };
}

/** The object of a case, renamed for it (and put in `default` when namespaced and namespace-less). */
function named(o: Obj, name: string): Obj {
    const copy = structuredClone(o);
    copy.metadata = { ...copy.metadata, name, ...(KINDS[o.kind]?.namespaced && !copy.metadata?.namespace ? { namespace: 'default' } : {}) };
    return copy;
}

describe('snapshot CRDs: ours behave exactly as upstream', () => {
    let env: TestCluster;
    let peer: PeerTree | undefined;
    let t: ApiTarget;
    let upstream: FullCrd[];
    let ours: FullCrd[];
    let cases: Case[];
    const observed: Record<'upstream' | 'ours', Observed | undefined> = { upstream: undefined, ours: undefined };
    const kept = new Map<string, string>();

    before(async () => {
        peer = extractPeer('external-snapshotter', ['client/config/crd', 'examples/kubernetes', 'client/hack/cel-tests/volumesnapshot', 'client/hack/cel-tests/volumesnapshotcontent']);
        if (!peer) return;
        const dir = path.join(peer.root, 'client', 'config', 'crd');
        upstream = readCrds(fs.readdirSync(dir).filter((f) => f.startsWith(`${GROUP}_`)).map((f) => path.join(dir, f))) as FullCrd[];
        ours = readCrds(crdFiles()) as FullCrd[];
        cases = [...upstreamCases(peer.root), ...OWN_CASES];
        env = await useCluster({ crds: false });
        t = env.cp.apiTarget();
    });
    after(async () => {
        await env?.stop();
        peer?.remove();
    });

    const kubectl = async (...args: string[]) => {
        // A fresh cache each time: kubectl must not answer from the OpenAPI of the previous CRDs.
        const cache = fs.mkdtempSync(path.join(env.dir, 'kubectl-cache-'));
        return (await run(testbinPath('kubectl'), ['--kubeconfig', env.cp.kubeconfig, '--cache-dir', cache, ...args], { maxBuffer: 16 << 20 })).stdout;
    };
    const explain = (plural: string, recursive: boolean) => kubectl('explain', plural, `--api-version=${GROUP}/v1`, ...(recursive ? ['--recursive'] : []));
    const words = (s: string) => s.replace(/\s+/g, ' ').trim();

    /** Applies crds and waits until the API server validates, prints and explains with them. */
    async function install(crds: FullCrd[]): Promise<void> {
        await applyCrds(t, crds);
        for (const crd of crds) {
            const v = crd.spec.versions.find((x) => x.served);
            assert.ok(v);
            const described = (v.additionalPrinterColumns ?? []).filter((c) => c.description);
            await eventually(`${crd.metadata.name} prints with the new columns`, async () => {
                const r = await request(t, 'GET', `/apis/${GROUP}/${v.name}/${crd.spec.names.plural}?limit=1`, { accept: TABLE });
                const defs = (JSON.parse(r.body) as { columnDefinitions?: { name: string; description: string }[] }).columnDefinitions ?? [];
                return described.every((c) => defs.find((d) => d.name === c.name)?.description === c.description);
            });
            const description = words(v.schema.openAPIV3Schema.description ?? '').slice(0, 60);
            await eventually(`${crd.metadata.name} explained with the new schema`, async () => words(await explain(crd.spec.names.plural, false)).includes(description), 30_000, 250);
        }
    }

    async function runCase(c: Case): Promise<Outcome> {
        const name = `c-${c.id.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`.slice(0, 200);
        const post = named(c.post, name);
        if (!c.pre) return outcome(await request(t, 'POST', url(post, undefined, undefined, true), { body: JSON.stringify(post) }));
        const pre = named(c.pre, name);
        const created = await request(t, 'POST', url(pre), { body: JSON.stringify(pre) });
        assert.equal(created.status, 201, `${c.id}: creating the old object: ${created.body}`);
        try {
            if (c.status) return outcome(await request(t, 'PATCH', url(post, name, 'status'), { body: JSON.stringify({ status: post.status }), contentType: 'application/merge-patch+json' }));
            const resourceVersion = (JSON.parse(created.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
            return outcome(await request(t, 'PUT', url(post, name), { body: JSON.stringify({ ...post, metadata: { ...post.metadata, resourceVersion } }) }));
        } finally {
            const d = await request(t, 'DELETE', url(pre, name));
            assert.equal(d.status, 200, `${c.id}: deleting: ${d.body}`);
        }
    }

    async function observe(label: string): Promise<Observed> {
        const outcomes: Record<string, Outcome> = {};
        const unexpected: string[] = [];
        for (const c of cases) {
            const o = await runCase(c);
            outcomes[c.id] = o;
            const e = c.expect;
            const fine = e.accept ? o.code === 200 || o.code === 201 : o.code === (e.code ?? 422) && (!e.message || !!o.message?.includes(e.message));
            if (!fine) unexpected.push(`${label}: ${c.id}: expected ${e.accept ? 'accepted' : `HTTP ${e.code ?? 422} "${e.message ?? ''}"`}, got HTTP ${o.code} ${o.message ?? ''}`);
        }
        const explain_: Record<string, string> = {};
        const tables: Observed['tables'] = {};
        const headers: Record<string, string[]> = {};
        for (const plural of PLURALS) {
            const text = await explain(plural, true);
            // The field tree and types; the one description --recursive prints is prose, left out.
            explain_[plural] = `${text.split(/^DESCRIPTION:$/m)[0]}FIELDS:${text.split(/^FIELDS:$/m)[1]}`;
            const r = await request(t, 'GET', `/apis/${GROUP}/v1/${plural}`, { accept: TABLE });
            const table = JSON.parse(r.body) as { columnDefinitions: { name: string; type: string; format: string; priority: number }[]; rows: { cells: unknown[] }[] };
            const columns = table.columnDefinitions.map(({ name, type, format, priority }) => ({ name, type, format, priority }));
            // Date columns print an age ("5s"), which differs between the two runs.
            const rows = table.rows.map((row) => row.cells.map((cell, i) => (columns[i]?.type === 'date' ? '<date>' : cell)));
            tables[plural] = { columns, rows };
            headers[plural] = (await kubectl('get', plural, '-A', '-o', 'wide')).split('\n')[0]?.trim().split(/\s+/) ?? [];
        }
        return { outcomes, unexpected, explain: explain_, tables, headers };
    }

    /** Objects that stay across the switches, with status written (as the controllers would). */
    async function keep(objects: Obj[], status: Record<string, Record<string, unknown>>): Promise<void> {
        for (const o of objects) {
            const name = o.metadata?.name as string;
            const r = await request(t, 'POST', url(o), { body: JSON.stringify(o) });
            assert.equal(r.status, 201, r.body);
            let body = r.body;
            if (status[name]) {
                const s = await request(t, 'PATCH', url(o, name, 'status'), { body: JSON.stringify({ status: status[name] }), contentType: 'application/merge-patch+json' });
                assert.equal(s.status, 200, s.body);
                body = s.body;
            }
            kept.set(url(o, name), body);
        }
    }

    async function assertKeptUnchanged(): Promise<void> {
        assert.ok(kept.size >= 4);
        for (const [u, body] of kept) {
            const r = await request(t, 'GET', u);
            assert.equal(r.status, 200, `${u}: ${r.body}`);
            assert.deepEqual(JSON.parse(r.body), JSON.parse(body), u);
        }
    }

    it("upstream's CRDs: every case answered as expected", async (ctx) => {
        if (!peer) return ctx.skip(SKIP);
        await install(upstream);
        // Upstream's example class and snapshot, as they are (renamed), and a bound pair.
        const example = (f: string) => named((loadAll(fs.readFileSync(path.join(peer!.root, 'examples', 'kubernetes', f), 'utf8')) as Obj[]).filter(Boolean)[0] as Obj, `ex-${f.replace('.yaml', '')}`);
        const ex = [example('snapshotclass-v1.yaml'), example('snapshot-v1.yaml')];
        await keep(
            [
                ...ex,
                { apiVersion: `${GROUP}/v1`, kind: 'VolumeSnapshotContent', metadata: { name: 'keep-content' }, spec: { deletionPolicy: 'Delete', driver: 'hostpath.csi.k8s.io', source: { volumeHandle: 'vol-1' }, volumeSnapshotRef: { name: 'keep-bound', namespace: 'default' }, volumeSnapshotClassName: 'ex-snapshotclass-v1' } },
                { apiVersion: `${GROUP}/v1`, kind: 'VolumeSnapshot', metadata: { name: 'keep-bound', namespace: 'default' }, spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'ex-snapshotclass-v1' } },
            ],
            {
                'keep-content': { snapshotHandle: 'snap-1', readyToUse: true, restoreSize: 1073741824, creationTime: 1767323045000000000 },
                'keep-bound': { boundVolumeSnapshotContentName: 'keep-content', readyToUse: true, restoreSize: '1Gi', creationTime: '2026-01-02T03:04:05Z' },
            },
        );
        observed.upstream = await observe('upstream');
        assert.deepEqual(observed.upstream.unexpected, []);
    });

    it('ours, applied over them in place: objects stored under upstream read back unchanged', async (ctx) => {
        if (!peer) return ctx.skip(SKIP);
        await install(ours);
        await assertKeptUnchanged();
    });

    it('ours: every case gets the same answer as under upstream (accepted with the same object, or rejected with the same message)', async (ctx) => {
        if (!peer) return ctx.skip(SKIP);
        observed.ours = await observe('ours');
        assert.deepEqual(observed.ours.unexpected, []);
        assert.ok(Object.keys(observed.ours.outcomes).length > 60, `${Object.keys(observed.ours.outcomes).length} cases`);
        assert.deepEqual(observed.ours.outcomes, observed.upstream?.outcomes);
    });

    it('kubectl explain --recursive: the same field tree and types for every kind', (ctx) => {
        if (!peer) return ctx.skip(SKIP);
        for (const plural of PLURALS) {
            assert.match(observed.ours?.explain[plural] ?? '', /^FIELDS:\n {2}apiVersion\t<string>$/m);
            assert.equal(observed.ours?.explain[plural], observed.upstream?.explain[plural], plural);
        }
        assert.match(observed.ours?.explain.volumesnapshots ?? '', /^\s+persistentVolumeClaimName\s+<string>$/m);
    });

    it('kubectl get: the same printer columns and cells for every kind', (ctx) => {
        if (!peer) return ctx.skip(SKIP);
        for (const plural of PLURALS) {
            assert.deepEqual(observed.ours?.tables[plural], observed.upstream?.tables[plural], plural);
            assert.deepEqual(observed.ours?.headers[plural], observed.upstream?.headers[plural], plural);
        }
        assert.deepEqual(observed.ours?.headers.volumesnapshots, ['NAMESPACE', 'NAME', 'READYTOUSE', 'SOURCEPVC', 'SOURCESNAPSHOTCONTENT', 'RESTORESIZE', 'SNAPSHOTCLASS', 'SNAPSHOTCONTENT', 'CREATIONTIME', 'AGE']);
        assert.ok((observed.ours?.tables.volumesnapshots?.rows.length ?? 0) >= 2, 'rows to compare');
    });

    it("upstream's CRDs applied back over ours: objects stored under ours read back unchanged", async (ctx) => {
        if (!peer) return ctx.skip(SKIP);
        await keep(
            [{ apiVersion: `${GROUP}/v1`, kind: 'VolumeSnapshot', metadata: { name: 'keep-ours', namespace: 'default' }, spec: { source: { volumeSnapshotContentName: 'keep-content' } } }],
            { 'keep-ours': { readyToUse: false, error: { message: 'not yet', time: '2026-01-02T03:04:05Z' } } },
        );
        await install(upstream);
        await assertKeptUnchanged();
    });
});
