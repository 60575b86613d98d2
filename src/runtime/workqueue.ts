import type { Clock } from './clock.ts';
import { realClock } from './clock.ts';
import type { RateLimiter } from './ratelimit.ts';
import { defaultControllerRateLimiter } from './ratelimit.ts';

/** Hooks the queue calls so metrics can be kept outside it (see runtime/metrics.ts). */
export interface QueueMetrics {
    add?(): void;
    get?(waitedMs: number): void;
    done?(workedMs: number): void;
    retry?(): void;
    depth?(n: number): void;
    /** An update that reflected only our own write was not allowed to cut a backoff short. */
    suppressed?(): void;
}

/**
 * A rate-limited, delaying work queue of keys with client-go `workqueue` semantics:
 *
 * - keys, not objects; a key waiting in the queue is stored once (de-duplicated);
 * - a key is never handed to two workers at once: a key added while it is being processed is
 *   queued again only when `done(key)` is called;
 * - `addAfter` delays a key (the earliest pending time wins), `addRateLimited` delays it by the
 *   rate limiter's answer (default: max of per-key 5 ms → 1000 s backoff and a 10 qps / 100
 *   burst bucket), `forget` resets its backoff;
 * - `shutDown()` wakes every waiting `get()` with `undefined`; keys added afterwards are ignored.
 *
 * Beyond client-go: **our own writes never bypass the backoff.** A key is *failing* from a
 * failed reconcile (`addRateLimited`, or `giveUp` for a terminal error) until a reconcile of it
 * succeeds (`forget`). `addUpdate(key, ownWriteOnly)` is how informer update events enqueue: while
 * the key is failing, an update that only reflects this controller's own write (status,
 * finalizers; see OwnWrites) is dropped, and the backoff timer brings the key back (a terminal
 * key waits for a real change). Any other update (a user's edit, another controller's write)
 * re-queues at once. An update arriving while the key is being reconciled is judged when that
 * reconcile ends: dropped if it failed, honoured if it succeeded. Without this, a reconcile that
 * writes to its own object and then fails (a finalizer removed after a final CSI error) is
 * re-queued by its own write's event immediately, a hot loop that bypasses the backoff.
 *
 * Mirrors k8s.io/client-go/util/workqueue (queue.go, delaying_queue.go, rate_limiting_queue.go).
 */
export class WorkQueue<K = string> {
    private queue: K[] = [];
    private head = 0;
    /** Keys whose priority is above 0, handed out before the others (FIFO among themselves). */
    private urgent: K[] = [];
    private dirty = new Set<K>();
    private processing = new Set<K>();
    private addedAt = new Map<K, number>();
    private startedAt = new Map<K, number>();
    private waiting = new Map<K, { at: number; cancel: () => void }>();
    /** Keys whose last reconcile failed (error or terminal) and has not succeeded since. */
    private failing = new Set<K>();
    /** Updates seen while a key was being processed, judged when it is done. */
    private updatesWhileProcessing = new Map<K, (() => boolean)[]>();
    private getters: ((k: K | undefined) => void)[] = [];
    private shuttingDown = false;
    private readonly limiter: RateLimiter<K>;
    private readonly clock: Clock;
    private readonly metrics: QueueMetrics;
    private readonly priority: ((key: K) => number) | undefined;

    /**
     * @param opts.priority a key whose priority is above 0 when it becomes ready is handed out
     *   before every key of priority 0 (e.g. detaches before attaches)
     */
    constructor(opts: { rateLimiter?: RateLimiter<K>; clock?: Clock; metrics?: QueueMetrics; priority?: (key: K) => number } = {}) {
        this.clock = opts.clock ?? realClock;
        this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>(this.clock);
        this.metrics = opts.metrics ?? {};
        this.priority = opts.priority;
    }

    /** Number of keys ready to be handed out (not counting delayed or in-flight keys). */
    len(): number {
        return this.urgent.length + this.queue.length - this.head;
    }

    /** Number of keys currently being processed by a worker. */
    inFlight(): number {
        return this.processing.size;
    }

    /** True once shutDown() was called. */
    isShuttingDown(): boolean {
        return this.shuttingDown;
    }

    /** Marks key as needing processing. No-op if already queued or after shutdown. */
    add(key: K): void {
        if (this.shuttingDown || this.dirty.has(key)) return;
        this.metrics.add?.();
        this.dirty.add(key);
        this.addedAt.set(key, this.clock.now());
        if (this.processing.has(key)) return;
        this.push(key);
    }

    private push(key: K): void {
        const g = this.getters.shift();
        if (g) {
            this.dirty.delete(key);
            this.begin(key);
            g(key);
            return;
        }
        if (this.priority && this.priority(key) > 0) this.urgent.push(key);
        else this.queue.push(key);
        this.metrics.depth?.(this.len());
    }

    private begin(key: K): void {
        this.processing.add(key);
        const now = this.clock.now();
        this.metrics.get?.(now - (this.addedAt.get(key) ?? now));
        this.addedAt.delete(key);
        this.startedAt.set(key, now);
    }

    /**
     * Resolves with the next key, marking it as being processed; the caller must call
     * done(key) afterwards. Resolves undefined once the queue is shut down and empty.
     */
    get(): Promise<K | undefined> {
        if (this.urgent.length > 0) {
            const key = this.urgent.shift() as K;
            this.dirty.delete(key);
            this.begin(key);
            this.metrics.depth?.(this.len());
            return Promise.resolve(key);
        }
        if (this.len() > 0) {
            const key = this.queue[this.head++] as K;
            if (this.head > 1024 && this.head * 2 > this.queue.length) {
                this.queue = this.queue.slice(this.head);
                this.head = 0;
            }
            this.dirty.delete(key);
            this.begin(key);
            this.metrics.depth?.(this.len());
            return Promise.resolve(key);
        }
        if (this.shuttingDown) return Promise.resolve(undefined);
        return new Promise((resolve) => this.getters.push(resolve));
    }

    /**
     * Adds key for an update event of its object (see the class comment). While the key is
     * failing, an update for which `ownWriteOnly()` is true (it only reflects this controller's
     * own write) does not re-queue it ahead of its backoff. `ownWriteOnly` is called later when
     * the key is being processed: once that reconcile has finished, every write it made is
     * recorded, even if its watch event arrived before the write's response.
     */
    addUpdate(key: K, ownWriteOnly: () => boolean): void {
        if (this.shuttingDown || this.dirty.has(key)) return;
        if (this.processing.has(key)) {
            const list = this.updatesWhileProcessing.get(key);
            if (list) list.push(ownWriteOnly);
            else this.updatesWhileProcessing.set(key, [ownWriteOnly]);
            return;
        }
        if (this.failing.has(key) && ownWriteOnly()) {
            this.metrics.suppressed?.();
            return;
        }
        this.add(key);
    }

    /** True while key's last reconcile failed and none has succeeded since. */
    isFailing(key: K): boolean {
        return this.failing.has(key);
    }

    /** Marks the end of processing of key; re-queues it if it was added meanwhile. */
    done(key: K): void {
        const started = this.startedAt.get(key);
        if (started !== undefined) this.metrics.done?.(this.clock.now() - started);
        this.startedAt.delete(key);
        this.processing.delete(key);
        const updates = this.updatesWhileProcessing.get(key);
        this.updatesWhileProcessing.delete(key);
        if (this.dirty.has(key)) {
            this.push(key);
            return;
        }
        if (!updates) return;
        if (!this.failing.has(key) || updates.some((ownWriteOnly) => !ownWriteOnly())) this.add(key);
        else this.metrics.suppressed?.();
    }

    /** Adds key after ms milliseconds; an earlier pending addAfter for the same key wins. */
    addAfter(key: K, ms: number): void {
        if (this.shuttingDown) return;
        if (ms <= 0) {
            this.add(key);
            return;
        }
        const at = this.clock.now() + ms;
        const existing = this.waiting.get(key);
        if (existing && existing.at <= at) return;
        existing?.cancel();
        const cancel = this.clock.setTimer(() => {
            this.waiting.delete(key);
            this.add(key);
        }, ms);
        this.waiting.set(key, { at, cancel });
    }

    /** Adds key after the rate limiter's delay for it (a failure retry); the key is failing until forget(). */
    addRateLimited(key: K): void {
        this.metrics.retry?.();
        this.failing.add(key);
        this.addAfter(key, this.limiter.when(key));
    }

    /**
     * A terminal failure: resets key's backoff without a retry, and keeps it failing, so only a
     * change somebody else made (not our own write) brings it back.
     */
    giveUp(key: K): void {
        this.limiter.forget(key);
        this.failing.add(key);
    }

    /** Resets the rate limiter's history of key and ends its failing state (call after a success). */
    forget(key: K): void {
        this.limiter.forget(key);
        this.failing.delete(key);
    }

    /** How many times key has been retried since its last forget(). */
    numRequeues(key: K): number {
        return this.limiter.numRequeues(key);
    }

    /** Stops accepting keys, cancels delayed adds, and wakes idle getters with undefined. */
    shutDown(): void {
        this.shuttingDown = true;
        for (const w of this.waiting.values()) w.cancel();
        this.waiting.clear();
        for (const g of this.getters.splice(0)) g(undefined);
    }
}
