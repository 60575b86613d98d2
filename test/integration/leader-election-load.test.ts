// Leadership survives the process's own load: with hundreds of claims to provision at the
// default client QPS, every controller request waits seconds in the client-side token bucket,
// yet the Lease is renewed on time (leader election has its own client and bucket, as
// kube-controller-manager's) and no renewal round is cut short (client-go renew() timing).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManagerProcess, eventually, useCluster } from '../support/env.ts';
import type { TestCluster } from '../support/env.ts';
import { pvcObject } from '../support/volumes.ts';
import { BUILTIN_DRIVER_NAME } from '../../src/csi/builtin.ts';

const CLAIMS = 300;
const LEASE = 'vcm-under-load';

/** Seconds the slowest requests waited in the client-side limiter, from the Prometheus histogram. */
function limiterWaits(metrics: string): { total: number; overOneSecond: number } {
    let total = 0;
    let upToOne = 0;
    for (const line of metrics.split('\n')) {
        const m = /^rest_client_rate_limiter_duration_seconds_bucket\{le="([^"]+)",verb="[^"]*"\} (\d+)/.exec(line) ?? /^rest_client_rate_limiter_duration_seconds_bucket\{verb="[^"]*",le="([^"]+)"\} (\d+)/.exec(line);
        if (!m) continue;
        if (m[1] === '+Inf') total += Number(m[2]);
        if (m[1] === '1') upToOne += Number(m[2]);
    }
    return { total, overOneSecond: total - upToOne };
}

describe('leader election under the process’s own load', () => {
    let env: TestCluster;
    let mgr: ManagerProcess | undefined;
    before(async () => {
        env = await useCluster();
        await env.clients.storage.createStorageClass({ body: { metadata: { name: 'dir' }, provisioner: BUILTIN_DRIVER_NAME, reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' } });
        for (let i = 0; i < CLAIMS; i += 50) {
            await Promise.all(Array.from({ length: Math.min(50, CLAIMS - i) }, (_, j) => env.clients.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: pvcObject(`load-${i + j}`, { cls: 'dir' }) })));
        }
    });
    after(async () => {
        if (mgr && mgr.child.exitCode === null) {
            mgr.kill('SIGKILL');
            await mgr.exited;
        }
        await env.stop();
    });

    it(`keeps the Lease while ${CLAIMS} claims saturate the default QPS (lease 2s, renew deadline 1.5s, retry 0.5s)`, async () => {
        const dataDir = path.join(env.dir, 'builtin');
        fs.mkdirSync(dataDir);
        mgr = new ManagerProcess([
            `--kubeconfig=${env.cp.kubeconfig}`,
            '--metrics-bind-address=127.0.0.1:0',
            '--health-probe-bind-address=127.0.0.1:0',
            `--leader-elect-resource-name=${LEASE}`,
            '--leader-elect-lease-duration=2s',
            '--leader-elect-renew-deadline=1500ms',
            '--leader-elect-retry-period=500ms',
            `--builtin-driver-dir=${dataDir}`,
        ]);
        const serving = await mgr.waitForLog('Serving HTTP endpoints');
        await mgr.waitForLog('Caches synced; starting controllers', 30_000);
        const lease = await env.clients.coordination.readNamespacedLease({ name: LEASE, namespace: 'kube-system' });
        const holder = lease.spec?.holderIdentity;
        const transitions = lease.spec?.leaseTransitions;
        // Positive signal first: the process is at its QPS limit (requests wait > 1 s in its limiter).
        const metrics = `http://127.0.0.1:${serving.port}/metrics`;
        await eventually('controller requests waiting over 1 s in the client-side limiter', async () => limiterWaits(await (await fetch(metrics)).text()).overOneSecond >= 50, 60_000, 500);
        // Stay saturated through many renewal rounds (one every 0.5 s): watch the Lease being renewed.
        const renewals = new Set<string>();
        await eventually('20 renewals under load', async () => {
            const l = await env.clients.coordination.readNamespacedLease({ name: LEASE, namespace: 'kube-system' });
            renewals.add(new Date(l.spec?.renewTime ?? 0).toISOString());
            return renewals.size >= 20;
        }, 60_000, 100);
        const waits = limiterWaits(await (await fetch(metrics)).text());
        assert.ok(waits.overOneSecond >= 50, `the process stayed at its QPS limit: ${JSON.stringify(waits)}`);
        assert.equal(mgr.find('Leader election lost; stopping controllers'), undefined, 'no leadership loss');
        const after = await env.clients.coordination.readNamespacedLease({ name: LEASE, namespace: 'kube-system' });
        assert.equal(after.spec?.holderIdentity, holder, 'the same holder');
        assert.equal(after.spec?.leaseTransitions, transitions, 'no lease transition');
        assert.equal(mgr.lines.filter((l) => l.msg === 'Successfully acquired lease').length, 1, 'acquired once');

        // SIGTERM under this load: controllers drain, the Lease is released, and the event flush
        // is short and bounded (events still queued behind the client-side limiter are given up).
        mgr.kill('SIGTERM');
        assert.equal(await mgr.exited, 0);
        const seq = mgr.lines.filter((l) => ['Shutting down', 'Released leader lease', 'Event flush cut short; events not written', 'Stopped'].includes(String(l.msg)));
        const msgs = seq.map((l) => l.msg);
        assert.deepEqual(msgs, ['Shutting down', 'Released leader lease', 'Event flush cut short; events not written', 'Stopped'], 'events were still queued at the exit, and were given up');
        const at = (msg: string) => Date.parse(String(seq.find((l) => l.msg === msg)?.time));
        const flushMs = at('Stopped') - at('Released leader lease');
        assert.ok(flushMs < 3000, `from the Lease release to the exit took ${flushMs} ms (the event flush is capped at 1 s)`);
    });
});
