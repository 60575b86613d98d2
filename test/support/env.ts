// Shared helpers for integration tests: a real control plane per test file, typed clients,
// polling, and running the volume-controller-manager process.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadKubeConfig, makeClients } from '../../src/kube/client.ts';
import type { KubeClients } from '../../src/kube/client.ts';
import { startControlPlane } from '../../scripts/lib/control-plane.ts';
import type { ControlPlane } from '../../scripts/lib/control-plane.ts';
import { REPO_ROOT } from '../../scripts/lib/testbin.ts';

export interface TestCluster {
    cp: ControlPlane;
    clients: KubeClients;
    dir: string;
    /** Stops the control plane and removes its directory (unless KEEP_TEST_DIRS is set). */
    stop(): Promise<void>;
}

/**
 * Starts a fresh control plane for a test file and returns unthrottled admin clients for it.
 * The snapshot CRDs (crds/) are installed unless `crds: false` (about 0.15 s of a ~3 s start);
 * `audit: true` writes the API server's audit log to `cp.auditLog` (see auditEntries).
 * Call from a `before` hook and call `stop()` from the matching `after` hook.
 */
export async function useCluster(opts: { scheduler?: boolean; crds?: boolean; audit?: boolean } = {}): Promise<TestCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-test-'));
    const cp = await startControlPlane({ dir, scheduler: opts.scheduler, crds: opts.crds ?? true, audit: opts.audit });
    const clients = makeClients(loadKubeConfig(cp.kubeconfig), { qps: 0, burst: 1 });
    const stop = async () => {
        await cp.stop();
        if (!process.env.KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
    };
    return { cp, clients, dir, stop };
}

/** One API request from the audit log (Metadata level). */
export interface AuditEntry {
    verb: string;
    userAgent?: string;
    /** RFC 3339 with microseconds, when the API server received the request. */
    requestReceivedTimestamp?: string;
    objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
    responseStatus?: { code?: number };
}

/** Every completed request in the control plane's audit log (started with `audit: true`). */
export function auditEntries(cp: ControlPlane): AuditEntry[] {
    if (!fs.existsSync(cp.auditLog)) return [];
    return fs
        .readFileSync(cp.auditLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEntry & { stage?: string })
        .filter((e) => e.stage === 'ResponseComplete');
}

/**
 * Polls fn every intervalMs until it returns a truthy value, which is returned.
 * @throws Error with `what` and the last error or value after timeoutMs
 */
export async function eventually<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 30_000, intervalMs = 100): Promise<NonNullable<T>> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await fn();
            if (v) return v as NonNullable<T>;
            last = v;
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The environment for a child process: ours minus node:test's own markers, plus extra. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env = { ...process.env, ...extra };
    delete env.NODE_TEST_CONTEXT;
    return env;
}

/** A running volume-controller-manager child process with its captured JSON log lines. */
export class ManagerProcess {
    readonly child: ChildProcess;
    readonly lines: Record<string, unknown>[] = [];
    readonly raw: string[] = [];
    readonly exited: Promise<number | null>;

    constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
        this.child = spawn(process.execPath, [path.join(REPO_ROOT, 'cmd', 'volume-controller-manager.ts'), ...args], {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: childEnv(env),
        });
        let buf = '';
        const onData = (d: Buffer) => {
            buf += d.toString();
            let i;
            while ((i = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, i);
                buf = buf.slice(i + 1);
                this.raw.push(line);
                try {
                    this.lines.push(JSON.parse(line));
                } catch {
                    /* not JSON */
                }
            }
        };
        this.child.stdout?.on('data', onData);
        this.child.stderr?.on('data', onData);
        this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
        // Never outlive the test process. (No node:test `after` here: registered from a `before`
        // hook it would run right after that hook.)
        const reap = () => {
            if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
        };
        process.once('exit', reap);
        void this.exited.then(() => process.removeListener('exit', reap));
    }

    /** The first log line with this msg (and optional field values), if any. */
    find(msg: string, fields: Record<string, unknown> = {}): Record<string, unknown> | undefined {
        return this.lines.find((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v));
    }

    /** Waits for a log line with this msg. */
    async waitForLog(msg: string, timeoutMs = 30_000, fields: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
        try {
            return await eventually(`log "${msg}"`, () => this.find(msg, fields), timeoutMs, 50);
        } catch (e) {
            throw new Error(`${(e as Error).message}\nexit=${this.child.exitCode} last output:\n${this.raw.slice(-8).join('\n')}`);
        }
    }

    /**
     * One sample of a Prometheus counter or gauge from this process's /metrics (0 when absent),
     * e.g. `controller_runtime_reconcile_total{controller="pv-binder-volumes",result="success"}`.
     */
    async metric(sample: string): Promise<number> {
        const l = (await eventually('metrics endpoint', () => this.lines.find((x) => x.msg === 'Serving HTTP endpoints' && (x.paths as string[]).includes('/metrics')))) as { port: number };
        const text = await (await fetch(`http://127.0.0.1:${l.port}/metrics`)).text();
        const line = text.split('\n').find((x) => x.startsWith(`${sample} `));
        return line ? Number(line.slice(sample.length + 1)) : 0;
    }

    /** The identity this process campaigns with (from its start-up log line). */
    async identity(): Promise<string> {
        const l = await this.waitForLog('Starting volume-controller-manager');
        return l.identity as string;
    }

    kill(sig: NodeJS.Signals): void {
        this.child.kill(sig);
    }
}

/** Common flags for a manager under test: no fixed ports, fast leader election. */
export function managerArgs(kubeconfig: string, extra: string[] = []): string[] {
    return [
        `--kubeconfig=${kubeconfig}`,
        '--metrics-bind-address=127.0.0.1:0',
        '--health-probe-bind-address=127.0.0.1:0',
        '--leader-elect-lease-duration=4s',
        '--leader-elect-renew-deadline=3s',
        '--leader-elect-retry-period=500ms',
        ...extra,
    ];
}
