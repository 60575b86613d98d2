// Wiring of the external-provisioner (kubernetes-csi/external-provisioner) for every CSI driver
// of this process: shared informers → `claims` and `volumes` queues (per-item backoff
// --retry-interval-start → --retry-interval-max) → --worker-threads workers each, plus the
// cloning-protection queue (one worker, as upstream's --cloning-protection-threads default).
import type { ControllerDeps } from '../../src/deps.ts';
import type { EventRecorder } from '../../src/kube/events.ts';
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { runWorkers } from '../../src/runtime/controller.ts';
import type { Runnable } from '../../src/runtime/manager.ts';
import { OwnWrites } from '../../src/runtime/own-writes.ts';
import { ItemExponentialBackoff } from '../../src/runtime/ratelimit.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';
import { VA_PV_INDEX, vaPersistentVolume } from '../../src/storage/indexers.ts';
import { registerProvisionerMetrics } from './metrics.ts';
import { FINALIZER_CLONE_PROTECTION, cloneSourceKey } from './plan.ts';
import { Provisioner } from './reconcile.ts';

/** Index of claims by the `ns/name` of the claim they clone. */
const CLONE_SOURCE_INDEX = 'provisioner-clone-source';

/** Builds the provisioner Runnable. */
export function provisioner(deps: ControllerDeps): Runnable {
    const name = 'provisioner';
    const log = deps.log.child({ controller: name });
    const claims = deps.informers.for(RESOURCES.persistentVolumeClaims);
    const volumes = deps.informers.for(RESOURCES.persistentVolumes);
    const attachments = deps.informers.for(RESOURCES.volumeAttachments);
    attachments.addIndexer(VA_PV_INDEX, vaPersistentVolume);
    claims.addIndexer(CLONE_SOURCE_INDEX, (c) => {
        const k = cloneSourceKey(c);
        return k ? [k] : [];
    });
    const recorders = new Map<string, EventRecorder>();
    const p = new Provisioner({
        core: deps.clients.core,
        custom: deps.clients.custom,
        drivers: deps.drivers,
        claims,
        volumes,
        classes: deps.informers.for(RESOURCES.storageClasses),
        nodes: deps.informers.for(RESOURCES.nodes),
        csiNodes: deps.informers.for(RESOURCES.csiNodes),
        attachments,
        recorder(driver) {
            let r = recorders.get(driver);
            if (!r) recorders.set(driver, (r = deps.events.recorder(`${driver}_${deps.config.identity}`)));
            return r;
        },
        populatorRecorder: deps.events.recorder('external-provisioner'),
        cloneSourceIndex: CLONE_SOURCE_INDEX,
        metrics: registerProvisionerMetrics(deps.metrics),
        identity: deps.config.identity,
        volumeNamePrefix: deps.config.volumeNamePrefix,
        volumeNameUuidLength: deps.config.volumeNameUuidLength,
        extraCreateMetadata: deps.config.extraCreateMetadata,
        defaultFsType: deps.config.defaultFsType,
        infeasibleRetryMs: deps.config.retryIntervalMaxMs,
    });

    // This controller's own writes: their update events never cut a failed key's backoff short.
    const own = new OwnWrites();
    return {
        name,
        async start(signal) {
            const limiter = () => new ItemExponentialBackoff<string>(deps.config.retryIntervalStartMs, deps.config.retryIntervalMaxMs);
            const cq = new WorkQueue<string>({ rateLimiter: limiter(), metrics: deps.metrics.queueMetrics('provisioner-claims') });
            const vq = new WorkQueue<string>({ rateLimiter: limiter(), metrics: deps.metrics.queueMetrics('provisioner-volumes') });
            const sq = new WorkQueue<string>({ rateLimiter: limiter(), metrics: deps.metrics.queueMetrics('provisioner-clone-sources') });
            // A source claim being deleted that still protects clones; and the source of a clone
            // whose state changed, since that may end its protection.
            const protectedSource = (key: string | undefined) => {
                const c = key ? claims.get(key) : undefined;
                if (key && c?.metadata?.deletionTimestamp && c.metadata.finalizers?.includes(FINALIZER_CLONE_PROTECTION)) sq.add(key);
            };
            const unregister = [
                claims.addEventHandler({
                    onAdd: (c) => {
                        cq.add(keyOf(c));
                        protectedSource(keyOf(c));
                    },
                    onUpdate: (o, c) => {
                        cq.addUpdate(keyOf(c), () => own.onlyOwnWrite(o, c));
                        protectedSource(keyOf(c));
                        protectedSource(cloneSourceKey(c));
                        // A source that became Bound: its clones waiting for it can go on now.
                        if (o.status?.phase !== c.status?.phase) for (const d of claims.byIndex(CLONE_SOURCE_INDEX, keyOf(c))) if (d.status?.phase === 'Pending') cq.add(keyOf(d));
                    },
                    onDelete: (c) => protectedSource(cloneSourceKey(c)),
                }),
                volumes.addEventHandler({
                    onAdd: (v) => vq.add(keyOf(v)),
                    onUpdate: (o, v) => vq.addUpdate(keyOf(v), () => own.onlyOwnWrite(o, v)),
                    onDelete: (v) => {
                        const r = v.spec?.claimRef;
                        if (r?.name) cq.add(`${r.namespace}/${r.name}`);
                    },
                }),
                // A detached volume may now be deleted.
                attachments.addEventHandler({
                    onDelete: (a) => {
                        const pv = a.spec?.source?.persistentVolumeName;
                        if (pv) vq.add(pv);
                    },
                }),
            ];
            log.info({ drivers: deps.drivers.names(), workers: deps.config.workerThreads }, 'Starting provisioner');
            try {
                await Promise.all([
                    runWorkers({ name: 'provisioner-claims', queue: cq, workers: deps.config.workerThreads, log, metrics: deps.metrics, ownWrites: own, reconcile: (k, ctx) => p.syncClaim(k, ctx.log) }, signal),
                    runWorkers({ name: 'provisioner-volumes', queue: vq, workers: deps.config.workerThreads, log, metrics: deps.metrics, ownWrites: own, reconcile: (k, ctx) => p.syncVolume(k, ctx.log) }, signal),
                    runWorkers({ name: 'provisioner-clone-sources', queue: sq, workers: 1, log, metrics: deps.metrics, ownWrites: own, reconcile: (k, ctx) => p.syncCloneSource(k, ctx.log) }, signal),
                ]);
            } finally {
                for (const u of unregister) u();
            }
        },
    };
}
