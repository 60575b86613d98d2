import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../src/runtime/clock.ts';
import { ItemExponentialBackoff, TokenBucket, defaultControllerRateLimiter } from '../../src/runtime/ratelimit.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';

describe('WorkQueue', () => {
    it('de-duplicates a key that is already waiting', async () => {
        const q = new WorkQueue<string>();
        q.add('a');
        q.add('a');
        q.add('b');
        assert.equal(q.len(), 2);
        assert.equal(await q.get(), 'a');
        assert.equal(await q.get(), 'b');
        assert.equal(q.len(), 0);
    });

    it('never hands a key to two workers at once; a re-add during processing is queued on done()', async () => {
        const q = new WorkQueue<string>();
        q.add('a');
        const k = await q.get();
        assert.equal(k, 'a');
        q.add('a');
        assert.equal(q.len(), 0, 'in-flight key must not be queued again yet');
        q.add('a');
        q.done('a');
        assert.equal(q.len(), 1, 'queued once after done');
        assert.equal(await q.get(), 'a');
        q.done('a');
        assert.equal(q.len(), 0);
    });

    it('wakes a waiting get() when a key arrives, and returns undefined after shutDown', async () => {
        const q = new WorkQueue<string>();
        const p = q.get();
        q.add('x');
        assert.equal(await p, 'x');
        const p2 = q.get();
        q.shutDown();
        assert.equal(await p2, undefined);
        q.add('y');
        assert.equal(q.len(), 0, 'adds after shutdown are ignored');
    });

    it('addAfter delays a key and the earliest pending time wins', async () => {
        const clock = new FakeClock();
        const q = new WorkQueue<string>({ clock });
        q.addAfter('a', 1000);
        q.addAfter('a', 300);
        q.addAfter('a', 5000);
        clock.advance(299);
        assert.equal(q.len(), 0);
        clock.advance(1);
        assert.equal(q.len(), 1);
        assert.equal(clock.pending(), 0, 'later timers were replaced, not stacked');
    });

    describe('our own writes never bypass the backoff (addUpdate)', () => {
        const failedOnce = async (q: WorkQueue<string>, clock: FakeClock, own: boolean) => {
            q.add('a');
            assert.equal(await q.get(), 'a');
            // The reconcile writes to its object (its watch event arrives now), then fails.
            q.addUpdate('a', () => own);
            q.addRateLimited('a'); // 1 s backoff
            q.done('a');
            return clock;
        };
        const queue = (clock: FakeClock) => new WorkQueue<string>({ clock, rateLimiter: new ItemExponentialBackoff<string>(1000, 300_000) });

        it('an update of our own write seen during a failed reconcile waits for the backoff', async () => {
            const clock = new FakeClock();
            const q = queue(clock);
            await failedOnce(q, clock, true);
            assert.equal(q.len(), 0, 'not re-queued by its own write');
            q.addUpdate('a', () => true); // a late event of the same write
            assert.equal(q.len(), 0);
            clock.advance(999);
            assert.equal(q.len(), 0);
            clock.advance(1);
            assert.equal(q.len(), 1, 'the backoff brings it back');
        });

        it('a change somebody else made re-queues a failing key at once', async () => {
            const clock = new FakeClock();
            const q = queue(clock);
            await failedOnce(q, clock, false);
            assert.equal(q.len(), 1, 'an update that is not our own write, seen during the reconcile');
            assert.equal(await q.get(), 'a');
            q.addRateLimited('a');
            q.done('a');
            assert.equal(q.len(), 0);
            q.addUpdate('a', () => false);
            assert.equal(q.len(), 1, 'a user edit after the failure');
        });

        it('after a success, updates re-queue as usual (also our own)', async () => {
            const clock = new FakeClock();
            const q = queue(clock);
            q.add('a');
            await q.get();
            q.addUpdate('a', () => true);
            q.forget('a');
            q.done('a');
            assert.equal(q.len(), 1, 'an update seen during a successful reconcile is honoured');
            await q.get();
            q.forget('a');
            q.done('a');
            q.addUpdate('a', () => true);
            assert.equal(q.len(), 1);
        });

        it('a terminal failure waits for a change somebody else made', async () => {
            const clock = new FakeClock();
            const q = queue(clock);
            q.add('a');
            await q.get();
            q.addUpdate('a', () => true);
            q.giveUp('a');
            q.done('a');
            assert.equal(q.len(), 0);
            clock.advance(3_600_000);
            assert.equal(q.len(), 0, 'no retry timer');
            q.addUpdate('a', () => true);
            assert.equal(q.len(), 0, 'not our own write');
            q.addUpdate('a', () => false);
            assert.equal(q.len(), 1);
        });

        it('judges an update seen during a reconcile only once it ended (its writes are recorded by then)', async () => {
            const clock = new FakeClock();
            const q = queue(clock);
            await failedOnce(q, clock, true);
            clock.advance(1000);
            assert.equal(await q.get(), 'a');
            let recorded = false;
            q.addUpdate('a', () => recorded); // the watch event beat the write's response
            recorded = true;
            q.addRateLimited('a');
            q.done('a');
            assert.equal(q.len(), 0);
        });
    });

    it('addRateLimited backs off exponentially per key and forget resets it', () => {
        const clock = new FakeClock();
        const q = new WorkQueue<string>({ clock, rateLimiter: new ItemExponentialBackoff<string>(5, 1_000_000) });
        q.addRateLimited('a'); // 5 ms
        clock.advance(4);
        assert.equal(q.len(), 0);
        clock.advance(1);
        assert.equal(q.len(), 1);
        assert.equal(q.numRequeues('a'), 1);
        q.forget('a');
        assert.equal(q.numRequeues('a'), 0);
    });

    it('shutDown cancels delayed adds', () => {
        const clock = new FakeClock();
        const q = new WorkQueue<string>({ clock });
        q.addAfter('a', 10);
        q.shutDown();
        clock.advance(100);
        assert.equal(q.len(), 0);
    });
});

describe('ItemExponentialBackoff', () => {
    it('doubles from 5 ms and caps at 1000 s (client-go defaults)', () => {
        const b = new ItemExponentialBackoff<string>();
        const got = Array.from({ length: 5 }, () => b.when('k'));
        assert.deepEqual(got, [5, 10, 20, 40, 80]);
        for (let i = 0; i < 40; i++) b.when('k');
        assert.equal(b.when('k'), 1_000_000);
        assert.equal(b.when('other'), 5, 'keys are independent');
    });
});

describe('TokenBucket', () => {
    it('allows a burst, then spaces requests at 1/qps', () => {
        const clock = new FakeClock();
        const tb = new TokenBucket(10, 3, clock);
        assert.deepEqual([tb.reserve(), tb.reserve(), tb.reserve()], [0, 0, 0]);
        assert.equal(tb.reserve(), 100);
        assert.equal(tb.reserve(), 200);
        clock.advance(1000);
        // 10 tokens refilled minus 2 owed = 8, capped at burst 3
        assert.equal(tb.reserve(), 0);
    });

    it('refills to at most burst', () => {
        const clock = new FakeClock();
        const tb = new TokenBucket(100, 2, clock);
        tb.reserve();
        tb.reserve();
        clock.advance(60_000);
        assert.deepEqual([tb.reserve(), tb.reserve()], [0, 0]);
        assert.ok(tb.reserve() > 0);
    });

    it('tryTake takes a token only when one is there, without going into debt (client-go TryAccept)', () => {
        const clock = new FakeClock();
        const b = new TokenBucket(1 / 300, 2, clock);
        assert.equal(b.tryTake(), true);
        assert.equal(b.tryTake(), true);
        for (let i = 0; i < 10; i++) assert.equal(b.tryTake(), false);
        clock.advance(300_000);
        assert.equal(b.tryTake(), true, 'refused tries left no debt: one token after one refill period');
        assert.equal(b.tryTake(), false);
    });

    it('qps 0 means unlimited', () => {
        const tb = new TokenBucket(0, 1);
        for (let i = 0; i < 1000; i++) assert.equal(tb.reserve(), 0);
    });

    it('wait() resolves after the reserved delay', async () => {
        const clock = new FakeClock();
        const tb = new TokenBucket(1, 1, clock);
        await tb.wait();
        let done = false;
        const p = tb.wait().then(() => (done = true));
        await Promise.resolve();
        assert.equal(done, false);
        clock.advance(1000);
        await p;
        assert.equal(done, true);
    });
});

describe('defaultControllerRateLimiter', () => {
    it('is the max of per-key backoff and the 10 qps / 100 burst bucket', () => {
        const clock = new FakeClock();
        const rl = defaultControllerRateLimiter<string>(clock);
        // 100 distinct keys drain the bucket; each gets the per-key 5 ms
        for (let i = 0; i < 100; i++) assert.equal(rl.when(`k${i}`), 5);
        // the 101st waits for the bucket: 100 ms at 10 qps
        assert.equal(rl.when('k100'), 100);
    });
});
