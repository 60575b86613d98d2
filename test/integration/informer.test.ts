// Shared informers against a real API server: list+watch, one object shape from list and watch,
// old/new on update, indexes, restart after the API server drops every watch, and the worker
// pool reconciling keys fed by the informer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { createLogger } from '../../src/log.ts';
import { Metrics } from '../../src/http/metrics.ts';
import { InformerFactory } from '../../src/kube/informer.ts';
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { runWorkers } from '../../src/runtime/controller.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';
import { TerminalError } from '../../src/runtime/result.ts';
import { eventually, useCluster } from '../support/env.ts';
import type { TestCluster } from '../support/env.ts';

const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

function pv(name: string, labels: Record<string, string> = {}, storageClassName = 'slow'): V1PersistentVolume {
    return {
        metadata: { name, labels },
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: `/tmp/${name}` }, storageClassName },
    };
}

describe('SharedInformer', () => {
    let env: TestCluster;
    let factory: InformerFactory;
    const metrics = new Metrics(false);
    before(async () => {
        env = await useCluster();
    });
    after(async () => {
        factory?.stop();
        await env.stop();
    });

    it('lists existing objects, then watches; list and watch objects have the same shape', async () => {
        await env.clients.core.createPersistentVolume({ body: pv('pre-existing') });
        factory = new InformerFactory(env.clients, { log, metrics, backoffBaseMs: 200, backoffMaxMs: 1000 });
        const pvs = factory.for(RESOURCES.persistentVolumes);
        pvs.addIndexer('class', (o) => [o.spec?.storageClassName ?? '']);
        const updates: [string, string][] = [];
        pvs.addEventHandler({
            onUpdate: (o, n) => updates.push([o.metadata?.labels?.v ?? '', n.metadata?.labels?.v ?? '']),
        });
        factory.start();
        await factory.waitForSync();
        assert.ok(factory.hasSynced());
        const listed = pvs.get('pre-existing');
        assert.ok(listed, 'listed object is cached');
        assert.ok(listed.metadata?.creationTimestamp instanceof Date, 'list objects carry Date timestamps');
        assert.equal(listed.kind, 'PersistentVolume');

        await env.clients.core.createPersistentVolume({ body: pv('watched', { v: '1' }, 'fast') });
        const watched = await eventually('watched PV in cache', () => pvs.get('watched'));
        assert.ok(watched.metadata?.creationTimestamp instanceof Date, 'watch objects are normalized to Date timestamps');
        assert.equal(watched.kind, 'PersistentVolume');
        assert.equal(watched.apiVersion, 'v1');
        assert.deepEqual(pvs.byIndex('class', 'fast').map(keyOf), ['watched']);

        await env.clients.core.patchPersistentVolume({ name: 'watched', body: [{ op: 'replace', path: '/metadata/labels/v', value: '2' }] });
        await eventually('update seen', () => updates.find(([o, n]) => o === '1' && n === '2'));

        await env.clients.core.deletePersistentVolume({ name: 'watched' });
        // No pv-protection controller runs here: drop the finalizer the admission plugin added.
        await env.clients.core.patchPersistentVolume({ name: 'watched', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
        await eventually('delete seen', () => !pvs.get('watched'));
        assert.deepEqual(pvs.byIndex('class', 'fast'), [], 'index entry removed on delete');
    });

    it('restarts after the API server drops every watch and sees changes made after it came back', async () => {
        const pvs = factory.for(RESOURCES.persistentVolumes);
        const seen = new Set<string>();
        const resynced = new Set<string>();
        pvs.addEventHandler({
            onAdd: (o) => seen.add(keyOf(o)),
            onUpdate: (o, n) => {
                if (o === n) resynced.add(keyOf(n));
            },
        });
        const restartsBefore = (await metrics.informerRestarts.get()).values.reduce((a, v) => a + v.value, 0);
        await env.cp.stopApiServer();
        // Give the informer time to notice and fail at least once against the dead server.
        await new Promise((r) => setTimeout(r, 1500));
        await env.cp.startApiServer();
        await env.clients.core.createPersistentVolume({ body: pv('after-restart') });
        await eventually('PV created after the restart reaches the cache', () => seen.has('after-restart'), 60_000);
        const restartsAfter = (await metrics.informerRestarts.get()).values.reduce((a, v) => a + v.value, 0);
        assert.ok(restartsAfter > restartsBefore, 'the informer restarted');
        await eventually('handlers were resynced after the restart', () => resynced.has('pre-existing'), 30_000);
    });

    it('feeds a worker pool: every key is reconciled, errors are retried, terminal errors are not', async () => {
        const pvs = factory.for(RESOURCES.persistentVolumes);
        const queue = new WorkQueue<string>({ metrics: metrics.queueMetrics('test') });
        const attempts = new Map<string, number>();
        let concurrent = 0;
        let maxConcurrent = 0;
        const unregister = pvs.addEventHandler({ onAdd: (o) => queue.add(keyOf(o)), onUpdate: (_o, n) => queue.add(keyOf(n)) });
        const ctl = new AbortController();
        const running = runWorkers(
            {
                name: 'test',
                queue,
                workers: 4,
                log,
                metrics,
                reconcile: async (key) => {
                    concurrent++;
                    maxConcurrent = Math.max(maxConcurrent, concurrent);
                    await new Promise((r) => setTimeout(r, 20));
                    concurrent--;
                    const n = (attempts.get(key) ?? 0) + 1;
                    attempts.set(key, n);
                    if (key.startsWith('flaky') && n < 3) throw new Error('transient');
                    if (key.startsWith('bad')) throw new TerminalError('bad input');
                },
            },
            ctl.signal,
        );
        for (let i = 0; i < 10; i++) await env.clients.core.createPersistentVolume({ body: pv(`pool-${i}`) });
        await env.clients.core.createPersistentVolume({ body: pv('flaky-1') });
        await env.clients.core.createPersistentVolume({ body: pv('bad-1') });
        await eventually('all keys reconciled', () => [...Array(10).keys()].every((i) => attempts.get(`pool-${i}`)) && attempts.get('flaky-1') === 3);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(attempts.get('bad-1'), 1, 'terminal error is not retried');
        assert.ok(maxConcurrent > 1 && maxConcurrent <= 4, `bounded parallelism (max ${maxConcurrent})`);
        ctl.abort();
        await running;
        unregister();
        assert.equal(queue.inFlight(), 0, 'drained on shutdown');
    });
});
