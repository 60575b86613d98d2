// The local control plane on a busy machine: a port chosen as free can be taken by another
// process before etcd binds it. Start-up then retries on fresh ports instead of failing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, startControlPlane } from '../../scripts/lib/control-plane.ts';
import type { ControlPlane } from '../../scripts/lib/control-plane.ts';

describe('local control plane start-up', () => {
    let cp: ControlPlane | undefined;
    let holder: net.Server | undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-test-cp-'));
    after(async () => {
        await cp?.stop();
        holder?.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it('retries on fresh ports when a chosen port is taken before etcd binds it', async () => {
        // Another process holds a port, and it is the first one handed out (the race, made certain).
        holder = net.createServer();
        await new Promise<void>((r) => holder?.listen(0, '127.0.0.1', () => r()));
        const taken = (holder.address() as net.AddressInfo).port;
        let handedOut = 0;
        cp = await startControlPlane({ dir, pickPort: async () => (handedOut++ === 0 ? taken : freePort()) });
        const etcdLog = fs.readFileSync(path.join(dir, 'logs', 'etcd.log'), 'utf8');
        assert.match(etcdLog, new RegExp(`127\\.0\\.0\\.1:${taken}.*address already in use`), 'etcd hit the taken port first');
        // Start-up itself waited for the API server's /readyz: the control plane is up.
        assert.ok(cp.server && !cp.server.endsWith(`:${taken}`));
    });
});
