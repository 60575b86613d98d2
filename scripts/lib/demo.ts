// The demo as a library: start a control plane with kube-scheduler, run volume-controller-manager
// with the built-in driver, apply examples/, show claims binding and volumes attaching, then a
// detach and a reclaim, and summarize. Used by `npm run demo` and by the end-to-end test.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { KubernetesObjectApi, loadAllYaml } from '@kubernetes/client-node';
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { loadKubeConfig, makeClients } from '../../src/kube/client.ts';
import type { KubeClients } from '../../src/kube/client.ts';
import { startControlPlane } from './control-plane.ts';
import type { ControlPlane } from './control-plane.ts';
import { REPO_ROOT, ensureTestbin, testbinPath } from './testbin.ts';

export interface DemoOptions {
    dir: string;
    /** Extra flags for volume-controller-manager (e.g. a kubeconfig of a service account). */
    managerArgs?: string[];
    /** Kubeconfig the manager uses instead of the admin one (set by a hook after the cluster starts). */
    managerKubeconfig?: (cp: ControlPlane, clients: KubeClients) => Promise<string>;
    /** Print progress (default true). */
    print?: boolean;
    /**
     * Timeout in ms of the demo itself (default 120 s), counted from when the Kubernetes
     * binaries exist: a cold build of them takes several minutes and has no deadline.
     */
    timeoutMs?: number;
    /** Builds or reuses the Kubernetes binaries (default ensureTestbin; tests simulate a cold build). */
    ensureBinaries?: () => void | Promise<void>;
    /** The demo's clock in ms (default Date.now; tests move it to simulate a slow build). */
    now?: () => number;
    /** Write an API server audit log (for RBAC checks). */
    audit?: boolean;
}

export interface DemoResult {
    cp: ControlPlane;
    clients: KubeClients;
    manager: ChildProcess;
    logFile: string;
    summary: string;
    /** Stops the manager and the control plane. */
    stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DRIVER = 'dir.csi.volume-controller-manager.io';

/** Runs the demo; resolves with everything still running (call stop()). @throws Error with a clear message on failure */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
    const print = o.print !== false;
    const now = o.now ?? Date.now;
    const say = (s: string) => print && console.log(s);
    const step = (s: string) => say(`\n==> ${s}`);

    step('Kubernetes binaries (built once into .cache/testbin, reused afterwards; a cold build takes several minutes and shows its progress)');
    await (o.ensureBinaries ?? (() => ensureTestbin(['etcd', 'kube-apiserver', 'kube-scheduler', 'kubectl'])))();
    // The demo's clock starts once the binaries exist: a cold build must not eat its deadline.
    const t0 = now();
    const deadline = t0 + (o.timeoutMs ?? 120_000);
    const log = (what: string, detail: string) => say(`  ${((now() - t0) / 1000).toFixed(1).padStart(5)}s  ${what.padEnd(48)} ${detail}`);
    step(`Local control plane: etcd, kube-apiserver, kube-scheduler, snapshot CRDs (in ${o.dir})`);
    const cp = await startControlPlane({ dir: o.dir, scheduler: true, audit: o.audit, crds: true });
    const clients = makeClients(loadKubeConfig(cp.kubeconfig), { qps: 0, burst: 1 });
    const objects = KubernetesObjectApi.makeApiClient(clients.kc);
    say(`  API server ${cp.server}`);

    const kubeconfig = o.managerKubeconfig ? await o.managerKubeconfig(cp, clients) : cp.kubeconfig;
    const logFile = path.join(o.dir, 'logs', 'volume-controller-manager.log');
    step('volume-controller-manager (all controllers, built-in CSI driver)');
    const out = fs.openSync(logFile, 'a');
    const manager = spawn(
        process.execPath,
        [
            path.join(REPO_ROOT, 'cmd', 'volume-controller-manager.ts'),
            `--kubeconfig=${kubeconfig}`,
            `--builtin-driver-dir=${path.join(o.dir, 'volumes')}`,
            '--metrics-bind-address=127.0.0.1:0',
            '--health-probe-bind-address=127.0.0.1:0',
            '--leader-election-namespace=kube-system',
            ...(o.managerArgs ?? []),
        ],
        { stdio: ['ignore', out, out], env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
    );
    fs.closeSync(out);
    const stop = async () => {
        if (manager.exitCode === null && manager.signalCode === null) {
            const exited = new Promise((r) => manager.once('exit', r));
            manager.kill('SIGTERM');
            await exited;
        }
        await cp.stop();
    };
    const fail = async (msg: string): Promise<never> => {
        const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => /"level":"(error|warn)"/.test(l)).slice(-5).join('\n') : '';
        await stop();
        throw new Error(`${msg}${tail ? `\nlast warnings from ${logFile}:\n${tail}` : ''}`);
    };
    while (!fs.readFileSync(logFile, 'utf8').includes('Caches synced; starting controllers')) {
        if (manager.exitCode !== null) await fail(`volume-controller-manager exited with ${manager.exitCode}`);
        if (now() > deadline) await fail('volume-controller-manager did not start');
        await sleep(100);
    }
    log('volume-controller-manager', 'leading, controllers running');

    step('Applying examples/ (nodes, storage classes, static PVs and claims, dynamic claims, pods)');
    const files = fs.readdirSync(path.join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.yaml')).sort();
    for (const f of files) {
        for (const obj of loadAllYaml(fs.readFileSync(path.join(REPO_ROOT, 'examples', f), 'utf8')) as KubernetesObject[]) {
            await objects.create(obj).catch(async (e: Error) => fail(`applying ${f} ${obj.kind}/${obj.metadata?.name}: ${e.message}`));
        }
        say(`  applied examples/${f}`);
        if (f.startsWith('00-')) {
            // No node lifecycle controller runs here: lift the not-ready taint the API server put
            // on the new (Ready) nodes, as kube-controller-manager would.
            for (const n of (await clients.core.listNode()).items) {
                if (n.spec?.taints?.length) await clients.core.patchNode({ name: n.metadata?.name ?? '', body: [{ op: 'remove', path: '/spec/taints' }] });
            }
        }
    }

    step('Watching claims bind and volumes attach (kubectl get pvc,pv,volumeattachments -w)');
    const seen = new Map<string, string>();
    const observe = async () => {
        const [pvcs, pvs, vas, pods] = await Promise.all([
            clients.core.listNamespacedPersistentVolumeClaim({ namespace: 'default' }),
            clients.core.listPersistentVolume(),
            clients.storage.listVolumeAttachment(),
            clients.core.listNamespacedPod({ namespace: 'default' }),
        ]);
        const show = (key: string, state: string, detail: string) => {
            if (seen.get(key) === state) return;
            seen.set(key, state);
            log(key, detail);
        };
        for (const c of pvcs.items) show(`pvc/${c.metadata?.name}`, `${c.status?.phase}`, `${c.status?.phase}${c.spec?.volumeName ? ` → ${c.spec.volumeName}` : ''}`);
        for (const v of pvs.items) show(`pv/${v.metadata?.name}`, `${v.status?.phase}`, `${v.status?.phase}${v.spec?.claimRef ? ` (${v.spec.claimRef.namespace}/${v.spec.claimRef.name})` : ''}`);
        for (const a of vas.items) show(`volumeattachment/${a.metadata?.name?.slice(0, 16)}…`, `${a.status?.attached}`, `ATTACHED ${!!a.status?.attached}  ${a.spec?.source?.persistentVolumeName} on ${a.spec?.nodeName}`);
        for (const p of pods.items) show(`pod/${p.metadata?.name}`, `${p.spec?.nodeName ?? ''}`, p.spec?.nodeName ? `scheduled to ${p.spec.nodeName}` : 'Pending (unscheduled)');
        return { pvcs: pvcs.items, pvs: pvs.items, vas: vas.items, pods: pods.items };
    };
    const podVolumes = (pods: V1Pod[], pvcName: (c: string) => string | undefined) =>
        pods.flatMap((p) => (p.spec?.volumes ?? []).map((v) => pvcName(v.persistentVolumeClaim?.claimName ?? '')).filter((x): x is string => !!x));
    for (;;) {
        const w = await observe();
        const bound = w.pvcs.filter((c) => c.status?.phase === 'Bound').length;
        const byClaim = new Map(w.pvcs.map((c) => [c.metadata?.name ?? '', c.spec?.volumeName]));
        const csiVolumes = new Set(w.pvs.filter((v) => v.spec?.csi).map((v) => v.metadata?.name));
        const wanted = podVolumes(w.pods, (c) => byClaim.get(c)).filter((v) => csiVolumes.has(v));
        const attached = w.vas.filter((a) => a.status?.attached).length;
        if (bound === 7 && w.pods.every((p) => p.spec?.nodeName) && wanted.length === 4 && attached === 4) break;
        if (now() > deadline) await fail(`timed out: ${bound}/7 claims Bound, ${attached}/4 volumes attached`);
        await sleep(250);
    }

    step('The kubelet would now mount the volumes: marking them in use (node status.volumesInUse)');
    const inUse = async (node: string, names: string[]) => clients.core.patchNodeStatus({ name: node, body: [{ op: 'add', path: '/status/volumesInUse', value: names }] });
    const unique = (handle: string) => `kubernetes.io/csi/${DRIVER}^${handle}`;
    const pvs = (await clients.core.listPersistentVolume()).items;
    const vas = (await clients.storage.listVolumeAttachment()).items;
    for (const n of ['demo-node-1', 'demo-node-2']) {
        const names = vas.filter((a) => a.spec?.nodeName === n).map((a) => unique(pvs.find((p) => p.metadata?.name === a.spec?.source?.persistentVolumeName)?.spec?.csi?.volumeHandle ?? ''));
        await inUse(n, names);
        log(`node/${n}`, `volumesInUse: ${names.length}`);
    }

    step('Deleting pod app-2 and its claim: detach waits for the unmount, then the volume is reclaimed');
    const app2 = (await clients.core.readNamespacedPersistentVolumeClaim({ name: 'app-2', namespace: 'default' })).spec?.volumeName ?? '';
    const app2Va = vas.find((a) => a.spec?.source?.persistentVolumeName === app2);
    await clients.core.deleteNamespacedPod({ name: 'app-2', namespace: 'default', gracePeriodSeconds: 0 });
    log('pod/app-2', 'deleted');
    await sleep(1000);
    const still = await clients.storage.readVolumeAttachment({ name: app2Va?.metadata?.name ?? '' }).then(() => true, () => false);
    log(`volumeattachment/${app2Va?.metadata?.name?.slice(0, 16)}…`, still ? 'kept: the node still reports the volume in use' : 'already gone');
    const node = app2Va?.spec?.nodeName ?? '';
    const app2Handle = pvs.find((p) => p.metadata?.name === app2)?.spec?.csi?.volumeHandle ?? '';
    const remaining = vas.filter((a) => a.spec?.nodeName === node && a !== app2Va).map((a) => unique(pvs.find((p) => p.metadata?.name === a.spec?.source?.persistentVolumeName)?.spec?.csi?.volumeHandle ?? ''));
    await inUse(node, remaining.filter((n) => n !== unique(app2Handle)));
    log(`node/${node}`, 'kubelet unmounted app-2\'s volume');
    await clients.core.deleteNamespacedPersistentVolumeClaim({ name: 'app-2', namespace: 'default' });
    log('pvc/app-2', 'deleted');
    for (;;) {
        await observe();
        const vaGone = !(await clients.storage.readVolumeAttachment({ name: app2Va?.metadata?.name ?? '' }).then(() => true, () => false));
        const pvGone = !(await clients.core.readPersistentVolume({ name: app2 }).then(() => true, () => false));
        if (vaGone && pvGone) {
            log(`pv/${app2}`, 'deleted with its backend volume (reclaim policy Delete)');
            break;
        }
        if (now() > deadline) await fail(`timed out waiting for detach (${vaGone}) and reclaim (${pvGone}) of app-2`);
        await sleep(250);
    }

    step('Summary');
    const w = await observe();
    const rows = [['CLAIM', 'STATUS', 'VOLUME', 'CAPACITY', 'CLASS', 'POD', 'NODE', 'ATTACHED']];
    for (const c of w.pvcs.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))) {
        const pod = w.pods.find((p) => p.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === c.metadata?.name));
        const va = w.vas.find((a) => a.spec?.source?.persistentVolumeName === c.spec?.volumeName);
        rows.push([
            c.metadata?.name ?? '',
            c.status?.phase ?? '',
            (c.spec?.volumeName ?? '').slice(0, 40),
            c.status?.capacity?.storage ?? '',
            c.spec?.storageClassName ?? '',
            pod?.metadata?.name ?? '-',
            pod?.spec?.nodeName ?? '-',
            va ? String(!!va.status?.attached) : '-',
        ]);
    }
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
    const summary = rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
    say(summary);
    say(`\n  ${w.pvcs.length} claims Bound, ${w.vas.filter((a) => a.status?.attached).length} volumes attached, app-2 detached and reclaimed, in ${((now() - t0) / 1000).toFixed(1)} s`);
    return { cp, clients, manager, logFile, summary, stop };
}

/** The kubectl line to explore a demo cluster. */
export function exploreLine(cp: ControlPlane): string {
    return `${testbinPath('kubectl')} --kubeconfig ${cp.kubeconfig} get pvc,pv,volumeattachments`;
}
