// The built-in driver's on-disk store: every record (volumes, publications, snapshots) and all
// data live under one data directory that several processes may share (two controller replicas,
// the node plugins on every node through a shared filesystem). Nothing is cached beyond parsed
// files whose inode, size and mtime are unchanged, so every process sees what another wrote.
// See docs/builtin-driver.md for the layout and why each write is safe.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { status as Code } from '@grpc/grpc-js';
import { CsiError } from '../errors.ts';
import type { AccessModeName, StringMap, Topology, VolumeContentSource } from '../types.ts';

const run = promisify(execFile);

/** Entries of `tmp/` (and orphans elsewhere) untouched for this long belong to a dead process (ms). */
export const STALE_MS = 600_000;
/** How often a running copy touches its directory in `tmp/`, so no sweep takes it for stale (ms). */
const TOUCH_MS = 60_000;

/** What `volumes/<id>.json` holds. Never rewritten in place: replaced by rename. */
export interface VolumeRecord {
    id: string;
    /** The CreateVolume name (the idempotency key). */
    name: string;
    /** Bytes, decimal. */
    capacityBytes: string;
    /** CreateVolume parameters (StorageClass parameters), as validated. */
    parameters: StringMap;
    /** Mutable parameters as last applied (CreateVolume `mutable_parameters`, then ControllerModifyVolume). */
    mutableParameters?: StringMap;
    accessModes: AccessModeName[];
    /** Records written by 0.1.0 may say true; block volumes are refused since. */
    block: boolean;
    topology?: Topology[];
    /** Where the data came from (clone or restore), returned as the volume's content_source. */
    contentSource?: VolumeContentSource;
    /** ISO 8601. */
    createdAt: string;
    /** Publications of a record written by 0.1.0, moved to `publish/<id>/` at start-up. */
    published?: { node: string; readonly: boolean }[];
}

/** What `publish/<id>/<node>` holds. */
export interface Publication {
    node: string;
    readonly: boolean;
}

/** What `snapshots/<id>.json` holds; the data is `snapshots/<id>/<data>/`. */
export interface SnapshotRecord {
    id: string;
    /** The CreateSnapshot name (the idempotency key). */
    name: string;
    sourceVolumeId: string;
    /** The source volume's capacity when the snapshot was cut (bytes, decimal): a restore needs at least this. */
    sizeBytes: string;
    /** When the copy started (ISO 8601): the snapshot's point in time. */
    createdAt: string;
    /** Name of the data directory below `snapshots/<id>/` (one per attempt; the record names the winner). */
    data: string;
}

/** IDs the driver hands out: safe as one path component. */
const ID = /^[0-9a-zA-Z-]+$/;

/** True when id could be one of our volume or snapshot IDs (anything else is unknown by definition). */
export const validId = (id: string): boolean => ID.test(id) && id.length <= 128;

const isErrno = (e: unknown, code: string) => (e as NodeJS.ErrnoException | null)?.code === code;

/** A UUID-shaped SHA-256 of text: the same on every process, so a name maps to one ID without an index. */
export function hashId(text: string): string {
    const h = crypto.createHash('sha256').update(text).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Makes sure dataDir can hold the built-in driver's state: creates it and its layout
 * (`volumes/`, `publish/`, `snapshots/`, `tmp/`) if missing and writes a probe file.
 * @throws Error whose message says in one line what is wrong (not a directory, not writable, …)
 */
export function prepareDataDir(dataDir: string): void {
    const dir = path.resolve(dataDir);
    try {
        for (const d of ['volumes', 'publish', 'snapshots', 'tmp']) fs.mkdirSync(path.join(dir, d), { recursive: true });
        const probe = path.join(dir, 'tmp', `.probe-${process.pid}-${crypto.randomUUID()}`);
        fs.writeFileSync(probe, '');
        fs.rmSync(probe);
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const where = err.path ? ` (${err.path})` : '';
        if (err.code === 'ENOTDIR' || err.code === 'EEXIST') throw new Error(`${dir} is not a directory, or a file is in the way${where}`, { cause: e });
        if (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS') throw new Error(`${dir} is not writable${where}: ${err.code}`, { cause: e });
        throw new Error(`${dir} cannot be used: ${err.message}`, { cause: e });
    }
}

/**
 * The data directory of the built-in driver, read and written by the controller (in the
 * controller-manager, or `serve-builtin`) and read by the node plugins. Layout:
 *
 * - `volumes/<id>.json` (VolumeRecord) and `volumes/<id>/` (the volume's directory).
 * - `publish/<id>/<node, base64url>` (Publication): one file per node the volume is published to.
 * - `snapshots/<id>.json` (SnapshotRecord) and `snapshots/<id>/<data>/` (the copy).
 * - `tmp/`: files and copies being written; a copy in progress is touched every minute.
 *
 * Records are created with `link()` (exclusive: EEXIST means another process created it first)
 * and replaced with `rename()`, so a reader sees a whole record or none.
 */
export class DirectoryStore {
    readonly dir: string;
    private readonly parsed = new Map<string, { ino: number; size: number; mtimeMs: number; rec: unknown }>();

    /**
     * @param dataDir the data directory; its layout is created when missing
     * @param o.maintain also sweep left-overs (stale `tmp/` entries, data without a record) and
     *   migrate 0.1.0 publications: done by the controller side, never by node plugins
     * @throws Error (one line, see prepareDataDir) when the directory cannot be created or written
     */
    constructor(dataDir: string, o: { maintain?: boolean } = {}) {
        this.dir = path.resolve(dataDir);
        prepareDataDir(this.dir);
        if (o.maintain) {
            this.sweep();
            this.migratePublications();
        }
    }

    recordPath(id: string): string {
        return path.join(this.dir, 'volumes', `${id}.json`);
    }

    /** The volume's directory (its data). */
    volumePath(id: string): string {
        return path.join(this.dir, 'volumes', id);
    }

    publicationDir(id: string): string {
        return path.join(this.dir, 'publish', id);
    }

    publicationPath(id: string, node: string): string {
        return path.join(this.publicationDir(id), Buffer.from(node).toString('base64url'));
    }

    snapshotRecordPath(id: string): string {
        return path.join(this.dir, 'snapshots', `${id}.json`);
    }

    /** `snapshots/<id>/`: holds the snapshot's data directory (and left-overs of lost races). */
    snapshotRoot(id: string): string {
        return path.join(this.dir, 'snapshots', id);
    }

    snapshotDataPath(rec: SnapshotRecord): string {
        return path.join(this.snapshotRoot(rec.id), rec.data);
    }

    private tmpFile(content: string): string {
        const tmp = path.join(this.dir, 'tmp', `${process.pid}-${crypto.randomUUID()}`);
        fs.writeFileSync(tmp, content);
        return tmp;
    }

    /** Creates file with content atomically; false when it already exists (another process won). */
    createFile(file: string, content: string): boolean {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const tmp = this.tmpFile(content);
        try {
            fs.linkSync(tmp, file);
            return true;
        } catch (e) {
            if (isErrno(e, 'EEXIST')) return false;
            throw e;
        } finally {
            fs.rmSync(tmp, { force: true });
        }
    }

    /** Replaces file with content atomically. */
    replaceFile(file: string, content: string): void {
        fs.renameSync(this.tmpFile(content), file);
    }

    private readJson<T>(key: string, file: string): T | undefined {
        try {
            const st = fs.statSync(file);
            const hit = this.parsed.get(key);
            if (hit && hit.ino === st.ino && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.rec as T;
            const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as T;
            this.parsed.set(key, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, rec });
            return rec;
        } catch (e) {
            this.parsed.delete(key);
            if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR') || e instanceof SyntaxError) return undefined;
            throw e;
        }
    }

    /** The record of a volume ID, from disk; undefined when there is none. */
    readVolume(id: string): VolumeRecord | undefined {
        if (!validId(id)) return undefined;
        return this.readJson<VolumeRecord>(`v/${id}`, this.recordPath(id));
    }

    /** Every volume record on disk, sorted by ID. */
    volumes(): VolumeRecord[] {
        return this.list('volumes', 'v').map((id) => this.readVolume(id)).filter((r): r is VolumeRecord => !!r);
    }

    /** The record of a snapshot ID, from disk; undefined when there is none. */
    readSnapshot(id: string): SnapshotRecord | undefined {
        if (!validId(id)) return undefined;
        return this.readJson<SnapshotRecord>(`s/${id}`, this.snapshotRecordPath(id));
    }

    /** Every snapshot record on disk, sorted by ID. */
    snapshots(): SnapshotRecord[] {
        return this.list('snapshots', 's').map((id) => this.readSnapshot(id)).filter((r): r is SnapshotRecord => !!r);
    }

    /** IDs with a `<id>.json` in sub (sorted); forgets parsed files that are gone. */
    private list(sub: string, prefix: string): string[] {
        const ids = fs
            .readdirSync(path.join(this.dir, sub))
            .filter((f) => f.endsWith('.json'))
            .map((f) => f.slice(0, -'.json'.length))
            .sort();
        const present = new Set(ids.map((id) => `${prefix}/${id}`));
        for (const k of this.parsed.keys()) if (k.startsWith(`${prefix}/`) && !present.has(k)) this.parsed.delete(k);
        return ids;
    }

    /** The nodes a volume is published to, from disk. */
    publications(id: string): Publication[] {
        let files: string[];
        try {
            files = fs.readdirSync(this.publicationDir(id));
        } catch (e) {
            if (isErrno(e, 'ENOENT')) return [];
            throw e;
        }
        const out: Publication[] = [];
        for (const f of files) {
            try {
                out.push(JSON.parse(fs.readFileSync(path.join(this.publicationDir(id), f), 'utf8')) as Publication);
            } catch {
                /* unpublished meanwhile */
            }
        }
        return out;
    }

    /** The publication of volume id to node, if any. */
    publication(id: string, node: string): Publication | undefined {
        try {
            return JSON.parse(fs.readFileSync(this.publicationPath(id, node), 'utf8')) as Publication;
        } catch {
            return undefined;
        }
    }

    /**
     * Copies the directory tree src to dest with `cp -a` (ownership when permitted, modes,
     * timestamps, links; reflinks where the filesystem has them), into `tmp/` first and then
     * renamed into place, so dest appears complete or not at all. The copy runs in a child
     * process: the event loop stays free for other calls.
     * @returns true when this call put dest in place; false when dest already existed (another
     *   call won; this copy is discarded)
     * @throws CsiError RESOURCE_EXHAUSTED when the filesystem is full, INTERNAL for any other
     *   copy failure (the message is cp's)
     */
    async copyTree(src: string, dest: string): Promise<boolean> {
        const tmp = path.join(this.dir, 'tmp', `copy-${process.pid}-${crypto.randomUUID()}`);
        fs.mkdirSync(tmp);
        const touch = setInterval(() => {
            const now = new Date();
            fs.utimes(tmp, now, now, () => undefined);
        }, TOUCH_MS);
        try {
            try {
                await run('cp', ['-a', '--reflink=auto', '--', `${src}/.`, tmp], { maxBuffer: 1 << 20 });
            } catch (e) {
                const msg = String((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n')[0] ?? 'cp failed';
                throw new CsiError(/No space left|Disk quota/.test(msg) ? Code.RESOURCE_EXHAUSTED : Code.INTERNAL, `copying ${path.basename(src)}: ${msg}`);
            }
            fs.mkdirSync(path.dirname(dest), { recursive: true });
            try {
                fs.renameSync(tmp, dest);
                return true;
            } catch (e) {
                // A non-empty dest: another call finished first. (An empty one is replaced by rename.)
                if (isErrno(e, 'ENOTEMPTY') || isErrno(e, 'EEXIST')) return false;
                throw e;
            }
        } finally {
            clearInterval(touch);
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    }

    /**
     * Removes what a dead process left: `tmp/` entries untouched for STALE_MS, snapshot data
     * directories no record names, and volume directories without a record file, each only when
     * untouched for STALE_MS (a record is always written before its data is moved into place, so
     * data without a record that old was orphaned by a crash or a lost race). A record that
     * cannot be parsed keeps its data: only a missing record file counts.
     */
    sweep(): void {
        const stale = Date.now() - STALE_MS;
        const old = (p: string) => {
            try {
                return fs.statSync(p).mtimeMs < stale;
            } catch {
                return false;
            }
        };
        const remove = (p: string) => fs.rmSync(p, { recursive: true, force: true });
        const entries = (d: string) => {
            try {
                return fs.readdirSync(d, { withFileTypes: true });
            } catch {
                return [];
            }
        };
        for (const e of entries(path.join(this.dir, 'tmp'))) {
            const p = path.join(this.dir, 'tmp', e.name);
            if (old(p)) remove(p);
        }
        for (const e of entries(path.join(this.dir, 'snapshots'))) {
            if (!e.isDirectory()) continue;
            const root = path.join(this.dir, 'snapshots', e.name);
            const recExists = fs.existsSync(this.snapshotRecordPath(e.name));
            const rec = recExists ? this.readSnapshot(e.name) : undefined;
            if (recExists && !rec) continue; // unparsable: keep everything
            for (const d of entries(root)) {
                const p = path.join(root, d.name);
                if (d.name !== rec?.data && old(p)) remove(p);
            }
            if (!recExists && entries(root).length === 0) fs.rmSync(root, { recursive: true, force: true });
        }
        for (const e of entries(path.join(this.dir, 'volumes'))) {
            if (!e.isDirectory()) continue;
            const p = path.join(this.dir, 'volumes', e.name);
            if (!fs.existsSync(this.recordPath(e.name)) && old(p)) remove(p);
        }
    }

    /** Moves the publications a 0.1.0 record holds to `publish/<id>/<node>`. */
    private migratePublications(): void {
        for (const rec of this.volumes()) {
            if (!rec.published?.length) continue;
            for (const p of rec.published) this.createFile(this.publicationPath(rec.id, p.node), JSON.stringify({ node: p.node, readonly: p.readonly }));
            const { published: _, ...rest } = rec;
            this.replaceFile(this.recordPath(rec.id), JSON.stringify(rest, null, 2));
        }
    }
}
