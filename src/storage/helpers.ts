import type { V1LabelSelector, V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { tryParseQuantity } from './quantity.ts';

// Annotations and finalizers, exact upstream strings (k8s.io/component-helpers/storage/volume).
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_DYNAMICALLY_PROVISIONED = 'pv.kubernetes.io/provisioned-by';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';
export const ANN_IS_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
export const ANN_BETA_IS_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';
export const ANN_PRE_RESIZE_CAPACITY = 'volume.alpha.kubernetes.io/pre-resize-capacity';
export const ANN_MIGRATED_TO = 'pv.kubernetes.io/migrated-to';
export const FINALIZER_PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const FINALIZER_PV_PROTECTION = 'kubernetes.io/pv-protection';
export const FINALIZER_EXTERNAL_PROVISIONER = 'external-provisioner.volume.kubernetes.io/finalizer';
/** The PV controller's deletion protection of in-tree provisioned Delete volumes (PVDeletionInTreeProtectionFinalizer). */
export const FINALIZER_PV_CONTROLLER = 'kubernetes.io/pv-controller';

/** The access modes the API knows, with kubectl's short names. */
export const ACCESS_MODE_SHORT: Record<string, string> = {
    ReadWriteOnce: 'RWO',
    ReadOnlyMany: 'ROX',
    ReadWriteMany: 'RWX',
    ReadWriteOncePod: 'RWOP',
};

/** A PV's class: the beta annotation wins over spec.storageClassName (GetPersistentVolumeClass). */
export function volumeClass(pv: V1PersistentVolume): string {
    const beta = pv.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS];
    if (beta !== undefined) return beta;
    return pv.spec?.storageClassName ?? '';
}

/** A claim's class: beta annotation, else spec.storageClassName, else '' (GetPersistentVolumeClaimClass). */
export function claimClass(claim: V1PersistentVolumeClaim): string {
    const beta = claim.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS];
    if (beta !== undefined) return beta;
    return claim.spec?.storageClassName ?? '';
}

/** True when the claim names a class at all, even "" (PersistentVolumeClaimHasClass). */
export function claimHasClass(claim: V1PersistentVolumeClaim): boolean {
    return claim.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS] !== undefined || claim.spec?.storageClassName != null;
}

/** `ns/name` of a claim. */
export function claimKey(claim: V1PersistentVolumeClaim): string {
    return `${claim.metadata?.namespace ?? ''}/${claim.metadata?.name ?? ''}`;
}

/** The claimRef key `ns/name` a PV points at, or undefined. */
export function claimRefKey(pv: V1PersistentVolume): string | undefined {
    const r = pv.spec?.claimRef;
    if (!r || !r.name) return undefined;
    return `${r.namespace ?? ''}/${r.name}`;
}

/**
 * True when pv's claimRef names claim (namespace and name) and, if the claimRef has a uid, the
 * uid matches (IsVolumeBoundToClaim).
 */
export function isVolumeBoundToClaim(pv: V1PersistentVolume, claim: V1PersistentVolumeClaim): boolean {
    const r = pv.spec?.claimRef;
    if (!r) return false;
    if (r.name !== claim.metadata?.name || (r.namespace ?? '') !== (claim.metadata?.namespace ?? '')) return false;
    if (r.uid && r.uid !== claim.metadata?.uid) return false;
    return true;
}

/** The PV's storage capacity in bytes, or undefined when missing or unparsable. */
export function volumeCapacity(pv: V1PersistentVolume): bigint | undefined {
    return tryParseQuantity(pv.spec?.capacity?.storage);
}

/** The claim's requested storage in bytes, or undefined when missing or unparsable. */
export function claimRequest(claim: V1PersistentVolumeClaim): bigint | undefined {
    return tryParseQuantity(claim.spec?.resources?.requests?.storage);
}

/** volumeMode with the API default (nil ≡ Filesystem). */
export function volumeModeOf(o: { spec?: { volumeMode?: string } }): string {
    return o.spec?.volumeMode || 'Filesystem';
}

/** The canonical string of an access-mode set (sorted, comma-joined), used as an index key. */
export function accessModesKey(modes: string[] | undefined): string {
    return [...new Set(modes ?? [])].sort().join(',');
}

/** Short form of access modes for messages: `[RWO,RWX]`. */
export function shortModes(modes: string[] | undefined): string {
    return `[${(modes ?? []).map((m) => ACCESS_MODE_SHORT[m] ?? m).join(',')}]`;
}

/** True when every mode in `requested` is in `available` (CheckAccessModes). */
export function containsModes(available: string[] | undefined, requested: string[] | undefined): boolean {
    const have = new Set(available ?? []);
    return (requested ?? []).every((m) => have.has(m));
}

/**
 * An object whose content is invalid (bad user input the API server let through, e.g. an unknown
 * selector operator): retrying cannot help until the object changes. Decision functions turn it
 * into an outcome; they never let it escape as an exception.
 */
export class InvalidObjectError extends Error {
    constructor(message: string) {
        super(message);
        this.name = 'InvalidObjectError';
    }
}

/**
 * Evaluates a metav1.LabelSelector against labels (LabelSelectorAsSelector semantics: an empty
 * selector matches everything; In, NotIn, Exists, DoesNotExist).
 * @throws InvalidObjectError for an unknown operator (bad input)
 */
export function selectorMatches(sel: V1LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
    if (!sel) return true;
    const l = labels ?? {};
    for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
    for (const e of sel.matchExpressions ?? []) {
        const has = Object.hasOwn(l, e.key);
        const val = l[e.key];
        switch (e.operator) {
            case 'In':
                if (!has || !(e.values ?? []).includes(val as string)) return false;
                break;
            case 'NotIn':
                if (has && (e.values ?? []).includes(val as string)) return false;
                break;
            case 'Exists':
                if (!has) return false;
                break;
            case 'DoesNotExist':
                if (has) return false;
                break;
            default:
                throw new InvalidObjectError(`"${e.operator}" is not a valid label selector operator`);
        }
    }
    return true;
}

/** True when the class is marked default by the GA or beta annotation ("true"). */
export function isDefaultClass(sc: V1StorageClass): boolean {
    const a = sc.metadata?.annotations ?? {};
    return a[ANN_IS_DEFAULT_CLASS] === 'true' || a[ANN_BETA_IS_DEFAULT_CLASS] === 'true';
}

/**
 * The default StorageClass: among classes marked default, the newest creationTimestamp wins,
 * ties by name ascending (pkg/volume/util GetDefaultClass). Undefined when none.
 */
export function defaultClass(classes: V1StorageClass[]): V1StorageClass | undefined {
    const defaults = classes.filter(isDefaultClass);
    defaults.sort((a, b) => {
        const ta = a.metadata?.creationTimestamp ? new Date(a.metadata.creationTimestamp).getTime() : 0;
        const tb = b.metadata?.creationTimestamp ? new Date(b.metadata.creationTimestamp).getTime() : 0;
        if (ta !== tb) return tb - ta;
        return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
    });
    return defaults[0];
}
