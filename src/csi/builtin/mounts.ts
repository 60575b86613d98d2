// Mount state and bind mounts for the built-in driver's node plugin: the mount table is read
// from /proc/self/mountinfo (the node plugin keeps no state of its own), and mounts are made and
// removed with util-linux `mount` / `umount`, as the kubelet's own mount utilities do.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One line of /proc/self/mountinfo (proc(5)); paths unescaped. */
export interface MountInfo {
    mountId: number;
    parentId: number;
    /** major:minor of the filesystem. */
    device: string;
    /** The directory of the filesystem mounted here (for a bind mount, the source directory within its filesystem). */
    root: string;
    mountPoint: string;
    /** Per-mount options: `ro` or `rw`, nosuid, nodev, noexec, atime flags. */
    options: string[];
    fsType: string;
    source: string;
    superOptions: string[];
}

/** Undoes mountinfo's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash). */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * Parses the text of /proc/<pid>/mountinfo: `id parent major:minor root mountpoint options
 * [optional fields…] - fstype source superoptions` per line. Malformed lines are skipped.
 */
export function parseMountinfo(text: string): MountInfo[] {
    const out: MountInfo[] = [];
    for (const line of text.split('\n')) {
        const f = line.split(' ');
        const sep = f.indexOf('-', 6);
        if (f.length < 10 || sep < 0 || f.length < sep + 3) continue;
        out.push({
            mountId: Number(f[0]),
            parentId: Number(f[1]),
            device: f[2] as string,
            root: unescape(f[3] as string),
            mountPoint: unescape(f[4] as string),
            options: (f[5] as string).split(','),
            fsType: unescape(f[sep + 1] as string),
            source: unescape(f[sep + 2] as string),
            superOptions: (f[sep + 3] ?? '').split(','),
        });
    }
    return out;
}

/** This process's mount table. */
export function readMountinfo(): MountInfo[] {
    return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

/**
 * The path as the mount table spells it: symlinks in its directory resolved (the last
 * component need not exist).
 */
export function canonical(p: string): string {
    const abs = path.resolve(p);
    try {
        return fs.realpathSync(abs);
    } catch {
        try {
            return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
        } catch {
            return abs;
        }
    }
}

/** The topmost mount at path p (the last one mounted there), or undefined when p is not a mount point. */
export function mountAt(p: string, table: MountInfo[] = readMountinfo()): MountInfo | undefined {
    const c = canonical(p);
    return table.findLast((m) => m.mountPoint === c);
}

/** True when a and b are the same directory (same device and inode), as a bind mount and its source are. */
export function sameDirectory(a: string, b: string): boolean {
    try {
        const x = fs.statSync(a);
        const y = fs.statSync(b);
        return x.isDirectory() && x.dev === y.dev && x.ino === y.ino;
    } catch {
        return false;
    }
}

/** The last line of a failed command's stderr (or its message). */
function why(e: unknown): string {
    const err = e as { stderr?: string; message?: string };
    return (String(err.stderr ?? '').trim().split('\n').at(-1) || err.message || String(e)).trim();
}

/**
 * Bind-mounts directory src at target (`mount --bind`), then, when readonly or flags ask for it,
 * sets the per-mount flags with `mount -o remount,bind,…` (a bind mount takes its flags only on
 * a remount). If the remount fails the bind is undone.
 * @param flags bind-mount flags (common.ts BIND_MOUNT_FLAGS) other than ro/rw
 * @throws Error with mount's message
 */
export async function bindMount(src: string, target: string, o: { readonly: boolean; flags?: string[] }): Promise<void> {
    try {
        await run('mount', ['--bind', src, target]);
    } catch (e) {
        throw new Error(`mount --bind ${src} ${target}: ${why(e)}`, { cause: e });
    }
    const flags = (o.flags ?? []).filter((f) => f !== 'ro' && f !== 'rw');
    if (!o.readonly && flags.length === 0) return;
    try {
        await run('mount', ['-o', ['remount', 'bind', o.readonly ? 'ro' : 'rw', ...flags].join(','), target]);
    } catch (e) {
        await run('umount', [target]).catch(() => undefined);
        throw new Error(`mount -o remount,bind ${target}: ${why(e)}`, { cause: e });
    }
}

/**
 * Unmounts everything mounted at target (stacked mounts too); a path that is no mount point is
 * left alone.
 * @throws Error with umount's message
 */
export async function unmountAll(target: string): Promise<void> {
    for (let i = 0; i < 16 && mountAt(target); i++) {
        try {
            await run('umount', [canonical(target)]);
        } catch (e) {
            throw new Error(`umount ${target}: ${why(e)}`, { cause: e });
        }
    }
}
