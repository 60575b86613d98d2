import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { ReconcileResult } from './result.ts';
import { isTerminalError } from './result.ts';
import type { OwnWrites } from './own-writes.ts';
import type { WorkQueue } from './workqueue.ts';
import { inScope } from './scope.ts';
import type { Metrics } from '../http/metrics.ts';
import { isConflict, describeError } from '../kube/errors.ts';

/** Per-call context handed to reconcile. */
export interface ReconcileContext {
    /** Logger carrying `controller`, `key` and `reconcileId`. */
    log: Logger;
    /** Aborted when the controller stops (leadership lost or shutdown). */
    signal: AbortSignal;
}

/** A reconcile function: level-based, idempotent, reads the cache, writes with optimistic concurrency. */
export type Reconciler<K = string> = (key: K, ctx: ReconcileContext) => Promise<ReconcileResult | void>;

export interface WorkerPoolOptions<K> {
    /** Controller name, used in logs and metric labels (e.g. `pv-binder`). */
    name: string;
    queue: WorkQueue<K>;
    reconcile: Reconciler<K>;
    /** Maximum number of keys reconciled at once. */
    workers: number;
    log: Logger;
    metrics?: Metrics;
    /**
     * The controller's ledger of its own writes: every reconcile runs inside it, so the API
     * writes it makes are recorded for the queue's update events (see OwnWrites, WorkQueue.addUpdate).
     */
    ownWrites?: OwnWrites;
}

/**
 * Runs reconcile over the keys of a work queue with bounded concurrency (p-queue), applying the
 * reconcile contract (see ReconcileResult): success → forget; error → rate-limited requeue;
 * TerminalError → forget and drop; requeueAfterMs → forget + delayed add. A 409 Conflict is an
 * ordinary retry and is logged at debug level, never as an error. Panics (sync throws) are caught.
 *
 * Resolves when `signal` aborts and every in-flight reconcile has finished (graceful drain).
 * Mirrors controller-runtime `internal/controller` processNextWorkItem / reconcileHandler.
 */
export async function runWorkers<K>(opts: WorkerPoolOptions<K>, signal: AbortSignal): Promise<void> {
    const { queue, name } = opts;
    const pool = new PQueue({ concurrency: Math.max(1, opts.workers) });
    const onAbort = () => queue.shutDown();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) queue.shutDown();
    opts.metrics?.activeWorkers.set({ controller: name }, 0);
    try {
        for (;;) {
            await pool.onSizeLessThan(1);
            if (signal.aborted) break;
            const key = await queue.get();
            if (key === undefined || signal.aborted) {
                if (key !== undefined) queue.done(key);
                break;
            }
            void pool.add(() => processOne(opts, key, signal));
        }
    } finally {
        signal.removeEventListener('abort', onAbort);
        queue.shutDown();
        await pool.onIdle();
    }
}

async function processOne<K>(opts: WorkerPoolOptions<K>, key: K, signal: AbortSignal): Promise<void> {
    const { queue, name, metrics } = opts;
    const reconcileId = randomUUID();
    const log = opts.log.child({ key: String(key), reconcileId });
    const started = performance.now();
    metrics?.activeWorkers.inc({ controller: name });
    let outcome: 'success' | 'error' | 'requeue_after' | 'terminal' = 'success';
    try {
        const res = await inScope({ signal, writes: opts.ownWrites }, () => opts.reconcile(key, { log, signal }));
        queue.forget(key);
        if (res && res.requeueAfterMs !== undefined && res.requeueAfterMs >= 0) {
            outcome = 'requeue_after';
            queue.addAfter(key, res.requeueAfterMs);
        }
    } catch (err) {
        if (isTerminalError(err)) {
            outcome = 'terminal';
            queue.giveUp(key);
            log.warn({ err: describeError(err) }, 'Reconcile failed permanently; not retrying until the object changes');
        } else {
            outcome = 'error';
            if (!signal.aborted) queue.addRateLimited(key);
            if (signal.aborted) {
                // Whatever failed, it failed because the controller is stopping (a cancelled call,
                // a request refused after the abort): expected, not an error.
                log.debug({}, 'Reconcile cancelled: the controller is stopping');
            } else if (isConflict(err)) {
                log.debug({ retries: queue.numRequeues(key) }, 'Conflict writing object; retrying with fresh data');
            } else {
                log.error({ err: describeError(err), retries: queue.numRequeues(key) }, 'Reconcile failed; retrying with backoff');
            }
        }
    } finally {
        queue.done(key);
        metrics?.activeWorkers.dec({ controller: name });
        metrics?.reconcileTotal.inc({ controller: name, result: outcome });
        metrics?.reconcileTime.observe({ controller: name }, (performance.now() - started) / 1000);
    }
}
