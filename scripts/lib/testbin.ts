import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Repository root (two levels above scripts/lib). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Kubernetes version the testbin is built at (see scripts/testbin.sh). */
export const K8S_VERSION = process.env.K8S_VERSION ?? 'v1.36.3';

/** Directory holding the built binaries (etcd, kube-apiserver, kube-scheduler, kubectl, helm, csi-sanity). */
export function testbinDir(): string {
    if (process.env.TESTBIN_BIN) return process.env.TESTBIN_BIN;
    const root = process.env.TESTBIN_DIR ?? path.join(REPO_ROOT, '.cache', 'testbin');
    return path.join(root, K8S_VERSION, 'bin');
}

/** Absolute path of one testbin binary. @throws Error telling the user to run `npm run testbin` */
export function testbinPath(name: string): string {
    const p = path.join(testbinDir(), name);
    if (!fs.existsSync(p)) throw new Error(`${name} not found at ${p}: run \`npm run testbin\` first`);
    return p;
}

/**
 * Builds the testbin (reusing the cache) when a binary is missing; streams progress to stderr.
 * kube-controller-manager is built only when asked for (`npm run testbin -- --bench`).
 */
export function ensureTestbin(names: string[] = ['etcd', 'kube-apiserver', 'kubectl']): void {
    if (names.every((n) => fs.existsSync(path.join(testbinDir(), n)))) return;
    const args = [path.join(REPO_ROOT, 'scripts', 'testbin.sh'), ...(names.includes('kube-controller-manager') ? ['--bench'] : [])];
    execFileSync('bash', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}
