import type { CoreV1Api, CoreV1Event, KubernetesObject, V1ObjectReference } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { realClock } from '../runtime/clock.ts';
import type { Clock } from '../runtime/clock.ts';
import { TokenBucket } from '../runtime/ratelimit.ts';
import type { Metrics } from '../http/metrics.ts';
import { STRATEGIC_MERGE_PATCH } from './client.ts';
import { describeError, isNotFound } from './errors.ts';

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
 * - asynchronous writes through a bounded queue (1000; excess dropped and counted).
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

    /** @param opts.clock times the spam filter and aggregation (default the real clock; tests inject one) */
    constructor(opts: { api: CoreV1Api; log: Logger; metrics?: Metrics; host?: string; clock?: Clock }) {
        this.clock = opts.clock ?? realClock;
        this.api = opts.api;
        this.log = opts.log;
        this.metrics = opts.metrics;
        this.host = opts.host ?? '';
    }

    /** A recorder that stamps Events with source.component = component. */
    recorder(component: string): EventRecorder {
        return { event: (obj, type, reason, message) => this.record(component, obj, type, reason, message) };
    }

    /** Resolves when every queued Event has been written. */
    async flush(): Promise<void> {
        while (this.inflight.size > 0 || this.queue.size > 0 || this.queue.pending > 0) {
            await Promise.all([...this.inflight.values()]);
            await this.queue.onIdle();
        }
    }

    private record(component: string, obj: KubernetesObject, type: EventType, reason: string, message: string): void {
        const ref = referenceTo(obj);
        if (!ref.name) return;
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
        const prev = this.inflight.get(key) ?? Promise.resolve();
        const next = prev.then(() => this.queue.add(() => this.write(key, component, ref, type, reason, message, occurrences)));
        this.inflight.set(key, next);
        void next.finally(() => {
            if (this.inflight.get(key) === next) this.inflight.delete(key);
        });
    }

    private async write(key: string, component: string, ref: V1ObjectReference, type: EventType, reason: string, message: string, occurrences: number): Promise<void> {
        const now = new Date();
        const namespace = ref.namespace || 'default';
        const seen = this.logged.get(key);
        try {
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
            const name = `${ref.name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
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
            await this.api.createNamespacedEvent({ namespace, body });
            this.logged.set(key, { name, namespace, count: occurrences });
        } catch (err) {
            this.metrics?.eventsDropped.inc({ reason: 'write_error' });
            this.log.warn({ err: describeError(err), reason, object: `${ref.kind}/${ref.namespace ?? ''}/${ref.name}` }, 'Could not write event');
        }
    }
}
