import type { CoreV1Api, CoreV1Event, KubernetesObject, V1ObjectReference } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { realClock } from '../runtime/clock.ts';
import type { Clock } from '../runtime/clock.ts';
import { TokenBucket } from '../runtime/ratelimit.ts';
import { currentSignal, outsideScope } from '../runtime/scope.ts';
import type { Metrics } from '../http/metrics.ts';
import { STRATEGIC_MERGE_PATCH } from './client.ts';
import { describeError, isAlreadyExists, isNotFound, toStatus } from './errors.ts';

export type EventType = 'Normal' | 'Warning';

/** Records Kubernetes Events about an object for one component (e.g. `persistentvolume-controller`). */
export interface EventRecorder {
    /** Queues an Event; never throws and never blocks the caller. */
    event(obj: KubernetesObject, type: EventType, reason: string, message: string): void;
}

/** client-go record defaults (events_cache.go). */
const MAX_LRU = 4096;
const AGGREGATE_MAX_EVENTS = 10;
const AGGREGATE_INTERVAL_MS = 600_000;
const SPAM_BURST = 25;
const SPAM_QPS = 1 / 300;
const MAX_QUEUED = 1000;
const MAX_MESSAGE = 1024;
/** Prefix client-go puts on an aggregated message. */
export const AGGREGATE_PREFIX = '(combined from similar events): ';

interface Logged {
    name: string;
    namespace: string;
    count: number;
}

/** The ObjectReference an Event's involvedObject gets for obj. */
export function referenceTo(obj: KubernetesObject): V1ObjectReference {
    return {
        kind: obj.kind,
        apiVersion: obj.apiVersion,
        namespace: obj.metadata?.namespace,
        name: obj.metadata?.name,
        uid: obj.metadata?.uid,
        resourceVersion: obj.metadata?.resourceVersion,
    };
}

/**
 * Writes core/v1 Events with client-go's EventCorrelator behaviour:
 * - spam filter: per object+reason+message token bucket (burst 25, one per 5 minutes);
 * - aggregation: more than 10 distinct messages with the same object, type and reason within
 *   10 minutes collapse into one Event prefixed "(combined from similar events): ";
 * - de-duplication: a repeat of an identical Event patches `count` and `lastTimestamp` of the
 *   existing Event instead of creating a new one (LRU of 4096 keys);
 * - a true count: `count` is the number of times the Event was recorded. Occurrences the spam
 *   filter held back are not lost but added to the count of the next write of that Event (at
 *   most one per 5 minutes), where client-go drops them and its count freezes;
 * - asynchronous writes through a bounded queue (1000; excess dropped and counted), each retried
 *   with backoff while the API server does not answer (12 tries, about 75 s), then dropped and counted.
 * Mirrors k8s.io/client-go/tools/record (event.go, events_cache.go).
 */
export class EventBroadcaster {
    private readonly api: CoreV1Api;
    private readonly log: Logger;
    private readonly metrics: Metrics | undefined;
    private readonly host: string;
    private readonly queue = new PQueue({ concurrency: 4 });
    private readonly logged = new LRUCache<string, Logged>({ max: MAX_LRU });
    private readonly aggregate = new LRUCache<string, { messages: Set<string>; last: number }>({ max: MAX_LRU });
    private readonly spam = new LRUCache<string, TokenBucket>({ max: MAX_LRU });
    /** Occurrences the spam filter held back, per spam key, added to that Event's next count. */
    private readonly held = new LRUCache<string, number>({ max: MAX_LRU });
    /** Serializes writes per dedup key so count patches are ordered. */
    private readonly inflight = new Map<string, Promise<void>>();

    private readonly clock: Clock;
    private readonly retry: { tries: number; baseMs: number; maxMs: number };
    /** Events recorded and not yet written or dropped. */
    private outstanding = 0;

    /**
     * @param opts.clock times the spam filter, aggregation and retry sleeps (default the real clock)
     * @param opts.retry tries per Event write and the backoff between them in ms (default 12 tries, 500 ms doubling to 10 s: about 75 s in all)
     */
    constructor(opts: { api: CoreV1Api; log: Logger; metrics?: Metrics; host?: string; clock?: Clock; retry?: Partial<{ tries: number; baseMs: number; maxMs: number }> }) {
        this.clock = opts.clock ?? realClock;
        this.retry = { tries: 12, baseMs: 500, maxMs: 10_000, ...opts.retry };
        this.api = opts.api;
        this.log = opts.log;
        this.metrics = opts.metrics;
        this.host = opts.host ?? '';
    }

    /** A recorder that stamps Events with source.component = component. */
    recorder(component: string): EventRecorder {
        return { event: (obj, type, reason, message) => this.record(component, obj, type, reason, message) };
    }

    /**
     * Waits until every recorded Event has been written (or dropped), for at most timeoutMs when
     * given (shutdown: a short, bounded flush). Resolves to the number of Events still not written
     * (0 when everything was).
     */
    async flush(timeoutMs?: number): Promise<number> {
        const drained = (async () => {
            while (this.inflight.size > 0 || this.queue.size > 0 || this.queue.pending > 0) {
                await Promise.all([...this.inflight.values()]);
                await this.queue.onIdle();
            }
        })();
        if (timeoutMs === undefined) {
            await drained;
            return 0;
        }
        let cancel: (() => void) | undefined;
        const timedOut = new Promise<void>((r) => (cancel = this.clock.setTimer(r, timeoutMs)));
        await Promise.race([drained, timedOut]);
        cancel?.();
        return this.outstanding;
    }

    private record(component: string, obj: KubernetesObject, type: EventType, reason: string, message: string): void {
        const ref = referenceTo(obj);
        if (!ref.name) return;
        // A reconcile cancelled by a lost lease or shutdown reports nothing more: the next
        // leader redoes the work and reports what it finds (events recorded before stay queued).
        if (currentSignal()?.aborted) return;
        if (message.length > MAX_MESSAGE) message = message.slice(0, MAX_MESSAGE - 3) + '...';
        const objKey = [component, this.host, ref.kind, ref.namespace, ref.name, ref.uid, ref.apiVersion].join('\u0000');
        const spamKey = [objKey, type, reason, message].join('\u0000');
        let bucket = this.spam.get(spamKey);
        if (!bucket) this.spam.set(spamKey, (bucket = new TokenBucket(SPAM_QPS, SPAM_BURST, this.clock)));
        if (!bucket.tryTake()) {
            this.metrics?.eventsDropped.inc({ reason: 'spam' });
            this.held.set(spamKey, (this.held.get(spamKey) ?? 0) + 1);
            return;
        }
        // Aggregation by (object, type, reason): too many distinct messages collapse into one.
        const aggKey = [objKey, type, reason].join('\u0000');
        const now = this.clock.now();
        let agg = this.aggregate.get(aggKey);
        if (!agg || now - agg.last > AGGREGATE_INTERVAL_MS) this.aggregate.set(aggKey, (agg = { messages: new Set(), last: now }));
        agg.messages.add(message);
        agg.last = now;
        let key = spamKey;
        let occurrences = 1;
        if (agg.messages.size >= AGGREGATE_MAX_EVENTS) {
            message = AGGREGATE_PREFIX + message;
            key = aggKey;
        } else {
            occurrences += this.held.get(spamKey) ?? 0;
            this.held.delete(spamKey);
        }
        if (this.queue.size >= MAX_QUEUED) {
            this.metrics?.eventsDropped.inc({ reason: 'queue_full' });
            if (key === spamKey) this.held.set(spamKey, occurrences);
            return;
        }
        this.outstanding++;
        const prev = this.inflight.get(key) ?? Promise.resolve();
        // Written outside the recording reconcile's scope: an Event outlives the reconcile (and the
        // leadership) that recorded it, and is flushed on shutdown.
        const next = prev.then(() => this.queue.add(() => outsideScope(() => this.write(key, component, ref, type, reason, message, occurrences, key === spamKey ? spamKey : undefined))));
        this.inflight.set(key, next);
        void next.finally(() => {
            if (this.inflight.get(key) === next) this.inflight.delete(key);
        });
    }

    /**
     * Writes one Event (a count patch of the Event already written for key, else a create),
     * retrying transient failures (no answer, 429, 5xx) with backoff: up to `retry.tries` tries,
     * `retry.baseMs` doubling to `retry.maxMs` between them (client-go retries an event write 12
     * times, about 10 s apart). After the last try, or on any other failure, the Event is dropped
     * and counted in events_dropped_total{reason="write_error"}; its occurrences are kept for the
     * count of that Event's next write.
     */
    private async write(key: string, component: string, ref: V1ObjectReference, type: EventType, reason: string, message: string, occurrences: number, spamKey: string | undefined): Promise<void> {
        const object = `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
        // One name for every try, so a create whose answer was lost is not made twice.
        const name = `${ref.name}.${(BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
        try {
            for (let attempt = 1; ; attempt++) {
                try {
                    await this.writeOnce(key, name, component, ref, type, reason, message, occurrences);
                    return;
                } catch (err) {
                    const code = toStatus(err).code;
                    const transient = code === 0 || code === 429 || code >= 500;
                    if (!transient || attempt >= this.retry.tries) {
                        this.metrics?.eventsDropped.inc({ reason: 'write_error' });
                        if (spamKey) this.held.set(spamKey, (this.held.get(spamKey) ?? 0) + occurrences);
                        this.log.warn({ err: describeError(err), reason, object, tries: attempt }, 'Could not write event; dropped');
                        return;
                    }
                    const delay = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** (attempt - 1));
                    this.log.debug({ err: describeError(err), reason, object, tries: attempt, retryInMs: delay }, 'Could not write event; retrying');
                    await new Promise<void>((r) => this.clock.setTimer(r, delay));
                }
            }
        } finally {
            this.outstanding--;
        }
    }

    /** One try of write(). @throws the API error */
    private async writeOnce(key: string, name: string, component: string, ref: V1ObjectReference, type: EventType, reason: string, message: string, occurrences: number): Promise<void> {
        const now = new Date();
        const namespace = ref.namespace || 'default';
        const seen = this.logged.get(key);
        if (seen) {
            try {
                await this.api.patchNamespacedEvent(
                    { name: seen.name, namespace: seen.namespace, body: { count: seen.count + occurrences, lastTimestamp: now.toISOString(), message } },
                    STRATEGIC_MERGE_PATCH,
                );
                seen.count += occurrences;
                return;
            } catch (err) {
                if (!isNotFound(err)) throw err;
            }
        }
        const body: CoreV1Event = {
            metadata: { name, namespace },
            involvedObject: ref,
            reason,
            message,
            type,
            source: { component, ...(this.host ? { host: this.host } : {}) },
            firstTimestamp: now,
            lastTimestamp: now,
            count: occurrences,
            reportingComponent: component,
            reportingInstance: this.host,
        };
        try {
            await this.api.createNamespacedEvent({ namespace, body });
        } catch (err) {
            // A retried create whose first answer was lost.
            if (!isAlreadyExists(err)) throw err;
        }
        this.logged.set(key, { name, namespace, count: occurrences });
    }
}
