// Pure decisions of the PV binder: given the world as the caches show it, what should happen to
// one claim or one volume. No I/O, no clock. Mirrors pv_controller.go syncClaim / syncVolume.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1StorageClass } from '@kubernetes/client-node';
import { csiNameFromInTreeName, isMigrationEnabledForPlugin } from '../../src/migration/index.ts';
import {
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_MIGRATED_TO,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    FINALIZER_EXTERNAL_PROVISIONER,
    FINALIZER_PV_CONTROLLER,
    claimClass,
    claimHasClass,
    InvalidObjectError,
    defaultClass,
    isVolumeBoundToClaim,
    volumeModeOf,
    claimKey,
} from '../../src/storage/helpers.ts';
import { checkVolumeSatisfyClaim } from './volume-index.ts';

/** An Event to emit, on the claim or on the volume being synced. */
export interface EventSpec {
    on: 'claim' | 'volume';
    type: 'Normal' | 'Warning';
    reason: string;
    message: string;
}

/** Read-only view of the world a decision needs. */
export interface BinderWorld {
    volume(name: string): V1PersistentVolume | undefined;
    storageClass(name: string): V1StorageClass | undefined;
    storageClasses(): V1StorageClass[];
    /** Pods in the claim's namespace whose volumes name the claim. */
    podsUsingClaim(namespace: string, name: string): V1Pod[];
    /** findBestMatchForClaim (index.go); may throw on a bad selector. */
    findBestMatch(claim: V1PersistentVolumeClaim, delayBinding: boolean): V1PersistentVolume | undefined;
    /** The explanation for a claim that matches no PV (explainNoMatch). */
    explainNoMatch(claim: V1PersistentVolumeClaim): string;
}

/** What to do with a claim. */
export type ClaimDecision =
    | { action: 'bind'; volume: V1PersistentVolume; events: EventSpec[] }
    | { action: 'assign-default-class'; className: string; events: EventSpec[] }
    | {
          action: 'provision';
          /** The provisioner the claim is handed to (the CSI driver for a migrated in-tree class). */
          provisioner: string;
          /** The annotation changes setClaimProvisioner writes (undefined: already set). */
          annotations?: AnnotationPatch;
          events: EventSpec[];
      }
    | { action: 'status'; phase: 'Pending' | 'Lost'; events: EventSpec[]; eventOnChangeOnly?: boolean }
    | { action: 'fail'; error: string; events: EventSpec[] }
    /** Bad input (an invalid selector, a class without volumeBindingMode): an event, no retry until something changes. */
    | { action: 'invalid'; error: string; events: EventSpec[] }
    | { action: 'none'; events: EventSpec[] };

/** What to do with a volume. */
export type VolumeDecision =
    | { action: 'phase'; phase: 'Available' | 'Bound' | 'Released' | 'Failed'; message?: string; events: EventSpec[] }
    | { action: 'enqueue-claim'; claimKey: string; events: EventSpec[] }
    | { action: 'unbind'; keepClaimName: boolean; events: EventSpec[] }
    | { action: 'reclaim'; events: EventSpec[] }
    | { action: 'none'; events: EventSpec[] };

/** Upstream event reasons (pkg/controller/volume/events). */
export const REASON = {
    FailedBinding: 'FailedBinding',
    VolumeMismatch: 'VolumeMismatch',
    WaitForFirstConsumer: 'WaitForFirstConsumer',
    WaitForPodScheduled: 'WaitForPodScheduled',
    ClaimLost: 'ClaimLost',
    ClaimMisbound: 'ClaimMisbound',
    ProvisioningFailed: 'ProvisioningFailed',
    ExternalProvisioning: 'ExternalProvisioning',
    VolumeFailedDelete: 'VolumeFailedDelete',
    VolumeFailedRecycle: 'VolumeFailedRecycle',
    VolumeUnknownReclaimPolicy: 'VolumeUnknownReclaimPolicy',
} as const;

/** Upstream's FailedBinding message when nothing matches and there is no class. */
export const NO_VOLUMES_NO_CLASS = 'no persistent volumes available for this claim and no storage class is set';

/** The text of the ExternalProvisioning event (provisionClaimOperationExternal). */
export function externalProvisioningMessage(provisioner: string): string {
    return `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`;
}

const isTerminated = (p: V1Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/**
 * Whether the claim's class uses WaitForFirstConsumer (IsDelayBindingMode). A missing class or
 * the empty class is not delayed.
 * @throws InvalidObjectError when the class exists without volumeBindingMode
 */
export function isDelayBinding(claim: V1PersistentVolumeClaim, world: BinderWorld): boolean {
    const name = claimClass(claim);
    if (!name) return false;
    const sc = world.storageClass(name);
    if (!sc) return false;
    if (!sc.volumeBindingMode) throw new InvalidObjectError(`VolumeBindingMode not set for StorageClass "${name}"`);
    return sc.volumeBindingMode === 'WaitForFirstConsumer';
}

/** The WaitForFirstConsumer / WaitForPodScheduled event for an unbound delayed claim. */
export function waitEvent(claim: V1PersistentVolumeClaim, world: BinderWorld): EventSpec {
    const pods = world
        .podsUsingClaim(claim.metadata?.namespace ?? '', claim.metadata?.name ?? '')
        .filter((p) => !p.spec?.nodeName && !isTerminated(p))
        .map((p) => p.metadata?.name ?? '')
        .sort();
    if (pods.length === 0) return { on: 'claim', type: 'Normal', reason: REASON.WaitForFirstConsumer, message: 'waiting for first consumer to be created before binding' };
    const message = pods.length === 1 ? `waiting for pod ${pods[0]} to be scheduled` : `waiting for pods ${pods.join(',')} to be scheduled`;
    return { on: 'claim', type: 'Normal', reason: REASON.WaitForPodScheduled, message };
}

/**
 * syncClaim: dispatches on pv.kubernetes.io/bind-completed. Never throws for bad input: an
 * invalid selector or class is the `invalid` outcome, with the FailedBinding event saying why.
 */
export function decideClaim(claim: V1PersistentVolumeClaim, world: BinderWorld): ClaimDecision {
    try {
        if (claim.metadata?.annotations?.[ANN_BIND_COMPLETED] === undefined) return decideUnboundClaim(claim, world);
        return decideBoundClaim(claim, world);
    } catch (err) {
        if (!(err instanceof InvalidObjectError)) throw err;
        return { action: 'invalid', error: err.message, events: [{ on: 'claim', type: 'Warning', reason: REASON.FailedBinding, message: err.message }] };
    }
}

/** The provisioning hand-off for a claim with a class and no matching PV (provisionClaim). */
function decideProvision(claim: V1PersistentVolumeClaim, world: BinderWorld): ClaimDecision {
    const name = claimClass(claim);
    const sc = world.storageClass(name);
    if (!sc) {
        return { action: 'none', events: [{ on: 'claim', type: 'Warning', reason: REASON.ProvisioningFailed, message: `storageclass.storage.k8s.io "${name}" not found` }] };
    }
    let provisioner = sc.provisioner;
    if (isMigrationEnabledForPlugin(provisioner)) {
        // CSI migration: the in-tree class is provisioned by its CSI driver (provisionClaimOperationExternal).
        provisioner = csiNameFromInTreeName(provisioner);
    } else if (provisioner.startsWith('kubernetes.io/')) {
        // In-tree provisioners have no plugin here, as in a kube-controller-manager without them.
        return { action: 'none', events: [{ on: 'claim', type: 'Warning', reason: REASON.ProvisioningFailed, message: `no volume plugin matched name: ${provisioner}` }] };
    }
    return {
        action: 'provision',
        provisioner,
        annotations: claimProvisionerAnnotations(claim, provisioner),
        events: [{ on: 'claim', type: 'Normal', reason: REASON.ExternalProvisioning, message: externalProvisioningMessage(provisioner) }],
    };
}

/** syncUnboundClaim. */
export function decideUnboundClaim(claim: V1PersistentVolumeClaim, world: BinderWorld): ClaimDecision {
    const volumeName = claim.spec?.volumeName ?? '';
    if (!volumeName) {
        const delay = isDelayBinding(claim, world);
        const match = world.findBestMatch(claim, delay);
        if (match) return { action: 'bind', volume: match, events: [] };
        if (!claimHasClass(claim)) {
            const def = defaultClass(world.storageClasses());
            if (def?.metadata?.name) return { action: 'assign-default-class', className: def.metadata.name, events: [] };
        }
        if (delay && claim.metadata?.annotations?.[ANN_SELECTED_NODE] === undefined) {
            return { action: 'status', phase: 'Pending', events: [waitEvent(claim, world)] };
        }
        if (claimClass(claim) !== '') return decideProvision(claim, world);
        return {
            action: 'status',
            phase: 'Pending',
            events: [{ on: 'claim', type: 'Normal', reason: REASON.FailedBinding, message: `${NO_VOLUMES_NO_CLASS} (${world.explainNoMatch(claim)})` }],
        };
    }
    const pv = world.volume(volumeName);
    if (!pv) return { action: 'status', phase: 'Pending', events: [] };
    if (!pv.spec?.claimRef) {
        const why = checkVolumeSatisfyClaim(pv, claim);
        if (why) {
            return {
                action: 'status',
                phase: 'Pending',
                events: [{ on: 'claim', type: 'Warning', reason: REASON.VolumeMismatch, message: `Cannot bind to requested volume "${volumeName}": ${why}` }],
            };
        }
        return { action: 'bind', volume: pv, events: [] };
    }
    if (isVolumeBoundToClaim(pv, claim)) return { action: 'bind', volume: pv, events: [] };
    const event: EventSpec = { on: 'claim', type: 'Warning', reason: REASON.FailedBinding, message: `volume "${volumeName}" already bound to a different claim.` };
    if (claim.metadata?.annotations?.[ANN_BOUND_BY_CONTROLLER] === undefined) return { action: 'status', phase: 'Pending', events: [event] };
    const ref = pv.spec.claimRef;
    return {
        action: 'fail',
        error: `invalid binding of claim "${claim.metadata?.namespace}/${claim.metadata?.name}" to volume "${volumeName}": volume already claimed by "${ref.namespace}/${ref.name}"`,
        events: [event],
    };
}

/** syncBoundClaim. */
export function decideBoundClaim(claim: V1PersistentVolumeClaim, world: BinderWorld): ClaimDecision {
    const volumeName = claim.spec?.volumeName ?? '';
    if (!volumeName) {
        return {
            action: 'status',
            phase: 'Lost',
            eventOnChangeOnly: true,
            events: [{ on: 'claim', type: 'Warning', reason: REASON.ClaimLost, message: 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!' }],
        };
    }
    const pv = world.volume(volumeName);
    if (!pv) {
        return {
            action: 'status',
            phase: 'Lost',
            eventOnChangeOnly: true,
            events: [{ on: 'claim', type: 'Warning', reason: REASON.ClaimLost, message: 'Bound claim has lost its PersistentVolume. Data on the volume is lost!' }],
        };
    }
    if (!pv.spec?.claimRef || pv.spec.claimRef.uid === claim.metadata?.uid) return { action: 'bind', volume: pv, events: [] };
    return {
        action: 'status',
        phase: 'Lost',
        eventOnChangeOnly: true,
        events: [{ on: 'claim', type: 'Warning', reason: REASON.ClaimMisbound, message: 'Two claims are bound to the same volume, this one is bound incorrectly' }],
    };
}

/**
 * syncVolume, given the claim its claimRef names as found (undefined when it does not exist or
 * has another uid; the caller re-reads the API before concluding that).
 */
export function decideVolume(pv: V1PersistentVolume, claim: V1PersistentVolumeClaim | undefined): VolumeDecision {
    const ref = pv.spec?.claimRef;
    const phase = pv.status?.phase;
    if (!ref || !ref.uid) return { action: 'phase', phase: 'Available', events: [] };
    if (!claim) {
        if (phase === 'Released' || phase === 'Failed') return { action: 'reclaim', events: [] };
        return { action: 'phase', phase: 'Released', events: [] };
    }
    const volumeName = claim.spec?.volumeName ?? '';
    if (!volumeName) {
        if (volumeModeOf(pv) !== volumeModeOf(claim)) {
            return {
                action: 'none',
                events: [
                    { on: 'volume', type: 'Warning', reason: REASON.VolumeMismatch, message: `Cannot bind PersistentVolume to requested PersistentVolumeClaim "${claim.metadata?.name}" due to incompatible volumeMode.` },
                    { on: 'claim', type: 'Warning', reason: REASON.VolumeMismatch, message: `Cannot bind PersistentVolume "${pv.metadata?.name}" to requested PersistentVolumeClaim due to incompatible volumeMode.` },
                ],
            };
        }
        return { action: 'enqueue-claim', claimKey: claimKey(claim), events: [] };
    }
    if (volumeName === pv.metadata?.name) return { action: 'phase', phase: 'Bound', events: [] };
    const ann = pv.metadata?.annotations ?? {};
    if (ann[ANN_DYNAMICALLY_PROVISIONED] !== undefined && pv.spec?.persistentVolumeReclaimPolicy === 'Delete') {
        if (phase === 'Released' || phase === 'Failed') return { action: 'reclaim', events: [] };
        return { action: 'phase', phase: 'Released', events: [] };
    }
    return { action: 'unbind', keepClaimName: ann[ANN_BOUND_BY_CONTROLLER] === undefined, events: [] };
}

/**
 * reclaimVolume for a Released PV: Retain keeps it; Delete is left to the external provisioner
 * for CSI or externally provisioned volumes, and fails for volumes no deleter here can handle;
 * Recycle fails (no recycler plugin), unless pods still use the claim.
 * @param claimCached whether a claim with the claimRef's name exists (it then does not block recycling)
 */
export function decideReclaim(pv: V1PersistentVolume, podsUsingClaim: V1Pod[], claimCached: boolean): VolumeDecision {
    const ann = pv.metadata?.annotations ?? {};
    const name = pv.metadata?.name ?? '';
    // A migrated volume is the CSI driver's external provisioner's to delete: stand down.
    if (ann[ANN_MIGRATED_TO]) return { action: 'none', events: [] };
    const fail = (reason: string, message: string): VolumeDecision => ({
        action: 'phase',
        phase: 'Failed',
        message,
        events: pv.status?.phase === 'Failed' ? [] : [{ on: 'volume', type: 'Warning', reason, message }],
    });
    switch (pv.spec?.persistentVolumeReclaimPolicy) {
        case 'Retain':
            return { action: 'none', events: [] };
        case 'Recycle': {
            const users = podsUsingClaim.filter((p) => !isTerminated(p));
            if (users.length > 0 && !claimCached) {
                const list = users.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort().join(',');
                return { action: 'none', events: [{ on: 'volume', type: 'Normal', reason: REASON.VolumeFailedRecycle, message: `Volume is used by pods: ${list}` }] };
            }
            return fail(REASON.VolumeFailedRecycle, 'No recycler plugin found for the volume!');
        }
        case 'Delete': {
            // findDeletablePlugin: the provisioner's plugin (none here for kubernetes.io/* ones), else
            // an external deleter for migrated or CSI volumes, else a plugin by spec (none here).
            const by = ann[ANN_DYNAMICALLY_PROVISIONED];
            if (by) {
                if (!by.startsWith('kubernetes.io/')) return { action: 'none', events: [] };
                return fail(REASON.VolumeFailedDelete, `no volume plugin matched name: ${by}`);
            }
            if (ann[ANN_MIGRATED_TO] !== undefined || pv.spec?.csi) return { action: 'none', events: [] };
            return fail(REASON.VolumeFailedDelete, `error getting deleter volume plugin for volume "${name}": no volume plugin matched`);
        }
        default:
            return fail(REASON.VolumeUnknownReclaimPolicy, 'Volume has unrecognized PersistentVolumeReclaimPolicy');
    }
}

/** True when the claim already carries the storage-provisioner annotation with this value (setClaimProvisioner no-op). */
export function provisionerAnnotated(claim: V1PersistentVolumeClaim, provisioner: string): boolean {
    return claim.metadata?.annotations?.[ANN_STORAGE_PROVISIONER] === provisioner;
}

/** Annotation changes as a JSON merge patch: a value sets, null removes. */
export type AnnotationPatch = Record<string, string | null>;

/**
 * updateMigrationAnnotations (pv_controller_base.go) as a patch: the provisioner of a claim
 * (volume.kubernetes.io/storage-provisioner, else the beta one) or of a volume
 * (pv.kubernetes.io/provisioned-by; statically provisioned volumes are left alone) decides
 * `pv.kubernetes.io/migrated-to`: the CSI driver's name when the plugin is migrated, removed when
 * it is not. Undefined when nothing changes.
 * @param ann the object's annotations; @param claim whether they are a claim's
 */
export function migrationAnnotations(ann: Record<string, string> | undefined, claim: boolean): AnnotationPatch | undefined {
    if (!ann) return undefined;
    let provisioner = ann[claim ? ANN_STORAGE_PROVISIONER : ANN_DYNAMICALLY_PROVISIONED];
    if (provisioner === undefined && claim) provisioner = ann[ANN_BETA_STORAGE_PROVISIONER];
    if (provisioner === undefined) return undefined;
    const migratedTo = ann[ANN_MIGRATED_TO] ?? '';
    if (isMigrationEnabledForPlugin(provisioner)) {
        const driver = csiNameFromInTreeName(provisioner);
        return migratedTo !== driver ? { [ANN_MIGRATED_TO]: driver } : undefined;
    }
    // Rollback: the annotation exists but the plugin is not migrated (any more).
    return migratedTo !== '' ? { [ANN_MIGRATED_TO]: null } : undefined;
}

/**
 * modifyDeletionFinalizers (pv_controller_base.go), for dynamically provisioned volumes only:
 * a migrated plugin's volume loses `kubernetes.io/pv-controller` (its CSI driver's provisioner
 * protects it); an in-tree (`kubernetes.io/`) non-migrated one gets it with reclaim policy
 * Delete, loses it with Retain or Recycle, and loses the external provisioner's finalizer
 * (migration rollback). Every copy of a removed finalizer goes.
 * @returns the new finalizer list, or undefined when unchanged
 */
export function deletionFinalizers(pv: V1PersistentVolume): string[] | undefined {
    const ann = pv.metadata?.annotations ?? {};
    if (!Object.hasOwn(ann, ANN_DYNAMICALLY_PROVISIONED)) return undefined;
    const provisioner = ann[ANN_DYNAMICALLY_PROVISIONED] ?? '';
    let out = [...(pv.metadata?.finalizers ?? [])];
    let modified = false;
    const remove = (f: string) => {
        if (!out.includes(f)) return;
        out = out.filter((x) => x !== f);
        modified = true;
    };
    if (isMigrationEnabledForPlugin(provisioner)) {
        remove(FINALIZER_PV_CONTROLLER);
        return modified ? out : undefined;
    }
    if (!provisioner.startsWith('kubernetes.io/')) return undefined;
    const policy = pv.spec?.persistentVolumeReclaimPolicy;
    if (policy === 'Delete' && !out.includes(FINALIZER_PV_CONTROLLER)) {
        out.push(FINALIZER_PV_CONTROLLER);
        modified = true;
    } else if (policy === 'Retain' || policy === 'Recycle') {
        remove(FINALIZER_PV_CONTROLLER);
    }
    remove(FINALIZER_EXTERNAL_PROVISIONER);
    return modified ? out : undefined;
}

/** What updateVolumeMigrationAnnotationsAndFinalizers writes to a volume before its sync. */
export interface VolumeMigrationUpdate {
    annotations?: AnnotationPatch;
    finalizers?: string[];
}

/** updateVolumeMigrationAnnotationsAndFinalizers: the annotation and finalizer changes, or undefined. */
export function volumeMigrationUpdate(pv: V1PersistentVolume): VolumeMigrationUpdate | undefined {
    const annotations = migrationAnnotations(pv.metadata?.annotations, false);
    const finalizers = deletionFinalizers(pv);
    if (!annotations && !finalizers) return undefined;
    return { ...(annotations ? { annotations } : {}), ...(finalizers ? { finalizers } : {}) };
}

/**
 * setClaimProvisioner: both storage-provisioner annotations set to provisioner, then
 * updateMigrationAnnotations on the result (which removes a migrated-to the new provisioner does
 * not justify). Undefined when the GA annotation already names provisioner.
 */
export function claimProvisionerAnnotations(claim: V1PersistentVolumeClaim, provisioner: string): AnnotationPatch | undefined {
    if (provisionerAnnotated(claim, provisioner)) return undefined;
    const ann = { ...(claim.metadata?.annotations ?? {}), [ANN_BETA_STORAGE_PROVISIONER]: provisioner, [ANN_STORAGE_PROVISIONER]: provisioner };
    return { [ANN_BETA_STORAGE_PROVISIONER]: provisioner, [ANN_STORAGE_PROVISIONER]: provisioner, ...migrationAnnotations(ann, true) };
}
