// A CreateVolume that fails with a final error is retried with backoff, never in a hot loop: the
// provisioner's own writes (the in-flight finalizer it adds and removes) must not re-queue the
// claim ahead of its backoff. API writes per claim are counted in the API server's audit log.
// Bad input (a secret name templated from a 200 KB annotation) is refused before any request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagerProcess, auditEntries, eventually, managerArgs, sleep, useCluster } from '../../support/env.ts';
import type { TestCluster } from '../../support/env.ts';
import { Volumes, pvcObject, stopManager } from '../../support/volumes.ts';
import { DRIVER, storageClass as sc, startDriver } from './support.ts';
import type { DriverProcess } from './support.ts';

const WINDOW_MS = 60_000;

describe('provisioner: final CSI errors are retried with backoff (1 s → 5 min), not in a hot loop', () => {
    let env: TestCluster;
    let drv: DriverProcess;
    let mgr: ManagerProcess;
    let v: Volumes;
    let metricsUrl: string;
    before(async () => {
        env = await useCluster({ audit: true });
        v = new Volumes(env.clients);
        drv = await startDriver(['--capacity=1Gi']);
        await env.clients.storage.createStorageClass({ body: sc('infeasible', { parameters: { bogus: 'x' } }) });
        await env.clients.storage.createStorageClass({ body: sc('full') });
        await env.clients.storage.createStorageClass({
            body: sc('team-secret', {
                parameters: {
                    'csi.storage.k8s.io/provisioner-secret-name': "${pvc.annotations['team']}-creds",
                    'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.namespace}',
                },
            }),
        });
        // The provisioner alone (no PV binder, whose own events would blur the count): the claims
        // carry the storage-provisioner annotation the binder would have set. Default retry flags.
        mgr = new ManagerProcess(managerArgs(env.cp.kubeconfig, ['--controllers=provisioner', drv.flag, '--leader-elect=false']));
        metricsUrl = `http://127.0.0.1:${(await mgr.waitForLog('Serving HTTP endpoints')).port}/metrics`;
        await mgr.waitForLog('Caches synced; starting controllers');
    });
    after(async () => {
        if (mgr) await stopManager(mgr);
        await drv?.stop();
        await env?.stop();
    });

    const claim = (name: string, cls: string, size: string, annotations: Record<string, string> = {}) => {
        const c = pvcObject(name, { cls, size });
        c.metadata = { ...c.metadata, annotations: { 'volume.kubernetes.io/storage-provisioner': DRIVER, ...annotations } };
        return env.clients.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: c });
    };
    // The process's writes (the test's own clients send the same user agent, but never patch a
    // claim or write an event).
    const writes = (name: string) => {
        const ours = auditEntries(env.cp).filter((e) => e.userAgent?.startsWith('volume-controller-manager') && ['create', 'patch', 'update'].includes(e.verb));
        return {
            claim: ours.filter((e) => e.objectRef?.resource === 'persistentvolumeclaims' && e.objectRef.name === name && e.verb !== 'create').length,
            events: ours.filter((e) => e.objectRef?.resource === 'events' && e.objectRef.name?.startsWith(`${name}.`)).length,
        };
    };
    const failures = async (name: string) => (await v.events('PersistentVolumeClaim', name)).find((e) => e.reason === 'ProvisioningFailed')?.count ?? 0;
    const failedMetric = async (cls: string) => {
        const m = new RegExp(`^controller_persistentvolumeclaim_provision_failed_total\\{class="${cls}",source=""\\} (\\d+)`, 'm').exec(await (await fetch(metricsUrl)).text());
        return Number(m?.[1] ?? 0);
    };

    it(`bounds API writes over ${WINDOW_MS / 1000} s for InvalidArgument (tried once, slow retry) and ResourceExhausted (exponential backoff)`, async () => {
        await claim('infeasible', 'infeasible', '1Gi');
        await claim('full', 'full', '10Gi');
        await v.waitEvent('PersistentVolumeClaim', 'infeasible', 'ProvisioningFailed');
        await v.waitEvent('PersistentVolumeClaim', 'full', 'ProvisioningFailed');
        await sleep(WINDOW_MS);

        const inf = { failures: await failures('infeasible'), ...writes('infeasible') };
        const full = { failures: await failures('full'), ...writes('full') };
        // The in-flight finalizer is added and removed once per try; one Provisioning and one
        // ProvisioningFailed event write per try.
        assert.equal(inf.failures, 1, `infeasible: one try, then retries delayed by --retry-interval-max: ${JSON.stringify(inf)}`);
        assert.ok(inf.claim <= 2 && inf.events <= 2, `infeasible: ${JSON.stringify(inf)}`);
        // 1 s, 2 s, 4 s, … backoff: tries at 0, 1, 3, 7, 15, 31 s (and 63 s) in the window.
        assert.ok(full.failures >= 4 && full.failures <= 7, `ResourceExhausted: tries follow the backoff: ${JSON.stringify(full)}`);
        assert.ok(full.claim <= 2 * full.failures && full.events <= 2 * full.failures, `ResourceExhausted: ${JSON.stringify(full)}`);
        // The event count stays true: one count per failed CreateVolume.
        assert.equal(full.failures, await failedMetric('full'), 'ProvisioningFailed count = failed CreateVolume calls');
        assert.equal(inf.failures, await failedMetric('infeasible'));
        assert.equal((await v.pvc('full')).status?.phase, 'Pending');
    });

    it('a user edit of a claim that waits out an infeasible error is acted on at once', async () => {
        await env.clients.core.patchNamespacedPersistentVolumeClaim({
            name: 'infeasible',
            namespace: 'default',
            body: [{ op: 'add', path: '/metadata/annotations/example.com~1edited', value: 'yes' }],
        });
        await eventually('a second try after the edit (not after 5 min)', async () => (await failures('infeasible')) === 2, 20_000, 250);
    });

    it('a secret name templated from a 200 KB annotation: a clear ProvisioningFailed event, no GET, no huge log line', async () => {
        await claim('huge', 'team-secret', '1Gi', { team: 'a'.repeat(200 * 1024) });
        const ev = await v.waitEvent('PersistentVolumeClaim', 'huge', 'ProvisioningFailed');
        assert.match(ev.message ?? '', /^"\$\{pvc\.annotations\['team'\]\}-creds" resolved to "a{64}"… \(204806 characters\) which is not a valid secret name: must be no more than 253 characters$/);
        await mgr.waitForLog('Reconcile failed; retrying with backoff', 10_000, { key: 'default/huge' });
        assert.deepEqual(auditEntries(env.cp).filter((e) => e.objectRef?.resource === 'secrets'), [], 'no request for the secret');
        const longest = Math.max(...mgr.raw.map((l) => l.length));
        assert.ok(longest < 4096, `no oversized log line (longest ${longest} characters)`);
        assert.ok(!(await v.pvc('huge')).metadata?.finalizers?.includes('volume-controller-manager.io/provisioning-in-progress'), 'nothing in flight: CreateVolume never ran');
    });
});
