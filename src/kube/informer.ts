import { ListWatch } from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject, Watch } from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import type { Logger } from 'pino';
import type { KubeClients } from './client.ts';
import type { ResourceDef } from './resources.ts';
import { keyOf } from './resources.ts';
import { describeError } from './errors.ts';
import type { Metrics } from '../http/metrics.ts';

/** Callbacks for cache changes. `onUpdate` gets the previous and the new object. */
export interface EventHandler<T> {
    onAdd?(obj: T): void;
    onUpdate?(oldObj: T, newObj: T): void;
    onDelete?(obj: T): void;
}

/** A function computing the index values of an object (e.g. a PV's storage class). */
export type IndexFunc<T> = (obj: T) => string[];

export interface InformerOptions {
    log: Logger;
    metrics?: Metrics;
    /** Restart the informer when neither an event nor a (re)connect was seen for this long (ms). */
    watchdogMs?: number;
    /** Restart backoff bounds in ms (client-go reflector: 800 ms → 30 s). */
    backoffBaseMs?: number;
    backoffMaxMs?: number;
}

/**
 * Turns a raw watch object (JSON, string timestamps) into the client-node model shape that
 * list calls return (Date timestamps), with kind and apiVersion set; list items get kind and
 * apiVersion too. Every object in our caches has this one shape. A custom resource (no
 * `def.model`) arrives as plain JSON from list and watch alike: only its metadata is turned into
 * the V1ObjectMeta shape (Date timestamps), in place; spec and status stay as the API sent them.
 */
export function normalize<T extends KubernetesObject>(def: ResourceDef<T>, raw: unknown, fromWatch: boolean): T {
    let obj: T;
    if (def.model) {
        obj = (fromWatch ? ObjectSerializer.deserialize(raw, def.model, '') : raw) as T;
    } else {
        obj = raw as T;
        if (obj.metadata) obj.metadata = ObjectSerializer.deserialize(obj.metadata, 'V1ObjectMeta', '');
    }
    obj.kind = def.kind;
    obj.apiVersion = def.apiVersion;
    // No controller reads managedFields, and they are often the largest part of an object:
    // dropping them from the cache cuts memory (our writes are patches, never PUTs of cached objects).
    if (obj.metadata) delete obj.metadata.managedFields;
    return obj;
}

/**
 * One shared informer per resource type: wraps client-node's ListWatch (list, then watch from
 * the list's resourceVersion, relist on 410 Gone) and adds what it lacks:
 *
 * - restart with exponential backoff when ListWatch stops on an error (it never restarts itself),
 *   then a resync of every cached object to every handler, since a restart does not re-announce
 *   known objects (client-node #795);
 * - a watchdog that restarts a watch that went silent (no event, bookmark or reconnect);
 * - watch bookmarks and a randomized server-side watch timeout, like client-go's reflector;
 * - one object shape from list and watch (see normalize);
 * - the old object on update, secondary indexes, and a `synced` gate.
 *
 * Cached objects are shared and read-only: clone before editing.
 * Mirrors client-go tools/cache SharedIndexInformer + Reflector.
 */
export class SharedInformer<T extends KubernetesObject> {
    readonly def: ResourceDef<T>;
    private readonly clients: KubeClients;
    private readonly log: Logger;
    private readonly metrics: Metrics | undefined;
    private lw: ListWatch<T> | undefined;
    private readonly handlers = new Set<EventHandler<T>>();
    private readonly known = new Map<string, T>();
    private readonly indexers = new Map<string, IndexFunc<T>>();
    private readonly indices = new Map<string, Map<string, Set<string>>>();
    private synced = false;
    private running = false;
    private failures = 0;
    private lastActivity = Date.now();
    private restartTimer: NodeJS.Timeout | undefined;
    private watchdog: NodeJS.Timeout | undefined;
    private syncWaiters: (() => void)[] = [];
    private readonly watchdogMs: number;
    private readonly backoffBaseMs: number;
    private readonly backoffMaxMs: number;

    constructor(def: ResourceDef<T>, clients: KubeClients, opts: InformerOptions) {
        this.def = def;
        this.clients = clients;
        this.log = opts.log.child({ informer: def.resource });
        this.metrics = opts.metrics;
        this.watchdogMs = opts.watchdogMs ?? 120_000;
        this.backoffBaseMs = opts.backoffBaseMs ?? 800;
        this.backoffMaxMs = opts.backoffMaxMs ?? 30_000;
    }

    /** Registers a handler; existing objects are announced to it as adds. Returns an unregister function. */
    addEventHandler(h: EventHandler<T>): () => void {
        this.handlers.add(h);
        for (const obj of this.known.values()) h.onAdd?.(obj);
        return () => this.handlers.delete(h);
    }

    /** Adds a secondary index; must be called before start(). */
    addIndexer(name: string, fn: IndexFunc<T>): void {
        if (this.indexers.has(name)) return;
        this.indexers.set(name, fn);
        const idx = new Map<string, Set<string>>();
        this.indices.set(name, idx);
        for (const [k, o] of this.known) this.indexAdd(name, fn, k, o);
    }

    /** The cached object with that key (`ns/name` or `name`), or undefined. */
    get(key: string): T | undefined {
        return this.known.get(key);
    }

    /** Every cached object. */
    list(): T[] {
        return [...this.known.values()];
    }

    /** Number of cached objects. */
    size(): number {
        return this.known.size;
    }

    /** Objects whose index `name` contains `value`. @throws Error for an unknown index */
    byIndex(name: string, value: string): T[] {
        const idx = this.indices.get(name);
        if (!idx) throw new Error(`informer ${this.def.resource} has no index ${name}`);
        const keys = idx.get(value);
        if (!keys) return [];
        const out: T[] = [];
        for (const k of keys) {
            const o = this.known.get(k);
            if (o) out.push(o);
        }
        return out;
    }

    /** True once the first list has completed. */
    hasSynced(): boolean {
        return this.synced;
    }

    /** Resolves once the first list has completed (or the signal aborts). */
    waitForSync(signal?: AbortSignal): Promise<void> {
        if (this.synced) return Promise.resolve();
        return new Promise((resolve) => {
            this.syncWaiters.push(resolve);
            signal?.addEventListener('abort', () => resolve(), { once: true });
        });
    }

    /** Starts listing and watching. Idempotent. Does not wait for sync. */
    start(): void {
        if (this.running) return;
        this.running = true;
        this.lastActivity = Date.now();
        this.watchdog = setInterval(() => this.checkWatchdog(), Math.min(this.watchdogMs / 4, 15_000));
        this.watchdog.unref();
        this.launch();
    }

    /** Stops the watch and timers; the cache keeps its content. */
    stop(): void {
        this.running = false;
        clearInterval(this.watchdog);
        clearTimeout(this.restartTimer);
        const lw = this.lw;
        this.lw = undefined;
        void lw?.stop();
    }

    /** Re-announces every cached object as an update with old === new (client-go resync). */
    resync(): void {
        for (const obj of this.known.values()) for (const h of this.handlers) h.onUpdate?.(obj, obj);
    }

    private launch(): void {
        const def = this.def;
        const listFn = async (): Promise<KubernetesListObject<T>> => {
            const list = await def.list(this.clients);
            for (const item of list.items) normalize(def, item, false);
            return list;
        };
        const lw = new ListWatch<T>(def.path, this.watchAdapter(), listFn, false);
        this.lw = lw;
        lw.on('add', (o) => this.lw === lw && this.onAdd(o));
        lw.on('update', (o) => this.lw === lw && this.onUpdate(o));
        lw.on('delete', (o) => this.lw === lw && this.onDelete(o));
        lw.on('connect', () => {
            this.lastActivity = Date.now();
        });
        lw.on('error', (err) => this.lw === lw && this.onError(err));
        lw.start()
            .then(() => {
                if (this.lw !== lw || !lw.latestResourceVersion()) return;
                this.markSynced();
            })
            .catch((err) => this.lw === lw && this.onError(err));
    }

    /** A Watch that normalizes objects, asks for bookmarks, and records activity for the watchdog. */
    private watchAdapter(): Watch {
        const real = this.clients.watch;
        return {
            watch: (path, query, cb, done) => {
                const q = { ...query, allowWatchBookmarks: true, timeoutSeconds: 300 + Math.floor(Math.random() * 300) };
                return real.watch(
                    path,
                    q,
                    (phase, obj, raw) => {
                        this.lastActivity = Date.now();
                        if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') obj = normalize(this.def, obj, true);
                        cb(phase, obj, raw);
                    },
                    done,
                );
            },
        } as Watch;
    }

    private markSynced(): void {
        if (this.failures > 0) {
            this.log.info({ objects: this.known.size }, 'Informer recovered; resyncing handlers');
            this.failures = 0;
            this.resync();
        }
        if (this.synced) return;
        this.synced = true;
        this.log.debug({ objects: this.known.size }, 'Informer synced');
        for (const w of this.syncWaiters.splice(0)) w();
    }

    private onError(err: unknown): void {
        if (!this.running) return;
        this.failures++;
        const delay = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (this.failures - 1)) * (1 + Math.random() * 0.2);
        this.log.warn({ err: describeError(err), retryInMs: Math.round(delay) }, 'Informer watch failed; restarting');
        this.metrics?.informerRestarts.inc({ resource: this.def.resource, reason: 'error' });
        this.restart(delay);
    }

    private checkWatchdog(): void {
        if (!this.running || this.restartTimer) return;
        const silent = Date.now() - this.lastActivity;
        if (silent < this.watchdogMs) return;
        this.log.warn({ silentMs: silent }, 'Informer watch silent past the watchdog; restarting');
        this.metrics?.informerRestarts.inc({ resource: this.def.resource, reason: 'watchdog' });
        this.failures++;
        this.restart(0);
    }

    private restart(delayMs: number): void {
        const old = this.lw;
        this.lw = undefined;
        void old?.stop();
        clearTimeout(this.restartTimer);
        this.restartTimer = setTimeout(() => {
            this.restartTimer = undefined;
            if (!this.running) return;
            this.lastActivity = Date.now();
            // markSynced() runs once the new list/watch is up, and resyncs handlers.
            this.launch();
        }, delayMs);
        this.restartTimer.unref();
    }

    private onAdd(obj: T): void {
        this.lastActivity = Date.now();
        const key = keyOf(obj);
        const old = this.known.get(key);
        this.store(key, obj, old);
        for (const h of this.handlers) {
            if (old) h.onUpdate?.(old, obj);
            else h.onAdd?.(obj);
        }
    }

    private onUpdate(obj: T): void {
        this.lastActivity = Date.now();
        const key = keyOf(obj);
        const old = this.known.get(key);
        this.store(key, obj, old);
        for (const h of this.handlers) {
            if (old) h.onUpdate?.(old, obj);
            else h.onAdd?.(obj);
        }
    }

    private onDelete(obj: T): void {
        this.lastActivity = Date.now();
        const key = keyOf(obj);
        const old = this.known.get(key) ?? obj;
        this.known.delete(key);
        for (const [name, fn] of this.indexers) this.indexRemove(name, fn, key, old);
        for (const h of this.handlers) h.onDelete?.(old);
    }

    private store(key: string, obj: T, old: T | undefined): void {
        if (old) for (const [name, fn] of this.indexers) this.indexRemove(name, fn, key, old);
        this.known.set(key, obj);
        for (const [name, fn] of this.indexers) this.indexAdd(name, fn, key, obj);
    }

    private indexAdd(name: string, fn: IndexFunc<T>, key: string, obj: T): void {
        const idx = this.indices.get(name) as Map<string, Set<string>>;
        for (const v of fn(obj)) {
            let s = idx.get(v);
            if (!s) idx.set(v, (s = new Set()));
            s.add(key);
        }
    }

    private indexRemove(name: string, fn: IndexFunc<T>, key: string, obj: T): void {
        const idx = this.indices.get(name) as Map<string, Set<string>>;
        for (const v of fn(obj)) {
            const s = idx.get(v);
            if (!s) continue;
            s.delete(key);
            if (s.size === 0) idx.delete(v);
        }
    }
}

/**
 * Holds one SharedInformer per resource type for the whole process, so every controller
 * shares the same caches and watches (client-go SharedInformerFactory).
 */
export class InformerFactory {
    private readonly informers = new Map<string, SharedInformer<KubernetesObject>>();
    private readonly clients: KubeClients;
    private readonly opts: InformerOptions;
    private started = false;

    constructor(clients: KubeClients, opts: InformerOptions) {
        this.clients = clients;
        this.opts = opts;
    }

    /** The shared informer for def (created on first use; started at once if the factory runs). */
    for<T extends KubernetesObject>(def: ResourceDef<T>): SharedInformer<T> {
        let inf = this.informers.get(def.resource) as SharedInformer<T> | undefined;
        if (!inf) {
            inf = new SharedInformer<T>(def, this.clients, this.opts);
            this.informers.set(def.resource, inf as unknown as SharedInformer<KubernetesObject>);
            if (this.started) inf.start();
        }
        return inf;
    }

    /** Starts every informer created so far, and any created later. */
    start(): void {
        this.started = true;
        for (const i of this.informers.values()) i.start();
    }

    /** Resolves when every informer has synced (or the signal aborts). */
    async waitForSync(signal?: AbortSignal): Promise<void> {
        await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
    }

    /** True when every informer has synced. */
    hasSynced(): boolean {
        return [...this.informers.values()].every((i) => i.hasSynced());
    }

    /** Names of informers that have not synced yet. */
    unsynced(): string[] {
        return [...this.informers.values()].filter((i) => !i.hasSynced()).map((i) => i.def.resource);
    }

    /** Stops every informer. */
    stop(): void {
        for (const i of this.informers.values()) i.stop();
    }
}

/**
 * A read for retrying after a stale write: waits (up to timeoutMs) until the informer holds a
 * version of key other than staleVersion and returns it, so a retry needs no extra GET (and no
 * `get` permission). Resolves to the cached object even if it did not change in time.
 * @throws Error when the object is not in the cache (deleted)
 */
export async function fresherFromCache<T extends KubernetesObject>(informer: SharedInformer<T>, key: string, staleVersion: string | undefined, timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const obj = informer.get(key);
        if (!obj) throw Object.assign(new Error(`${informer.def.resource} "${key}" not found`), { code: 404 });
        if (obj.metadata?.resourceVersion !== staleVersion || Date.now() > deadline) return obj;
        await new Promise((r) => setTimeout(r, 20));
    }
}
