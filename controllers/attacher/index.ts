// Wiring of the external-attacher (kubernetes-csi/external-attacher) for every CSI driver of
// this process. Attaches and detaches run in separate queues (lanes) with their own workers, so
// a burst of detaches never starves attaches (external-attacher #761).
import type { V1VolumeAttachment } from '@kubernetes/client-node';
import type { ControllerDeps } from '../../src/deps.ts';
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { runWorkers } from '../../src/runtime/controller.ts';
import type { Runnable } from '../../src/runtime/manager.ts';
import { OwnWrites } from '../../src/runtime/own-writes.ts';
import { ItemExponentialBackoff } from '../../src/runtime/ratelimit.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';
import { VA_PV_INDEX, vaPersistentVolume } from '../../src/storage/indexers.ts';
import { Attacher } from './reconcile.ts';

/** True when an update changed nothing but attach/detach errors (shouldEnqueueVAChange): our own error write must not retrigger. */
export function onlyErrorsChanged(a: V1VolumeAttachment, b: V1VolumeAttachment): boolean {
    if (a.metadata?.resourceVersion === b.metadata?.resourceVersion) return false;
    const strip = (v: V1VolumeAttachment) =>
        JSON.stringify({ m: { ...v.metadata, resourceVersion: undefined, managedFields: undefined }, s: v.spec, st: { ...v.status, attachError: undefined, detachError: undefined } });
    return strip(a) === strip(b);
}

/** Builds the attacher Runnable. */
export function attacher(deps: ControllerDeps): Runnable {
    const name = 'attacher';
    const log = deps.log.child({ controller: name });
    const attachments = deps.informers.for(RESOURCES.volumeAttachments);
    const volumes = deps.informers.for(RESOURCES.persistentVolumes);
    attachments.addIndexer(VA_PV_INDEX, vaPersistentVolume);
    const a = new Attacher({
        core: deps.clients.core,
        storage: deps.clients.storage,
        drivers: deps.drivers,
        attachments,
        volumes,
        csiNodes: deps.informers.for(RESOURCES.csiNodes),
        defaultFsType: deps.config.defaultFsType,
    });
    // This controller's own writes: their update events never cut a failed key's backoff short.
    const own = new OwnWrites();
    return {
        name,
        async start(signal) {
            const limiter = () => new ItemExponentialBackoff<string>(deps.config.retryIntervalStartMs, deps.config.retryIntervalMaxMs);
            const attachQ = new WorkQueue<string>({ rateLimiter: limiter(), metrics: deps.metrics.queueMetrics('csi-attacher-va-attach') });
            const detachQ = new WorkQueue<string>({ rateLimiter: limiter(), metrics: deps.metrics.queueMetrics('csi-attacher-va-detach') });
            const pvQ = new WorkQueue<string>({ rateLimiter: limiter(), metrics: deps.metrics.queueMetrics('csi-attacher-pv') });
            const route = (va: V1VolumeAttachment, old?: V1VolumeAttachment) => {
                if (!va.spec?.attacher || !deps.drivers.has(va.spec.attacher)) return;
                const q = va.metadata?.deletionTimestamp ? detachQ : attachQ;
                if (old) q.addUpdate(keyOf(va), () => own.onlyOwnWrite(old, va));
                else q.add(keyOf(va));
            };
            const unregister = [
                attachments.addEventHandler({
                    onAdd: (va) => route(va),
                    onUpdate: (o, n) => {
                        if (!onlyErrorsChanged(o, n)) route(n, o);
                    },
                    onDelete: (va) => {
                        const pv = va.spec?.source?.persistentVolumeName;
                        if (pv) pvQ.add(pv);
                    },
                }),
                volumes.addEventHandler({
                    onAdd: (v) => v.metadata?.deletionTimestamp && pvQ.add(keyOf(v)),
                    onUpdate: (o, v) => v.metadata?.deletionTimestamp && pvQ.addUpdate(keyOf(v), () => own.onlyOwnWrite(o, v)),
                }),
            ];
            // Periodic ListVolumes re-check, one driver at a time, never overlapping itself.
            let checking = false;
            const recheck = deps.config.attacherReconcileSyncMs > 0
                ? setInterval(() => {
                      if (checking) return;
                      checking = true;
                      void (async () => {
                          for (const d of deps.drivers.names()) {
                              const e = deps.drivers.get(d);
                              if (!e) continue;
                              try {
                                  for (const name of await a.reconcileWithDriver(e, log)) attachQ.add(name);
                              } catch (err) {
                                  log.warn({ driver: d, err: (err as Error).message }, 'ListVolumes re-check failed');
                              }
                          }
                      })().finally(() => (checking = false));
                  }, deps.config.attacherReconcileSyncMs)
                : undefined;
            recheck?.unref();
            const workers = deps.config.workerThreads;
            log.info({ drivers: deps.drivers.names(), workers }, 'Starting attacher');
            try {
                await Promise.all([
                    runWorkers({ name: 'attacher-attach', ownWrites: own, queue: attachQ, workers, log, metrics: deps.metrics, reconcile: (k, ctx) => a.syncVA(k, ctx.log) }, signal),
                    runWorkers({ name: 'attacher-detach', ownWrites: own, queue: detachQ, workers, log, metrics: deps.metrics, reconcile: (k, ctx) => a.syncVA(k, ctx.log) }, signal),
                    runWorkers({ name: 'attacher-pv', ownWrites: own, queue: pvQ, workers: 1, log, metrics: deps.metrics, reconcile: (k, ctx) => a.syncPV(k, ctx.log) }, signal),
                ]);
            } finally {
                clearInterval(recheck);
                for (const u of unregister) u();
            }
        },
    };
}
