// `npm run cluster -- start|stop|status --dir DIR [--scheduler] [--no-crds]`: a real local control
// plane (etcd + kube-apiserver [+ kube-scheduler]) built by `npm run testbin`, with the snapshot
// CRDs of crds/ installed unless --no-crds. `start` leaves it running in the background and
// prints the kubeconfig path; `stop` shuts it down.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ControlPlane, stopDetached } from './lib/control-plane.ts';
import { ensureTestbin } from './lib/testbin.ts';

const { values, positionals } = parseArgs({
    allowPositionals: true,
    allowNegative: true,
    options: { dir: { type: 'string' }, scheduler: { type: 'boolean', default: false }, crds: { type: 'boolean', default: true }, help: { type: 'boolean', short: 'h' } },
});
const cmd = positionals[0];
if (values.help || !cmd || !['start', 'stop', 'status'].includes(cmd) || !values.dir) {
    console.error('usage: npm run cluster -- start|stop|status --dir DIR [--scheduler] [--no-crds]');
    process.exit(values.help ? 0 : 2);
}
const dir = path.resolve(values.dir);

if (cmd === 'start') {
    if (fs.existsSync(path.join(dir, 'state.json'))) {
        console.error(`a control plane is already recorded in ${dir}; run: npm run cluster -- stop --dir ${values.dir}`);
        process.exit(1);
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
    const stopped = await stopDetached(dir);
    console.log(stopped.length ? `stopped ${stopped.join(', ')}` : `no control plane recorded in ${dir}`);
} else {
    const f = path.join(dir, 'state.json');
    if (!fs.existsSync(f)) {
        console.log('stopped');
        process.exit(3);
    }
    console.log(fs.readFileSync(f, 'utf8'));
}
