// The PV binder's I/O: reads the caches, asks decide.ts what to do, writes with optimistic
// concurrency, emits events. Mirrors pv_controller.go syncClaim / syncVolume / bind.
import type { CoreV1Api, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1StorageClass } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { AssumeCache } from '../../src/kube/assume.ts';
import { isConflict, isNotFound } from '../../src/kube/errors.ts';
import type { EventRecorder } from '../../src/kube/events.ts';
import type { SharedInformer } from '../../src/kube/informer.ts';
import { patchClaim, patchClaimStatus, patchVolume, patchVolumeStatus } from '../../src/kube/patch.ts';
import { crashPoint } from '../../src/runtime/faults.ts';
import type { QueueRef } from '../../src/runtime/loop.ts';
import { TerminalError } from '../../src/runtime/result.ts';
import {
    ANN_BIND_COMPLETED,
    ANN_BOUND_BY_CONTROLLER,
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_MIGRATED_TO,
    ANN_PRE_RESIZE_CAPACITY,
    claimClass,
    claimRequest,
    isVolumeBoundToClaim,
    volumeClass,
    claimKey,
    claimRefKey,
} from '../../src/storage/helpers.ts';
import { POD_CLAIM_INDEX } from '../../src/storage/indexers.ts';
import { tryParseQuantity } from '../../src/storage/quantity.ts';
import { VolumeIndex, explainNoMatch } from './volume-index.ts';
import type { BinderWorld, EventSpec, VolumeDecision } from './decide.ts';
import { REASON, decideClaim, decideReclaim, decideVolume, migrationAnnotations, volumeMigrationUpdate } from './decide.ts';
import type { BinderMetrics } from './metrics.ts';

/** What the PV binder reads and writes through (pods indexed by POD_CLAIM_INDEX). */
export interface BinderDeps {
    core: CoreV1Api;
    volumes: AssumeCache<V1PersistentVolume>;
    claims: AssumeCache<V1PersistentVolumeClaim>;
    classes: SharedInformer<V1StorageClass>;
    pods: SharedInformer<V1Pod>;
    recorder: EventRecorder;
    metrics: BinderMetrics;
    /** The claim queue (keys `ns/name`). */
    claimQueue: QueueRef<string>;
    /** The volume queue (PV names). */
    volumeQueue: QueueRef<string>;
}

/** True when applying a reclaim decision would write or emit something. */
function changes(pv: V1PersistentVolume, d: VolumeDecision): boolean {
    if (d.events.length > 0) return true;
    if (d.action !== 'phase') return d.action !== 'none';
    return d.phase !== pv.status?.phase || (d.message ?? '') !== (pv.status?.message ?? '');
}

/**
 * The PV binder's reconcilers and all of its state besides the caches: the matching index of
 * volumes (kept current from the effective view of volumes: informer plus our own assumed
 * writes), the PVs promised to in-flight binds (so parallel claim workers never pick the same
 * PV), the claims waiting for a volume of a class, the last FailedBinding explanation per claim
 * (one event per change), and provisioning start times (for the latency metric).
 */
export class Binder {
    private readonly s: BinderDeps;
    private readonly index = new VolumeIndex();
    /** PV name → claim key of the bind in flight. */
    private readonly reserved = new Map<string, string>();
    private readonly lastExplanation = new LRUCache<string, string>({ max: 100_000 });
    private readonly provisionStart = new LRUCache<string, number>({ max: 100_000 });
    /** Claims left Pending for want of a matching PV, by class: woken when a PV of that class becomes Available. */
    private readonly waiting = new Map<string, Set<string>>();
    private readonly waitingClass = new Map<string, string>();
    readonly world: BinderWorld;

    constructor(deps: BinderDeps) {
        this.s = deps;
        const s = deps;
        s.volumes.onChange((key, pv) => {
            if (!pv) return this.index.remove(key);
            this.index.upsert(pv);
            if (!pv.spec?.claimRef && pv.status?.phase === 'Available') this.wakeWaiting(volumeClass(pv));
        });
        this.world = {
            volume: (name) => s.volumes.get(name),
            storageClass: (name) => s.classes.get(name),
            storageClasses: () => s.classes.list(),
            podsUsingClaim: (ns, name) => s.pods.byIndex(POD_CLAIM_INDEX, `${ns}/${name}`),
            findBestMatch: (claim, delay) => this.index.findBestMatch(claim, delay, (n) => this.reserved.has(n)),
            explainNoMatch: (claim) => explainNoMatch(claim, this.index.values()),
        };
    }

    private setWaiting(key: string, cls: string | undefined): void {
        const old = this.waitingClass.get(key);
        if (old === cls) return;
        if (old !== undefined) {
            const set = this.waiting.get(old);
            set?.delete(key);
            if (set && set.size === 0) this.waiting.delete(old);
            this.waitingClass.delete(key);
        }
        if (cls === undefined) return;
        let set = this.waiting.get(cls);
        if (!set) this.waiting.set(cls, (set = new Set()));
        set.add(key);
        this.waitingClass.set(key, cls);
    }

    /** Enqueues the claims waiting for a PV of this class (when one becomes Available). */
    private wakeWaiting(cls: string): void {
        for (const k of this.waiting.get(cls) ?? []) this.s.claimQueue.add(k);
    }

    private emit(events: EventSpec[], claim: V1PersistentVolumeClaim | undefined, pv: V1PersistentVolume | undefined): void {
        for (const e of events) {
            const obj = e.on === 'claim' ? claim : pv;
            if (obj) this.s.recorder.event(obj, e.type, e.reason, e.message);
        }
    }

    /** Wraps a write: records the result in the assume cache, forgets a stale assumption on 409. */
    private async write<T extends V1PersistentVolume | V1PersistentVolumeClaim>(
        cache: AssumeCache<T>,
        key: string,
        fn: () => Promise<T>,
    ): Promise<T> {
        try {
            const obj = await fn();
            cache.assume(obj);
            return obj;
        } catch (err) {
            if (isConflict(err)) cache.forget(key);
            throw err;
        }
    }

    // ---- claims -------------------------------------------------------------------------

    /** syncClaim for `ns/name`. */
    async syncClaim(key: string, log: Logger): Promise<void> {
        let claim = this.s.claims.get(key);
        if (!claim) {
            this.setWaiting(key, undefined);
            // deleteClaim: wake the volumes that pointed at it so they become Released.
            for (const pv of this.index.byClaimRef(key)) this.s.volumeQueue.add(pv.metadata?.name ?? '');
            return;
        }
        claim = await this.annealClaimMigration(claim, key, log);
        if (claim.spec?.resources?.requests?.storage !== undefined && claimRequest(claim) === undefined) {
            const msg = `invalid storage request "${claim.spec.resources.requests.storage}"`;
            this.s.recorder.event(claim, 'Warning', REASON.FailedBinding, msg);
            throw new TerminalError(`claim ${key}: ${msg}`);
        }
        const decision = decideClaim(claim, this.world);
        const log2 = log.child({ pvc: key });
        const waitsForVolume = decision.action === 'status' && decision.phase === 'Pending' && !claim.spec?.volumeName;
        this.setWaiting(key, waitsForVolume ? claimClass(claim) : undefined);
        switch (decision.action) {
            case 'bind': {
                const pvName = decision.volume.metadata?.name ?? '';
                const holder = this.reserved.get(pvName);
                if (holder && holder !== key) throw new Error(`volume ${pvName} is being bound to ${holder}`);
                this.reserved.set(pvName, key);
                try {
                    await this.bind(decision.volume, claim, log2);
                } finally {
                    if (this.reserved.get(pvName) === key) this.reserved.delete(pvName);
                }
                const started = this.provisionStart.get(claim.metadata?.uid ?? '');
                if (started !== undefined) {
                    this.provisionStart.delete(claim.metadata?.uid ?? '');
                    this.s.metrics.operationSeconds.observe({ plugin_name: 'N/A', operation_name: 'provision' }, (Date.now() - started) / 1000);
                }
                return;
            }
            case 'assign-default-class':
                try {
                    await this.write(this.s.claims, key, () => patchClaim(this.s.core, claim, { spec: { storageClassName: decision.className } }));
                    this.s.metrics.retroactive.inc();
                    log2.info({ storageClass: decision.className }, 'Assigned default StorageClass to claim');
                } catch (err) {
                    this.s.metrics.retroactiveErrors.inc();
                    throw err;
                }
                return;
            case 'provision':
                this.emit(decision.events, claim, undefined);
                if (!this.provisionStart.has(claim.metadata?.uid ?? '')) this.provisionStart.set(claim.metadata?.uid ?? '', Date.now());
                if (decision.annotations) {
                    const annotations = decision.annotations;
                    const c = claim;
                    await this.write(this.s.claims, key, () => patchClaim(this.s.core, c, { metadata: { annotations } }));
                    log2.info({ provisioner: decision.provisioner }, 'Handed claim to its external provisioner');
                }
                return;
            case 'status': {
                const changed = claim.status?.phase !== decision.phase;
                const events = decision.events.filter((e) => e.reason !== REASON.FailedBinding || e.type !== 'Normal' || this.explanationChanged(claim, e.message));
                if (!decision.eventOnChangeOnly || changed) this.emit(events, claim, undefined);
                await this.updateClaimStatus(claim, decision.phase, undefined);
                return;
            }
            case 'fail':
                this.emit(decision.events, claim, undefined);
                throw new Error(decision.error);
            case 'invalid':
                this.emit(decision.events, claim, undefined);
                throw new TerminalError(`claim ${key}: ${decision.error}`);
            case 'none':
                this.emit(decision.events, claim, undefined);
                return;
        }
    }

    /**
     * updateClaimMigrationAnnotations: sets or removes the claim's `pv.kubernetes.io/migrated-to`
     * from its storage-provisioner annotation before anything else; resolves to the claim to sync.
     * @throws the write's error (the claim is synced again with backoff)
     */
    private async annealClaimMigration(claim: V1PersistentVolumeClaim, key: string, log: Logger): Promise<V1PersistentVolumeClaim> {
        const annotations = migrationAnnotations(claim.metadata?.annotations, true);
        if (!annotations) return claim;
        const updated = await this.write(this.s.claims, key, () => patchClaim(this.s.core, claim, { metadata: { annotations } }));
        log.info({ pvc: key, migratedTo: annotations[ANN_MIGRATED_TO] }, 'Updated the CSI migration annotation of claim');
        return updated;
    }

    /**
     * updateVolumeMigrationAnnotationsAndFinalizers: `pv.kubernetes.io/migrated-to` and the
     * deletion-protection finalizers of a dynamically provisioned volume, in one write; resolves to
     * the volume to sync. @throws the write's error
     */
    private async annealVolumeMigration(pv: V1PersistentVolume, log: Logger): Promise<V1PersistentVolume> {
        const u = volumeMigrationUpdate(pv);
        if (!u) return pv;
        const meta: Record<string, unknown> = {};
        if (u.annotations) meta.annotations = u.annotations;
        if (u.finalizers) meta.finalizers = u.finalizers;
        const updated = await this.write(this.s.volumes, pv.metadata?.name ?? '', () => patchVolume(this.s.core, pv, { metadata: meta }));
        log.info({ migratedTo: u.annotations?.[ANN_MIGRATED_TO], finalizers: u.finalizers }, 'Updated the CSI migration annotation and deletion finalizers of volume');
        return updated;
    }

    /** True (and remembered) when this FailedBinding explanation differs from the last one emitted for the claim. */
    private explanationChanged(claim: V1PersistentVolumeClaim, message: string): boolean {
        const uid = claim.metadata?.uid ?? '';
        if (this.lastExplanation.get(uid) === message) return false;
        this.lastExplanation.set(uid, message);
        return true;
    }

    /**
     * bind(volume, claim) in upstream's write order: PV claimRef (+ bound-by-controller), PV
     * phase Bound, claim volumeName (+ annotations), claim status. Each step is skipped when
     * already done, so a sync after a crash resumes where the last one stopped.
     */
    async bind(pv: V1PersistentVolume, claim: V1PersistentVolumeClaim, log: Logger): Promise<void> {
        const pvName = pv.metadata?.name ?? '';
        const key = claimKey(claim);
        let vol = pv;
        let wrote = false;
        const ref = vol.spec?.claimRef;
        const refDirty = !ref || ref.name !== claim.metadata?.name || (ref.namespace ?? '') !== claim.metadata?.namespace || ref.uid !== claim.metadata?.uid;
        const setByController = !isVolumeBoundToClaim(vol, claim) && vol.metadata?.annotations?.[ANN_BOUND_BY_CONTROLLER] === undefined;
        if (refDirty || setByController) {
            wrote = true;
            vol = await this.write(this.s.volumes, pvName, () =>
                patchVolume(this.s.core, vol, {
                    ...(setByController ? { metadata: { annotations: { [ANN_BOUND_BY_CONTROLLER]: 'yes' } } } : {}),
                    spec: {
                        claimRef: {
                            kind: 'PersistentVolumeClaim',
                            apiVersion: 'v1',
                            namespace: claim.metadata?.namespace,
                            name: claim.metadata?.name,
                            uid: claim.metadata?.uid,
                            resourceVersion: claim.metadata?.resourceVersion,
                        },
                    },
                }),
            );
        }
        if (vol.status?.phase !== 'Bound' || vol.status?.message) {
            wrote = true;
            vol = await this.write(this.s.volumes, pvName, () => patchVolumeStatus(this.s.core, vol, { phase: 'Bound', message: null }));
        }
        crashPoint('pv-binder:after-volume-bound');
        let c = claim;
        const ann: Record<string, string> = {};
        const spec: Record<string, unknown> = {};
        if (c.spec?.volumeName !== pvName) {
            spec.volumeName = pvName;
            ann[ANN_BOUND_BY_CONTROLLER] = 'yes';
        }
        if (c.metadata?.annotations?.[ANN_BIND_COMPLETED] === undefined) ann[ANN_BIND_COMPLETED] = 'yes';
        if (Object.keys(ann).length || Object.keys(spec).length) {
            wrote = true;
            c = await this.write(this.s.claims, key, () =>
                patchClaim(this.s.core, c, { ...(Object.keys(ann).length ? { metadata: { annotations: ann } } : {}), ...(Object.keys(spec).length ? { spec } : {}) }),
            );
        }
        wrote = (await this.updateClaimStatus(c, 'Bound', vol)) || wrote;
        if (wrote) log.info({ pv: pvName }, 'Bound claim to volume');
    }

    /**
     * updateClaimStatus: phase, accessModes from the volume, capacity (pre-resize annotation, else
     * the PV's) only on a phase change; with no volume, clears accessModes and capacity.
     * @returns whether anything was written
     * @throws Error when binding to a PV without storage capacity
     */
    private async updateClaimStatus(claim: V1PersistentVolumeClaim, phase: 'Pending' | 'Bound' | 'Lost', pv: V1PersistentVolume | undefined): Promise<boolean> {
        const cur = claim.status ?? {};
        const status: Record<string, unknown> = {};
        let dirty = false;
        if (cur.phase !== phase) {
            status.phase = phase;
            dirty = true;
        }
        if (!pv) {
            if (cur.accessModes?.length) {
                status.accessModes = null;
                dirty = true;
            }
            if (cur.capacity && Object.keys(cur.capacity).length) {
                status.capacity = null;
                dirty = true;
            }
        } else {
            const modes = pv.spec?.accessModes ?? [];
            if (JSON.stringify(cur.accessModes ?? []) !== JSON.stringify(modes)) {
                status.accessModes = modes;
                dirty = true;
            }
            if (cur.phase !== phase) {
                const pvCap = pv.spec?.capacity?.storage;
                if (pvCap === undefined) throw new Error(`volume "${pv.metadata?.name}" has no storage capacity`);
                const pre = pv.metadata?.annotations?.[ANN_PRE_RESIZE_CAPACITY];
                const want = pre !== undefined && tryParseQuantity(pre) !== undefined ? pre : pvCap;
                if (cur.capacity?.storage !== want) status.capacity = { ...(cur.capacity ?? {}), storage: want };
            }
        }
        if (!dirty) return false;
        const key = claimKey(claim);
        await this.write(this.s.claims, key, () => patchClaimStatus(this.s.core, claim, status));
        return true;
    }

    // ---- volumes ------------------------------------------------------------------------

    /** The claim a PV's claimRef names, if it exists with that uid; live read when `live`. */
    private async claimFor(pv: V1PersistentVolume, live: boolean): Promise<V1PersistentVolumeClaim | undefined> {
        const ref = pv.spec?.claimRef;
        const key = claimRefKey(pv);
        if (!ref || !key) return undefined;
        if (!live) {
            const cached = this.s.claims.get(key);
            return cached?.metadata?.uid === ref.uid ? cached : undefined;
        }
        try {
            const c = await this.s.core.readNamespacedPersistentVolumeClaim({ name: ref.name ?? '', namespace: ref.namespace ?? '' });
            return c.metadata?.uid === ref.uid ? c : undefined;
        } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
        }
    }

    /** syncVolume for a PV name. */
    async syncVolume(name: string, log: Logger): Promise<void> {
        let pv = this.s.volumes.get(name);
        if (!pv) return;
        const log2 = log.child({ pv: name });
        pv = await this.annealVolumeMigration(pv, log2);
        let claim = await this.claimFor(pv, false);
        let decision = decideVolume(pv, claim);
        const acts = decision.action === 'phase' || (decision.action === 'reclaim' && changes(pv, this.reclaimDecision(pv)));
        if (!claim && pv.spec?.claimRef?.uid && acts) {
            // Never release or reclaim on the strength of the cache alone (kubernetes#83177): re-read
            // both. A reclaim that would do nothing (Retain, external deleter) needs no re-read, so a
            // resync of many Released PVs costs no API reads.
            try {
                pv = await this.annealVolumeMigration(await this.s.core.readPersistentVolume({ name }), log2);
            } catch (err) {
                if (isNotFound(err)) return;
                throw err;
            }
            claim = await this.claimFor(pv, true);
            decision = decideVolume(pv, claim);
        }
        await this.applyVolume(pv, claim, decision, log2);
    }

    private async applyVolume(pv: V1PersistentVolume, claim: V1PersistentVolumeClaim | undefined, d: VolumeDecision, log: Logger): Promise<void> {
        const name = pv.metadata?.name ?? '';
        this.emit(d.events, claim, pv);
        switch (d.action) {
            case 'none':
                return;
            case 'enqueue-claim':
                this.s.claimQueue.add(d.claimKey);
                return;
            case 'phase': {
                const updated = await this.updateVolumePhase(pv, d.phase, d.message ?? '');
                if (d.phase === 'Released') {
                    log.info({ pvc: `${pv.spec?.claimRef?.namespace}/${pv.spec?.claimRef?.name}` }, 'Volume released: its claim is gone');
                    await this.reclaim(updated, log, true);
                }
                return;
            }
            case 'reclaim':
                await this.reclaim(pv, log, false);
                return;
            case 'unbind': {
                const claimRef = d.keepClaimName ? { uid: null } : null;
                const updated = await this.write(this.s.volumes, name, () =>
                    patchVolume(this.s.core, pv, { metadata: { annotations: { [ANN_BOUND_BY_CONTROLLER]: null } }, spec: { claimRef } }),
                );
                log.info({}, 'Unbound volume whose claim is bound elsewhere');
                await this.updateVolumePhase(updated, 'Available', '');
                return;
            }
        }
    }

    /** decideReclaim with the pods and claim cache it needs. */
    private reclaimDecision(pv: V1PersistentVolume): VolumeDecision {
        const key = claimRefKey(pv);
        const pods = key ? this.s.pods.byIndex(POD_CLAIM_INDEX, key) : [];
        const claimCached = !!(key && this.s.claims.get(key));
        return decideReclaim(pv, pods, claimCached);
    }

    /** reclaimVolume; `released` when the volume has just become Released (then a hand-off to an external deleter is logged at info, else at debug). */
    private async reclaim(pv: V1PersistentVolume, log: Logger, released: boolean): Promise<void> {
        const d = this.reclaimDecision(pv);
        if (d.action === 'phase') log.warn({ phase: d.phase, message: d.message }, 'Volume reclaim failed');
        if (d.action === 'none' && pv.spec?.persistentVolumeReclaimPolicy === 'Delete') {
            // A migrated in-tree volume goes to its CSI driver's provisioner (migrated-to), never to an in-tree deleter.
            const ann = pv.metadata?.annotations ?? {};
            const deleter = ann[ANN_MIGRATED_TO] || ann[ANN_DYNAMICALLY_PROVISIONED] || pv.spec?.csi?.driver || '';
            log[released ? 'info' : 'debug']({ deleter }, 'Volume deletion left to its external provisioner');
        }
        await this.applyVolume(pv, undefined, d, log);
    }

    /** updateVolumePhase: status phase + message ('' clears it); no write when already equal. */
    private async updateVolumePhase(pv: V1PersistentVolume, phase: string, message: string): Promise<V1PersistentVolume> {
        if (pv.status?.phase === phase && (pv.status?.message ?? '') === message) return pv;
        return this.write(this.s.volumes, pv.metadata?.name ?? '', () => patchVolumeStatus(this.s.core, pv, { phase, message: message || null }));
    }
}
