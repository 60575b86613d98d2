// pvc-protection's I/O: keeps `kubernetes.io/pvc-protection` on claims and removes it from a
// deleting claim once no scheduled pod uses it (checked in the cache, then confirmed with a live
// pod list, as upstream does, since the pod cache may lag). Mirrors pvc_protection_controller.go
// processPVC.
import type { CoreV1Api, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { fresherFromCache } from '../../src/kube/informer.ts';
import type { SharedInformer } from '../../src/kube/informer.ts';
import { updateFinalizer } from '../../src/kube/patch.ts';
import { splitKey } from '../../src/kube/resources.ts';
import { FINALIZER_PVC_PROTECTION } from '../../src/storage/helpers.ts';
import { POD_CLAIM_INDEX } from '../../src/storage/indexers.ts';
import { decidePvcProtection, podUsesClaim } from './decide.ts';

/** What the pvc-protection reconciler reads and writes through (pods indexed by POD_CLAIM_INDEX). */
export interface PvcProtectionDeps {
    core: CoreV1Api;
    claims: SharedInformer<V1PersistentVolumeClaim>;
    pods: SharedInformer<V1Pod>;
}

/** Reconciles one claim by `ns/name`. */
export async function reconcilePvcProtection(deps: PvcProtectionDeps, key: string, log: Logger): Promise<void> {
    const claim = deps.claims.get(key);
    if (!claim) return;
    const { namespace, name } = splitKey(key);
    const action = decidePvcProtection(claim);
    if (action === 'none') return;
    const ops = {
        read: () => fresherFromCache(deps.claims, key, claim.metadata?.resourceVersion),
        patch: (body: object[]) => deps.core.patchNamespacedPersistentVolumeClaim({ name, namespace, body }),
    };
    if (action === 'add-finalizer') {
        await updateFinalizer(claim, FINALIZER_PVC_PROTECTION, true, ops);
        log.debug({ pvc: key }, 'Added protection finalizer to PVC');
        return;
    }
    const user = deps.pods.byIndex(POD_CLAIM_INDEX, key).find((p) => podUsesClaim(p, claim)) ?? (await deps.core.listNamespacedPod({ namespace })).items.find((p) => podUsesClaim(p, claim));
    if (user) {
        log.debug({ pvc: key, pod: user.metadata?.name }, 'Keeping PVC because it is being used');
        return;
    }
    await updateFinalizer(claim, FINALIZER_PVC_PROTECTION, false, ops);
    log.info({ pvc: key }, 'Removed protection finalizer from PVC');
}
