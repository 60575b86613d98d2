// `npm run demo [-- --keep] [-- --dir DIR]`: the main job on a fresh machine. Builds/reuses the
// Kubernetes binaries, starts a local control plane with kube-scheduler, runs
// volume-controller-manager with the built-in CSI driver, applies examples/, and shows claims
// binding and volumes attaching, then a detach and a reclaim. Exits 0 with a summary, or
// non-zero with a clear error. --keep leaves everything running; Ctrl-C cleans up.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exploreLine, runDemo } from './lib/demo.ts';

const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false }, dir: { type: 'string' } } });
const dir = path.resolve(values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-demo-')));
let stopper: (() => Promise<void>) | undefined;
let stopping = false;
process.on('SIGINT', () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log('\nCleaning up…');
    void (stopper ? stopper() : Promise.resolve()).finally(() => process.exit(130));
});
try {
    const r = await runDemo({ dir });
    stopper = r.stop;
    if (values.keep) {
        console.log('\n==> Left running. Explore with:');
        console.log(`    ${exploreLine(r.cp)} -w`);
        console.log(`    logs: ${r.logFile}`);
        console.log('    Ctrl-C stops everything.');
        await new Promise(() => undefined);
    }
    await r.stop();
    process.exit(0);
} catch (e) {
    console.error(`\ndemo failed: ${(e as Error).message}`);
    process.exit(1);
}
