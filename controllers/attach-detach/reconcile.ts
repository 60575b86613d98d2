// The attach-detach controller's I/O, per node: create the VolumeAttachments its pods need,
// delete the ones nobody needs once the volume is unmounted (or by force on an unhealthy or
// out-of-service node), keep node.status.volumesAttached in step, and tell waiting pods why.
// Mirrors pkg/controller/volume/attachdetach (reconciler.go, desired/actual state of world) and
// pkg/volume/csi/csi_attacher.go, event-driven instead of a 100 ms poll.
import type { CoreV1Api, StorageV1Api, V1CSIDriver, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1VolumeAttachment } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import type client from 'prom-client';
import type { Logger } from 'pino';
import { MERGE_PATCH } from '../../src/kube/client.ts';
import { isAlreadyExists, isNotFound } from '../../src/kube/errors.ts';
import type { EventRecorder } from '../../src/kube/events.ts';
import type { SharedInformer } from '../../src/kube/informer.ts';
import type { ReconcileResult } from '../../src/runtime/result.ts';
import { POD_CLAIM_INDEX, VA_PV_INDEX } from '../../src/storage/indexers.ts';
import { claimRefKey } from '../../src/storage/helpers.ts';
import { crashPoint } from '../../src/runtime/faults.ts';
import type { QueueRef } from '../../src/runtime/loop.ts';
import { isInlineMigratable, isMigratable, translateInTreeSpecToCSI } from '../../src/migration/index.ts';
import {
    decideDetach,
    desiredStateForNode,
    hasOutOfServiceTaint,
    isMultiAttachAllowed,
    isNodeReady,
    multiAttachMessage,
    uniqueVolumeName,
    volumeMsg,
} from './decide.ts';
import type { DesiredVolume } from './decide.ts';

/** Informer index by spec.nodeName (pods and VolumeAttachments). */
export const INDEX_NODE = 'nodeName';

/** VolumeAttachment index of inline (migrated) volumes by `<attacher>^<volume handle>`: where else a pod's inline volume is attached. */
export const INDEX_INLINE_VOLUME = 'inlineVolume';

/** Index function for INDEX_INLINE_VOLUME. */
export function vaInlineVolumeKeys(va: V1VolumeAttachment): string[] {
    const h = va.spec?.source?.inlineVolumeSpec?.csi?.volumeHandle;
    return h ? [`${va.spec?.attacher}^${h}`] : [];
}

/** What the attach-detach reconciler reads and writes through (pods and VolumeAttachments indexed by INDEX_NODE). */
export interface AttachDetachDeps {
    core: CoreV1Api;
    storage: StorageV1Api;
    pods: SharedInformer<V1Pod>;
    nodes: SharedInformer<V1Node>;
    claims: SharedInformer<V1PersistentVolumeClaim>;
    volumes: SharedInformer<V1PersistentVolume>;
    csiDrivers: SharedInformer<V1CSIDriver>;
    attachments: SharedInformer<V1VolumeAttachment>;
    recorder: EventRecorder;
    forcedDetaches: client.Counter<'reason'>;
    maxWaitForUnmountMs: number;
    disableForceDetachOnTimeout: boolean;
    /** The node queue (e.g. to requeue nodes waiting for a volume another node releases). */
    nodeQueue: QueueRef<string>;
}

/** The attach-detach reconciler, keyed by node name. */
export class AttachDetach {
    private readonly s: AttachDetachDeps;
    /** VA name → when its detach was first requested (SetDetachRequestTime). */
    private readonly detachRequested = new Map<string, number>();
    /** pod uid + message → emitted, so each waiting pod hears each reason once. */
    private readonly told = new LRUCache<string, true>({ max: 50_000 });
    /** PV uid@resourceVersion → its CSI translation (a migrated in-tree PV), or the translation error. */
    private readonly translated = new LRUCache<string, { pv: V1PersistentVolume } | { error: Error }>({ max: 10_000 });

    constructor(deps: AttachDetachDeps) {
        this.s = deps;
    }

    /** Emits the event on the pod unless it was told this already; returns whether it was emitted. */
    private tell(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): boolean {
        const key = `${pod.metadata?.uid}\u0000${reason}\u0000${message}`;
        if (this.told.has(key)) return false;
        this.told.set(key, true);
        this.s.recorder.event(pod, type, reason, message);
        return true;
    }

    /** Whether a pod uses the desired volume d: through the same claim, or through an inline volume translating to the same handle. */
    private podUses(pod: V1Pod, d: DesiredVolume): boolean {
        if (d.pvName) {
            const ref = d.pv.spec?.claimRef;
            return pod.metadata?.namespace === ref?.namespace && (pod.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === ref?.name);
        }
        return (pod.spec?.volumes ?? []).some((v) => {
            if (!isInlineMigratable(v)) return false;
            try {
                const csi = translateInTreeSpecToCSI({ volume: v }, pod.metadata?.namespace ?? '').pv.spec?.csi;
                return csi?.driver === d.driver && csi.volumeHandle === d.handle;
            } catch {
                return false;
            }
        });
    }

    /**
     * The CSI translation of a migrated in-tree PV, memoized per resourceVersion.
     * @throws TranslationError (`failed to translate in-tree pv to CSI: …`)
     */
    private translatePV(pv: V1PersistentVolume): V1PersistentVolume {
        const key = `${pv.metadata?.uid ?? pv.metadata?.name}@${pv.metadata?.resourceVersion}`;
        let t = this.translated.get(key);
        if (!t) {
            try {
                t = { pv: translateInTreeSpecToCSI({ pv }, '').pv };
            } catch (e) {
                t = { error: e as Error };
            }
            this.translated.set(key, t);
        }
        if ('error' in t) throw t.error;
        return t.pv;
    }

    /** The volume handle a VolumeAttachment attaches: its PV's CSI handle (translated for a migrated in-tree PV), or its inline spec's. */
    private vaHandle(va: V1VolumeAttachment): string | undefined {
        const pvName = va.spec?.source?.persistentVolumeName;
        if (pvName) {
            const pv = this.s.volumes.get(pvName);
            if (!pv) return undefined;
            if (pv.spec?.csi) return pv.spec.csi.volumeHandle;
            if (!isMigratable({ pv })) return undefined;
            try {
                return this.translatePV(pv).spec?.csi?.volumeHandle;
            } catch {
                return undefined;
            }
        }
        return va.spec?.source?.inlineVolumeSpec?.csi?.volumeHandle;
    }

    /** Reconciles one node. */
    async syncNode(nodeName: string, log: Logger): Promise<ReconcileResult | void> {
        const node = this.s.nodes.get(nodeName);
        const l = log.child({ node: nodeName });
        const { desired, untranslatable } = desiredStateForNode(node, this.s.pods.byIndex(INDEX_NODE, nodeName), {
            claim: (k) => this.s.claims.get(k),
            volume: (n) => this.s.volumes.get(n),
            csiDriver: (n) => this.s.csiDrivers.get(n),
            translatePV: (pv) => this.translatePV(pv),
        });
        // An in-tree volume whose spec cannot be translated to its CSI driver is never attached:
        // the pod is told why (upstream logs it at V(10) only).
        for (const u of untranslatable) {
            if (this.tell(u.pod, 'Warning', 'FailedAttachVolume', volumeMsg('AttachVolume.Attach failed', u.volumeName, `: ${u.message}`))) {
                l.warn({ pod: `${u.pod.metadata?.namespace}/${u.pod.metadata?.name}`, volume: u.volumeName, err: u.message }, 'Cannot attach an in-tree volume through its CSI driver');
            }
        }
        let requeueMs: number | undefined;
        const soonest = (ms: number) => (requeueMs = requeueMs === undefined ? ms : Math.min(requeueMs, ms));

        // Attach what is desired.
        for (const d of desired.values()) {
            const r = await this.attach(nodeName, d, l);
            if (r) soonest(r);
        }

        // Detach what is not, unless the node still uses it.
        const onNode = this.s.attachments.byIndex(INDEX_NODE, nodeName);
        const toDelete: V1VolumeAttachment[] = [];
        const now = Date.now();
        for (const va of onNode) {
            const name = va.metadata?.name ?? '';
            if (desired.has(name)) {
                this.detachRequested.delete(name);
                continue;
            }
            if (va.metadata?.deletionTimestamp) continue;
            const handle = this.vaHandle(va);
            const uniq = handle ? uniqueVolumeName(va.spec?.attacher ?? '', handle) : undefined;
            const mounted = !!uniq && (node?.status?.volumesInUse ?? []).includes(uniq);
            const requested = this.detachRequested.get(name);
            const first = requested ?? now;
            this.detachRequested.set(name, first);
            const d = decideDetach({
                nodeExists: !!node,
                mounted,
                ready: isNodeReady(node),
                outOfService: hasOutOfServiceTaint(node),
                waitedMs: now - first,
                maxWaitMs: this.s.maxWaitForUnmountMs,
                disableForce: this.s.disableForceDetachOnTimeout,
            });
            if (d.action === 'wait') {
                if (requested === undefined) l.info({ va: name, volume: uniq }, 'Detach waits until the node no longer reports the volume in use');
                soonest(d.retryMs);
                // Pods elsewhere waiting for this volume learn what the detach waits for.
                this.wakeWaiters(va.spec?.source?.persistentVolumeName, nodeName);
                continue;
            }
            if (d.force === 'timeout' || d.force === 'out-of-service') {
                this.s.forcedDetaches.inc({ reason: d.force });
                l.warn({ va: name, pv: va.spec?.source?.persistentVolumeName, reason: d.force, waitedMs: now - first }, 'Force detaching a volume the node still reports in use');
            }
            toDelete.push(va);
        }

        // Node status first (the kubelet must stop trusting the attachment before it goes), then delete.
        if (node) await this.updateNodeStatus(node, new Set(toDelete.map((v) => v.metadata?.name ?? '')));
        for (const va of toDelete) {
            const name = va.metadata?.name ?? '';
            try {
                await this.s.storage.deleteVolumeAttachment({ name });
            } catch (err) {
                if (!isNotFound(err)) throw err;
            }
            this.detachRequested.delete(name);
            l.info({ va: name, pv: va.spec?.source?.persistentVolumeName }, 'Detach requested: deleted VolumeAttachment');
            this.wakeWaiters(va.spec?.source?.persistentVolumeName);
        }
        return requeueMs === undefined ? undefined : { requeueAfterMs: requeueMs };
    }

    /** Nodes whose pods wait for a volume: requeue them when it is released somewhere. */
    private wakeWaiters(pvName: string | undefined, except?: string): void {
        if (!pvName) return;
        const pv = this.s.volumes.get(pvName);
        const key = pv && claimRefKey(pv);
        if (!key) return;
        for (const p of this.s.pods.byIndex(POD_CLAIM_INDEX, key)) {
            if (p.spec?.nodeName && p.spec.nodeName !== except) this.s.nodeQueue.add(p.spec.nodeName);
        }
    }

    /** One desired volume: create its VolumeAttachment, or report why it waits or failed. Returns a requeue delay. */
    private async attach(nodeName: string, d: DesiredVolume, log: Logger): Promise<number | undefined> {
        const va = this.s.attachments.get(d.vaName);
        if (!va) {
            if (!isMultiAttachAllowed(d.pv)) {
                const elsewhere = (d.pvName ? this.s.attachments.byIndex(VA_PV_INDEX, d.pvName) : this.s.attachments.byIndex(INDEX_INLINE_VOLUME, `${d.driver}^${d.handle}`)).filter(
                    (a) => a.spec?.nodeName !== nodeName,
                );
                if (elsewhere.length > 0) {
                    const holders = elsewhere.map((a) => {
                        const other = a.spec?.nodeName ?? '';
                        const pods = this.s.pods.byIndex(INDEX_NODE, other).filter((p) => this.podUses(p, d));
                        const since = this.detachRequested.get(a.metadata?.name ?? '');
                        const uniq = uniqueVolumeName(d.driver, d.handle);
                        const mounted = (this.s.nodes.get(other)?.status?.volumesInUse ?? []).includes(uniq);
                        return { node: other, pods, waitingSince: since ? new Date(since) : undefined, mounted };
                    });
                    for (const pod of d.pods) this.tell(pod, 'Warning', 'FailedAttachVolume', multiAttachMessage(d.specName, pod.metadata?.namespace ?? '', holders));
                    log.info({ pv: d.specName, heldBy: holders.map((h) => h.node) }, 'Waiting for detach from another node before attaching');
                    return undefined;
                }
            }
            try {
                await this.s.storage.createVolumeAttachment({
                    body: {
                        apiVersion: 'storage.k8s.io/v1',
                        kind: 'VolumeAttachment',
                        metadata: { name: d.vaName },
                        spec: { attacher: d.driver, nodeName, source: d.source },
                    },
                });
                log.info({ pv: d.specName, va: d.vaName, driver: d.driver, ...(d.migrated ? { migrated: true } : {}) }, 'Attach requested: created VolumeAttachment');
                crashPoint('attach-detach:after-create');
            } catch (err) {
                if (!isAlreadyExists(err)) throw err;
            }
            return undefined;
        }
        if (va.metadata?.deletionTimestamp) {
            for (const pod of d.pods) this.tell(pod, 'Warning', 'FailedAttachVolume', volumeMsg('AttachVolume.Attach failed', d.specName, ': volume attachment is being deleted'));
            return undefined;
        }
        if (va.status?.attached) {
            for (const pod of d.pods) this.tell(pod, 'Normal', 'SuccessfulAttachVolume', volumeMsg('AttachVolume.Attach succeeded', d.specName, ''));
            return undefined;
        }
        const err = va.status?.attachError?.message;
        if (err) for (const pod of d.pods) this.tell(pod, 'Warning', 'FailedAttachVolume', volumeMsg('AttachVolume.Attach failed', d.specName, `: ${err}`));
        return undefined;
    }

    /**
     * node.status.volumesAttached = every attached, not-deleting VolumeAttachment on the node that
     * is not about to be detached, sorted; written only when it changes (JSON merge patch).
     */
    private async updateNodeStatus(node: V1Node, detaching: Set<string>): Promise<void> {
        const name = node.metadata?.name ?? '';
        const want = this.s.attachments
            .byIndex(INDEX_NODE, name)
            .filter((va) => va.status?.attached && !va.metadata?.deletionTimestamp && !detaching.has(va.metadata?.name ?? ''))
            .map((va) => {
                const h = this.vaHandle(va);
                return h ? uniqueVolumeName(va.spec?.attacher ?? '', h) : undefined;
            })
            .filter((n): n is string => !!n)
            .sort();
        const have = (node.status?.volumesAttached ?? []).map((v) => v.name).sort();
        if (JSON.stringify(want) === JSON.stringify(have)) return;
        try {
            await this.s.core.patchNodeStatus({ name, body: { status: { volumesAttached: want.map((n) => ({ name: n, devicePath: '' })) } } }, MERGE_PATCH);
        } catch (err) {
            if (!isNotFound(err)) throw err;
        }
    }
}
