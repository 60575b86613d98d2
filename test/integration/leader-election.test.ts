// Leader election with real processes against a real API server: exactly one leads, kill -9
// of the leader hands over within the lease duration (plus one retry), SIGTERM releases at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagerProcess, eventually, managerArgs, sleep, useCluster } from '../support/env.ts';
import type { TestCluster } from '../support/env.ts';

const LEASE_MS = 4000;
const RETRY_MS = 500;

describe('leader election', () => {
    let env: TestCluster;
    before(async () => {
        env = await useCluster();
    });
    after(() => env.stop());

    const holder = async (name: string) =>
        (await env.clients.coordination.readNamespacedLease({ name, namespace: 'kube-system' })).spec?.holderIdentity ?? '';

    const leaders = (ps: ManagerProcess[]) => ps.filter((p) => p.lines.filter((l) => l.msg === 'Successfully acquired lease').length > 0);

    it('elects exactly one of two processes; kill -9 of the leader hands over after the lease expires', async () => {
        const lease = 'vcm-le-kill';
        const ps = [0, 1].map(() => new ManagerProcess(managerArgs(env.cp.kubeconfig, [`--leader-elect-resource-name=${lease}`])));
        const ids = await Promise.all(ps.map((p) => p.identity()));
        const first = await eventually('a holder', async () => {
            const h = await holder(lease);
            return ids.includes(h) ? h : '';
        });
        await sleep(3 * RETRY_MS + 500);
        assert.equal(leaders(ps).length, 1, 'exactly one process acquired the lease');
        assert.equal(await holder(lease), first, 'the leader keeps renewing');
        const leader = ps[ids.indexOf(first)] as ManagerProcess;
        const standby = ps[1 - ids.indexOf(first)] as ManagerProcess;
        assert.ok(standby.find('Attempting to acquire leader lease'), 'the standby campaigns');
        assert.ok(!standby.find('Caches synced; starting controllers'), 'the standby runs no controllers');

        const killedAt = Date.now();
        leader.kill('SIGKILL');
        await leader.exited;
        await standby.waitForLog('Successfully acquired lease', LEASE_MS + 4 * RETRY_MS + 1000);
        const took = Date.now() - killedAt;
        assert.equal(await holder(lease), ids[1 - ids.indexOf(first)]);
        assert.ok(took >= LEASE_MS - RETRY_MS, `took over after ${took} ms: must wait for the lease to expire`);
        assert.ok(took <= LEASE_MS + 3 * RETRY_MS, `took over after ${took} ms: must be within the lease duration plus retries`);
        await standby.waitForLog('Caches synced; starting controllers', 5000);
        standby.kill('SIGTERM');
        assert.equal(await standby.exited, 0);
    });

    it('SIGTERM releases the lease at once and the standby takes over without waiting for expiry', async () => {
        const lease = 'vcm-le-term';
        const ps = [0, 1].map(() => new ManagerProcess(managerArgs(env.cp.kubeconfig, [`--leader-elect-resource-name=${lease}`, '--leader-elect-lease-duration=15s', '--leader-elect-renew-deadline=10s'])));
        const ids = await Promise.all(ps.map((p) => p.identity()));
        const first = await eventually('a holder', async () => {
            const h = await holder(lease);
            return ids.includes(h) ? h : '';
        });
        const leader = ps[ids.indexOf(first)] as ManagerProcess;
        const standby = ps[1 - ids.indexOf(first)] as ManagerProcess;
        await sleep(1000);
        const t0 = Date.now();
        leader.kill('SIGTERM');
        assert.equal(await leader.exited, 0, 'graceful exit code 0');
        assert.ok(leader.find('Released leader lease'));
        await standby.waitForLog('Successfully acquired lease', 5000);
        const took = Date.now() - t0;
        assert.ok(took < 5000, `standby took over after ${took} ms, far less than the 15 s lease`);
        standby.kill('SIGTERM');
        await standby.exited;
        assert.equal(await holder(lease), '', 'the last process released the lease too');
    });

    it('serves /healthz, /readyz and /metrics with leader_election_master_status', async () => {
        const lease = 'vcm-le-http';
        const p = new ManagerProcess(managerArgs(env.cp.kubeconfig, [`--leader-elect-resource-name=${lease}`]));
        const serving = await p.waitForLog('Serving HTTP endpoints');
        await p.waitForLog('Caches synced; starting controllers');
        const base = `http://127.0.0.1:${serving.port}`;
        assert.equal(await (await fetch(`${base}/healthz`)).text(), 'ok');
        const ready = await eventually('readyz ok', async () => ((await fetch(`${base}/readyz`)).status === 200 ? 'ok' : ''));
        assert.equal(ready, 'ok');
        const metrics = await (await fetch(`${base}/metrics`)).text();
        assert.match(metrics, new RegExp(`leader_election_master_status\\{name="${lease}"\\} 1`));
        assert.match(metrics, /rest_client_requests_total\{code="20[01]",method="(GET|POST|PUT)"/);
        p.kill('SIGTERM');
        await p.exited;
    });
});
