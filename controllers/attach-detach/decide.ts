// Pure pieces of the attach-detach controller (pkg/controller/volume/attachdetach and the CSI
// attacher in pkg/volume/csi): names, desired state of a node, detach gating, messages.
import crypto from 'node:crypto';
import type { V1CSIDriver, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';

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
    pvName: string;
    driver: string;
    handle: string;
    pv: V1PersistentVolume;
    /** Scheduled, non-terminated pods on the node that use it. */
    pods: V1Pod[];
}

/** Lookups the desired-state computation needs. */
export interface DesiredWorld {
    claim(key: string): V1PersistentVolumeClaim | undefined;
    volume(name: string): V1PersistentVolume | undefined;
    csiDriver(name: string): V1CSIDriver | undefined;
}

/**
 * The desired state of world for one node (ProcessPodVolumes): for every pod scheduled there
 * and not terminated (unless the node keeps terminated pods' volumes), every claim that is Bound
 * to a PV pointing back at it (claimRef uid) with a CSI source whose driver needs attaching
 * (CSIDriver attachRequired, true when no CSIDriver exists). Ephemeral inline CSI volumes are
 * never attached, as upstream.
 */
export function desiredForNode(node: V1Node | undefined, pods: V1Pod[], w: DesiredWorld): Map<string, DesiredVolume> {
    const out = new Map<string, DesiredVolume>();
    if (!node || !isManagedNode(node)) return out;
    const name = node.metadata?.name ?? '';
    const keep = node.metadata?.annotations?.[ANN_KEEP_TERMINATED] === 'true';
    for (const pod of pods) {
        if (pod.spec?.nodeName !== name) continue;
        if (isPodTerminated(pod) && !keep) continue;
        for (const v of pod.spec?.volumes ?? []) {
            const claimName = v.persistentVolumeClaim?.claimName ?? (v.ephemeral ? `${pod.metadata?.name}-${v.name}` : undefined);
            if (!claimName) continue;
            const claim = w.claim(`${pod.metadata?.namespace}/${claimName}`);
            if (claim?.status?.phase !== 'Bound' || !claim.spec?.volumeName) continue;
            const pv = w.volume(claim.spec.volumeName);
            if (!pv || pv.spec?.claimRef?.uid !== claim.metadata?.uid) continue;
            const csi = pv.spec?.csi;
            if (!csi) continue;
            if (w.csiDriver(csi.driver)?.spec?.attachRequired === false) continue;
            const vaName = attachmentName(csi.volumeHandle, csi.driver, name);
            let d = out.get(vaName);
            if (!d) out.set(vaName, (d = { vaName, pvName: pv.metadata?.name ?? '', driver: csi.driver, handle: csi.volumeHandle, pv, pods: [] }));
            if (!d.pods.includes(pod)) d.pods.push(pod);
        }
    }
    return out;
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
