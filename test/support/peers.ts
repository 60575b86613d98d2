// Upstream sources for side-by-side tests, read at run time from the vendored peers archives
// (`<name>-<commit>.tar.gz`, see the project README). Nothing from them is committed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/testbin.ts';

/**
 * The peers archive of an upstream project (e.g. `external-snapshotter`): from $VCM_PEERS_DIR,
 * else from a `shared/peers` directory beside the repository or beside one of its parents.
 * Undefined when there is none.
 */
export function peerArchive(name: string): string | undefined {
    const dirs: string[] = [];
    if (process.env.VCM_PEERS_DIR) dirs.push(process.env.VCM_PEERS_DIR);
    for (let d = path.dirname(REPO_ROOT); ; d = path.dirname(d)) {
        dirs.push(path.join(d, 'shared', 'peers'));
        if (path.dirname(d) === d) break;
    }
    for (const dir of dirs) {
        if (!fs.existsSync(dir)) continue;
        const f = fs.readdirSync(dir).find((x) => x.startsWith(`${name}-`) && x.endsWith('.tar.gz'));
        if (f) return path.join(dir, f);
    }
    return undefined;
}

/** An extracted part of a peers archive. */
export interface PeerTree {
    /** The project's top-level folder (paths below are relative to it). */
    root: string;
    /** Removes the extracted files. */
    remove(): void;
}

/**
 * Extracts `paths` (folders or files inside the project, e.g. `client/config/crd`) of a peers
 * archive into a fresh temporary directory. Undefined when the archive is absent (the caller
 * skips, saying so).
 * @throws Error when tar fails (e.g. a path is not in the archive)
 */
export function extractPeer(name: string, paths: string[]): PeerTree | undefined {
    const archive = peerArchive(name);
    if (!archive) return undefined;
    const top = path.basename(archive, '.tar.gz').replace(/-[0-9a-f]+$/, '');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vcm-peer-${name}-`));
    execFileSync('tar', ['xzf', archive, '-C', dir, ...paths.map((p) => `${top}/${p}`)]);
    return { root: path.join(dir, top), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
