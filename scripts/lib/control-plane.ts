import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { applyCrds, crdFiles, readCrds } from './crds.ts';
import type { ApiTarget } from './crds.ts';
import { testbinPath } from './testbin.ts';

/** Options for a local control plane. */
export interface ControlPlaneOptions {
    /** Directory for data, logs, keys and the kubeconfig (created if missing). */
    dir: string;
    /** Also start kube-scheduler. */
    scheduler?: boolean;
    /** Start processes in their own session so they outlive this process (the CLI's `start`). */
    detached?: boolean;
    /** Extra kube-apiserver flags (e.g. for benchmarks). */
    apiServerArgs?: string[];
    /** Write an audit log (Metadata level, JSON lines) to `<dir>/audit.log`. */
    audit?: boolean;
    /** Install the CRDs in `crds/` (the snapshot API) once the API server is ready, and wait until they are served. */
    crds?: boolean;
    /** How a free loopback port is chosen (default freePort; tests hand out a taken one). */
    pickPort?: () => Promise<number>;
}

/** What `state.json` in the directory records, so `stop --dir` can find the processes. */
interface State {
    pids: Record<string, number>;
    server: string;
}

/** Returns a currently free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const p = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(p));
        });
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function httpsGet(url: string, ca: Buffer, token: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = https.get(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 5000 }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('timeout')));
    });
}

/**
 * A real local Kubernetes control plane: etcd and kube-apiserver (RBAC on, default admission
 * plugins except ServiceAccount, since no kube-controller-manager creates default service
 * accounts), optionally kube-scheduler, on free 127.0.0.1 ports, with an admin kubeconfig at
 * `<dir>/kubeconfig` (bearer token in system:masters). Several may run at once.
 */
export class ControlPlane {
    readonly dir: string;
    readonly kubeconfig: string;
    server = '';
    /** The admin bearer token written to the kubeconfig. */
    readonly token: string;
    private readonly opts: ControlPlaneOptions;
    private readonly procs = new Map<string, ChildProcess>();
    private etcdUrl = '';
    private apiPort = 0;
    private readonly exitHook = () => this.killAll('SIGKILL');

    constructor(opts: ControlPlaneOptions) {
        this.opts = opts;
        this.dir = path.resolve(opts.dir);
        this.kubeconfig = path.join(this.dir, 'kubeconfig');
        this.token = crypto.randomBytes(16).toString('hex');
    }

    private get ca(): Buffer {
        return fs.readFileSync(path.join(this.dir, 'pki', 'apiserver.crt'));
    }

    /** Where and as whom (admin) to reach this API server over plain HTTPS (see crds.ts). */
    apiTarget(): ApiTarget {
        return { server: this.server, ca: this.ca, token: this.token };
    }

    /** Starts every component and waits until the API server's /readyz answers ok. */
    async start(): Promise<void> {
        for (const d of ['etcd', 'pki', 'logs']) fs.mkdirSync(path.join(this.dir, d), { recursive: true });
        if (!this.opts.detached) process.once('exit', this.exitHook);
        this.writeKeys();
        await this.onFreshPorts('etcd', () => this.startEtcd());
        await this.onFreshPorts('kube-apiserver', () => {
            this.apiPort = 0;
            return this.startApiServer();
        });
        if (this.opts.crds) await applyCrds(this.apiTarget(), readCrds(crdFiles()));
        if (this.opts.scheduler) await this.onFreshPorts('kube-scheduler', () => this.startScheduler());
        this.saveState();
    }

    private port(): Promise<number> {
        return (this.opts.pickPort ?? freePort)();
    }

    /**
     * Runs a component's start, and runs it again on newly chosen ports (up to 5 times) when it
     * failed because another process bound a port between our choosing it and the component
     * binding it ("address already in use" in its log): a race on a busy machine.
     */
    private async onFreshPorts(name: string, start: () => Promise<void>): Promise<void> {
        const log = path.join(this.dir, 'logs', `${name}.log`);
        for (let attempt = 1; ; attempt++) {
            const from = fs.existsSync(log) ? fs.statSync(log).size : 0;
            try {
                await start();
                return;
            } catch (e) {
                const added = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(from) : '';
                if (attempt >= 5 || !added.includes('address already in use')) throw e;
                await this.stopProc(name);
            }
        }
    }

    private writeKeys(): void {
        const pki = path.join(this.dir, 'pki');
        if (!fs.existsSync(path.join(pki, 'sa.key'))) {
            const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
            fs.writeFileSync(path.join(pki, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
            fs.writeFileSync(path.join(pki, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
        }
        const schedToken = crypto.randomBytes(16).toString('hex');
        fs.writeFileSync(
            path.join(pki, 'tokens.csv'),
            `${this.token},admin,admin-uid,"system:masters"\n${schedToken},system:kube-scheduler,kube-scheduler-uid\n`,
            { mode: 0o600 },
        );
        fs.writeFileSync(path.join(pki, 'scheduler.token'), schedToken, { mode: 0o600 });
    }

    private spawn(name: string, args: string[]): ChildProcess {
        const out = fs.openSync(path.join(this.dir, 'logs', `${name}.log`), 'a');
        const child = spawn(testbinPath(name), args, { stdio: ['ignore', out, out], detached: !!this.opts.detached });
        fs.closeSync(out);
        if (this.opts.detached) child.unref();
        this.procs.set(name, child);
        child.once('exit', () => {
            if (this.procs.get(name) === child) this.procs.delete(name);
        });
        return child;
    }

    private async waitFor(name: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            if (!this.procs.has(name)) {
                const log = path.join(this.dir, 'logs', `${name}.log`);
                const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
                throw new Error(`${name} exited during start-up; last log lines (${log}):\n${tail}`);
            }
            try {
                // A check never hangs start-up: whatever holds a port may accept and never answer.
                if (await Promise.race([check(), sleep(2000).then(() => false)])) return;
            } catch {
                /* not up yet */
            }
            await sleep(200);
        }
        throw new Error(`${name} not ready after ${timeoutMs / 1000}s; see ${path.join(this.dir, 'logs', `${name}.log`)}`);
    }

    private async startEtcd(): Promise<void> {
        const client = await this.port();
        const peer = await this.port();
        this.etcdUrl = `http://127.0.0.1:${client}`;
        this.spawn('etcd', [
            `--data-dir=${path.join(this.dir, 'etcd')}`,
            `--listen-client-urls=${this.etcdUrl}`,
            `--advertise-client-urls=${this.etcdUrl}`,
            `--listen-peer-urls=http://127.0.0.1:${peer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
            `--initial-cluster=default=http://127.0.0.1:${peer}`,
            '--unsafe-no-fsync=true',
            '--quota-backend-bytes=8589934592',
            '--log-level=warn',
        ]);
        await this.waitFor('etcd', async () => {
            const r = await fetch(`${this.etcdUrl}/health`);
            return r.ok && (await r.text()).includes('true');
        });
    }

    /** Starts kube-apiserver (on the same port as before after a stopApiServer()). */
    async startApiServer(): Promise<void> {
        if (!this.apiPort) this.apiPort = await this.port();
        const pki = path.join(this.dir, 'pki');
        this.server = `https://127.0.0.1:${this.apiPort}`;
        this.spawn('kube-apiserver', [
            `--etcd-servers=${this.etcdUrl}`,
            `--etcd-prefix=/registry`,
            '--bind-address=127.0.0.1',
            `--secure-port=${this.apiPort}`,
            `--cert-dir=${pki}`,
            '--authorization-mode=RBAC',
            `--token-auth-file=${path.join(pki, 'tokens.csv')}`,
            `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
            `--service-account-key-file=${path.join(pki, 'sa.pub')}`,
            `--service-account-signing-key-file=${path.join(pki, 'sa.key')}`,
            '--service-cluster-ip-range=10.0.0.0/24',
            '--disable-admission-plugins=ServiceAccount',
            '--allow-privileged=true',
            '--profiling=false',
            '--v=1',
            ...(this.opts.audit ? this.auditArgs() : []),
            ...(this.opts.apiServerArgs ?? []),
        ]);
        await this.waitFor('kube-apiserver', async () => {
            if (!fs.existsSync(path.join(pki, 'apiserver.crt'))) return false;
            const r = await httpsGet(`${this.server}/readyz`, this.ca, this.token);
            return r.status === 200;
        });
        this.writeKubeconfig(this.kubeconfig, this.token);
    }

    /** Path of the audit log (when started with `audit: true`). */
    get auditLog(): string {
        return path.join(this.dir, 'audit.log');
    }

    private auditArgs(): string[] {
        const policy = path.join(this.dir, 'pki', 'audit-policy.yaml');
        fs.writeFileSync(policy, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n');
        return [`--audit-policy-file=${policy}`, `--audit-log-path=${this.auditLog}`, '--audit-log-format=json', '--audit-log-mode=blocking'];
    }

    /** Stops kube-apiserver only (etcd keeps the data), e.g. to make every watch drop. */
    async stopApiServer(): Promise<void> {
        await this.stopProc('kube-apiserver');
    }

    private writeKubeconfig(file: string, token: string, user = 'admin'): void {
        const ca = this.ca.toString('base64');
        fs.writeFileSync(
            file,
            [
                'apiVersion: v1',
                'kind: Config',
                'clusters:',
                '- name: local',
                '  cluster:',
                `    server: ${this.server}`,
                `    certificate-authority-data: ${ca}`,
                'users:',
                `- name: ${user}`,
                '  user:',
                `    token: ${token}`,
                'contexts:',
                '- name: local',
                '  context:',
                '    cluster: local',
                `    user: ${user}`,
                'current-context: local',
                '',
            ].join('\n'),
            { mode: 0o600 },
        );
    }

    /**
     * Writes a kubeconfig for this cluster that authenticates with `token` (e.g. a service
     * account token from the TokenRequest API) and returns its path.
     */
    kubeconfigForToken(name: string, token: string): string {
        const file = path.join(this.dir, `kubeconfig-${name}`);
        this.writeKubeconfig(file, token, name);
        return file;
    }

    private async startScheduler(): Promise<void> {
        const kc = path.join(this.dir, 'kubeconfig-scheduler');
        this.writeKubeconfig(kc, fs.readFileSync(path.join(this.dir, 'pki', 'scheduler.token'), 'utf8'), 'system:kube-scheduler');
        const port = await this.port();
        this.spawn('kube-scheduler', [
            `--kubeconfig=${kc}`,
            `--authentication-kubeconfig=${this.kubeconfig}`,
            `--authorization-kubeconfig=${this.kubeconfig}`,
            '--bind-address=127.0.0.1',
            `--secure-port=${port}`,
            `--cert-dir=${path.join(this.dir, 'pki', 'scheduler')}`,
            '--leader-elect=false',
            // Token authentication leaves no extension-apiserver-authentication configmap to look up.
            '--authentication-skip-lookup=true',
            '--v=1',
        ]);
        // kube-scheduler serves a self-signed certificate: only its health answer matters here.
        await this.waitFor('kube-scheduler', () =>
            new Promise<boolean>((resolve) => {
                const req = https.get(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false }, (res) => {
                    res.resume();
                    resolve(res.statusCode === 200);
                });
                req.on('error', () => resolve(false));
            }),
        );
    }

    private saveState(): void {
        const state: State = { server: this.server, pids: {} };
        for (const [n, p] of this.procs) if (p.pid) state.pids[n] = p.pid;
        fs.writeFileSync(path.join(this.dir, 'state.json'), JSON.stringify(state, null, 2));
    }

    private async stopProc(name: string): Promise<void> {
        const p = this.procs.get(name);
        if (!p || p.exitCode !== null) return;
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
        this.procs.delete(name);
    }

    private killAll(sig: NodeJS.Signals): void {
        for (const p of this.procs.values()) {
            try {
                p.kill(sig);
            } catch {
                /* gone */
            }
        }
    }

    /** Stops every component (scheduler, API server, then etcd). */
    async stop(): Promise<void> {
        for (const n of ['kube-scheduler', 'kube-apiserver', 'etcd']) await this.stopProc(n);
        process.removeListener('exit', this.exitHook);
        fs.rmSync(path.join(this.dir, 'state.json'), { force: true });
    }
}

/** Starts a control plane in dir (see ControlPlane). */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
    const cp = new ControlPlane(opts);
    try {
        await cp.start();
    } catch (e) {
        await cp.stop().catch(() => undefined);
        throw e;
    }
    return cp;
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/**
 * Stops a control plane started detached in dir (by `npm run cluster -- start`), using its
 * state.json: SIGTERM, then SIGKILL after 10 s. Leaves no process behind.
 * @returns the names of the processes that were stopped
 */
export async function stopDetached(dir: string): Promise<string[]> {
    const file = path.join(path.resolve(dir), 'state.json');
    if (!fs.existsSync(file)) return [];
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as State;
    const order = ['kube-scheduler', 'kube-apiserver', 'etcd'].filter((n) => state.pids[n]);
    for (const n of order) {
        const pid = state.pids[n] as number;
        if (!alive(pid)) continue;
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + 10_000;
        while (alive(pid) && Date.now() < deadline) await sleep(100);
        if (alive(pid)) process.kill(pid, 'SIGKILL');
        while (alive(pid)) await sleep(50);
    }
    fs.rmSync(file, { force: true });
    return order;
}
