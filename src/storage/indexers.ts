import type { V1Pod, V1VolumeAttachment } from '@kubernetes/client-node';

/** Name of the pod index by claim key, shared by every controller that asks "which pods use this claim?". */
export const POD_CLAIM_INDEX = 'claim';

/**
 * Index function: the `ns/claimName` keys of the PVCs a pod's volumes reference, including the
 * claim of a generic ephemeral volume (`<pod>-<volume>`). Mirrors the PodPVCIndex of
 * pkg/controller/volume/common.
 */
export function podClaimKeys(pod: V1Pod): string[] {
    const ns = pod.metadata?.namespace ?? '';
    const out: string[] = [];
    for (const v of pod.spec?.volumes ?? []) {
        if (v.persistentVolumeClaim?.claimName) out.push(`${ns}/${v.persistentVolumeClaim.claimName}`);
        else if (v.ephemeral) out.push(`${ns}/${pod.metadata?.name}-${v.name}`);
    }
    return out;
}

/** Name of the VolumeAttachment index by `spec.source.persistentVolumeName`, shared by every controller that asks "is this PV attached?". */
export const VA_PV_INDEX = 'persistentVolumeName';

/** Index function: the PV a VolumeAttachment attaches, if any. */
export function vaPersistentVolume(va: V1VolumeAttachment): string[] {
    const pv = va.spec?.source?.persistentVolumeName;
    return pv ? [pv] : [];
}
