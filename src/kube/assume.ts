import type { KubernetesObject } from '@kubernetes/client-node';
import type { SharedInformer } from './informer.ts';
import { keyOf } from './resources.ts';

/**
 * A read-through view of one informer plus "assumed" objects: the results of our own writes,
 * kept until the informer delivers that exact resourceVersion (or a delete), or until `ttlMs`
 * passes (a relist may skip our version). resourceVersions are compared for equality only.
 * This is not a second writable cache: nothing but our own successful writes goes in, and the
 * informer always wins once it has caught up. Mirrors the scheduler's assume cache and the PV
 * binder's storeObjectUpdate, without their integer resourceVersion parsing (kubernetes#124224).
 */
export class AssumeCache<T extends KubernetesObject> {
    readonly informer: SharedInformer<T>;
    private readonly assumed = new Map<string, { obj: T; at: number }>();
    private readonly ttlMs: number;
    private readonly listeners: ((key: string, obj: T | undefined) => void)[] = [];

    constructor(informer: SharedInformer<T>, ttlMs = 30_000) {
        this.informer = informer;
        this.ttlMs = ttlMs;
        informer.addEventHandler({
            onAdd: (o) => this.observed(o, false),
            onUpdate: (_old, o) => this.observed(o, false),
            onDelete: (o) => this.observed(o, true),
        });
    }

    /** Called with the effective object (undefined when deleted) whenever it may have changed. */
    onChange(fn: (key: string, obj: T | undefined) => void): void {
        this.listeners.push(fn);
    }

    private observed(o: T, deleted: boolean): void {
        const key = keyOf(o);
        const a = this.assumed.get(key);
        if (a && (deleted || a.obj.metadata?.resourceVersion === o.metadata?.resourceVersion)) this.assumed.delete(key);
        const eff = deleted ? undefined : this.get(key);
        for (const l of this.listeners) l(key, eff);
    }

    /** The newest object we know for key: our assumed write if the informer has not caught up. */
    get(key: string): T | undefined {
        const a = this.assumed.get(key);
        if (a) {
            if (Date.now() - a.at < this.ttlMs) return a.obj;
            this.assumed.delete(key);
        }
        return this.informer.get(key);
    }

    /** Records the object a write of ours returned. */
    assume(obj: T): void {
        const key = keyOf(obj);
        const cached = this.informer.get(key);
        if (cached && cached.metadata?.resourceVersion === obj.metadata?.resourceVersion) {
            this.assumed.delete(key);
        } else {
            this.assumed.set(key, { obj, at: Date.now() });
        }
        for (const l of this.listeners) l(key, obj);
    }

    /** Drops any assumption for key (e.g. after a 409 proved it stale). */
    forget(key: string): void {
        if (!this.assumed.delete(key)) return;
        const eff = this.informer.get(key);
        for (const l of this.listeners) l(key, eff);
    }

    /** Number of live assumptions (for tests and metrics). */
    pending(): number {
        return this.assumed.size;
    }
}
