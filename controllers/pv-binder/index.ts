// Wiring of the PV binder (kube-controller-manager `persistentvolume-binder`): shared informers →
// two work queues (claims, volumes) → parallel workers → Binder. Resyncs every
// --pvclaimbinder-sync-period.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { ControllerDeps } from '../../src/deps.ts';
import { AssumeCache } from '../../src/kube/assume.ts';
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { runWorkers } from '../../src/runtime/controller.ts';
import type { Runnable } from '../../src/runtime/manager.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';
import { claimClass, claimHasClass, volumeClass } from '../../src/storage/helpers.ts';
import { POD_CLAIM_INDEX, podClaimKeys } from '../../src/storage/indexers.ts';
import { VolumeIndex } from './match.ts';
import { registerBinderMetrics } from './metrics.ts';
import { Binder } from './reconcile.ts';

/** Index of claims by spec.volumeName. */
const CLAIM_VOLUME_INDEX = 'volumeName';

/** Event source component, as upstream. */
export const COMPONENT = 'persistentvolume-controller';

/** Builds the pv-binder Runnable. */
export function pvBinder(deps: ControllerDeps): Runnable {
    const name = 'pv-binder';
    const log = deps.log.child({ controller: name });
    const pvInformer = deps.informers.for(RESOURCES.persistentVolumes);
    const pvcInformer = deps.informers.for(RESOURCES.persistentVolumeClaims);
    const classes = deps.informers.for(RESOURCES.storageClasses);
    const pods = deps.informers.for(RESOURCES.pods);
    pods.addIndexer(POD_CLAIM_INDEX, podClaimKeys);
    pvcInformer.addIndexer(CLAIM_VOLUME_INDEX, (c) => (c.spec?.volumeName ? [c.spec.volumeName] : []));
    const volumes = new AssumeCache<V1PersistentVolume>(pvInformer);
    const claims = new AssumeCache<V1PersistentVolumeClaim>(pvcInformer);
    // The matching index follows the effective view (informer + our own assumed writes), always.
    const index = new VolumeIndex();
    const metrics = registerBinderMetrics(deps.metrics, () => pvInformer.list(), () => pvcInformer.list());

    let claimQueue: WorkQueue<string> | undefined;
    let volumeQueue: WorkQueue<string> | undefined;
    const binder = new Binder({
        core: deps.clients.core,
        volumes,
        claims,
        classes,
        pods,
        index,
        recorder: deps.events.recorder(COMPONENT),
        metrics,
        enqueueClaim: (k) => claimQueue?.add(k),
        enqueueVolume: (n) => volumeQueue?.add(n),
    });
    volumes.onChange((key, pv) => {
        if (!pv) return index.remove(key);
        index.upsert(pv);
        if (!pv.spec?.claimRef && pv.status?.phase === 'Available') binder.wakeWaiting(volumeClass(pv));
    });

    return {
        name,
        async start(signal) {
            const cq = new WorkQueue<string>({ metrics: deps.metrics.queueMetrics('claims') });
            const vq = new WorkQueue<string>({ metrics: deps.metrics.queueMetrics('volumes') });
            claimQueue = cq;
            volumeQueue = vq;
            const unregister = [
                pvcInformer.addEventHandler({
                    onAdd: (c) => cq.add(keyOf(c)),
                    onUpdate: (_o, c) => cq.add(keyOf(c)),
                    onDelete: (c) => cq.add(keyOf(c)),
                }),
                pvInformer.addEventHandler({
                    // A claim naming this PV (spec.volumeName) may now bind, or un-Lose.
                    onAdd: (v) => {
                        vq.add(keyOf(v));
                        for (const c of pvcInformer.byIndex(CLAIM_VOLUME_INDEX, keyOf(v))) if (c.status?.phase !== 'Bound') cq.add(keyOf(c));
                    },
                    onUpdate: (_o, v) => vq.add(keyOf(v)),
                    onDelete: (v) => {
                        const r = v.spec?.claimRef;
                        if (r?.name) cq.add(`${r.namespace}/${r.name}`);
                    },
                }),
                pods.addEventHandler({
                    // An unscheduled pod changes what a delayed claim waits for (WaitForPodScheduled).
                    onAdd: (p) => wakeClaimsOf(p),
                    onUpdate: (_o, p) => wakeClaimsOf(p),
                }),
                classes.addEventHandler({
                    // A new or changed class may unblock claims naming it, or (default class) claims with none.
                    onAdd: (sc) => enqueueClaimsOfClass(sc.metadata?.name ?? ''),
                    onUpdate: (_o, sc) => enqueueClaimsOfClass(sc.metadata?.name ?? ''),
                }),
            ];
            function wakeClaimsOf(p: V1Pod) {
                if (p.spec?.nodeName) return;
                for (const k of podClaimKeys(p)) if (pvcInformer.get(k)?.status?.phase === 'Pending') cq.add(k);
            }
            function enqueueClaimsOfClass(cls: string) {
                for (const c of pvcInformer.list()) {
                    if (c.status?.phase === 'Bound') continue;
                    if (claimClass(c) === cls || !claimHasClass(c)) cq.add(keyOf(c));
                }
            }
            const resync = setInterval(() => {
                for (const c of pvcInformer.list()) cq.add(keyOf(c));
                for (const v of pvInformer.list()) vq.add(keyOf(v));
            }, deps.config.pvClaimBinderSyncPeriodMs);
            resync.unref();
            log.info({ workers: deps.config.workerThreads, resyncMs: deps.config.pvClaimBinderSyncPeriodMs }, 'Starting PV binder');
            try {
                await Promise.all([
                    runWorkers({ name: 'pv-binder-claims', queue: cq, workers: deps.config.workerThreads, log, metrics: deps.metrics, reconcile: (k, ctx) => binder.syncClaim(k, ctx.log) }, signal),
                    runWorkers({ name: 'pv-binder-volumes', queue: vq, workers: deps.config.workerThreads, log, metrics: deps.metrics, reconcile: (k, ctx) => binder.syncVolume(k, ctx.log) }, signal),
                ]);
            } finally {
                clearInterval(resync);
                for (const u of unregister) u();
                claimQueue = volumeQueue = undefined;
            }
        },
    };
}
