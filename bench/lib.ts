// Benchmark plumbing: contenders (ours, upstream kube-controller-manager), process CPU/RSS,
// API server write counters, write-ceiling calibration, latency percentiles.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import PQueue from 'p-queue';
import type { ControlPlane } from '../scripts/lib/control-plane.ts';
import { REPO_ROOT, testbinPath } from '../scripts/lib/testbin.ts';
import type { KubeClients } from '../src/kube/client.ts';

export type ContenderName = 'ours' | 'upstream';

/** A running controller process under test. */
export interface Contender {
    name: ContenderName;
    child: ChildProcess;
    stop(): Promise<void>;
}

/** Starts our process or kube-controller-manager against cp with the given QPS/burst. */
export function startContender(name: ContenderName, cp: ControlPlane, qps: number, burst: number, extra: string[] = []): Contender {
    const log = fs.openSync(path.join(cp.dir, 'logs', `${name}.log`), 'a');
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const child =
        name === 'ours'
            ? spawn(
                  process.execPath,
                  [
                      ...(process.env.VCM_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.VCM_BENCH_CPU_PROF}`] : []),
                      path.join(REPO_ROOT, 'cmd', 'volume-controller-manager.ts'),
                      `--kubeconfig=${cp.kubeconfig}`,
                      '--leader-elect=false',
                      '--metrics-bind-address=0',
                      '--health-probe-bind-address=0',
                      `--kube-api-qps=${qps}`,
                      `--kube-api-burst=${burst}`,
                      '--worker-threads=16',
                      ...extra,
                  ],
                  { stdio: ['ignore', log, log], env },
              )
            : spawn(
                  testbinPath('kube-controller-manager'),
                  [
                      `--kubeconfig=${cp.kubeconfig}`,
                      '--leader-elect=false',
                      '--controllers=persistentvolume-binder,attachdetach,pv-protection,pvc-protection',
                      `--kube-api-qps=${qps}`,
                      `--kube-api-burst=${burst}`,
                      '--use-service-account-credentials=false',
                      '--secure-port=0',
                      '--v=1',
                      ...extra,
                  ],
                  { stdio: ['ignore', log, log], env },
              );
    fs.closeSync(log);
    return {
        name,
        child,
        async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const done = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await done;
            clearTimeout(t);
        },
    };
}

/** CPU seconds (user+system) and peak RSS (bytes) of a process, from /proc. */
export function procStats(pid: number | undefined): { cpuSeconds: number; peakRssBytes: number } {
    if (!pid) return { cpuSeconds: 0, peakRssBytes: 0 };
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ticks = Number(fields[11]) + Number(fields[12]);
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
        return { cpuSeconds: ticks / 100, peakRssBytes: hwm };
    } catch {
        return { cpuSeconds: 0, peakRssBytes: 0 };
    }
}

/** apiserver_request_total summed by verb class and code, from the API server's /metrics. */
export async function apiWrites(cp: ControlPlane): Promise<{ writes: number; conflicts: number }> {
    const body = await new Promise<string>((resolve, reject) => {
        https
            .get(`${cp.server}/metrics`, { headers: { authorization: `Bearer ${cp.token}` }, rejectUnauthorized: false }, (res) => {
                let b = '';
                res.on('data', (d) => (b += d));
                res.on('end', () => resolve(b));
            })
            .on('error', reject);
    });
    let writes = 0;
    let conflicts = 0;
    for (const line of body.split('\n')) {
        if (!line.startsWith('apiserver_request_total{')) continue;
        const verb = /verb="([A-Z]+)"/.exec(line)?.[1] ?? '';
        if (!['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY'].includes(verb)) continue;
        const n = Number(line.slice(line.lastIndexOf(' ') + 1));
        writes += n;
        if (/code="409"/.test(line)) conflicts += n;
    }
    return { writes, conflicts };
}

/** p-th percentile (0..100) of numbers. */
export function percentile(xs: number[], p: number): number {
    if (xs.length === 0) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/** Runs fn n times with the given concurrency. */
export async function burst(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
    const q = new PQueue({ concurrency });
    for (let i = 0; i < n; i++) void q.add(() => fn(i));
    await q.onIdle();
}

/**
 * The API server + etcd write ceiling on this machine: serial PATCHes of one ConfigMap, and 32
 * concurrent writers for a few seconds (writes/s), using the generator's unthrottled client.
 */
export async function calibrate(c: KubeClients, seconds = 4): Promise<{ serialPerSec: number; concurrentPerSec: number; serialRttMs: number }> {
    const ns = 'default';
    const mk = (name: string) => c.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { n: '0' } } });
    await mk('calib-serial');
    const patch = (name: string, i: number) => c.core.patchNamespacedConfigMap({ name, namespace: ns, body: [{ op: 'replace', path: '/data/n', value: String(i) }] });
    let t = Date.now();
    let n = 0;
    while (Date.now() - t < seconds * 1000) await patch('calib-serial', n++);
    const serialPerSec = n / ((Date.now() - t) / 1000);
    await burst(32, 32, (i) => mk(`calib-${i}`));
    t = Date.now();
    let m = 0;
    await Promise.all(
        Array.from({ length: 32 }, async (_, i) => {
            let k = 0;
            while (Date.now() - t < seconds * 1000) {
                await patch(`calib-${i}`, k++);
                m++;
            }
        }),
    );
    return { serialPerSec, concurrentPerSec: m / ((Date.now() - t) / 1000), serialRttMs: 1000 / serialPerSec };
}
