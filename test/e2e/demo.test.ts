// End to end: the demo's whole flow (control plane with kube-scheduler, one
// volume-controller-manager process with every controller and the built-in driver, examples/),
// checked through the API afterwards.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runDemo } from '../../scripts/lib/demo.ts';
import type { DemoResult } from '../../scripts/lib/demo.ts';
import { ensureTestbin } from '../../scripts/lib/testbin.ts';

describe('npm run demo (end to end)', () => {
    let r: DemoResult | undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-test-demo-'));
    after(async () => {
        await r?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it('binds every claim, attaches every pod volume, detaches and reclaims app-2, after a cold build of the binaries', async () => {
        // A fresh machine: building the binaries takes minutes. Simulate a 10-minute build by
        // moving the demo's clock; the demo's own deadline must start only once they exist.
        let skewMs = 0;
        r = await runDemo({
            dir,
            print: false,
            now: () => Date.now() + skewMs,
            ensureBinaries: () => {
                ensureTestbin(['etcd', 'kube-apiserver', 'kube-scheduler', 'kubectl']);
                skewMs += 10 * 60_000;
            },
        });
        const { clients } = r;
        const pvcs = (await clients.core.listNamespacedPersistentVolumeClaim({ namespace: 'default' })).items;
        assert.deepEqual(pvcs.map((c) => `${c.metadata?.name}:${c.status?.phase}`).sort(), ['app-1:Bound', 'app-3:Bound', 'late-1:Bound', 'late-2:Bound', 'static-a:Bound', 'static-b:Bound']);
        const classOf = Object.fromEntries(pvcs.map((c) => [c.metadata?.name, c.spec?.storageClassName]));
        assert.equal(classOf['app-1'], 'standard', 'the default class was assigned');
        const vas = (await clients.storage.listVolumeAttachment()).items;
        assert.equal(vas.length, 3);
        assert.ok(vas.every((a) => a.status?.attached && /^csi-[0-9a-f]{64}$/.test(a.metadata?.name ?? '')));
        const late = pvcs.find((c) => c.metadata?.name === 'late-1');
        assert.ok(late?.metadata?.annotations?.['volume.kubernetes.io/selected-node'], 'kube-scheduler selected a node for the WaitForFirstConsumer claim');
        const pvs = (await clients.core.listPersistentVolume()).items;
        assert.equal(pvs.length, 6, 'app-2 reclaimed: 2 static + 4 dynamic');
        const nodes = (await clients.core.listNode()).items;
        assert.equal(nodes.reduce((n, x) => n + (x.status?.volumesAttached?.length ?? 0), 0), 3);
        const events = (await clients.core.listNamespacedEvent({ namespace: 'default' })).items.map((e) => e.reason);
        for (const reason of ['ProvisioningSucceeded', 'SuccessfulAttachVolume', 'ExternalProvisioning']) assert.ok(events.includes(reason), reason);
        assert.ok(!fs.readFileSync(r.logFile, 'utf8').includes('"level":"error"'), 'no error in the manager log');
    });
});
