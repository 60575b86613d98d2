/**
 * An injectable clock so timing logic (rate limiters, queues, leader election) can be tested
 * without sleeping. All times are milliseconds.
 */
export interface Clock {
    /** Monotonic-enough wall time in milliseconds (Date.now() semantics). */
    now(): number;
    /** Schedules fn after ms milliseconds; returns a cancel function. */
    setTimer(fn: () => void, ms: number): () => void;
}

/** The real clock, backed by Date.now and setTimeout (timers are unref'd so they never hold the process open). */
export const realClock: Clock = {
    now: () => Date.now(),
    setTimer(fn, ms) {
        const t = setTimeout(fn, Math.max(0, ms));
        t.unref();
        return () => clearTimeout(t);
    },
};

/**
 * A manual clock for unit tests: time moves only when advance() is called, and due timers
 * fire in order of their due time.
 */
export class FakeClock implements Clock {
    private t: number;
    private seq = 0;
    private timers = new Map<number, { at: number; fn: () => void }>();

    constructor(start = 1_000_000) {
        this.t = start;
    }

    now(): number {
        return this.t;
    }

    setTimer(fn: () => void, ms: number): () => void {
        const id = ++this.seq;
        this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
        return () => this.timers.delete(id);
    }

    /** Moves time forward by ms milliseconds, firing every timer that becomes due. */
    advance(ms: number): void {
        const end = this.t + ms;
        for (;;) {
            let next: [number, { at: number; fn: () => void }] | undefined;
            for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
            if (!next) break;
            this.timers.delete(next[0]);
            this.t = Math.max(this.t, next[1].at);
            next[1].fn();
        }
        this.t = end;
    }

    /** Number of timers not yet fired. */
    pending(): number {
        return this.timers.size;
    }
}
