// `npm run cluster -- start|stop|status|sweep --dir DIR [--scheduler] [--nodes N [--hostpath] [--builtin]] [--no-crds]`:
// a real local control plane (etcd + kube-apiserver [+ kube-scheduler]) built by `npm run
// testbin`, with the snapshot CRDs of crds/ installed unless --no-crds, and with --nodes N that many real nodes (kubelet + containerd each; root only, see
// scripts/lib/nodes.ts), optionally with the hostpath driver's and our built-in driver's node
// plugins (--hostpath, --builtin: run the controller-manager with --builtin-driver-dir=DIR/builtin-data). `start` leaves it running in the background and prints the kubeconfig
// path; `stop` shuts it down and leaves no process, mount, link or cgroup behind; `sweep` cleans
// up node-tier clusters whose owner died without stopping them.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ControlPlane, stopDetached } from './lib/control-plane.ts';
import { NodeCluster, stopNodeClusterDetached, sweepAbandoned } from './lib/nodes.ts';
import { ensureTestbin } from './lib/testbin.ts';

const USAGE = 'usage: npm run cluster -- start|stop|status --dir DIR [--scheduler] [--nodes N [--hostpath] [--builtin]] [--no-crds]\n       npm run cluster -- sweep';
const { values, positionals } = parseArgs({
    allowNegative: true,
    allowPositionals: true,
    options: {
        dir: { type: 'string' },
        scheduler: { type: 'boolean', default: false },
        nodes: { type: 'string' },
        hostpath: { type: 'boolean', default: false },
        builtin: { type: 'boolean', default: false },
        crds: { type: 'boolean', default: true },
        help: { type: 'boolean', short: 'h' },
    },
});
const cmd = positionals[0];
if (values.help || !cmd || !['start', 'stop', 'status', 'sweep'].includes(cmd) || (!values.dir && cmd !== 'sweep')) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
}
const nodes = values.nodes === undefined ? 0 : Number(values.nodes);
if (!Number.isInteger(nodes) || nodes < 0 || (values.nodes !== undefined && nodes < 1)) {
    console.error(`--nodes wants a whole number >= 1, got "${values.nodes}"\n${USAGE}`);
    process.exit(2);
}
for (const flag of ['hostpath', 'builtin'] as const) {
    if (values[flag] && !nodes) {
        console.error(`--${flag} needs --nodes N\n${USAGE}`);
        process.exit(2);
    }
}

if (cmd === 'sweep') {
    const cleaned = await sweepAbandoned();
    console.log(cleaned.length ? `cleaned up ${cleaned.join(', ')}` : 'no abandoned node-tier cluster');
    process.exit(0);
}
const dir = path.resolve(values.dir as string);

if (cmd === 'start') {
    if (fs.existsSync(path.join(dir, 'state.json')) || fs.existsSync(path.join(dir, 'nodes.json'))) {
        console.error(`a cluster is already recorded in ${dir}; run: npm run cluster -- stop --dir ${values.dir}`);
        process.exit(1);
    }
    if (nodes) {
        ensureTestbin(['etcd', 'kube-apiserver', 'kube-scheduler', 'kubectl', 'kubelet', ...(values.hostpath ? ['hostpathplugin'] : []), ...(values.hostpath || values.builtin ? ['csi-node-driver-registrar'] : [])]);
        const t0 = Date.now();
        const c = new NodeCluster({ dir, nodes, hostpath: values.hostpath, builtin: values.builtin, crds: values.crds, detached: true, progress: (l) => console.log(`[cluster ${((Date.now() - t0) / 1000).toFixed(1)}s] ${l}`) });
        try {
            await c.start();
        } catch (e) {
            console.error(`cluster start failed: ${(e as Error).message}`);
            await stopNodeClusterDetached(dir);
            process.exit(1);
        }
        console.log(`control plane up at ${c.cp.server}`);
        console.log(`kubeconfig: ${c.kubeconfig}`);
        for (const n of c.nodes) console.log(`${n.name}: kubelet root ${n.kubeletRoot}${n.hostpathEndpoint ? `, hostpathplugin ${n.hostpathEndpoint}` : ''}${n.builtinEndpoint ? `, built-in node plugin ${n.builtinEndpoint}` : ''}`);
        if (values.builtin) console.log(`built-in driver data directory: ${c.builtinDataDir} (npm start -- --kubeconfig ${c.kubeconfig} --builtin-driver-dir=${c.builtinDataDir})`);
        console.log(`try: kubectl --kubeconfig ${c.kubeconfig} get nodes -o wide`);
        process.exit(0);
    }
    ensureTestbin(values.scheduler ? ['etcd', 'kube-apiserver', 'kube-scheduler', 'kubectl'] : ['etcd', 'kube-apiserver', 'kubectl']);
    const cp = new ControlPlane({ dir, scheduler: values.scheduler, detached: true, crds: values.crds });
    try {
        await cp.start();
    } catch (e) {
        console.error(`cluster start failed: ${(e as Error).message}`);
        await stopDetached(dir);
        process.exit(1);
    }
    console.log(`control plane up at ${cp.server}`);
    console.log(`kubeconfig: ${cp.kubeconfig}`);
    if (values.crds) console.log('CRDs from crds/ installed (snapshot.storage.k8s.io)');
    console.log(`try: kubectl --kubeconfig ${cp.kubeconfig} get --raw /readyz`);
    process.exit(0);
} else if (cmd === 'stop') {
    const stopped = fs.existsSync(path.join(dir, 'nodes.json')) ? await stopNodeClusterDetached(dir) : await stopDetached(dir);
    console.log(stopped.length ? `stopped ${stopped.join(', ')}` : `no cluster recorded in ${dir}`);
    process.exit(0);
} else {
    const files = ['state.json', 'nodes.json'].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
    if (!files.length) {
        console.log('stopped');
        process.exit(3);
    }
    for (const f of files) console.log(fs.readFileSync(f, 'utf8'));
}
