// Pure pieces of the attach-detach controller (pkg/controller/volume/attachdetach and the CSI
// attacher in pkg/volume/csi): names, desired state of a node, detach gating, messages.
import crypto from 'node:crypto';
import type { V1CSIDriver, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1Volume, V1VolumeAttachmentSource } from '@kubernetes/client-node';
import { isMigratable, translateInTreeSpecToCSI } from '../../src/migration/index.ts';

export const ANN_CONTROLLER_MANAGED = 'volumes.kubernetes.io/controller-managed-attach-detach';
export const ANN_KEEP_TERMINATED = 'volumes.kubernetes.io/keep-terminated-pod-volumes';
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

/** The VolumeAttachment name: `csi-` + hex(sha256(volumeHandle + driver + nodeName)) (csi_attacher.go getAttachmentName). */
export function attachmentName(volumeHandle: string, driver: string, node: string): string {
    return `csi-${crypto.createHash('sha256').update(volumeHandle + driver + node).digest('hex')}`;
}

/** The unique volume name in node status: `kubernetes.io/csi/<driver>^<volumeHandle>`. */
export function uniqueVolumeName(driver: string, volumeHandle: string): string {
    return `kubernetes.io/csi/${driver}^${volumeHandle}`;
}

/** IsPodTerminated: Succeeded/Failed, or being deleted with no container running. */
export function isPodTerminated(pod: V1Pod): boolean {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return true;
    if (!pod.metadata?.deletionTimestamp) return false;
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])];
    return !statuses.some((s) => s.state?.running);
}

/** IsMultiAttachAllowed for a PV: no access modes, RWX or ROX → allowed; RWO/RWOP only → not. */
export function isMultiAttachAllowed(pv: V1PersistentVolume): boolean {
    const modes = pv.spec?.accessModes ?? [];
    if (modes.length === 0) return true;
    return modes.includes('ReadWriteMany') || modes.includes('ReadOnlyMany');
}

/** True when the node carries the controller-managed-attach-detach annotation. */
export function isManagedNode(node: V1Node | undefined): boolean {
    return node?.metadata?.annotations?.[ANN_CONTROLLER_MANAGED] !== undefined;
}

/** Ready condition True. */
export function isNodeReady(node: V1Node | undefined): boolean {
    return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Has the out-of-service taint (key only, any effect or value). */
export function hasOutOfServiceTaint(node: V1Node | undefined): boolean {
    return node?.spec?.taints?.some((t) => t.key === TAINT_OUT_OF_SERVICE) ?? false;
}

/** A volume a node should have attached. */
export interface DesiredVolume {
    vaName: string;
    /** The PV of a claim's volume; '' for a pod's inline volume. */
    pvName: string;
    /** The volume's name in events: the PV's, or the translated inline PV's (volume.Spec.Name()). */
    specName: string;
    driver: string;
    handle: string;
    /** The CSI PV: the claim's PV, translated when it is a migrated in-tree one, or the translated inline volume. */
    pv: V1PersistentVolume;
    /** spec.source of its VolumeAttachment: persistentVolumeName, or inlineVolumeSpec for a migrated inline volume. */
    source: V1VolumeAttachmentSource;
    /** Whether it is an in-tree volume attached through its CSI driver (CSI migration). */
    migrated: boolean;
    /** Scheduled, non-terminated pods on the node that use it. */
    pods: V1Pod[];
}

/** A pod volume the desired state leaves out because its in-tree spec cannot be translated to CSI. */
export interface UntranslatableVolume {
    pod: V1Pod;
    /** The PV's name, or the pod volume's name for an inline volume. */
    volumeName: string;
    /** Upstream's error text (CreateVolumeSpecWithNodeMigration). */
    message: string;
}

/** Lookups the desired-state computation needs. */
export interface DesiredWorld {
    claim(key: string): V1PersistentVolumeClaim | undefined;
    volume(name: string): V1PersistentVolume | undefined;
    csiDriver(name: string): V1CSIDriver | undefined;
    /** The CSI translation of a migrated in-tree PV (default: translate it; callers may memoize). @throws TranslationError */
    translatePV?(pv: V1PersistentVolume): V1PersistentVolume;
}

/** The desired state of one node, and the volumes left out because their translation failed. */
export interface DesiredState {
    desired: Map<string, DesiredVolume>;
    untranslatable: UntranslatableVolume[];
}

/** The CSI PV for a pod volume: the claim's bound PV or the inline volume, translated if migrated; undefined when nothing to attach. */
function csiSpecFor(pod: V1Pod, v: V1Volume, w: DesiredWorld): { pv: V1PersistentVolume; pvName: string; inline: boolean; migrated: boolean } | { error: string; volumeName: string } | undefined {
    const ns = pod.metadata?.namespace ?? '';
    const claimName = v.persistentVolumeClaim?.claimName ?? (v.ephemeral ? `${pod.metadata?.name}-${v.name}` : undefined);
    if (!claimName) {
        // An inline volume: only a migrated in-tree one is attached (inline CSI volumes never are).
        if (!isMigratable({ volume: v })) return undefined;
        try {
            const t = translateInTreeSpecToCSI({ volume: v }, ns);
            return { pv: t.pv, pvName: '', inline: true, migrated: true };
        } catch (e) {
            return { error: `error performing CSI migration checks and translation for PVC "${ns}"/"": ${(e as Error).message}`, volumeName: v.name };
        }
    }
    const claim = w.claim(`${ns}/${claimName}`);
    if (claim?.status?.phase !== 'Bound' || !claim.spec?.volumeName) return undefined;
    const pv = w.volume(claim.spec.volumeName);
    if (!pv || pv.spec?.claimRef?.uid !== claim.metadata?.uid) return undefined;
    const pvName = pv.metadata?.name ?? '';
    if (pv.spec?.csi) return { pv, pvName, inline: false, migrated: false };
    // A migrated in-tree PV attaches through its CSI driver. Migration is complete for every plugin
    // upstream migrates (v1.36), so, as isCSIMigrationSupportedOnNode, no node's CSINode is consulted.
    if (!isMigratable({ pv })) return undefined;
    try {
        return { pv: w.translatePV ? w.translatePV(pv) : translateInTreeSpecToCSI({ pv }, ns).pv, pvName, inline: false, migrated: true };
    } catch (e) {
        const msg = (e as Error).message;
        const reason = msg.startsWith('failed to translate in-tree pv to CSI: ') ? msg : `failed to translate in-tree pv to CSI: ${msg}`;
        return { error: `error performing CSI migration checks and translation for PVC "${ns}"/"${claimName}": ${reason}`, volumeName: pvName };
    }
}

/**
 * The desired state of world for one node (ProcessPodVolumes): for every pod scheduled there
 * and not terminated (unless the node keeps terminated pods' volumes), every claim that is Bound
 * to a PV pointing back at it (claimRef uid) with a CSI source, or an in-tree source of a migrated
 * plugin (translated to its CSI driver), and every inline in-tree volume of a migrated plugin
 * (translated), whose driver needs attaching (CSIDriver attachRequired, true when no CSIDriver
 * exists). Ephemeral inline CSI volumes are never attached, as upstream. A volume whose
 * translation fails is reported in `untranslatable` (upstream only logs it at V(10)).
 */
export function desiredStateForNode(node: V1Node | undefined, pods: V1Pod[], w: DesiredWorld): DesiredState {
    const out = new Map<string, DesiredVolume>();
    const untranslatable: UntranslatableVolume[] = [];
    if (!node || !isManagedNode(node)) return { desired: out, untranslatable };
    const name = node.metadata?.name ?? '';
    const keep = node.metadata?.annotations?.[ANN_KEEP_TERMINATED] === 'true';
    for (const pod of pods) {
        if (pod.spec?.nodeName !== name) continue;
        if (isPodTerminated(pod) && !keep) continue;
        for (const v of pod.spec?.volumes ?? []) {
            const spec = csiSpecFor(pod, v, w);
            if (!spec) continue;
            if ('error' in spec) {
                untranslatable.push({ pod, volumeName: spec.volumeName, message: spec.error });
                continue;
            }
            const csi = spec.pv.spec?.csi;
            if (!csi) continue;
            if (w.csiDriver(csi.driver)?.spec?.attachRequired === false) continue;
            const vaName = attachmentName(csi.volumeHandle, csi.driver, name);
            let d = out.get(vaName);
            if (!d) {
                d = {
                    vaName,
                    pvName: spec.pvName,
                    specName: spec.pv.metadata?.name ?? '',
                    driver: csi.driver,
                    handle: csi.volumeHandle,
                    pv: spec.pv,
                    source: spec.inline ? { inlineVolumeSpec: spec.pv.spec } : { persistentVolumeName: spec.pvName },
                    migrated: spec.migrated,
                    pods: [],
                };
                out.set(vaName, d);
            }
            if (!d.pods.includes(pod)) d.pods.push(pod);
        }
    }
    return { desired: out, untranslatable };
}

/** desiredStateForNode's desired volumes by VolumeAttachment name. */
export function desiredForNode(node: V1Node | undefined, pods: V1Pod[], w: DesiredWorld): Map<string, DesiredVolume> {
    return desiredStateForNode(node, pods, w).desired;
}

/** What to do with an attachment nobody on its node needs any more. */
export type DetachDecision = { action: 'detach'; force?: 'timeout' | 'out-of-service' | 'node-deleted' } | { action: 'wait'; retryMs: number };

/**
 * Detach gating (reconciler.go): a volume the node still reports in volumesInUse waits, unless
 * the node has the out-of-service taint (detach at once) or it is NotReady and the unmount wait
 * (6 min) has passed (forced, unless disabled). A deleted node detaches at once.
 */
export function decideDetach(o: { nodeExists: boolean; mounted: boolean; ready: boolean; outOfService: boolean; waitedMs: number; maxWaitMs: number; disableForce: boolean }): DetachDecision {
    if (!o.nodeExists) return { action: 'detach', force: 'node-deleted' };
    if (o.outOfService) return { action: 'detach', force: o.mounted ? 'out-of-service' : undefined };
    const timedOut = o.waitedMs > o.maxWaitMs && !o.disableForce;
    if (!o.mounted) return { action: 'detach' };
    if (!o.ready && timedOut) return { action: 'detach', force: 'timeout' };
    return { action: 'wait', retryMs: Math.max(1000, Math.min(30_000, o.maxWaitMs - o.waitedMs)) };
}

/** GenerateMsg: `<prefix> for volume "<name>" <suffix>`. */
export function volumeMsg(prefix: string, volume: string, suffix: string): string {
    return `${prefix} for volume "${volume}" ${suffix}`;
}

/**
 * The multi-attach event text for a pod waiting on a volume held by other nodes, in upstream's
 * v1.36 wording (kubernetes#138837, "Waiting for detach …", formerly "Multi-Attach error …"),
 * naming the pods in the same namespace and counting the others; when no pod needs it there any
 * more, our addition says which node still holds it and what the detach waits for.
 */
export function multiAttachMessage(pvName: string, podNamespace: string, holders: { node: string; pods: V1Pod[]; waitingSince?: Date; mounted?: boolean }[]): string {
    const same = holders.flatMap((h) => h.pods.filter((p) => p.metadata?.namespace === podNamespace).map((p) => p.metadata?.name ?? ''));
    const other = holders.flatMap((h) => h.pods.filter((p) => p.metadata?.namespace !== podNamespace)).length;
    let detail: string;
    if (same.length && other) detail = `Volume is already used by pod(s) ${same.join(', ')} and ${other} pod(s) in different namespaces`;
    else if (same.length) detail = `Volume is already used by pod(s) ${same.join(', ')}`;
    else if (other) detail = `Volume is already used by ${other} pod(s) in different namespaces`;
    else {
        detail = 'Volume is already exclusively attached to one node, waiting on detach before it can be attached to another node';
        const h = holders[0];
        if (h) {
            const why = h.mounted
                ? `node ${h.node} still reports it in use (status.volumesInUse)${h.waitingSince ? ` since ${h.waitingSince.toISOString()}` : ''}; detach follows the unmount`
                : `detach from node ${h.node} in progress`;
            detail += ` (${why})`;
        }
    }
    return volumeMsg('Waiting for detach', pvName, detail);
}
