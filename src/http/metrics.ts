import client from 'prom-client';
import type { QueueMetrics } from '../runtime/workqueue.ts';

/**
 * The process's Prometheus metrics, in one registry (no global state, so tests can create many).
 * Work-queue, leader-election and REST-client metric names follow client-go / component-base;
 * controller metrics follow controller-runtime.
 */
export class Metrics {
    readonly registry = new client.Registry();
    readonly queueDepth = new client.Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name', 'controller'], registers: [this.registry] });
    readonly queueAdds = new client.Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name', 'controller'], registers: [this.registry] });
    readonly queueRetries = new client.Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name', 'controller'], registers: [this.registry] });
    readonly queueLatency = new client.Histogram({
        name: 'workqueue_queue_duration_seconds',
        help: 'How long in seconds an item stays in workqueue before being requested',
        labelNames: ['name', 'controller'],
        buckets: client.exponentialBuckets(1e-8, 10, 10),
        registers: [this.registry],
    });
    readonly workDuration = new client.Histogram({
        name: 'workqueue_work_duration_seconds',
        help: 'How long in seconds processing an item from workqueue takes',
        labelNames: ['name', 'controller'],
        buckets: client.exponentialBuckets(1e-8, 10, 10),
        registers: [this.registry],
    });
    readonly queueOwnWritesIgnored = new client.Counter({
        name: 'workqueue_own_write_updates_ignored_total',
        help: "Update events that only reflected the controller's own write and were not allowed to cut a failed key's backoff short",
        labelNames: ['name', 'controller'],
        registers: [this.registry],
    });
    readonly reconcileTotal = new client.Counter({
        name: 'controller_runtime_reconcile_total',
        help: 'Total number of reconciliations per controller',
        labelNames: ['controller', 'result'],
        registers: [this.registry],
    });
    readonly reconcileTime = new client.Histogram({
        name: 'controller_runtime_reconcile_time_seconds',
        help: 'Length of time per reconciliation per controller',
        labelNames: ['controller'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [this.registry],
    });
    readonly activeWorkers = new client.Gauge({
        name: 'controller_runtime_active_workers',
        help: 'Number of currently used workers per controller',
        labelNames: ['controller'],
        registers: [this.registry],
    });
    readonly leaderStatus = new client.Gauge({
        name: 'leader_election_master_status',
        help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
        labelNames: ['name'],
        registers: [this.registry],
    });
    readonly restRequests = new client.Counter({
        name: 'rest_client_requests_total',
        help: 'Number of HTTP requests, partitioned by status code, method, and host.',
        labelNames: ['code', 'method', 'host'],
        registers: [this.registry],
    });
    readonly rateLimiterWait = new client.Histogram({
        name: 'rest_client_rate_limiter_duration_seconds',
        help: 'Client side rate limiter latency in seconds.',
        labelNames: ['verb'],
        buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
        registers: [this.registry],
    });
    readonly informerRestarts = new client.Counter({
        name: 'informer_restarts_total',
        help: 'Times a shared informer was restarted after its watch failed or went silent.',
        labelNames: ['resource', 'reason'],
        registers: [this.registry],
    });
    readonly eventsDropped = new client.Counter({
        name: 'events_dropped_total',
        help: 'Kubernetes Events not written: queue_full (recorder queue full), spam (held back by the spam filter; added to the count of the next write), write_error (the API server refused it or did not answer after every retry), shutdown (still queued when the shutdown flush ended).',
        labelNames: ['reason'],
        registers: [this.registry],
    });

    constructor(collectDefaults = true) {
        if (collectDefaults) client.collectDefaultMetrics({ register: this.registry });
    }

    /**
     * Queue hooks that feed the workqueue_* metrics for the queue called name. `name` is upstream's
     * queue name where one maps (`claims`, `volumes`, `pvcprotection`, ...); `controller` tells
     * apart two of our loops whose upstream queues share a name (the PV binder's and the
     * provisioner's `claims`), which one process of kube-controller-manager plus sidecars never has.
     */
    queueMetrics(name: string, controller = ''): QueueMetrics {
        const l = { name, controller };
        return {
            add: () => this.queueAdds.inc(l),
            retry: () => this.queueRetries.inc(l),
            depth: (n) => this.queueDepth.set(l, n),
            get: (ms) => this.queueLatency.observe(l, ms / 1000),
            done: (ms) => this.workDuration.observe(l, ms / 1000),
            suppressed: () => this.queueOwnWritesIgnored.inc(l),
        };
    }
}
