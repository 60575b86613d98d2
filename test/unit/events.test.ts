// The event recorder's bookkeeping without an API server: bounded retries that end in a counted
// drop, and a shutdown flush that never waits longer than its cap.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import type { CoreV1Api, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { Metrics } from '../../src/http/metrics.ts';
import { makeClients } from '../../src/kube/client.ts';
import { EventBroadcaster } from '../../src/kube/events.ts';
import { createLogger } from '../../src/log.ts';
import { FakeClock } from '../../src/runtime/clock.ts';

const claim: V1PersistentVolumeClaim = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', metadata: { name: 'c', namespace: 'ns', uid: 'u1' } };
const dropped = async (m: Metrics, reason: string) => (await m.eventsDropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

describe('EventBroadcaster without an API server', () => {
    it('retries a write a bounded number of times, then drops it and counts it', async () => {
        // Nothing listens on port 1: every try fails without an answer.
        const kc = new KubeConfig();
        kc.loadFromOptions({
            clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
            users: [{ name: 'u', token: 'x' }],
            contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
            currentContext: 'c',
        });
        const metrics = new Metrics(false);
        const lines: string[] = [];
        const b = new EventBroadcaster({ api: makeClients(kc, { qps: 0, burst: 1 }).core, log: createLogger('debug', { write: (l: string) => void lines.push(l) }), metrics, retry: { tries: 3, baseMs: 10, maxMs: 20 } });
        b.recorder('test').event(claim, 'Warning', 'Failed', 'nobody listens');
        assert.equal(await b.flush(), 0);
        assert.equal(lines.filter((l) => l.includes('Could not write event; retrying')).length, 2, 'two retries after the first try');
        assert.equal(lines.filter((l) => l.includes('Could not write event; dropped')).length, 1);
        assert.equal(await dropped(metrics, 'write_error'), 1);
    });

    it('flush(cap) returns after the cap with the number of events not written', async () => {
        const clock = new FakeClock();
        const never = { createNamespacedEvent: () => new Promise(() => undefined), patchNamespacedEvent: () => new Promise(() => undefined) } as unknown as CoreV1Api;
        const b = new EventBroadcaster({ api: never, log: createLogger('silent'), clock });
        const rec = b.recorder('test');
        rec.event(claim, 'Warning', 'Failed', 'one');
        rec.event(claim, 'Warning', 'Failed', 'two');
        let result: number | undefined;
        const p = b.flush(1000).then((n) => (result = n));
        await new Promise((r) => setImmediate(r));
        clock.advance(999);
        await new Promise((r) => setImmediate(r));
        assert.equal(result, undefined, 'still waiting before the cap');
        clock.advance(1);
        await p;
        assert.equal(result, 2);
    });
});
