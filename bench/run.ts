// `npm run bench -- <workload|all> [--contender ours|upstream|both] [--qps default|high|N]
//   [--rounds 3] [--n N] [--out docs/benchmarks.md]`
// Side-by-side benchmarks on one local API server: our process vs kube-controller-manager,
// alternating A B A B, each run on a fresh control plane. Prints a table with ratios and our
// share of the API server write ceiling (calibrated first).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { startControlPlane } from '../scripts/lib/control-plane.ts';
import type { ControlPlane } from '../scripts/lib/control-plane.ts';
import { ensureTestbin, REPO_ROOT } from '../scripts/lib/testbin.ts';
import { loadKubeConfig, makeClients } from '../src/kube/client.ts';
import type { KubeClients } from '../src/kube/client.ts';
import { InformerFactory } from '../src/kube/informer.ts';
import { RESOURCES, keyOf } from '../src/kube/resources.ts';
import { createLogger } from '../src/log.ts';
import { apiWrites, burst, calibrate, percentile, procStats, startContender } from './lib.ts';
import type { ContenderName } from './lib.ts';

const WORKLOADS = ['static-1k', 'static-10k', 'static-steady', 'dynamic-1k', 'attach-1k', 'restart-10k'] as const;
type Workload = (typeof WORKLOADS)[number];

const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
        contender: { type: 'string', default: 'both' },
        qps: { type: 'string', default: 'both' },
        rounds: { type: 'string', default: '3' },
        n: { type: 'string' },
        out: { type: 'string' },
        'timeout-s': { type: 'string', default: '240' },
    },
});
const which = positionals[0] ?? 'static-1k';
const workloads: Workload[] = which === 'all' ? [...WORKLOADS] : [which as Workload];
if (!workloads.every((w) => WORKLOADS.includes(w))) {
    console.error(`unknown workload ${which}; one of: all, ${WORKLOADS.join(', ')}`);
    process.exit(2);
}
const contenders: ContenderName[] = values.contender === 'both' ? ['ours', 'upstream'] : [values.contender as ContenderName];
/** QPS modes: upstream defaults (KCM 20/30 per controller; ours gets the sum of the four loops' buckets) and an equal high setting. */
const MODES: Record<string, { label: string; qps: Record<ContenderName, [number, number]> }> = {
    default: { label: 'default QPS', qps: { upstream: [20, 30], ours: [80, 120] } },
    high: { label: 'QPS 1000/2000', qps: { upstream: [1000, 2000], ours: [1000, 2000] } },
};
const modes = values.qps === 'both' ? ['default', 'high'] : [values.qps as string];
const rounds = Number(values.rounds);
const timeoutMs = Number(values['timeout-s']) * 1000;
const log = createLogger('silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunResult {
    workload: string;
    contender: ContenderName;
    mode: string;
    n: number;
    opsPerSec: number;
    p50Ms: number;
    p99Ms: number;
    writesPerOp: number;
    conflictsPerOp: number;
    cpuSeconds: number;
    peakRssMiB: number;
    completed: number;
    note?: string;
}

async function freshCluster(): Promise<{ cp: ControlPlane; c: KubeClients; dir: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-bench-'));
    const cp = await startControlPlane({ dir });
    return { cp, c: makeClients(loadKubeConfig(cp.kubeconfig), { qps: 0, burst: 1 }), dir };
}

const pv = (name: string, cls = '') => ({
    metadata: { name },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: cls, hostPath: { path: `/tmp/bench/${name}` } },
});
const pvc = (name: string, cls: string | null = '') => ({
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...(cls === null ? {} : { storageClassName: cls }) },
});

/** Waits until the contender binds a probe pair (warm-up; also proves it runs). */
async function warmUp(c: KubeClients, tag: string): Promise<void> {
    await c.core.createPersistentVolume({ body: pv(`probe-${tag}`, 'probe') });
    await c.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: pvc(`probe-${tag}`, 'probe') });
    const deadline = Date.now() + 60_000;
    while ((await c.core.readNamespacedPersistentVolumeClaim({ name: `probe-${tag}`, namespace: 'default' })).status?.phase !== 'Bound') {
        if (Date.now() > deadline) throw new Error('contender did not bind the warm-up claim');
        await sleep(100);
    }
}

/** Times N claims from create to Bound (generator's clock and watch). */
async function timeClaims(c: KubeClients, names: string[], create: (name: string) => Promise<unknown>): Promise<{ lat: number[]; spanMs: number }> {
    const inf = new InformerFactory(c, { log });
    const claims = inf.for(RESOURCES.persistentVolumeClaims);
    const created = new Map<string, number>();
    const bound = new Map<string, number>();
    const want = new Set(names.map((n) => `default/${n}`));
    const seen = (o: V1PersistentVolumeClaim) => {
        const k = keyOf(o);
        if (want.has(k) && o.status?.phase === 'Bound' && !bound.has(k)) bound.set(k, performance.now());
    };
    claims.addEventHandler({ onAdd: seen, onUpdate: (_o, n) => seen(n) });
    inf.start();
    await inf.waitForSync();
    const t0 = performance.now();
    await burst(names.length, 32, async (i) => {
        const n = names[i] as string;
        created.set(`default/${n}`, performance.now());
        await create(n);
    });
    const deadline = Date.now() + timeoutMs;
    while (bound.size < want.size && Date.now() < deadline) await sleep(100);
    inf.stop();
    const lat = [...bound].map(([k, t]) => t - (created.get(k) ?? t0));
    const last = Math.max(...bound.values(), t0);
    return { lat, spanMs: last - t0 };
}

/**
 * Runs the timed part of a workload and turns it into a RunResult: API writes and conflicts
 * (minus the generator's own n creates), CPU and peak RSS of the contender's processes.
 */
async function measured(cp: ControlPlane, pids: () => (number | undefined)[], what: { workload: string; contender: ContenderName; mode: string; n: number; unit: string }, timed: () => Promise<{ lat: number[]; spanMs: number }>): Promise<RunResult> {
    const before = await apiWrites(cp);
    const cpu0 = pids().reduce<number>((t, p) => t + procStats(p).cpuSeconds, 0);
    const { lat, spanMs } = await timed();
    await sleep(500);
    const after = await apiWrites(cp);
    const st = pids().map((p) => procStats(p));
    const { n } = what;
    return {
        workload: what.workload,
        contender: what.contender,
        mode: what.mode,
        n,
        opsPerSec: lat.length / (spanMs / 1000),
        p50Ms: percentile(lat, 50),
        p99Ms: percentile(lat, 99),
        writesPerOp: (after.writes - before.writes - n) / Math.max(1, lat.length),
        conflictsPerOp: (after.conflicts - before.conflicts) / Math.max(1, lat.length),
        cpuSeconds: st.reduce((t, x) => t + x.cpuSeconds, 0) - cpu0,
        peakRssMiB: st.reduce((t, x) => t + x.peakRssBytes, 0) / 2 ** 20,
        completed: lat.length,
        note: lat.length < n ? `timeout: ${lat.length}/${n} ${what.unit}` : undefined,
    };
}

async function runStatic(contender: ContenderName, mode: string, n: number, steady = 0): Promise<RunResult> {
    const { cp, c } = await freshCluster();
    const [qps, b] = MODES[mode]?.qps[contender] ?? [20, 30];
    const proc = startContender(contender, cp, qps, b);
    try {
        await warmUp(c, 'a');
        if (steady > 0) {
            // Existing bound pairs: does idle state slow new binds?
            await burst(steady, 32, (i) => c.core.createPersistentVolume({ body: pv(`old-${i}`) }));
            const old = Array.from({ length: steady }, (_, i) => `old-${i}`);
            await timeClaims(c, old, (name) => c.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: pvc(name) }));
        }
        await burst(n, 32, (i) => c.core.createPersistentVolume({ body: pv(`pv-${i}`) }));
        // Let PVs go Available before t0 (timed separately upstream; we only need a steady start).
        const avail = Date.now() + 120_000;
        while ((await c.core.listPersistentVolume()).items.filter((v) => v.status?.phase === 'Available').length < n && Date.now() < avail) await sleep(250);
        const names = Array.from({ length: n }, (_, i) => `c-${i}`);
        const workload = steady ? 'static-steady' : `static-${n >= 1000 ? `${n / 1000}k` : n}`;
        return await measured(cp, () => [proc.child.pid], { workload, contender, mode, n, unit: 'bound' }, () =>
            timeClaims(c, names, (name) => c.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: pvc(name) })),
        );
    } finally {
        await proc.stop();
        await cp.stop();
    }
}

async function runDynamic(contender: ContenderName, mode: string, n: number): Promise<RunResult | undefined> {
    if (contender === 'upstream') return undefined; // csi-provisioner cannot be built here (module proxy refuses it)
    const { cp, c, dir } = await freshCluster();
    const [qps, b] = MODES[mode]?.qps[contender] ?? [20, 30];
    const proc = startContender(contender, cp, qps, b, [`--builtin-driver-dir=${path.join(dir, 'vols')}`, '--builtin-driver-capacity=100Ti']);
    try {
        await warmUp(c, 'a');
        await c.storage.createStorageClass({ body: { metadata: { name: 'dir' }, provisioner: 'dir.csi.volume-controller-manager.io', volumeBindingMode: 'Immediate', reclaimPolicy: 'Delete' } });
        const names = Array.from({ length: n }, (_, i) => `d-${i}`);
        return await measured(cp, () => [proc.child.pid], { workload: 'dynamic-1k', contender, mode, n, unit: 'bound' }, () =>
            timeClaims(c, names, (name) => c.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: pvc(name, 'dir') })),
        );
    } finally {
        await proc.stop();
        await cp.stop();
    }
}

/**
 * attach-1k: N pods on 100 nodes, each with its own provisioned volume (provisioned and bound
 * before t0 by a setup process); time from pod create to VolumeAttachment attached. Upstream =
 * kube-controller-manager's attach-detach controller with our attacher (the Go csi-attacher
 * cannot be built here).
 */
async function runAttach(contender: ContenderName, mode: string, n: number): Promise<RunResult> {
    const { cp, c, dir } = await freshCluster();
    const vols = path.join(dir, 'vols');
    const driverArgs = [`--builtin-driver-dir=${vols}`, '--builtin-driver-capacity=100Ti'];
    const nodes = 100;
    try {
        await burst(nodes, 16, async (i) => {
            await c.core.createNode({ body: { metadata: { name: `node-${i}`, annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } } } });
            await c.storage.createCSINode({ body: { metadata: { name: `node-${i}` }, spec: { drivers: [{ name: 'dir.csi.volume-controller-manager.io', nodeID: `node-${i}` }] } } });
        });
        await c.storage.createStorageClass({ body: { metadata: { name: 'dir' }, provisioner: 'dir.csi.volume-controller-manager.io', volumeBindingMode: 'Immediate', reclaimPolicy: 'Delete' } });
        const setup = startContender('ours', cp, 1000, 2000, [...driverArgs, '--controllers=pv-binder,provisioner,pv-protection,pvc-protection']);
        const names = Array.from({ length: n }, (_, i) => `a-${i}`);
        await timeClaims(c, names, (name) => c.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: pvc(name, 'dir') }));
        await setup.stop();
        const [qps, b] = MODES[mode]?.qps[contender] ?? [20, 30];
        const procs = contender === 'ours' ? [startContender('ours', cp, qps, b, driverArgs)] : [startContender('upstream', cp, qps, b), startContender('ours', cp, qps, b, [...driverArgs, '--controllers=attacher'])];
        try {
            await sleep(3000);
            const inf = new InformerFactory(c, { log });
            const vas = inf.for(RESOURCES.volumeAttachments);
            const attachedAt = new Map<string, number>();
            const seen = (a: { spec?: { source?: { persistentVolumeName?: string } }; status?: { attached?: boolean } }) => {
                const pvName = a.spec?.source?.persistentVolumeName;
                if (pvName && a.status?.attached && !attachedAt.has(pvName)) attachedAt.set(pvName, performance.now());
            };
            vas.addEventHandler({ onAdd: seen, onUpdate: (_o, x) => seen(x) });
            inf.start();
            await inf.waitForSync();
            const claimToPv = new Map((await c.core.listNamespacedPersistentVolumeClaim({ namespace: 'default' })).items.map((x) => [x.metadata?.name ?? '', x.spec?.volumeName ?? '']));
            return await measured(cp, () => procs.map((p) => p.child.pid), { workload: 'attach-1k', contender, mode, n, unit: 'attached' }, async () => {
                const created = new Map<string, number>();
                const t0 = performance.now();
                await burst(n, 32, async (i) => {
                    created.set(claimToPv.get(`a-${i}`) ?? '', performance.now());
                    await c.core.createNamespacedPod({
                        namespace: 'default',
                        body: { metadata: { name: `p-${i}` }, spec: { nodeName: `node-${i % nodes}`, containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: `a-${i}` } }] } },
                    });
                });
                const deadline = Date.now() + timeoutMs;
                while (attachedAt.size < n && Date.now() < deadline) await sleep(100);
                inf.stop();
                return { lat: [...attachedAt].map(([pvName, t]) => t - (created.get(pvName) ?? t0)), spanMs: Math.max(...attachedAt.values(), t0) - t0 };
            });
        } finally {
            for (const p of procs) await p.stop();
        }
    } finally {
        await cp.stop();
    }
}

async function runRestart(contender: ContenderName, mode: string, n: number): Promise<RunResult> {
    const { cp, c } = await freshCluster();
    const [qps, b] = MODES[mode]?.qps[contender] ?? [20, 30];
    try {
        // n objects: n/2 PVs and n/2 claims pre-bound to them (the binder completes them on start).
        const half = Math.floor(n / 2);
        await burst(half, 32, (i) => c.core.createPersistentVolume({ body: { ...pv(`r-${i}`), spec: { ...pv(`r-${i}`).spec, claimRef: { namespace: 'default', name: `r-${i}` } } } }));
        await burst(half, 32, (i) => c.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: { ...pvc(`r-${i}`), spec: { ...pvc(`r-${i}`).spec, volumeName: `r-${i}` } } }));
        await c.core.createPersistentVolume({ body: pv('probe-r', 'probe') });
        await c.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: pvc('probe-r', 'probe') });
        const t0 = performance.now();
        const proc = startContender(contender, cp, qps, b);
        try {
            const deadline = Date.now() + timeoutMs;
            while ((await c.core.readNamespacedPersistentVolumeClaim({ name: 'probe-r', namespace: 'default' })).status?.phase !== 'Bound' && Date.now() < deadline) await sleep(50);
            const ms = performance.now() - t0;
            await sleep(2000);
            const st = procStats(proc.child.pid);
            return { workload: 'restart-10k', contender, mode, n, opsPerSec: NaN, p50Ms: ms, p99Ms: ms, writesPerOp: NaN, conflictsPerOp: NaN, cpuSeconds: st.cpuSeconds, peakRssMiB: st.peakRssBytes / 2 ** 20, completed: 1, note: 'start → first bind of a new claim' };
        } finally {
            await proc.stop();
        }
    } finally {
        await cp.stop();
    }
}

function median(xs: number[]): number {
    return percentile(xs, 50);
}

async function main(): Promise<void> {
    ensureTestbin(contenders.includes('upstream') ? ['etcd', 'kube-apiserver', 'kube-controller-manager'] : ['etcd', 'kube-apiserver']);
    const started = Date.now();
    console.log('Calibrating the API server + etcd write ceiling on this machine…');
    const cal = await (async () => {
        const { cp, c } = await freshCluster();
        try {
            return await calibrate(c);
        } finally {
            await cp.stop();
        }
    })();
    console.log(`  serial ${cal.serialPerSec.toFixed(0)} writes/s (RTT ${cal.serialRttMs.toFixed(1)} ms), 32 concurrent writers ${cal.concurrentPerSec.toFixed(0)} writes/s`);
    const results: RunResult[] = [];
    for (const w of workloads) {
        const n = values.n ? Number(values.n) : w === 'static-10k' || w === 'restart-10k' ? 10_000 : 1000;
        const highOnly = w === 'restart-10k' || w === 'static-10k' || w === 'static-steady' || w === 'attach-1k';
        for (const mode of highOnly ? modes.filter((m) => m === 'high').concat(modes.includes('high') ? [] : ['high']) : modes) {
            // Rounds apply to the equal-QPS comparison; the default-QPS mode runs once (it is
            // client-throttled by design and takes minutes per run).
            const wRounds = highOnly || mode !== 'high' ? 1 : rounds;
            for (let r = 0; r < wRounds; r++) {
                for (const who of contenders) {
                    const label = `${w} ${who} ${MODES[mode]?.label} round ${r + 1}/${wRounds}`;
                    process.stdout.write(`  ${label}… `);
                    let res: RunResult | undefined;
                    if (w === 'dynamic-1k') res = await runDynamic(who, mode, n);
                    else if (w === 'restart-10k') res = await runRestart(who, mode, n);
                    else if (w === 'attach-1k') res = await runAttach(who, mode, n);
                    else if (w === 'static-steady') res = await runStatic(who, mode, values.n ? n : 1000, values.n ? n : 3000);
                    else res = await runStatic(who, mode, n);
                    if (!res) {
                        console.log('n/a (no upstream contender for this workload here)');
                        continue;
                    }
                    results.push(res);
                    console.log(w === 'restart-10k' ? `${(res.p50Ms / 1000).toFixed(2)} s to first bind` : `${res.opsPerSec.toFixed(1)} ops/s, p99 ${(res.p99Ms / 1000).toFixed(2)} s${res.note ? ` (${res.note})` : ''}`);
                }
            }
        }
    }
    const rows: string[][] = [['workload', 'QPS', 'contender', 'ops/s', 'p50 s', 'p99 s', 'writes/op', '409/op', 'CPU s', 'peak RSS MiB', 'ours/upstream', 'share of ceiling']];
    const groups = new Map<string, RunResult[]>();
    for (const r of results) {
        const k = `${r.workload}|${r.mode}|${r.contender}`;
        groups.set(k, [...(groups.get(k) ?? []), r]);
    }
    const agg = (k: string) => {
        const rs = groups.get(k) ?? [];
        return rs.length ? { ops: median(rs.map((r) => r.opsPerSec)), p50: median(rs.map((r) => r.p50Ms)), p99: median(rs.map((r) => r.p99Ms)), w: median(rs.map((r) => r.writesPerOp)), c: median(rs.map((r) => r.conflictsPerOp)), cpu: median(rs.map((r) => r.cpuSeconds)), rss: Math.max(...rs.map((r) => r.peakRssMiB)), note: rs.find((r) => r.note)?.note } : undefined;
    };
    const verdicts: string[] = [];
    for (const k of groups.keys()) {
        const [w, mode, who] = k.split('|') as [string, string, ContenderName];
        const a = agg(k);
        if (!a) continue;
        const up = agg(`${w}|${mode}|upstream`);
        const ours = agg(`${w}|${mode}|ours`);
        const restart = w === 'restart-10k';
        const ratio = who === 'ours' && up && ours ? (restart ? `${(up.p50 / ours.p50).toFixed(2)}× (speed)` : `${(ours.ops / up.ops).toFixed(2)}×`) : '';
        const share = who === 'ours' && !restart && Number.isFinite(a.w) ? `${(((a.ops * Math.max(a.w, 1)) / cal.concurrentPerSec) * 100).toFixed(0)}%` : '';
        rows.push([w, MODES[mode]?.label ?? mode, who, restart ? '-' : a.ops.toFixed(1), (a.p50 / 1000).toFixed(2), (a.p99 / 1000).toFixed(2), Number.isFinite(a.w) ? a.w.toFixed(2) : '-', Number.isFinite(a.c) ? a.c.toFixed(3) : '-', a.cpu.toFixed(1), a.rss.toFixed(0), ratio, share]);
        if (who === 'ours' && mode === 'high' && up && ours && w.startsWith('static') && !restart) {
            verdicts.push(`${w}: ≥ 10× upstream at high QPS: ${ours.ops / up.ops >= 10 ? 'met' : 'NOT met'} (${(ours.ops / up.ops).toFixed(1)}×)`);
            verdicts.push(`${w}: ≥ 80% of the write ceiling: ${share && parseInt(share) >= 80 ? 'met' : 'NOT met'} (${share})`);
        }
        if (who === 'ours' && w === 'static-1k' && mode === 'high') verdicts.push(`static-1k: p99 time-to-Bound ≤ 3 s: ${a.p99 <= 3000 ? 'met' : 'NOT met'} (${(a.p99 / 1000).toFixed(2)} s)`);
        if (who === 'ours' && restart && up) verdicts.push(`restart-10k: peak RSS ≤ kube-controller-manager's: ${a.rss <= up.rss ? 'met' : 'NOT met'} (${a.rss.toFixed(0)} vs ${up.rss.toFixed(0)} MiB)`);
    }
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
    const table = rows.map((r) => r.map((x, i) => x.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
    console.log(`\n${table}\n`);
    for (const v of verdicts) console.log(`  ${v}`);
    const elapsed = ((Date.now() - started) / 60000).toFixed(1);
    console.log(`\n  total ${elapsed} min`);
    if (values.out) {
        const md = [
            '# Benchmark results',
            '',
            `Command: \`npm run bench -- ${process.argv.slice(2).join(' ')}\` (${new Date().toISOString()}, ${elapsed} min)`,
            '',
            `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}; kube-apiserver, etcd and kube-controller-manager v1.36.3 built by \`npm run testbin -- --bench\`.`,
            '',
            `Write ceiling (API server + etcd, calibrated first): serial ${cal.serialPerSec.toFixed(0)} writes/s (RTT ${cal.serialRttMs.toFixed(1)} ms), 32 concurrent writers ${cal.concurrentPerSec.toFixed(0)} writes/s.`,
            '',
            '```',
            table,
            '```',
            '',
            ...verdicts.map((v) => `- ${v}`),
            '',
        ].join('\n');
        fs.writeFileSync(path.resolve(REPO_ROOT, values.out), md + fs.readFileSync(path.join(REPO_ROOT, 'bench', 'NOTES.md'), 'utf8'));
        console.log(`  wrote ${values.out}`);
    }
}

await main();
process.exit(0);
