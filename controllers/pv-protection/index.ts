// pv-protection (kube-controller-manager `pv-protection`): keeps `kubernetes.io/pv-protection` on
// PVs, and removes it from a deleting PV once it is not Bound, so the delete completes.
import type { V1PersistentVolume } from '@kubernetes/client-node';
import type { ControllerDeps } from '../../src/deps.ts';
import { updateFinalizer } from '../../src/kube/patch.ts';
import { fresherFromCache } from '../../src/kube/informer.ts';
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { runWorkers } from '../../src/runtime/controller.ts';
import type { Runnable } from '../../src/runtime/manager.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';
import { FINALIZER_PV_PROTECTION } from '../../src/storage/helpers.ts';

/** pv_protection_controller.go: add when missing and not deleting; remove when deleting and not Bound. */
export function decidePvProtection(pv: V1PersistentVolume): 'add-finalizer' | 'remove-finalizer' | 'none' {
    const has = pv.metadata?.finalizers?.includes(FINALIZER_PV_PROTECTION) ?? false;
    if (!pv.metadata?.deletionTimestamp) return has ? 'none' : 'add-finalizer';
    if (has && pv.status?.phase !== 'Bound') return 'remove-finalizer';
    return 'none';
}

/** Builds the pv-protection Runnable. */
export function pvProtection(deps: ControllerDeps): Runnable {
    const name = 'pv-protection';
    const log = deps.log.child({ controller: name });
    const volumes = deps.informers.for(RESOURCES.persistentVolumes);
    const core = deps.clients.core;

    async function reconcile(key: string): Promise<void> {
        const pv = volumes.get(key);
        if (!pv) return;
        const action = decidePvProtection(pv);
        if (action === 'none') return;
        await updateFinalizer(pv, FINALIZER_PV_PROTECTION, action === 'add-finalizer', {
            read: () => fresherFromCache(volumes, key, pv.metadata?.resourceVersion),
            patch: (body) => core.patchPersistentVolume({ name: key, body }),
        });
        log.info({ pv: key }, action === 'add-finalizer' ? 'Added protection finalizer to PV' : 'Removed protection finalizer from PV');
    }

    return {
        name,
        async start(signal) {
            const q = new WorkQueue<string>({ metrics: deps.metrics.queueMetrics(name) });
            const unregister = volumes.addEventHandler({ onAdd: (v) => q.add(keyOf(v)), onUpdate: (_o, v) => q.add(keyOf(v)) });
            try {
                await runWorkers({ name, queue: q, workers: deps.config.workerThreads, log, metrics: deps.metrics, reconcile: (k) => reconcile(k) }, signal);
            } finally {
                unregister();
            }
        },
    };
}
