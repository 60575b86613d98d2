// The event recorder against a real API server: Events are created with upstream fields,
// identical repeats patch count, and many distinct messages aggregate.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CoreV1Event, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { createLogger } from '../../src/log.ts';
import { AGGREGATE_PREFIX, EventBroadcaster } from '../../src/kube/events.ts';
import { FakeClock } from '../../src/runtime/clock.ts';
import { eventually, useCluster } from '../support/env.ts';
import type { TestCluster } from '../support/env.ts';

describe('EventBroadcaster', () => {
    let env: TestCluster;
    let claim: V1PersistentVolumeClaim;
    before(async () => {
        env = await useCluster();
        await env.clients.core.createNamespace({ body: { metadata: { name: 'ev' } } });
        claim = await env.clients.core.createNamespacedPersistentVolumeClaim({
            namespace: 'ev',
            body: { metadata: { name: 'c1' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
        });
        claim.kind = 'PersistentVolumeClaim';
        claim.apiVersion = 'v1';
    });
    after(() => env.stop());

    const eventsFor = async (name: string): Promise<CoreV1Event[]> =>
        (await env.clients.core.listNamespacedEvent({ namespace: 'ev', fieldSelector: `involvedObject.name=${name}` })).items;

    it('creates an Event with the upstream fields and de-duplicates repeats into count', async () => {
        const b = new EventBroadcaster({ api: env.clients.core, log: createLogger('silent') });
        const rec = b.recorder('persistentvolume-controller');
        rec.event(claim, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
        await b.flush();
        rec.event(claim, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
        rec.event(claim, 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
        await b.flush();
        const evs = await eventually('one event with count 3', async () => {
            const e = await eventsFor('c1');
            return e.length === 1 && e[0]?.count === 3 ? e : undefined;
        });
        const e = evs[0] as CoreV1Event;
        assert.equal(e.reason, 'FailedBinding');
        assert.equal(e.type, 'Normal');
        assert.equal(e.source?.component, 'persistentvolume-controller');
        assert.equal(e.involvedObject.kind, 'PersistentVolumeClaim');
        assert.equal(e.involvedObject.uid, claim.metadata?.uid);
        assert.match(e.metadata?.name ?? '', /^c1\.[0-9a-f]+$/);
    });

    it('keeps the count true past the spam filter: held-back repeats are added to the next write', async () => {
        const clock = new FakeClock();
        const b = new EventBroadcaster({ api: env.clients.core, log: createLogger('silent'), clock });
        const rec = b.recorder('persistentvolume-controller');
        const other = { ...claim, metadata: { ...claim.metadata, name: 'c3', uid: 'uid-c3' } };
        // 25 pass the filter (its burst); 5 more are held back without an API write.
        for (let i = 0; i < 30; i++) rec.event(other, 'Warning', 'ProvisioningFailed', 'the same failure');
        await b.flush();
        assert.equal((await eventsFor('c3'))[0]?.count, 25);
        // Five minutes later the filter lets one through again: its write carries the held-back ones.
        clock.advance(300_000);
        rec.event(other, 'Warning', 'ProvisioningFailed', 'the same failure');
        await b.flush();
        const evs = await eventsFor('c3');
        assert.equal(evs.length, 1);
        assert.equal(evs[0]?.count, 31, 'every occurrence counted');
    });

    it('aggregates more than 10 distinct messages for the same reason', async () => {
        const b = new EventBroadcaster({ api: env.clients.core, log: createLogger('silent') });
        const rec = b.recorder('persistentvolume-controller');
        const other = { ...claim, metadata: { ...claim.metadata, name: 'c2', uid: 'uid-c2' } };
        for (let i = 0; i < 14; i++) rec.event(other, 'Warning', 'ProvisioningFailed', `attempt ${i} failed`);
        await b.flush();
        const evs = await eventsFor('c2');
        const combined = evs.filter((e) => e.message?.startsWith(AGGREGATE_PREFIX));
        assert.equal(evs.length - combined.length, 9, JSON.stringify(evs.map((e) => [e.message, e.count])) + 'the first 9 distinct messages are written as they are');
        assert.equal(combined.length, 1, 'the rest collapse into one aggregated event');
        assert.equal(combined[0]?.count, 5);
    });

    // Last: it stops and restarts the API server.
    it('retries a write while the API server is down, and writes it once it is back', async () => {
        const lines: string[] = [];
        const log = createLogger('debug', { write: (l: string) => void lines.push(l) });
        const b = new EventBroadcaster({ api: env.clients.core, log, retry: { tries: 12, baseMs: 200, maxMs: 2000 } });
        const rec = b.recorder('persistentvolume-controller');
        await env.cp.stopApiServer();
        rec.event(claim, 'Warning', 'ProvisioningFailed', 'written after the outage');
        await eventually('a failed try', () => lines.some((l) => l.includes('Could not write event; retrying')), 10_000);
        await env.cp.startApiServer();
        await b.flush();
        const evs = (await eventsFor('c1')).filter((e) => e.message === 'written after the outage');
        assert.equal(evs.length, 1, lines.filter((l) => l.includes('event')).join('\n'));
        assert.equal(evs[0]?.count, 1);
    });
});
