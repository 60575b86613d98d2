import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ControllerDeps } from '../deps.ts';
import type { EventHandler } from '../kube/informer.ts';
import { describeError } from '../kube/errors.ts';
import type { Reconciler } from './controller.ts';
import { OwnWrites } from './own-writes.ts';
import { runWorkers } from './controller.ts';
import type { Runnable } from './manager.ts';
import type { RateLimiter } from './ratelimit.ts';
import { WorkQueue } from './workqueue.ts';

/** Something whose object events a loop can watch: a SharedInformer (or anything shaped like one). */
export interface EventSource<T> {
    /** Registers a handler; existing objects are announced as adds. Returns an unregister function. */
    addEventHandler(h: EventHandler<T>): () => void;
}

/** What a key function may return: one key, several, or nothing (falsy values are skipped). */
export type Keys = string | readonly (string | undefined | null | false | '')[] | undefined | null | false | '';

/**
 * How one source's events map to keys of a queue. A plain function is applied to the object of
 * every event (the new object of an update); an object names the events it handles, and its
 * `update` sees both the old and the new object.
 */
export type KeyMapping<T> =
    | ((obj: T) => Keys)
    | {
          add?: (obj: T) => Keys;
          update?: (oldObj: T, newObj: T) => Keys;
          delete?: (obj: T) => Keys;
      };

/** The informer events a plain key function applies to (default: all three). */
export type EventKind = 'add' | 'update' | 'delete';

/** A queue as a loop declares it. */
export interface QueueSpec<K> {
    /** Queue name in logs and the `workqueue_*` metrics (upstream's name where one maps, e.g. `claims`). */
    name: string;
    /** The reconciler for its keys (see ReconcileResult for the contract). */
    reconcile: Reconciler<K>;
    /** Keys reconciled at once (default `--worker-threads`). */
    workers?: number;
    /** A fresh rate limiter for each leadership term (default client-go's controller limiter). */
    rateLimiter?: () => RateLimiter<K>;
    /** Keys with a higher priority are handed out first (default 0 for every key). */
    priority?: (key: K) => number;
}

/**
 * A stable handle on a declared queue, safe to hold in long-lived objects: while the loop runs
 * (we lead) it feeds the running WorkQueue; between runs, adds are dropped, and the next run
 * starts from every object its sources announce.
 */
export interface QueueRef<K> {
    readonly name: string;
    /** Marks key for processing (de-duplicated; never two workers on one key). */
    add(key: K): void;
    /** Adds key after ms milliseconds (the earliest pending add wins). */
    addAfter(key: K, ms: number): void;
    /**
     * Adds key for an update event; while the key is failing, an update that `ownWriteOnly`
     * says only reflects this loop's own write is dropped (WorkQueue.addUpdate).
     */
    addUpdate(key: K, ownWriteOnly: () => boolean): void;
}

class BoundQueue<K> implements QueueRef<K> {
    readonly name: string;
    readonly spec: QueueSpec<K>;
    current: WorkQueue<K> | undefined;
    constructor(spec: QueueSpec<K>) {
        this.spec = spec;
        this.name = spec.name;
    }
    add(key: K): void {
        this.current?.add(key);
    }
    addAfter(key: K, ms: number): void {
        this.current?.addAfter(key, ms);
    }
    addUpdate(key: K, ownWriteOnly: () => boolean): void {
        this.current?.addUpdate(key, ownWriteOnly);
    }
}

interface WatchSpec {
    register(): () => void;
}

interface PeriodicSpec {
    name: string;
    everyMs: number;
    run(signal: AbortSignal): void | Promise<void>;
}

function forEachKey(keys: Keys, fn: (k: string) => void): void {
    if (!keys) return;
    if (typeof keys === 'string') {
        fn(keys);
        return;
    }
    for (const k of keys) if (k) fn(k);
}

/**
 * The declaration of one controller loop: its queues (each with its reconciler and workers),
 * which informer events map to which keys, and the periodic tasks it runs while leading. The
 * runtime wires, starts, drains and measures it: `runnable()` is what the manager runs.
 * Mirrors controller-runtime's builder (`For`/`Watches` + `Complete`) and client-go's
 * controller shape (handlers only enqueue keys; workers reconcile them).
 */
export class Loop {
    readonly name: string;
    readonly log: Logger;
    private readonly deps: ControllerDeps;
    private readonly queues: BoundQueue<unknown>[] = [];
    private readonly watches: WatchSpec[] = [];
    private readonly periodic: PeriodicSpec[] = [];
    /** The versions this loop's reconciles wrote: their update events never cut a failing key's backoff short. */
    private readonly writes = new OwnWrites();

    constructor(name: string, deps: ControllerDeps) {
        this.name = name;
        this.deps = deps;
        this.log = deps.log.child({ controller: name });
    }

    /** Declares a queue of keys and its reconciler; returns its stable handle. */
    queue<K = string>(spec: QueueSpec<K>): QueueRef<K> {
        const q = new BoundQueue<K>(spec);
        this.queues.push(q as unknown as BoundQueue<unknown>);
        return q;
    }

    /**
     * Feeds `queue` with the keys `keys` maps `source`'s events to. With a plain key function,
     * `events` limits which events it applies to (default all). Update events go through
     * QueueRef.addUpdate: an update that only reflects this loop's own write does not re-queue a
     * key that is backing off after a failure (our own writes never bypass the backoff).
     */
    watch<T, K extends string = string>(source: EventSource<T>, queue: QueueRef<K>, keys: KeyMapping<T>, events: readonly EventKind[] = ['add', 'update', 'delete']): void {
        const add = (k: string) => queue.add(k as K);
        const update = (o: T, n: T) => (k: string) => queue.addUpdate(k as K, () => this.writes.onlyOwnWrite(o as KubernetesObject, n as KubernetesObject));
        let handler: EventHandler<T>;
        if (typeof keys === 'function') {
            const on = new Set(events);
            handler = {
                ...(on.has('add') ? { onAdd: (o: T) => forEachKey(keys(o), add) } : {}),
                ...(on.has('update') ? { onUpdate: (o: T, n: T) => forEachKey(keys(n), update(o, n)) } : {}),
                ...(on.has('delete') ? { onDelete: (o: T) => forEachKey(keys(o), add) } : {}),
            };
        } else {
            const m = keys;
            handler = {
                ...(m.add ? { onAdd: (o: T) => forEachKey(m.add?.(o), add) } : {}),
                ...(m.update ? { onUpdate: (o: T, n: T) => forEachKey(m.update?.(o, n), update(o, n)) } : {}),
                ...(m.delete ? { onDelete: (o: T) => forEachKey(m.delete?.(o), add) } : {}),
            };
        }
        this.watches.push({ register: () => source.addEventHandler(handler) });
    }

    /**
     * Runs `run` every `everyMs` while the loop runs (e.g. a periodic resync). A failure is
     * logged and the next period runs as usual; runs never overlap.
     */
    every(name: string, everyMs: number, run: (signal: AbortSignal) => void | Promise<void>): void {
        if (everyMs > 0) this.periodic.push({ name, everyMs, run });
    }

    /** The Runnable the manager starts while we lead: binds the queues, registers the watches, runs the workers, drains on abort. */
    runnable(): Runnable {
        return { name: this.name, start: (signal) => this.run(signal) };
    }

    private async run(signal: AbortSignal): Promise<void> {
        const { deps, log } = this;
        for (const q of this.queues) {
            q.current = new WorkQueue<unknown>({
                rateLimiter: q.spec.rateLimiter?.(),
                metrics: deps.metrics.queueMetrics(q.name, this.name),
                priority: q.spec.priority,
            });
        }
        const unregister = this.watches.map((w) => w.register());
        const timers = this.periodic.map((p) => this.schedule(p, signal));
        log.info({ queues: this.queues.map((q) => ({ name: q.name, workers: q.spec.workers ?? deps.config.workerThreads })) }, 'Starting controller');
        try {
            await Promise.all(
                this.queues.map((q) =>
                    runWorkers(
                        {
                            name: this.queues.length > 1 ? `${this.name}-${q.name}` : this.name,
                            queue: q.current as WorkQueue<unknown>,
                            reconcile: q.spec.reconcile,
                            workers: q.spec.workers ?? deps.config.workerThreads,
                            log,
                            metrics: deps.metrics,
                            ownWrites: this.writes,
                        },
                        signal,
                    ),
                ),
            );
        } finally {
            for (const t of timers) t();
            for (const u of unregister) u();
            for (const q of this.queues) q.current = undefined;
        }
    }

    private schedule(p: PeriodicSpec, signal: AbortSignal): () => void {
        let timer: NodeJS.Timeout | undefined;
        let stopped = false;
        const tick = async () => {
            try {
                await p.run(signal);
            } catch (err) {
                this.log.warn({ task: p.name, err: describeError(err) }, 'Periodic task failed');
            }
            if (!stopped && !signal.aborted) timer = setTimeout(() => void tick(), p.everyMs).unref();
        };
        timer = setTimeout(() => void tick(), p.everyMs).unref();
        return () => {
            stopped = true;
            clearTimeout(timer);
        };
    }
}

/** Builds one controller's Runnable from the process's shared runtime. */
export type ControllerFactory = (deps: ControllerDeps) => Runnable;

/**
 * Declares a controller once: `declare` receives the loop (queues, watches, periodic tasks) and
 * the shared dependencies, and wires the controller's reconcilers to them. The result is the
 * factory the entry point instantiates for each enabled `--controllers` name.
 *
 * @example
 *   export const pvProtection = defineController('pv-protection', (loop, deps) => {
 *       const volumes = deps.informers.for(RESOURCES.persistentVolumes);
 *       const r = new PvProtection({ core: deps.clients.core, volumes, log: loop.log });
 *       const q = loop.queue({ name: 'pvprotection', reconcile: (key) => r.reconcile(key) });
 *       loop.watch(volumes, q, keyOf, ['add', 'update']);
 *   });
 */
export function defineController(name: string, declare: (loop: Loop, deps: ControllerDeps) => void): ControllerFactory {
    return (deps) => {
        const loop = new Loop(name, deps);
        declare(loop, deps);
        return loop.runnable();
    };
}
