// crds/ is generated (scripts/gen-crds.ts): the committed files must be exactly the generator's
// output, and the CRDs must equal upstream's (kubernetes-csi/external-snapshotter
// client/config/crd, read from the peers archive at run time) in everything but description text.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { load } from 'js-yaml';
import { CHART_CRDS_TEMPLATE, generatedFiles, staleFiles } from '../../scripts/gen-crds.ts';
import { REPO_ROOT } from '../../scripts/lib/testbin.ts';
import { extractPeer } from '../support/peers.ts';
import type { PeerTree } from '../support/peers.ts';

type Json = Record<string, unknown>;

/** A schema node without its descriptions (recursively through properties and additionalProperties). */
function stripSchema(s: Json): Json {
    const { description: _d, properties, additionalProperties, ...rest } = s;
    const out: Json = { ...rest };
    if (properties) out.properties = Object.fromEntries(Object.entries(properties as Record<string, Json>).map(([k, v]) => [k, stripSchema(v)]));
    if (additionalProperties) out.additionalProperties = stripSchema(additionalProperties as Json);
    return out;
}

/** Collects every description in a CRD (schema nodes and printer columns). */
function descriptions(x: unknown, out: string[] = []): string[] {
    if (Array.isArray(x)) for (const v of x) descriptions(v, out);
    else if (x && typeof x === 'object') {
        for (const [k, v] of Object.entries(x)) {
            if (k === 'description' && typeof v === 'string') out.push(v);
            else descriptions(v, out);
        }
    }
    return out;
}

/**
 * What the API server acts on: the CRD without descriptions, server status, tool annotations,
 * and empty `subresources: {}` (the same as none).
 */
function structure(crd: Json): Json {
    const meta = crd.metadata as { name: string; annotations?: Record<string, string> };
    const annotations = { ...meta.annotations };
    delete annotations['controller-gen.kubebuilder.io/version'];
    const spec = crd.spec as Json & { versions: Json[] };
    const versions = spec.versions.map((v) => {
        const { subresources, additionalPrinterColumns, schema, ...rest } = v as Json & { subresources?: Json; additionalPrinterColumns?: Json[]; schema: { openAPIV3Schema: Json } };
        return {
            ...rest,
            ...(subresources && Object.keys(subresources).length ? { subresources } : {}),
            additionalPrinterColumns: (additionalPrinterColumns ?? []).map(({ description: _d, ...c }) => c),
            schema: { openAPIV3Schema: stripSchema(schema.openAPIV3Schema) },
        };
    });
    return { apiVersion: crd.apiVersion, kind: crd.kind, metadata: { name: meta.name, annotations }, spec: { ...spec, versions } };
}

const readYaml = (file: string) => load(fs.readFileSync(file, 'utf8')) as Json;

describe('crds/ (generated snapshot API)', () => {
    it('committed crds/*.yaml and the chart template are exactly the generator output', () => {
        assert.deepEqual(staleFiles(), [], 'run: node scripts/gen-crds.ts');
        const names = fs.readdirSync(path.join(REPO_ROOT, 'crds')).sort();
        assert.deepEqual(names, [...generatedFiles().keys()].filter((f) => f.startsWith('crds/')).map((f) => path.basename(f)).sort(), 'no stray files in crds/');
    });

    it('the chart template holds the same CRDs, behind crds.install', () => {
        const text = generatedFiles().get(CHART_CRDS_TEMPLATE) ?? '';
        assert.match(text, /^\{\{- if \.Values\.crds\.install \}\}$/m);
        assert.equal(text.match(/helm\.sh\/resource-policy: keep/g)?.length, 3);
        for (const f of fs.readdirSync(path.join(REPO_ROOT, 'crds'))) {
            const spec = fs.readFileSync(path.join(REPO_ROOT, 'crds', f), 'utf8').split(/^spec:$/m)[1] ?? '';
            assert.ok(spec.length > 100 && text.includes(spec.trimEnd()), `${f}: spec appears verbatim in the chart template`);
        }
    });

    describe('equal to upstream apart from descriptions', () => {
        let peer: PeerTree | undefined;
        before(() => {
            peer = extractPeer('external-snapshotter', ['client/config/crd']);
        });
        after(() => peer?.remove());

        it('same kinds, and each CRD has the same structure, validations, printer columns and versions', (t) => {
            if (!peer) return t.skip('external-snapshotter peers archive not found (set VCM_PEERS_DIR)');
            const upstreamDir = path.join(peer.root, 'client', 'config', 'crd');
            const upstreamFiles = fs.readdirSync(upstreamDir).filter((f) => f.startsWith('snapshot.storage.k8s.io_')).sort();
            assert.deepEqual(fs.readdirSync(path.join(REPO_ROOT, 'crds')).sort(), upstreamFiles);
            for (const f of upstreamFiles) {
                assert.deepEqual(structure(readYaml(path.join(REPO_ROOT, 'crds', f))), structure(readYaml(path.join(upstreamDir, f))), f);
            }
        });

        it('every description is ours, not upstream text', (t) => {
            if (!peer) return t.skip('external-snapshotter peers archive not found (set VCM_PEERS_DIR)');
            const upstreamDir = path.join(peer.root, 'client', 'config', 'crd');
            const theirs = new Set(fs.readdirSync(upstreamDir).flatMap((f) => descriptions(readYaml(path.join(upstreamDir, f)))).map((d) => d.replace(/\s+/g, ' ').trim()));
            const ours = fs.readdirSync(path.join(REPO_ROOT, 'crds')).flatMap((f) => descriptions(readYaml(path.join(REPO_ROOT, 'crds', f))));
            assert.ok(ours.length > 40, `descriptions present (${ours.length})`);
            const copied = ours.filter((d) => theirs.has(d.replace(/\s+/g, ' ').trim()));
            assert.deepEqual(copied, []);
        });
    });
});
