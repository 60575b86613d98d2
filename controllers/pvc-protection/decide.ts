import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { FINALIZER_PVC_PROTECTION } from '../../src/storage/helpers.ts';

/** What the pvc-protection controller does with one claim. */
export type PvcProtectionAction = 'add-finalizer' | 'check-usage' | 'none';

/** NeedToAddFinalizer / IsDeletionCandidate (pvc_protection_controller.go). */
export function decidePvcProtection(claim: V1PersistentVolumeClaim): PvcProtectionAction {
    const has = claim.metadata?.finalizers?.includes(FINALIZER_PVC_PROTECTION) ?? false;
    if (!claim.metadata?.deletionTimestamp) return has ? 'none' : 'add-finalizer';
    return has ? 'check-usage' : 'none';
}

const isShutDown = (p: V1Pod) => !!p.metadata?.deletionTimestamp && p.metadata?.deletionGracePeriodSeconds === 0;

/**
 * podUsesPVC (pvc_protection_controller.go): only scheduled pods count (`spec.nodeName` set; the
 * kubelet never starts a pod whose claim is being deleted). A pod uses the claim when a volume
 * names it, or a generic ephemeral volume's claim `<pod>-<volume>` is it and the pod is not shut
 * down. As upstream (v1.36), a terminated (Succeeded/Failed) pod that still exists counts.
 */
export function podUsesClaim(pod: V1Pod, claim: V1PersistentVolumeClaim): boolean {
    if (!pod.spec?.nodeName) return false;
    if ((pod.metadata?.namespace ?? '') !== (claim.metadata?.namespace ?? '')) return false;
    const name = claim.metadata?.name;
    for (const v of pod.spec.volumes ?? []) {
        if (v.persistentVolumeClaim?.claimName === name) return true;
        if (v.ephemeral && !isShutDown(pod) && `${pod.metadata?.name}-${v.name}` === name) {
            const owned = claim.metadata?.ownerReferences?.some((o) => o.controller && o.uid === pod.metadata?.uid);
            if (owned) return true;
        }
    }
    return false;
}
