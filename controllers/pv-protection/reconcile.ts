// pv-protection's I/O: keeps `kubernetes.io/pv-protection` on volumes and removes it from a
// deleting volume once it is not Bound. Mirrors pv_protection_controller.go processPV.
import type { CoreV1Api, V1PersistentVolume } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { fresherFromCache } from '../../src/kube/informer.ts';
import type { SharedInformer } from '../../src/kube/informer.ts';
import { updateFinalizer } from '../../src/kube/patch.ts';
import { FINALIZER_PV_PROTECTION } from '../../src/storage/helpers.ts';
import { decidePvProtection } from './decide.ts';

/** What the pv-protection reconciler reads and writes through. */
export interface PvProtectionDeps {
    core: CoreV1Api;
    volumes: SharedInformer<V1PersistentVolume>;
}

/** Reconciles one volume by name. */
export async function reconcilePvProtection(deps: PvProtectionDeps, name: string, log: Logger): Promise<void> {
    const pv = deps.volumes.get(name);
    if (!pv) return;
    const action = decidePvProtection(pv);
    if (action === 'none') return;
    await updateFinalizer(pv, FINALIZER_PV_PROTECTION, action === 'add-finalizer', {
        read: () => fresherFromCache(deps.volumes, name, pv.metadata?.resourceVersion),
        patch: (body) => deps.core.patchPersistentVolume({ name, body }),
    });
    log.info({ pv: name }, action === 'add-finalizer' ? 'Added protection finalizer to PV' : 'Removed protection finalizer from PV');
}
