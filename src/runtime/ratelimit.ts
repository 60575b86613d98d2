import type { Clock } from './clock.ts';
import { realClock } from './clock.ts';

/**
 * A token bucket with golang.org/x/time/rate semantics, as client-go uses for both client-side
 * API throttling (`--kube-api-qps` / `--kube-api-burst`) and the work queue's overall bucket.
 *
 * The bucket starts full with `burst` tokens and refills at `qps` tokens per second. `reserve()`
 * takes a token now (possibly going into debt) and returns how long the caller must wait, in
 * milliseconds, before acting; reservations are served first come, first served.
 * A qps of 0 or less means "no limit".
 */
export class TokenBucket {
    readonly qps: number;
    readonly burst: number;
    private readonly clock: Clock;
    private tokens: number;
    private last: number;

    /**
     * @param qps tokens added per second (float); <= 0 disables limiting
     * @param burst bucket size (>= 1)
     * @throws Error when burst < 1 while qps > 0
     */
    constructor(qps: number, burst: number, clock: Clock = realClock) {
        this.qps = qps;
        this.burst = burst;
        this.clock = clock;
        if (qps > 0 && burst < 1) throw new Error(`token bucket burst must be >= 1 when qps > 0 (got ${burst})`);
        this.tokens = burst;
        this.last = clock.now();
    }

    private advance(now: number): void {
        if (now > this.last) {
            this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
            this.last = now;
        }
    }

    /** Takes one token and returns the delay in ms before it may be used (0 = at once). */
    reserve(): number {
        if (this.qps <= 0) return 0;
        const now = this.clock.now();
        this.advance(now);
        this.tokens -= 1;
        if (this.tokens >= 0) return 0;
        return Math.ceil((-this.tokens / this.qps) * 1000);
    }

    /**
     * Takes one token if one is available now and returns true; otherwise takes nothing (no
     * debt) and returns false (client-go `TryAccept`, as its event spam filter uses).
     */
    tryTake(): boolean {
        if (this.qps <= 0) return true;
        this.advance(this.clock.now());
        if (this.tokens < 1) return false;
        this.tokens -= 1;
        return true;
    }

    /** Resolves once a token is available (the client-go `Wait` of a throttled request), or at once when signal aborts. */
    async wait(signal?: AbortSignal): Promise<void> {
        const ms = this.reserve();
        if (ms <= 0) return;
        await new Promise<void>((resolve) => {
            const done = () => {
                cancel();
                signal?.removeEventListener('abort', done);
                resolve();
            };
            const cancel = this.clock.setTimer(done, ms);
            signal?.addEventListener('abort', done, { once: true });
        });
    }
}

/**
 * Per-key exponential backoff: base * 2^failures, capped at max (client-go
 * `ItemExponentialFailureRateLimiter`; the controller default is 5 ms → 1000 s).
 */
export class ItemExponentialBackoff<K> {
    private failures = new Map<K, number>();
    readonly baseMs: number;
    readonly maxMs: number;

    /** @param baseMs first delay in ms; @param maxMs ceiling in ms */
    constructor(baseMs = 5, maxMs = 1_000_000) {
        this.baseMs = baseMs;
        this.maxMs = maxMs;
    }

    /** Records one more failure for key and returns the delay in ms to wait before retrying it. */
    when(key: K): number {
        const n = this.failures.get(key) ?? 0;
        this.failures.set(key, n + 1);
        const d = this.baseMs * 2 ** n;
        return Number.isFinite(d) ? Math.min(d, this.maxMs) : this.maxMs;
    }

    /** Number of failures recorded for key since the last forget(). */
    numRequeues(key: K): number {
        return this.failures.get(key) ?? 0;
    }

    /** Clears the failure history of key (after a success). */
    forget(key: K): void {
        this.failures.delete(key);
    }
}

/** A work-queue rate limiter: how long to delay a key, given its history. */
export interface RateLimiter<K> {
    when(key: K): number;
    numRequeues(key: K): number;
    forget(key: K): void;
}

/**
 * client-go `DefaultControllerRateLimiter`: the maximum of per-key exponential backoff
 * (5 ms → 1000 s) and an overall token bucket (10 qps, burst 100).
 */
export function defaultControllerRateLimiter<K>(clock: Clock = realClock): RateLimiter<K> {
    const item = new ItemExponentialBackoff<K>(5, 1_000_000);
    const bucket = new TokenBucket(10, 100, clock);
    return {
        when: (key) => Math.max(item.when(key), bucket.reserve()),
        numRequeues: (key) => item.numRequeues(key),
        forget: (key) => item.forget(key),
    };
}
