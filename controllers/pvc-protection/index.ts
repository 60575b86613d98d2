// pvc-protection (kube-controller-manager `pvc-protection`): keeps `kubernetes.io/pvc-protection`
// on claims, and removes it from a deleting claim once no scheduled pod uses it (checked in the
// cache, then confirmed with a live pod list), so the delete completes.
import type { ControllerDeps } from '../../src/deps.ts';
import { describeError } from '../../src/kube/errors.ts';
import { updateFinalizer } from '../../src/kube/patch.ts';
import { fresherFromCache } from '../../src/kube/informer.ts';
import { RESOURCES, keyOf, splitKey } from '../../src/kube/resources.ts';
import { runWorkers } from '../../src/runtime/controller.ts';
import type { Runnable } from '../../src/runtime/manager.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';
import { FINALIZER_PVC_PROTECTION } from '../../src/storage/helpers.ts';
import { POD_CLAIM_INDEX, podClaimKeys } from '../../src/storage/indexers.ts';
import { decidePvcProtection, podUsesClaim } from './decide.ts';

/** Builds the pvc-protection Runnable. */
export function pvcProtection(deps: ControllerDeps): Runnable {
    const name = 'pvc-protection';
    const log = deps.log.child({ controller: name });
    const claims = deps.informers.for(RESOURCES.persistentVolumeClaims);
    const pods = deps.informers.for(RESOURCES.pods);
    pods.addIndexer(POD_CLAIM_INDEX, podClaimKeys);
    const core = deps.clients.core;

    async function reconcile(key: string): Promise<void> {
        const claim = claims.get(key);
        if (!claim) return;
        const { namespace, name: claimName } = splitKey(key);
        const action = decidePvcProtection(claim);
        if (action === 'none') return;
        const ops = {
            read: () => fresherFromCache(claims, key, claim.metadata?.resourceVersion),
            patch: (body: object[]) => core.patchNamespacedPersistentVolumeClaim({ name: claimName, namespace, body }),
        };
        if (action === 'add-finalizer') {
            await updateFinalizer(claim, FINALIZER_PVC_PROTECTION, true, ops);
            log.debug({ pvc: key }, 'Added protection finalizer to PVC');
            return;
        }
        const inCache = pods.byIndex(POD_CLAIM_INDEX, key).find((p) => podUsesClaim(p, claim));
        if (inCache) {
            log.debug({ pvc: key, pod: inCache.metadata?.name }, 'Keeping PVC because it is being used');
            return;
        }
        const live = await core.listNamespacedPod({ namespace });
        const user = live.items.find((p) => podUsesClaim(p, claim));
        if (user) {
            log.debug({ pvc: key, pod: user.metadata?.name }, 'Keeping PVC because it is being used');
            return;
        }
        await updateFinalizer(claim, FINALIZER_PVC_PROTECTION, false, ops);
        log.info({ pvc: key }, 'Removed protection finalizer from PVC');
    }

    return {
        name,
        async start(signal) {
            const q = new WorkQueue<string>({ metrics: deps.metrics.queueMetrics(name) });
            const unregister = [
                claims.addEventHandler({ onAdd: (c) => q.add(keyOf(c)), onUpdate: (_o, c) => q.add(keyOf(c)) }),
                pods.addEventHandler({
                    onAdd: (p) => podClaimKeys(p).forEach((k) => q.add(k)),
                    onUpdate: (_o, p) => podClaimKeys(p).forEach((k) => q.add(k)),
                    onDelete: (p) => podClaimKeys(p).forEach((k) => q.add(k)),
                }),
            ];
            try {
                await runWorkers({ name, queue: q, workers: deps.config.workerThreads, log, metrics: deps.metrics, reconcile: (k) => reconcile(k) }, signal);
            } catch (err) {
                log.error({ err: describeError(err) }, 'pvc-protection stopped');
            } finally {
                for (const u of unregister) u();
            }
        },
    };
}
