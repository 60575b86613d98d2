// The node tier: a local control plane (ControlPlane, with kube-scheduler) plus N real nodes on
// this machine, each a kubelet with its own containerd, and optionally CSI node plugins
// registered with every kubelet through node-driver-registrar: the hostpath driver
// (hostpathplugin) and our built-in driver (`volume-controller-manager node-plugin`). Used by
// `npm run cluster -- start --nodes N` and by the real-node end-to-end tests.
//
// Several kubelets and several clusters share one machine, so everything a node owns is its own:
// root dir, ports, node name (--hostname-override), containerd (state, root, socket; one per
// node because a kubelet kills every pod sandbox in its runtime that it does not know), cgroup
// root, pod log dir, CNI config and IPAM store. A cluster takes a slot from a registry in /run
// (scripts/lib/node-host.ts): its pod bridge `vcmbr<n>`, subnet 10.(200+n).0.0/16 and cgroup
// `/vcm-<n>`. Every node process (kubelets, CSI plugins, containerd, shims, containers) lives in
// that cgroup tree, so teardown finds all of them without names or guesses.
//
// The API server reaches every kubelet (logs, exec): each kubelet serves on the bridge address
// (its node InternalIP) on its own port, the API server prefers InternalIP, and kubelets accept
// only the API server's client certificate (x509, no anonymous access).
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import type { V1Node } from '@kubernetes/client-node';
import { loadKubeConfig, makeClients } from '../../src/kube/client.ts';
import type { KubeClients } from '../../src/kube/client.ts';
import { BUILTIN_DRIVER_NAME } from '../../src/csi/builtin.ts';
import { ControlPlane, freePort, stopDetached } from './control-plane.ts';
import {
    acquireSlot,
    cgroupLayout,
    cgroupPids,
    createBridge,
    deleteBridge,
    makeCgroup,
    readSlot,
    recordHost,
    releaseSlot,
    removeCgroup,
    restoreHostIfLast,
    slotAbandoned,
    slotNetwork,
    stopCgroupProcesses,
    takenSlots,
    unmountAll,
} from './node-host.ts';
import type { CgroupLayout, SlotNetwork } from './node-host.ts';
import { REPO_ROOT, testbinDir, testbinPath } from './testbin.ts';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The hostpath CSI driver's name (csi-driver-host-path). */
export const HOSTPATH_DRIVER = 'hostpath.csi.k8s.io';
/** The built-in driver's name, whose node plugin a cluster runs with `builtin`. */
export const BUILTIN_DRIVER = BUILTIN_DRIVER_NAME;
/** The topology key the built-in node plugins report with `builtin: { topology: true }` (pass the same to the manager's --builtin-driver-topology-key). */
export const BUILTIN_TOPOLOGY_KEY = 'topology.dir.csi.volume-controller-manager.io/node';
/** The busybox image every node has (built by scripts/node/images.sh; pods use imagePullPolicy Never). */
export const BUSYBOX_IMAGE = 'localhost/vcm/busybox:1';
/** containerd's sandbox image on every node (scripts/node/pause). */
export const PAUSE_IMAGE = 'localhost/vcm/pause:1';
/** The taint the API server's TaintNodesByCondition admission puts on a new Node; no node-lifecycle controller runs to lift it. */
const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
const NODES_FILE = 'nodes.json';

/** Options of a node-tier cluster. */
export interface NodeClusterOptions {
    /** Directory for everything (control plane, nodes, logs); created if missing. */
    dir: string;
    /** Number of nodes (default 1, at most 250). */
    nodes?: number;
    /** Run hostpathplugin (attach enabled) + node-driver-registrar on every node, and create its CSIDriver (attachRequired). */
    hostpath?: boolean;
    /**
     * Run our built-in driver's node plugin (`volume-controller-manager node-plugin`) +
     * node-driver-registrar on every node and create its CSIDriver (attachRequired: the
     * controller-manager's attacher publishes). All nodes share one data directory,
     * `<dir>/builtin-data` (NodeCluster.builtinDataDir): give it to the manager as
     * --builtin-driver-dir. `topology: true` makes the plugins report BUILTIN_TOPOLOGY_KEY = node name.
     */
    builtin?: boolean | { topology?: boolean };
    /** Start processes in their own sessions so they outlive this process (the CLI's `start`). */
    detached?: boolean;
    /** Install the snapshot CRDs of crds/ (default true). */
    crds?: boolean;
    /** Progress lines (default: none). */
    progress?: (line: string) => void;
}

/** One real node of a cluster. */
export interface RealNode {
    name: string;
    /** The node's directory (kubelet root, containerd, CNI, hostpath state below it). */
    dir: string;
    kubeletRoot: string;
    containerdSocket: string;
    /** The node's cgroup (relative), the kubelet's cgroupRoot. */
    cgroup: string;
    kubeletPort: number;
    healthzPort: number;
    /** hostpathplugin's endpoint (controller and node service), when started with `hostpath`. */
    hostpathEndpoint?: string;
    /** hostpathplugin's state directory (`state.json`, the volumes). */
    hostpathStateDir?: string;
    /** Our node plugin's endpoint (Identity + Node), when started with `builtin`. */
    builtinEndpoint?: string;
}

/** What `<dir>/nodes.json` records, so `stop --dir` and a sweep can undo everything. */
interface NodesState {
    slot: number;
    nodes: RealNode[];
}

/** Reads the slot a cluster directory records (undefined when none). */
function recordedSlot(dir: string): number | undefined {
    try {
        return (JSON.parse(fs.readFileSync(path.join(dir, NODES_FILE), 'utf8')) as NodesState).slot;
    } catch {
        return undefined;
    }
}

/**
 * Why real nodes cannot run here, or undefined when they can. Installs the Debian packages the
 * node needs when they are missing and we are root (scripts/node/install-packages.sh). One line,
 * meant for a test's skip message.
 */
export function nodeTierSkipReason(o: { hostpath?: boolean; builtin?: boolean } = {}): string | undefined {
    if (process.platform !== 'linux') return 'real nodes need Linux';
    if (process.getuid?.() !== 0) return `real nodes need root (the kubelet mounts volumes, containerd makes namespaces and cgroups); running as uid ${process.getuid?.()}`;
    try {
        execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'node', 'install-packages.sh')], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    } catch (e) {
        const lines = String((e as { stderr?: string }).stderr ?? '').trim().split('\n');
        return lines.findLast((l) => l.startsWith('node tier unavailable:'))?.replace('node tier unavailable: ', '') ?? lines.at(-1) ?? 'scripts/node/install-packages.sh failed';
    }
    try {
        cgroupLayout();
    } catch (e) {
        return (e as Error).message;
    }
    for (const cmd of ['ip', 'openssl', 'umount', 'ctr']) {
        try {
            execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
        } catch {
            return `the ${cmd} command is missing`;
        }
    }
    if (!fs.existsSync(path.join(testbinDir(), 'kubelet'))) return 'kubelet is not built: run npm run testbin';
    if (o.hostpath || o.builtin) {
        for (const b of [...(o.hostpath ? ['hostpathplugin'] : []), 'csi-node-driver-registrar']) {
            if (!fs.existsSync(path.join(testbinDir(), b))) return `${b} is not built: the peers archives (../shared/peers or PEERS_DIR) were absent when npm run testbin ran`;
        }
    }
    return undefined;
}

/** The images a node imports: reference and docker-archive tarball (built once, cached in .cache/node-images). */
function buildImages(): { ref: string; tar: string }[] {
    const out = execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'node', 'images.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return out
        .trim()
        .split('\n')
        .map((l) => {
            const [ref, tar] = l.split(' ');
            return { ref: ref as string, tar: tar as string };
        });
}

/** A cluster with real nodes; see the file comment. */
export class NodeCluster {
    readonly dir: string;
    readonly cp: ControlPlane;
    readonly nodes: RealNode[] = [];
    /** Admin clients (set once the control plane is up). */
    clients!: KubeClients;
    private readonly opts: NodeClusterOptions;
    private slot = -1;
    private layout!: CgroupLayout;
    private net!: SlotNetwork;
    private readonly procs = new Map<string, ChildProcess>();
    private readonly pki: string;
    private readonly exitHook = () => {
        for (const p of this.procs.values()) p.kill('SIGKILL');
    };

    constructor(opts: NodeClusterOptions) {
        const n = opts.nodes ?? 1;
        if (!Number.isInteger(n) || n < 1 || n > 250) throw new Error(`nodes must be an integer from 1 to 250, got ${opts.nodes}`);
        this.opts = { ...opts, nodes: n };
        this.dir = path.resolve(opts.dir);
        this.pki = path.join(this.dir, 'pki');
        this.cp = new ControlPlane({
            dir: this.dir,
            scheduler: true,
            detached: opts.detached,
            crds: opts.crds ?? true,
            apiServerArgs: [
                // Reach each kubelet at its node InternalIP (the bridge address) and its own port.
                '--kubelet-preferred-address-types=InternalIP,Hostname',
                `--kubelet-client-certificate=${path.join(this.pki, 'kubelet-client.crt')}`,
                `--kubelet-client-key=${path.join(this.pki, 'kubelet-client.key')}`,
            ],
        });
    }

    /** The admin kubeconfig. */
    get kubeconfig(): string {
        return this.cp.kubeconfig;
    }

    /** The built-in driver's data directory every node plugin shares (`builtin`): the manager's --builtin-driver-dir. */
    get builtinDataDir(): string {
        return path.join(this.dir, 'builtin-data');
    }

    private say(line: string): void {
        this.opts.progress?.(line);
    }

    /**
     * Starts the control plane and every node, waits until each Node is Ready (and lifts the
     * not-ready taint) and, with `hostpath` or `builtin`, until each CSINode lists the driver.
     * @throws Error naming the component and its log when something does not come up (call stop() then)
     */
    async start(): Promise<void> {
        const why = nodeTierSkipReason({ hostpath: this.opts.hostpath, builtin: !!this.opts.builtin });
        if (why) throw new Error(`real nodes unavailable: ${why}`);
        this.layout = cgroupLayout();
        for (const d of ['logs', 'nodes', 'pki']) fs.mkdirSync(path.join(this.dir, d), { recursive: true });
        await sweepAbandoned();
        this.say('building the node images (busybox, pause) or reusing them');
        const images = buildImages();
        this.slot = acquireSlot(this.dir, !!this.opts.detached, (n) => this.save(n));
        this.net = slotNetwork(this.slot);
        if (!this.opts.detached) process.once('exit', this.exitHook);
        recordHost();
        this.writeKubeletCerts();
        createBridge(this.net);
        makeCgroup(this.layout, this.cgroupRoot);
        this.say(`control plane (etcd, kube-apiserver, kube-scheduler); slot ${this.slot}: bridge ${this.net.bridge}, pods in ${this.net.subnet}`);
        await this.cp.start();
        this.clients = makeClients(loadKubeConfig(this.cp.kubeconfig), { qps: 0, burst: 1 });
        for (let i = 1; i <= (this.opts.nodes as number); i++) this.nodes.push(await this.nodeSpec(i));
        this.save();
        const plugins = [...(this.opts.hostpath ? ['hostpathplugin'] : []), ...(this.opts.builtin ? ['node-plugin (built-in driver)'] : [])];
        this.say(`starting ${this.nodes.length} node(s): containerd, kubelet${plugins.length ? `, ${plugins.join(', ')}, node-driver-registrar` : ''}`);
        await Promise.all(this.nodes.map((n) => this.startNode(n, images)));
        if (this.opts.hostpath) await this.createCSIDriver(HOSTPATH_DRIVER);
        if (this.opts.builtin) await this.createCSIDriver(BUILTIN_DRIVER);
        await Promise.all(this.nodes.map((n) => this.waitReady(n)));
        if (this.opts.hostpath) await Promise.all(this.nodes.map((n) => this.waitCSINode(n, HOSTPATH_DRIVER, 'registrar')));
        if (this.opts.builtin) await Promise.all(this.nodes.map((n) => this.waitCSINode(n, BUILTIN_DRIVER, 'builtin-registrar')));
        this.say(`nodes Ready: ${this.nodes.map((n) => n.name).join(', ')}`);
    }

    private get cgroupRoot(): string {
        return `/vcm-${this.slot}`;
    }

    private save(slot = this.slot): void {
        const state: NodesState = { slot, nodes: this.nodes };
        fs.writeFileSync(path.join(this.dir, NODES_FILE), JSON.stringify(state, null, 2));
    }

    /** A CA the kubelets trust for client certificates, and the API server's client certificate from it (system:masters). */
    private writeKubeletCerts(): void {
        const f = (n: string) => path.join(this.pki, n);
        if (fs.existsSync(f('kubelet-client.crt'))) return;
        const ossl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
        const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
        ossl('req', '-x509', ...ec, '-keyout', f('kubelet-ca.key'), '-out', f('kubelet-ca.crt'), '-days', '3650', '-subj', '/CN=vcm-kubelet-client-ca');
        ossl('req', ...ec, '-keyout', f('kubelet-client.key'), '-out', f('kubelet-client.csr'), '-subj', '/O=system:masters/CN=kube-apiserver-kubelet-client');
        fs.writeFileSync(f('kubelet-client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
        ossl('x509', '-req', '-in', f('kubelet-client.csr'), '-CA', f('kubelet-ca.crt'), '-CAkey', f('kubelet-ca.key'), '-CAcreateserial', '-days', '3650', '-extfile', f('kubelet-client.ext'), '-out', f('kubelet-client.crt'));
        for (const k of ['kubelet-ca.key', 'kubelet-client.key']) fs.chmodSync(f(k), 0o600);
    }

    private async nodeSpec(i: number): Promise<RealNode> {
        const name = `node-${i}`;
        const dir = path.join(this.dir, 'nodes', name);
        const kubeletRoot = path.join(dir, 'kubelet');
        const n: RealNode = {
            name,
            dir,
            kubeletRoot,
            containerdSocket: path.join(dir, 'containerd', 'containerd.sock'),
            cgroup: `${this.cgroupRoot}/${name}`,
            kubeletPort: await freePort(),
            healthzPort: await freePort(),
        };
        if (this.opts.hostpath) {
            n.hostpathEndpoint = `unix://${path.join(kubeletRoot, 'plugins', HOSTPATH_DRIVER, 'csi.sock')}`;
            n.hostpathStateDir = path.join(dir, 'hostpath');
        }
        if (this.opts.builtin) n.builtinEndpoint = `unix://${path.join(kubeletRoot, 'plugins', BUILTIN_DRIVER, 'csi.sock')}`;
        // Unix socket paths are limited to 107 bytes; the registrar's is the longest.
        const longest = path.join(kubeletRoot, 'plugins_registry', `${this.opts.builtin ? BUILTIN_DRIVER : HOSTPATH_DRIVER}-reg.sock`);
        if (longest.length > 107) throw new Error(`cluster directory ${this.dir} is too long for unix sockets below it (${longest.length} > 107 bytes): use a shorter --dir`);
        return n;
    }

    /** Spawns a process that first joins cgroup `rel` of the tracking hierarchy (so teardown finds it). */
    private spawnIn(id: string, rel: string, bin: string, args: string[]): ChildProcess {
        const logFile = path.join(this.dir, 'logs', `${id.replace('/', '-')}.log`);
        const out = fs.openSync(logFile, 'a');
        const procs = path.join(this.layout.tracking, rel, 'cgroup.procs');
        const child = spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', procs, bin, ...args], { stdio: ['ignore', out, out], detached: !!this.opts.detached });
        fs.closeSync(out);
        if (this.opts.detached) child.unref();
        this.procs.set(id, child);
        child.once('exit', () => {
            if (this.procs.get(id) === child) this.procs.delete(id);
        });
        return child;
    }

    /** Polls check() until true; fails early with the log tail when process `id` exits. */
    private async waitFor(id: string, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        const log = path.join(this.dir, 'logs', `${id.replace('/', '-')}.log`);
        const tail = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '');
        while (Date.now() < deadline) {
            if (!this.procs.has(id)) throw new Error(`${id} exited before ${what}; last log lines (${log}):\n${tail()}`);
            try {
                if (await check()) return;
            } catch {
                /* not yet */
            }
            await sleep(200);
        }
        throw new Error(`${what}: not after ${timeoutMs / 1000} s; see ${log}:\n${tail()}`);
    }

    private async startNode(n: RealNode, images: { ref: string; tar: string }[]): Promise<void> {
        const ctd = path.join(n.dir, 'containerd');
        for (const d of [path.join(ctd, 'root'), path.join(ctd, 'state'), path.join(n.dir, 'cni', 'net.d'), path.join(n.dir, 'pod-logs'), path.join(n.dir, 'volume-plugins'), n.kubeletRoot]) {
            fs.mkdirSync(d, { recursive: true });
        }
        for (const c of ['', '/kubelet', '/csi', '/runtime']) makeCgroup(this.layout, `${n.cgroup}${c}`);
        const i = Number(n.name.slice('node-'.length));

        // containerd: its own root, state, socket and cgroup; the CRI settings node-tier.md found necessary here.
        fs.writeFileSync(path.join(ctd, 'config.toml'), containerdConfig(n, path.join(n.dir, 'cni', 'net.d')));
        fs.writeFileSync(path.join(n.dir, 'cni', 'net.d', '10-vcm.conflist'), JSON.stringify(cniConfig(this.slot, this.net, i, path.join(n.dir, 'cni', 'ipam')), null, 2));
        const ctrId = `${n.name}/containerd`;
        this.spawnIn(ctrId, `${n.cgroup}/runtime`, 'containerd', ['--config', path.join(ctd, 'config.toml')]);
        await this.waitFor(ctrId, `containerd on ${n.containerdSocket}`, async () => (await run('ctr', ['-a', n.containerdSocket, 'version'])).stdout.includes('Server'), 30_000);
        for (const img of images) await run('ctr', ['-a', n.containerdSocket, '-n', 'k8s.io', 'images', 'import', img.tar]);

        const cfg = path.join(n.dir, 'kubelet.json');
        fs.writeFileSync(cfg, JSON.stringify(kubeletConfig(n, this.net, path.join(this.pki, 'kubelet-ca.crt'), this.layout.v2), null, 2));
        const kid = `${n.name}/kubelet`;
        this.spawnIn(kid, `${n.cgroup}/kubelet`, testbinPath('kubelet'), [
            `--config=${cfg}`,
            // Test only: the admin credentials (no Node authorizer, no bootstrap).
            `--kubeconfig=${this.cp.kubeconfig}`,
            `--hostname-override=${n.name}`,
            `--node-ip=${this.net.gateway}`,
            `--root-dir=${n.kubeletRoot}`,
            `--cert-dir=${path.join(n.dir, 'pki')}`,
            '--v=1',
        ]);
        if (this.opts.hostpath) {
            const sock = (n.hostpathEndpoint as string).slice('unix://'.length);
            fs.mkdirSync(path.dirname(sock), { recursive: true });
            fs.mkdirSync(path.join(n.kubeletRoot, 'plugins_registry'), { recursive: true });
            const hid = `${n.name}/hostpathplugin`;
            this.spawnIn(hid, `${n.cgroup}/csi`, testbinPath('hostpathplugin'), [
                `--endpoint=${n.hostpathEndpoint}`,
                `--nodeid=${n.name}`,
                `--drivername=${HOSTPATH_DRIVER}`,
                `--statedir=${n.hostpathStateDir}`,
                '--enable-attach=true',
                '--v=3',
            ]);
            await this.waitFor(hid, `hostpathplugin socket ${sock}`, async () => fs.existsSync(sock), 30_000);
            this.spawnIn(`${n.name}/registrar`, `${n.cgroup}/csi`, testbinPath('csi-node-driver-registrar'), [
                `--csi-address=${sock}`,
                `--kubelet-registration-path=${sock}`,
                `--plugin-registration-path=${path.join(n.kubeletRoot, 'plugins_registry')}`,
                '--v=2',
            ]);
        }
        if (this.opts.builtin) await this.startBuiltinPlugin(n);
        await this.waitFor(kid, `kubelet ${n.name} healthz`, () => httpOk(`http://127.0.0.1:${n.healthzPort}/healthz`), 60_000);
    }

    /**
     * Our node plugin, exactly as a vendor driver's: the `node-plugin` subcommand of our entry
     * point on the kubelet's plugin socket, registered by node-driver-registrar, sharing the
     * cluster's built-in data directory.
     */
    private async startBuiltinPlugin(n: RealNode): Promise<void> {
        const sock = (n.builtinEndpoint as string).slice('unix://'.length);
        fs.mkdirSync(path.dirname(sock), { recursive: true });
        fs.mkdirSync(path.join(n.kubeletRoot, 'plugins_registry'), { recursive: true });
        const topology = typeof this.opts.builtin === 'object' && this.opts.builtin.topology ? [`--topology-key=${BUILTIN_TOPOLOGY_KEY}`] : [];
        const id = `${n.name}/builtin`;
        this.spawnIn(id, `${n.cgroup}/csi`, process.execPath, [
            path.join(REPO_ROOT, 'cmd', 'volume-controller-manager.ts'),
            'node-plugin',
            `--endpoint=${n.builtinEndpoint}`,
            `--node-id=${n.name}`,
            `--data-dir=${this.builtinDataDir}`,
            ...topology,
            '--log-level=debug',
        ]);
        await this.waitFor(id, `node plugin socket ${sock}`, async () => fs.existsSync(sock), 30_000);
        this.spawnIn(`${n.name}/builtin-registrar`, `${n.cgroup}/csi`, testbinPath('csi-node-driver-registrar'), [
            `--csi-address=${sock}`,
            `--kubelet-registration-path=${sock}`,
            `--plugin-registration-path=${path.join(n.kubeletRoot, 'plugins_registry')}`,
            '--v=2',
        ]);
    }

    /** The CSIDriver object of a driver whose node plugins run here: attach required, as the controller-manager's attacher publishes. */
    private async createCSIDriver(name: string): Promise<void> {
        await this.clients.storage.createCSIDriver({
            body: { metadata: { name }, spec: { attachRequired: true, podInfoOnMount: false, volumeLifecycleModes: ['Persistent'], fsGroupPolicy: 'File' } },
        });
    }

    /** Waits until the Node is Ready, then removes the not-ready taint the API server's admission added. */
    private async waitReady(n: RealNode): Promise<void> {
        let node: V1Node | undefined;
        await this.waitFor(`${n.name}/kubelet`, `node ${n.name} Ready`, async () => {
            node = await this.clients.core.readNode({ name: n.name });
            return !!node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        }, 120_000);
        const taints = node?.spec?.taints ?? [];
        if (taints.some((t) => t.key === NOT_READY_TAINT)) {
            await this.clients.core.patchNode({
                name: n.name,
                body: [
                    { op: 'test', path: '/spec/taints', value: taints },
                    { op: 'replace', path: '/spec/taints', value: taints.filter((t) => t.key !== NOT_READY_TAINT) },
                ],
            });
        }
    }

    private async waitCSINode(n: RealNode, driver: string, registrar: string): Promise<void> {
        await this.waitFor(`${n.name}/${registrar}`, `${driver} registered in CSINode ${n.name}`, async () => {
            const c = await this.clients.storage.readCSINode({ name: n.name });
            return !!c.spec?.drivers?.some((d) => d.name === driver);
        }, 60_000);
    }

    /**
     * Stops everything: lets the kubelets delete their pods (unmounting volumes, bounded wait),
     * then tears the nodes down (see teardownNodes) and stops the control plane. Leaves no process,
     * mount, link or cgroup behind.
     */
    async stop(): Promise<void> {
        if (this.clients && this.nodes.length) await drainPods(this.clients, this.nodes.map((n) => n.name)).catch(() => undefined);
        if (this.slot >= 0) await teardownNodes(this.slot, this.dir);
        await this.cp.stop();
        process.removeListener('exit', this.exitHook);
        if (this.slot >= 0) {
            fs.rmSync(path.join(this.dir, NODES_FILE), { force: true });
            releaseSlot(this.slot);
            restoreHostIfLast();
        }
    }
}

/** Starts a NodeCluster; on failure stops what started and rethrows. */
export async function startNodeCluster(opts: NodeClusterOptions): Promise<NodeCluster> {
    const c = new NodeCluster(opts);
    try {
        await c.start();
    } catch (e) {
        await c.stop().catch(() => undefined);
        throw e;
    }
    return c;
}

function httpOk(url: string): Promise<boolean> {
    return new Promise((resolve) => {
        const req = http.get(url, { timeout: 2000 }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
        });
        req.on('error', () => resolve(false));
        req.on('timeout', () => req.destroy());
    });
}

/**
 * Deletes every pod bound to `nodes` (1 s grace) and waits up to timeoutMs until they are gone.
 * The kubelet removes a deleted pod only after its containers stopped and its volumes were
 * unmounted, so this is the clean path; teardown forces whatever is left.
 */
async function drainPods(clients: KubeClients, nodes: string[], timeoutMs = 30_000): Promise<void> {
    const ours = async () => (await clients.core.listPodForAllNamespaces()).items.filter((p) => nodes.includes(p.spec?.nodeName ?? ''));
    const pods = await ours();
    if (!pods.length) return;
    await Promise.all(pods.map((p) => clients.core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace: p.metadata?.namespace ?? '', gracePeriodSeconds: 1 }).catch(() => undefined)));
    const deadline = Date.now() + timeoutMs;
    while ((await ours()).length && Date.now() < deadline) await sleep(250);
}

/**
 * Tears down the nodes of slot `slot` whose directory is `dir`, in the order that leaves nothing
 * behind: kubelets first (nothing restarts a container any more), the CSI plugins, the containers
 * (containerd, still running, reaps their tasks so the shims exit and remove their sockets), then
 * containerd and anything left in the cluster's cgroup tree; then every mount below `dir`
 * (volumes, container root filesystems, network namespaces, the kubelet's root bind mount), the
 * cgroups, the bridge, and the CNI result cache and container log links that point at `dir`.
 * Works from the slot and directory alone, so it also cleans up after a killed test process.
 */
export async function teardownNodes(slot: number, dir: string): Promise<void> {
    const layout = cgroupLayout();
    const root = `/vcm-${slot}`;
    const nodeCgroups = fs.existsSync(path.join(layout.tracking, root))
        ? fs.readdirSync(path.join(layout.tracking, root), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${root}/${e.name}`)
        : [];
    const each = (f: (cg: string) => Promise<void>) => Promise.all(nodeCgroups.map(f));
    await each((cg) => stopCgroupProcesses(layout, `${cg}/kubelet`, 'SIGTERM', 10_000));
    await each((cg) => stopCgroupProcesses(layout, `${cg}/csi`, 'SIGTERM', 5_000));
    await each((cg) => stopCgroupProcesses(layout, `${cg}/kubepods`, 'SIGKILL', 0));
    // Give containerd a moment to handle the exits (task delete → the shim exits cleanly).
    await each(async (cg) => {
        const deadline = Date.now() + 3_000;
        while (Date.now() < deadline && (await shimCount(layout, `${cg}/runtime`)) > 0) await sleep(100);
    });
    await each((cg) => stopCgroupProcesses(layout, `${cg}/runtime`, 'SIGTERM', 10_000));
    await stopCgroupProcesses(layout, root, 'SIGKILL', 0);
    unmountAll(dir);
    await removeCgroup(layout, root);
    deleteBridge(slotNetwork(slot));
    // go-cni's result cache (/var/lib/cni/results/<network>-<container>-<if>) is keyed by our network name.
    const results = '/var/lib/cni/results';
    if (fs.existsSync(results)) for (const f of fs.readdirSync(results)) if (f.startsWith(`vcm-${slot}-`)) fs.rmSync(path.join(results, f), { force: true });
    // The kubelet's /var/log/containers links into our pod log dirs.
    const links = '/var/log/containers';
    if (fs.existsSync(links)) {
        for (const f of fs.readdirSync(links)) {
            const p = path.join(links, f);
            try {
                if (fs.readlinkSync(p).startsWith(`${path.resolve(dir)}/`)) fs.rmSync(p, { force: true });
            } catch {
                /* not a link */
            }
        }
    }
}

/** How many containerd shims are still in a node's runtime cgroup (every process there but containerd itself). */
async function shimCount(layout: CgroupLayout, rel: string): Promise<number> {
    let n = 0;
    for (const pid of cgroupPids(layout, rel)) {
        try {
            if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('containerd-shim')) n++;
        } catch {
            /* exited */
        }
    }
    return n;
}

/**
 * Stops a cluster started detached in dir (`npm run cluster -- start --nodes N`): drains pods,
 * tears the nodes down, stops the control plane, frees the slot.
 * @returns what was stopped (empty when nothing was recorded in dir)
 */
export async function stopNodeClusterDetached(dir: string): Promise<string[]> {
    const d = path.resolve(dir);
    const recorded = recordedSlot(d);
    // Only a slot the registry gives to this directory is ours to tear down.
    const slot = recorded !== undefined && readSlot(recorded)?.dir === d ? recorded : undefined;
    if (recorded !== undefined && slot === undefined) fs.rmSync(path.join(d, NODES_FILE), { force: true });
    const stopped: string[] = [];
    if (slot !== undefined) {
        const state = JSON.parse(fs.readFileSync(path.join(d, NODES_FILE), 'utf8')) as NodesState;
        if (fs.existsSync(path.join(d, 'state.json')) && state.nodes.length) {
            try {
                const clients = makeClients(loadKubeConfig(path.join(d, 'kubeconfig')), { qps: 0, burst: 1 });
                await drainPods(clients, state.nodes.map((n) => n.name));
            } catch {
                /* API server gone: teardown forces */
            }
        }
        await teardownNodes(slot, d);
        stopped.push(...state.nodes.map((n) => n.name));
    }
    stopped.push(...(await stopDetached(d)));
    if (slot !== undefined) {
        fs.rmSync(path.join(d, NODES_FILE), { force: true });
        releaseSlot(slot);
        restoreHostIfLast();
    }
    return stopped;
}

/**
 * Tears down every slot whose owner is gone (a test process that was killed, a directory removed
 * without `stop`), including its control plane when its state.json is still there.
 * @returns the directories cleaned up
 */
export async function sweepAbandoned(): Promise<string[]> {
    const out: string[] = [];
    for (const { n, rec } of takenSlots()) {
        if (!slotAbandoned(n, rec, recordedSlot)) continue;
        await teardownNodes(n, rec.dir);
        await stopDetached(rec.dir).catch(() => undefined);
        if (recordedSlot(rec.dir) === n) fs.rmSync(path.join(rec.dir, NODES_FILE), { force: true });
        releaseSlot(n);
        out.push(rec.dir);
    }
    if (out.length) restoreHostIfLast();
    return out;
}

/** containerd's config for one node (config version 2, containerd 1.6). */
function containerdConfig(n: RealNode, cniConfDir: string): string {
    const ctd = path.join(n.dir, 'containerd');
    const state = path.join(ctd, 'state');
    return `version = 2
root = "${path.join(ctd, 'root')}"
state = "${state}"
# Plugins a test node never uses.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.opt"]

[grpc]
  address = "${n.containerdSocket}"
[ttrpc]
  address = "${n.containerdSocket}.ttrpc"
# containerd and its shims live in the node's cgroup, so teardown finds them.
[cgroup]
  path = "${n.cgroup}/runtime"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # Root here lacks CAP_SYS_RESOURCE: runc fails every sandbox if it must raise oom_score_adj.
  restrict_oom_score_adj = true
  # Network namespaces below our state dir, not in the machine's /var/run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConfDir}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${path.join(state, 'runc')}"
`;
}

/**
 * The node's CNI network: pods attach to the cluster's bridge (created beforehand with the
 * gateway address, so the plugin neither sets addresses nor turns on IP forwarding), and take
 * addresses from the node's own /24 of the cluster subnet, stored in the node's directory.
 */
function cniConfig(slot: number, net: SlotNetwork, i: number, ipamDir: string): object {
    return {
        cniVersion: '0.4.0',
        name: `vcm-${slot}`,
        plugins: [
            {
                type: 'bridge',
                bridge: net.bridge,
                isGateway: false,
                ipMasq: false,
                ipam: {
                    type: 'host-local',
                    ranges: [[{ subnet: net.subnet, rangeStart: `10.${net.octet}.${i}.2`, rangeEnd: `10.${net.octet}.${i}.254`, gateway: net.gateway }]],
                    routes: [{ dst: '0.0.0.0/0' }],
                    dataDir: ipamDir,
                },
            },
        ],
    };
}

/** The kubelet's configuration (see node-tier.md for why each setting is needed on this machine kind). */
function kubeletConfig(n: RealNode, net: SlotNetwork, clientCA: string, v2: boolean): object {
    return {
        kind: 'KubeletConfiguration',
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        address: net.gateway,
        port: n.kubeletPort,
        readOnlyPort: 0,
        healthzBindAddress: '127.0.0.1',
        healthzPort: n.healthzPort,
        // Only the API server's client certificate gets in.
        authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: clientCA } },
        authorization: { mode: 'AlwaysAllow' },
        containerRuntimeEndpoint: `unix://${n.containerdSocket}`,
        imageServiceEndpoint: `unix://${n.containerdSocket}`,
        cgroupDriver: 'cgroupfs',
        cgroupRoot: n.cgroup,
        cgroupsPerQOS: true,
        // kubelet v1.35+ refuses cgroup v1 by default; this machine kind is cgroup v1 (hybrid).
        ...(v2 ? {} : { failCgroupV1: false }),
        failSwapOn: false,
        oomScoreAdj: 0,
        podLogsDir: path.join(n.dir, 'pod-logs'),
        volumePluginDir: path.join(n.dir, 'volume-plugins'),
        // volumesInUse is written on this tick; the kubelet mounts an attachable volume only once it is there.
        nodeStatusUpdateFrequency: '1s',
        // The shared host's disk and memory levels must not evict or block test pods.
        evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '0%', 'nodefs.inodesFree': '0%', 'imagefs.available': '0%' },
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        serializeImagePulls: false,
        resolvConf: '/etc/resolv.conf',
    };
}
