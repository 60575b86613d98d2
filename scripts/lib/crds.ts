// Installs CustomResourceDefinitions on a control plane over plain HTTPS (no kubectl process):
// server-side apply of each CRD, then a wait until the API server serves every one of them.
// Used by ControlPlane (`crds: true`) and by the CRD equivalence test.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { REPO_ROOT } from './testbin.ts';

/** Where and as whom to talk to an API server. */
export interface ApiTarget {
    /** Base URL, e.g. `https://127.0.0.1:6443`. */
    server: string;
    /** PEM of the CA that signed the serving certificate. */
    ca: Buffer;
    /** Bearer token (admin). */
    token: string;
}

/** A CRD as read from a manifest (only the fields we use). */
export interface CrdManifest {
    apiVersion: string;
    kind: string;
    metadata: { name: string };
    spec: { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] };
}

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** The field manager our installs are recorded under. */
export const FIELD_MANAGER = 'volume-controller-manager-crds';

/** The committed CRD manifests (`crds/*.yaml`), sorted by name. */
export function crdFiles(dir = path.join(REPO_ROOT, 'crds')): string[] {
    return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => path.join(dir, f));
}

/** Reads every CustomResourceDefinition in the files (other documents are ignored). */
export function readCrds(files: string[]): CrdManifest[] {
    return files.flatMap((f) => (loadAll(fs.readFileSync(f, 'utf8')) as (CrdManifest | null)[]).filter((d): d is CrdManifest => d?.kind === 'CustomResourceDefinition'));
}

/** Body and headers of a request. */
export interface RequestOptions {
    body?: string;
    /** Default `application/json`. */
    contentType?: string;
    /** Default `application/json`. */
    accept?: string;
}

/** One HTTPS request; resolves with the status and body (never rejects on an HTTP error status). */
export function request(t: ApiTarget, method: string, urlPath: string, o: RequestOptions = {}): Promise<{ status: number; body: string }> {
    const { body } = o;
    return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { authorization: `Bearer ${t.token}`, accept: o.accept ?? 'application/json' };
        if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
        const req = https.request(`${t.server}${urlPath}`, { method, ca: t.ca, headers, timeout: 30_000 }, (res) => {
            let data = '';
            res.on('data', (d) => (data += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timeout`)));
        req.end(body);
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Creates or updates each CRD by server-side apply (field manager FIELD_MANAGER, forced), so a
 * re-run, or a different definition of the same CRD (an upgrade, or upstream's files replaced by
 * ours), converges to exactly the given manifests. Then waits until every CRD is Established
 * and its group-version lists the resource in discovery (what kubectl needs), up to timeoutMs.
 * @throws Error naming the CRD when the API server refuses it or it is not served in time
 */
export async function applyCrds(t: ApiTarget, crds: CrdManifest[], timeoutMs = 30_000): Promise<void> {
    for (const crd of crds) {
        const { status: _drop, ...manifest } = crd as CrdManifest & { status?: unknown };
        const r = await request(t, 'PATCH', `${CRD_PATH}/${crd.metadata.name}?fieldManager=${FIELD_MANAGER}&force=true`, { body: JSON.stringify(manifest), contentType: 'application/apply-patch+yaml' });
        if (r.status !== 200 && r.status !== 201) throw new Error(`applying CRD ${crd.metadata.name}: HTTP ${r.status}: ${r.body}`);
    }
    const deadline = Date.now() + timeoutMs;
    for (const crd of crds) {
        for (;;) {
            if (await served(t, crd)) break;
            if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not established after ${timeoutMs / 1000}s`);
            await sleep(50);
        }
    }
}

async function served(t: ApiTarget, crd: CrdManifest): Promise<boolean> {
    const r = await request(t, 'GET', `${CRD_PATH}/${crd.metadata.name}`);
    if (r.status !== 200) return false;
    const conditions = (JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
    if (!conditions.some((c) => c.type === 'Established' && c.status === 'True')) return false;
    for (const v of crd.spec.versions.filter((x) => x.served)) {
        const d = await request(t, 'GET', `/apis/${crd.spec.group}/${v.name}`);
        if (d.status !== 200) return false;
        const resources = (JSON.parse(d.body) as { resources?: { name: string }[] }).resources ?? [];
        if (!resources.some((x) => x.name === crd.spec.names.plural)) return false;
    }
    return true;
}

/**
 * Deletes the CRDs (and with them every object of their kinds) and waits until they are gone.
 * @throws Error when one is still there after timeoutMs
 */
export async function deleteCrds(t: ApiTarget, crds: CrdManifest[], timeoutMs = 60_000): Promise<void> {
    for (const crd of crds) await request(t, 'DELETE', `${CRD_PATH}/${crd.metadata.name}`);
    const deadline = Date.now() + timeoutMs;
    for (const crd of crds) {
        while ((await request(t, 'GET', `${CRD_PATH}/${crd.metadata.name}`)).status !== 404) {
            if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} still present after ${timeoutMs / 1000}s`);
            await sleep(100);
        }
    }
}
