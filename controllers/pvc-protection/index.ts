// pvc-protection (kube-controller-manager `pvc-protection`): keeps `kubernetes.io/pvc-protection`
// on claims, and removes it from a deleting claim once no scheduled pod uses it, so the delete
// completes.
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { defineController } from '../../src/runtime/loop.ts';
import { POD_CLAIM_INDEX, podClaimKeys } from '../../src/storage/indexers.ts';
import { reconcilePvcProtection } from './reconcile.ts';

/** The pvc-protection loop: claims, and the claims pods use → `pvcprotection` queue → reconcilePvcProtection. */
export const pvcProtection = defineController('pvc-protection', (loop, deps) => {
    const claims = deps.informers.for(RESOURCES.persistentVolumeClaims);
    const pods = deps.informers.for(RESOURCES.pods);
    pods.addIndexer(POD_CLAIM_INDEX, podClaimKeys);
    const r = { core: deps.clients.core, claims, pods };
    const q = loop.queue({ name: 'pvcprotection', reconcile: (key, ctx) => reconcilePvcProtection(r, key, ctx.log) });
    loop.watch(claims, q, keyOf, ['add', 'update']);
    loop.watch(pods, q, podClaimKeys);
});
