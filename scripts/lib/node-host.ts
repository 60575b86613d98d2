// Machine-level plumbing of the node tier: which cgroup hierarchies exist, cgroup trees and the
// processes in them, mounts under a directory, the per-cluster pod bridge, and a small registry
// in /run that hands every node-tier cluster on this machine its own slot (bridge, subnet, cgroup
// root) and remembers what the first cluster changed on the host so the last one can undo it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Directory of the machine-wide registry (tmpfs: it starts empty after a reboot, as do cgroups and links). */
export const REGISTRY_DIR = '/run/vcm-node-tier';
/** How many node-tier clusters one machine can hold at once (each gets a /16 from 10.200.0.0 to 10.249.0.0). */
export const MAX_SLOTS = 50;

/** The cgroup hierarchies of this machine. */
export interface CgroupLayout {
    /** Pure cgroup v2 (unified hierarchy at /sys/fs/cgroup). */
    v2: boolean;
    /** Mount points of every hierarchy (v1 controllers, named ones, and a hybrid unified one). */
    mounts: string[];
    /** The hierarchy used to find every process of a cluster: v1 `pids`, or the v2 root. */
    tracking: string;
}

/** One parsed line of /proc/self/mountinfo. */
export interface MountInfo {
    mountPoint: string;
    fsType: string;
    superOptions: string;
}

/** Undoes mountinfo's octal escapes (`\040` for a space). */
function unescapeMount(s: string): string {
    return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo text (proc(5)): mount point, filesystem type, super options. */
export function parseMountInfo(text: string): MountInfo[] {
    return text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
            const [pre = '', post = ''] = line.split(' - ');
            const f = pre.split(' ');
            const g = post.split(' ');
            return { mountPoint: unescapeMount(f[4] ?? ''), fsType: g[0] ?? '', superOptions: g[2] ?? '' };
        });
}

function mountInfo(): MountInfo[] {
    return parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

/**
 * Reads the cgroup hierarchies from /proc/self/mountinfo.
 * @throws Error when no usable hierarchy is mounted (v1 without `pids`, or nothing at all)
 */
export function cgroupLayout(): CgroupLayout {
    const ms = mountInfo().filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2');
    const root = ms.find((m) => m.mountPoint === '/sys/fs/cgroup');
    if (root?.fsType === 'cgroup2') return { v2: true, mounts: [root.mountPoint], tracking: root.mountPoint };
    const pids = ms.find((m) => m.fsType === 'cgroup' && m.superOptions.split(',').includes('pids'));
    if (!pids) throw new Error('no cgroup v1 pids hierarchy and no cgroup v2 at /sys/fs/cgroup');
    return { v2: false, mounts: ms.map((m) => m.mountPoint), tracking: pids.mountPoint };
}

/**
 * Creates the cgroup `rel` (e.g. `/vcm-3/node-1`) and its parents in every hierarchy. On v1 a new
 * cpuset cgroup copies its parent's cpus and mems (it cannot hold a process otherwise); on v2
 * every controller the parent has is delegated down the path.
 */
export function makeCgroup(layout: CgroupLayout, rel: string): void {
    const parts = rel.split('/').filter(Boolean);
    for (const mount of layout.mounts) {
        let cur = mount;
        for (const part of parts) {
            const parent = cur;
            cur = path.join(cur, part);
            if (layout.v2) {
                const ctrls = fs.readFileSync(path.join(parent, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
                const on = new Set(fs.readFileSync(path.join(parent, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/).filter(Boolean));
                const want = ctrls.filter((c) => !on.has(c));
                if (want.length) fs.writeFileSync(path.join(parent, 'cgroup.subtree_control'), want.map((c) => `+${c}`).join(' '));
            }
            if (fs.existsSync(cur)) continue;
            fs.mkdirSync(cur);
            if (!layout.v2 && fs.existsSync(path.join(cur, 'cpuset.cpus'))) {
                for (const f of ['cpuset.cpus', 'cpuset.mems']) fs.writeFileSync(path.join(cur, f), fs.readFileSync(path.join(parent, f), 'utf8').trim());
            }
        }
    }
}

/** The cgroup directories at and below `dir`, deepest first. */
function cgroupDirsDeepestFirst(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
        out.push(d);
    };
    walk(dir);
    return out;
}

/** Process IDs in the cgroup `rel` and below (tracking hierarchy). */
export function cgroupPids(layout: CgroupLayout, rel: string): number[] {
    const pids: number[] = [];
    for (const d of cgroupDirsDeepestFirst(path.join(layout.tracking, rel))) {
        try {
            for (const l of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.push(Number(l));
        } catch {
            /* removed meanwhile */
        }
    }
    return pids;
}

function signal(pid: number, sig: NodeJS.Signals): void {
    try {
        process.kill(pid, sig);
    } catch {
        /* gone */
    }
}

/**
 * Sends `sig` to every process in cgroup `rel` and below, waits up to timeoutMs for them to
 * exit, then SIGKILLs what is left until the tree is empty.
 * @throws Error when processes survive SIGKILL for 10 s (e.g. stuck in the kernel)
 */
export async function stopCgroupProcesses(layout: CgroupLayout, rel: string, sig: NodeJS.Signals, timeoutMs: number): Promise<void> {
    let pids = cgroupPids(layout, rel);
    if (!pids.length) return;
    for (const p of pids) signal(p, sig);
    const deadline = Date.now() + timeoutMs;
    while ((pids = cgroupPids(layout, rel)).length && Date.now() < deadline) await sleep(100);
    const hard = Date.now() + 10_000;
    while ((pids = cgroupPids(layout, rel)).length) {
        if (Date.now() > hard) throw new Error(`processes ${pids.join(' ')} in cgroup ${rel} survive SIGKILL`);
        for (const p of pids) signal(p, 'SIGKILL');
        await sleep(100);
    }
}

/**
 * Removes the cgroup `rel` and everything below it from every hierarchy (they must hold no
 * process). A cgroup can be busy for a moment after its last process exits: retried for 5 s.
 */
export async function removeCgroup(layout: CgroupLayout, rel: string): Promise<void> {
    for (const mount of layout.mounts) {
        for (const d of cgroupDirsDeepestFirst(path.join(mount, rel))) {
            for (let i = 0; ; i++) {
                try {
                    fs.rmdirSync(d);
                    break;
                } catch (e) {
                    const code = (e as NodeJS.ErrnoException).code;
                    if (code === 'ENOENT') break;
                    if (i >= 50) throw new Error(`cannot remove cgroup ${d}: ${(e as Error).message}`);
                    await sleep(100);
                }
            }
        }
    }
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
    const d = path.resolve(dir);
    return mountInfo()
        .map((m) => m.mountPoint)
        .filter((p) => p === d || p.startsWith(`${d}/`))
        .sort((a, b) => b.length - a.length);
}

/**
 * Unmounts everything at or below `dir` (volume bind mounts, container root filesystems, network
 * namespace files, the kubelet's own bind mount of its root dir), deepest first; a busy mount is
 * detached lazily. Mounts can stack, so it repeats until none is left.
 * @throws Error when mounts remain after 5 rounds
 */
export function unmountAll(dir: string): void {
    for (let round = 0; round < 5; round++) {
        const ms = mountsUnder(dir);
        if (!ms.length) return;
        for (const m of ms) {
            try {
                execFileSync('umount', [m], { stdio: 'ignore' });
            } catch {
                try {
                    execFileSync('umount', ['-l', m], { stdio: 'ignore' });
                } catch {
                    /* already gone with a parent */
                }
            }
        }
    }
    const left = mountsUnder(dir);
    if (left.length) throw new Error(`cannot unmount ${left.join(', ')}`);
}

/** The bridge, subnet and gateway of a slot. */
export interface SlotNetwork {
    bridge: string;
    /** The cluster's pod subnet, e.g. 10.203.0.0/16 (node i takes 10.203.i.0/24 of it). */
    subnet: string;
    /** The bridge's own address: the pods' gateway and every kubelet's node IP. */
    gateway: string;
    /** Second octet of the subnet. */
    octet: number;
}

/** The network of slot n (bridge `vcmbr<n>`, 10.(200+n).0.0/16). */
export function slotNetwork(n: number): SlotNetwork {
    const octet = 200 + n;
    return { bridge: `vcmbr${n}`, subnet: `10.${octet}.0.0/16`, gateway: `10.${octet}.0.1`, octet };
}

/**
 * Whether any of `routes` (lines of `ip -4 route show table all`) overlaps 10.octet.0.0/16,
 * ignoring routes of `ownBridge` (a leftover of the same slot) and default routes.
 */
export function routesOverlap(routes: string[], octet: number, ownBridge: string): boolean {
    const ip = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
    const lo = ip(`10.${octet}.0.0`);
    const hi = lo + 65535;
    for (const r of routes) {
        const m = /^(?:(?:broadcast|local|unicast|multicast|anycast) )?(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/.exec(r.trim());
        if (!m || new RegExp(`\\bdev ${ownBridge}(\\s|$)`).test(r)) continue;
        const bits = m[2] === undefined ? 32 : Number(m[2]);
        if (bits === 0) continue;
        const start = ip(m[1] as string);
        const end = start + 2 ** (32 - bits) - 1;
        if (start <= hi && end >= lo) return true;
    }
    return false;
}

function subnetInUse(octet: number, ownBridge: string): boolean {
    return routesOverlap(execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).split('\n'), octet, ownBridge);
}

/** Creates the slot's bridge with the gateway address (the CNI bridge plugin then only attaches pods). */
export function createBridge(net: SlotNetwork): void {
    deleteBridge(net);
    execFileSync('ip', ['link', 'add', 'name', net.bridge, 'type', 'bridge']);
    execFileSync('ip', ['addr', 'add', `${net.gateway}/16`, 'dev', net.bridge]);
    execFileSync('ip', ['link', 'set', net.bridge, 'up']);
}

/** Deletes the slot's bridge if it exists (pods' veth ends go with their network namespaces). */
export function deleteBridge(net: SlotNetwork): void {
    if (fs.existsSync(`/sys/class/net/${net.bridge}`)) execFileSync('ip', ['link', 'del', net.bridge]);
}

/** What a slot file in the registry records. */
export interface SlotRecord {
    /** The cluster directory (its `nodes.json` names this slot). */
    dir: string;
    /** The process that owns the nodes (undefined for a detached cluster, which outlives its starter). */
    pid?: number;
    /** Start time of that process (field 22 of /proc/<pid>/stat), so a reused pid is not mistaken for it. */
    pidStart?: string;
}

function procStart(pid: number): string | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    } catch {
        return undefined;
    }
}

const slotFile = (n: number) => path.join(REGISTRY_DIR, `slot-${n}.json`);

/** Reads slot n, or undefined when free. */
export function readSlot(n: number): SlotRecord | undefined {
    try {
        return JSON.parse(fs.readFileSync(slotFile(n), 'utf8')) as SlotRecord;
    } catch {
        return undefined;
    }
}

/**
 * Whether a taken slot is abandoned: its owning process is gone, or (detached) its directory no
 * longer records it. `slotOf(dir)` reads the slot a cluster directory records.
 */
export function slotAbandoned(n: number, rec: SlotRecord, slotOf: (dir: string) => number | undefined): boolean {
    if (rec.pid !== undefined) return procStart(rec.pid) !== rec.pidStart;
    return slotOf(rec.dir) !== n;
}

/** Every taken slot. */
export function takenSlots(): { n: number; rec: SlotRecord }[] {
    const out: { n: number; rec: SlotRecord }[] = [];
    for (let n = 0; n < MAX_SLOTS; n++) {
        const rec = readSlot(n);
        if (rec) out.push({ n, rec });
    }
    return out;
}

/**
 * Takes a free slot for a cluster in `dir`: calls `record(n)` first (so the directory names the
 * slot before the slot exists, and no one mistakes it for abandoned), then creates the slot file
 * exclusively. Slots whose subnet overlaps a route of this machine are passed over.
 * @throws Error when all MAX_SLOTS are taken
 */
export function acquireSlot(dir: string, detached: boolean, record: (n: number) => void): number {
    fs.mkdirSync(REGISTRY_DIR, { recursive: true, mode: 0o700 });
    const rec: SlotRecord = { dir, ...(detached ? {} : { pid: process.pid, pidStart: procStart(process.pid) }) };
    for (let n = 0; n < MAX_SLOTS; n++) {
        if (fs.existsSync(slotFile(n))) continue;
        const net = slotNetwork(n);
        if (subnetInUse(net.octet, net.bridge)) continue;
        record(n);
        try {
            fs.writeFileSync(slotFile(n), JSON.stringify(rec), { flag: 'wx' });
            return n;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
    }
    throw new Error(`all ${MAX_SLOTS} node-tier slots in ${REGISTRY_DIR} are taken: stop a cluster (npm run cluster -- stop --dir DIR) or sweep abandoned ones (npm run cluster -- sweep)`);
}

/** Frees slot n. */
export function releaseSlot(n: number): void {
    fs.rmSync(slotFile(n), { force: true });
}

/**
 * Host settings the kubelet changes on start (pkg/kubelet/cm setupKernelTunables, with
 * protectKernelDefaults off) and paths it or containerd create outside a cluster's directory.
 * The first cluster on the machine records their prior state; the last one to stop restores it.
 */
const KUBELET_SYSCTLS = ['vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops', 'kernel/keys/root_maxkeys', 'kernel/keys/root_maxbytes'];
const HOST_PATHS = ['/var/lib/kubelet', '/var/log/containers', '/var/log/pods', '/run/containerd', '/var/lib/cni'];
const hostFile = () => path.join(REGISTRY_DIR, 'host.json');

interface HostRecord {
    sysctls: Record<string, string>;
    /** Paths that did not exist before the first cluster started. */
    created: string[];
}

/** Records the host's prior state when no cluster has done so yet (call before the first kubelet starts). */
export function recordHost(): void {
    fs.mkdirSync(REGISTRY_DIR, { recursive: true, mode: 0o700 });
    if (fs.existsSync(hostFile())) return;
    const sysctls: Record<string, string> = {};
    for (const k of KUBELET_SYSCTLS) {
        try {
            sysctls[k] = fs.readFileSync(`/proc/sys/${k}`, 'utf8').trim();
        } catch {
            /* not on this kernel */
        }
    }
    const rec: HostRecord = { sysctls, created: HOST_PATHS.filter((p) => !fs.existsSync(p)) };
    try {
        fs.writeFileSync(hostFile(), JSON.stringify(rec), { flag: 'wx' });
    } catch {
        /* another cluster recorded it first */
    }
}

/** Files the kubelet leaves in /var/lib/kubelet whatever its root dir (the device-plugin socket path is fixed). */
const KNOWN_LEFTOVERS = ['/var/lib/kubelet/device-plugins/kubelet.sock', '/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint'];

/**
 * Removes `p` (a path that did not exist before the first cluster) if nothing but empty
 * directories and known kubelet leftovers is in it: whatever else put files there since keeps them.
 */
function removeLeftovers(p: string): void {
    if (!fs.existsSync(p) || mountsUnder(p).length) return;
    for (const f of KNOWN_LEFTOVERS) if (f.startsWith(`${p}/`)) fs.rmSync(f, { force: true });
    const onlyDirs = (d: string): boolean => fs.readdirSync(d, { withFileTypes: true }).every((e) => e.isDirectory() && onlyDirs(path.join(d, e.name)));
    if (onlyDirs(p)) fs.rmSync(p, { recursive: true, force: true });
}

/** When no slot is taken any more: restores the recorded sysctls and removes the paths the clusters created. */
export function restoreHostIfLast(): void {
    if (takenSlots().length || !fs.existsSync(hostFile())) return;
    const rec = JSON.parse(fs.readFileSync(hostFile(), 'utf8')) as HostRecord;
    for (const [k, v] of Object.entries(rec.sysctls)) {
        try {
            if (fs.readFileSync(`/proc/sys/${k}`, 'utf8').trim() !== v) fs.writeFileSync(`/proc/sys/${k}`, v);
        } catch {
            /* read-only here */
        }
    }
    for (const p of rec.created) removeLeftovers(p);
    fs.rmSync(hostFile(), { force: true });
}
