// The PV binder loop (kube-controller-manager `persistentvolume-binder`): claims and volumes from
// the shared informers → the `claims` and `volumes` queues → Binder.syncClaim / syncVolume; every
// --pvclaimbinder-sync-period every claim and volume is synced again. Mirrors
// pv_controller_base.go (wiring) over pv_controller.go (reconcile.ts, decide.ts).
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1StorageClass } from '@kubernetes/client-node';
import { AssumeCache } from '../../src/kube/assume.ts';
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { defineController } from '../../src/runtime/loop.ts';
import { claimClass, claimHasClass, claimRefKey } from '../../src/storage/helpers.ts';
import { POD_CLAIM_INDEX, podClaimKeys } from '../../src/storage/indexers.ts';
import { registerBinderMetrics } from './metrics.ts';
import { Binder } from './reconcile.ts';

/** Index of claims by spec.volumeName. */
const CLAIM_VOLUME_INDEX = 'volumeName';

/** Event source component, as upstream. */
export const COMPONENT = 'persistentvolume-controller';

/** The pv-binder loop. */
export const pvBinder = defineController('pv-binder', (loop, deps) => {
    const pvInformer = deps.informers.for(RESOURCES.persistentVolumes);
    const pvcInformer = deps.informers.for(RESOURCES.persistentVolumeClaims);
    const classes = deps.informers.for(RESOURCES.storageClasses);
    const pods = deps.informers.for(RESOURCES.pods);
    pods.addIndexer(POD_CLAIM_INDEX, podClaimKeys);
    pvcInformer.addIndexer(CLAIM_VOLUME_INDEX, (c) => (c.spec?.volumeName ? [c.spec.volumeName] : []));

    const claimQueue = loop.queue({ name: 'claims', reconcile: (key, ctx) => binder.syncClaim(key, ctx.log) });
    const volumeQueue = loop.queue({ name: 'volumes', reconcile: (name, ctx) => binder.syncVolume(name, ctx.log) });
    const binder: Binder = new Binder({
        core: deps.clients.core,
        volumes: new AssumeCache<V1PersistentVolume>(pvInformer),
        claims: new AssumeCache<V1PersistentVolumeClaim>(pvcInformer),
        classes,
        pods,
        recorder: deps.events.recorder(COMPONENT),
        metrics: registerBinderMetrics(deps.metrics, () => pvInformer.list(), () => pvcInformer.list()),
        claimQueue,
        volumeQueue,
    });

    /** Claims not Bound that name the volume in spec.volumeName: it may now bind, or un-Lose. */
    const claimsNaming = (pv: V1PersistentVolume) => pvcInformer.byIndex(CLAIM_VOLUME_INDEX, keyOf(pv)).filter((c) => c.status?.phase !== 'Bound').map(keyOf);
    /** Pending claims of an unscheduled pod: what a delayed claim waits for changed (WaitForPodScheduled). */
    const pendingClaimsOf = (p: V1Pod) => (p.spec?.nodeName ? [] : podClaimKeys(p).filter((k) => pvcInformer.get(k)?.status?.phase === 'Pending'));
    /** Unbound claims of a new or changed class, or (it may be the default) claims without one. */
    const unboundClaimsOf = (sc: V1StorageClass) =>
        pvcInformer
            .list()
            .filter((c) => c.status?.phase !== 'Bound' && (claimClass(c) === sc.metadata?.name || !claimHasClass(c)))
            .map(keyOf);

    loop.watch(pvcInformer, claimQueue, keyOf);
    loop.watch(pvInformer, volumeQueue, keyOf, ['add', 'update']);
    loop.watch(pvInformer, claimQueue, { add: claimsNaming, delete: claimRefKey });
    loop.watch(pods, claimQueue, pendingClaimsOf, ['add', 'update']);
    loop.watch(classes, claimQueue, unboundClaimsOf, ['add', 'update']);
    loop.every('resync', deps.config.pvClaimBinderSyncPeriodMs, () => {
        for (const c of pvcInformer.list()) claimQueue.add(keyOf(c));
        for (const v of pvInformer.list()) volumeQueue.add(keyOf(v));
    });
});
