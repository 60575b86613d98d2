// `npm run demo`: the main job on a fresh machine. Builds/reuses the testbin, starts a local
// control plane, runs volume-controller-manager against it, shows what it does, and cleans up.
// (Controllers are added issue by issue; today it shows leader election and the health endpoints.)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadKubeConfig, makeClients } from '../src/kube/client.ts';
import { startControlPlane } from './lib/control-plane.ts';
import { REPO_ROOT, ensureTestbin, testbinPath } from './lib/testbin.ts';

const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false }, dir: { type: 'string' } } });
const dir = path.resolve(values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-demo-')));
const step = (s: string) => console.log(`\n==> ${s}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

step('Building or reusing the Kubernetes binaries (npm run testbin)');
ensureTestbin(['etcd', 'kube-apiserver', 'kube-scheduler', 'kubectl']);

step(`Starting a local control plane in ${dir}`);
const cp = await startControlPlane({ dir, scheduler: true });
console.log(`    API server ${cp.server}`);

const logFile = path.join(dir, 'logs', 'volume-controller-manager.log');
const out = fs.openSync(logFile, 'a');
step('Starting volume-controller-manager');
const mgr = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'src', 'main.ts'), `--kubeconfig=${cp.kubeconfig}`, '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0'],
    { stdio: ['ignore', out, out] },
);
let cleaning = false;
async function cleanup(code: number): Promise<never> {
    if (cleaning) process.exit(code);
    cleaning = true;
    mgr.kill('SIGTERM');
    await new Promise((r) => (mgr.exitCode !== null ? r(undefined) : mgr.once('exit', r)));
    await cp.stop();
    process.exit(code);
}
process.on('SIGINT', () => void cleanup(130));

const readLog = () =>
    fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => {
        try {
            return JSON.parse(l) as Record<string, unknown>;
        } catch {
            return { msg: l };
        }
    });
const deadline = Date.now() + 30_000;
while (!readLog().some((l) => l.msg === 'Caches synced; starting controllers')) {
    if (mgr.exitCode !== null || Date.now() > deadline) {
        console.error(`volume-controller-manager did not start; see ${logFile}`);
        await cleanup(1);
    }
    await sleep(200);
}
const clients = makeClients(loadKubeConfig(cp.kubeconfig), { qps: 0, burst: 1 });
const lease = await clients.coordination.readNamespacedLease({ name: 'volume-controller-manager', namespace: 'kube-system' });
const serving = readLog().find((l) => l.msg === 'Serving HTTP endpoints');
console.log(`    leader lease kube-system/volume-controller-manager held by ${lease.spec?.holderIdentity}`);
if (serving) {
    const base = `http://127.0.0.1:${serving.port}`;
    console.log(`    ${base}/healthz -> ${await (await fetch(`${base}/healthz`)).text()}`);
    console.log(`    ${base}/readyz  -> ${await (await fetch(`${base}/readyz`)).text()}`);
}

if (values.keep) {
    step('Left running (Ctrl-C stops everything). Explore with:');
    console.log(`    ${testbinPath('kubectl')} --kubeconfig ${cp.kubeconfig} get pvc,pv,volumeattachments -A`);
    console.log(`    logs: ${logFile}`);
    await new Promise(() => undefined);
}
step('Stopping');
await cleanup(0);
