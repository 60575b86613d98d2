// The external-provisioner's I/O: provision claims annotated for our drivers, delete released
// volumes we own. Mirrors sig-storage-lib-external-provisioner controller.go and
// external-provisioner pkg/controller/controller.go, with a durable in-flight record.
import type { CoreV1Api, CustomObjectsApi, V1CSINode, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass, V1VolumeAttachment } from '@kubernetes/client-node';
import { status as Code } from '@grpc/grpc-js';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { DRIVER_STARTING_RETRY_MS } from '../../src/csi/registry.ts';
import type { DriverEntry, DriverRegistry } from '../../src/csi/registry.ts';
import { describeCsiError, grpcCode, mayBeInProgress } from '../../src/csi/errors.ts';
import type { CreateVolumeRequest, VolumeContentSource } from '../../src/csi/types.ts';
import { isAlreadyExists, isNotFound, toStatus } from '../../src/kube/errors.ts';
import type { EventRecorder } from '../../src/kube/events.ts';
import { keyOf } from '../../src/kube/resources.ts';
import { readSecretData } from '../../src/kube/secrets.ts';
import type { SecretReadError, SecretRef } from '../../src/kube/secrets.ts';
import { fresherFromCache } from '../../src/kube/informer.ts';
import type { SharedInformer } from '../../src/kube/informer.ts';
import { updateFinalizer } from '../../src/kube/patch.ts';
import { crashPoint } from '../../src/runtime/faults.ts';
import type { ReconcileResult } from '../../src/runtime/result.ts';
import {
    ANN_BETA_STORAGE_PROVISIONER,
    ANN_DYNAMICALLY_PROVISIONED,
    ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER,
    FINALIZER_EXTERNAL_PROVISIONER,
    claimClass,
    claimRequest,
} from '../../src/storage/helpers.ts';
import { VA_PV_INDEX } from '../../src/storage/indexers.ts';
import {
    ANN_DELETION_SECRET_NAME,
    ANN_DELETION_SECRET_NAMESPACE,
    FINALIZER_CLONE_PROTECTION,
    FINALIZER_PROVISIONING,
    POPULATOR_EVENT,
    ProvisionError,
    ProvisionIgnored,
    SNAPSHOT_GROUP,
    SNAPSHOT_VERSION,
    accessibilityRequirements,
    buildPV,
    checkDriverCapabilities,
    claimDataSource,
    cloneContentSource,
    fsTypeOf,
    hasContentSource,
    hasDataSource,
    makeVolumeName,
    populatorReason,
    secretRef,
    snapshotContentSource,
    sourceType,
    stripParameters,
    volumeCapabilities,
} from './decide.ts';
import type { DataSource, SecretKind, SnapshotInputs, SourceType, VolumeSnapshot, VolumeSnapshotContent } from './decide.ts';
import type { ProvisionerMetrics } from './metrics.ts';

/** What the provisioner reads and writes through. */
export interface ProvisionerDeps {
    core: CoreV1Api;
    /** Generic reads of VolumeSnapshot / VolumeSnapshotContent (no typed client; the CRDs may be absent). */
    custom: CustomObjectsApi;
    drivers: DriverRegistry;
    claims: SharedInformer<V1PersistentVolumeClaim>;
    volumes: SharedInformer<V1PersistentVolume>;
    classes: SharedInformer<V1StorageClass>;
    nodes: SharedInformer<V1Node>;
    csiNodes: SharedInformer<V1CSINode>;
    attachments: SharedInformer<V1VolumeAttachment>;
    /** Event recorder for a driver (component `<driver>_<identity>`, as the lib's). */
    recorder(driver: string): EventRecorder;
    /** Event recorder with component `external-provisioner` (upstream's csiProvisioner recorder: the populator event). */
    populatorRecorder: EventRecorder;
    /** Index of `claims` by the `ns/name` of the claim they clone (plan.ts cloneSourceKey). */
    cloneSourceIndex: string;
    metrics: ProvisionerMetrics;
    identity: string;
    volumeNamePrefix: string;
    volumeNameUuidLength: number;
    extraCreateMetadata: boolean;
    defaultFsType: string;
    /** How long a claim whose CreateVolume was infeasible (InvalidArgument) waits before the next try, ms (--retry-interval-max). */
    infeasibleRetryMs: number;
}

/** What an infeasible CreateVolume was tried with: a change of any of it ends the slow retry. */
function infeasibleInputs(claim: V1PersistentVolumeClaim, sc: V1StorageClass | undefined): string {
    return JSON.stringify([sc?.metadata?.uid ?? '', claim.metadata?.generation ?? 0, claim.metadata?.annotations ?? {}]);
}

/** The driver a claim is annotated for (GA annotation, else the beta one). */
export function claimDriver(claim: V1PersistentVolumeClaim): string | undefined {
    const a = claim.metadata?.annotations ?? {};
    return a[ANN_STORAGE_PROVISIONER] ?? a[ANN_BETA_STORAGE_PROVISIONER];
}

/** The driver that owns a PV's deletion: provisioned-by, else (static PV) its CSI driver. */
export function volumeDriver(pv: V1PersistentVolume): string | undefined {
    return pv.metadata?.annotations?.[ANN_DYNAMICALLY_PROVISIONED] ?? pv.spec?.csi?.driver;
}

interface Prepared {
    req: CreateVolumeRequest;
    sc: V1StorageClass;
    fsType: string;
    requested: bigint;
    secretRefs: Partial<Record<SecretKind, { name: string; namespace: string }>>;
    topology: boolean;
}

/** Provisioning and deletion for every driver in the registry. */
export class Provisioner {
    private readonly s: ProvisionerDeps;
    /**
     * Claims whose CreateVolume failed as infeasible (InvalidArgument): not tried again until
     * infeasibleRetryMs passed, unless their class or the claim changed (lib slowSet,
     * delayProvisioningIfRecentlyInfeasible; we also count a claim edit as a change).
     */
    private readonly infeasible: LRUCache<string, { until: number; inputs: string }>;

    constructor(deps: ProvisionerDeps) {
        this.s = deps;
        this.infeasible = new LRUCache({ max: 10_000 });
    }

    private async patchClaimFinalizer(claim: V1PersistentVolumeClaim, add: boolean): Promise<V1PersistentVolumeClaim> {
        const name = claim.metadata?.name ?? '';
        const namespace = claim.metadata?.namespace ?? '';
        return updateFinalizer(claim, FINALIZER_PROVISIONING, add, {
            read: () => fresherFromCache(this.s.claims, keyOf(claim), claim.metadata?.resourceVersion),
            patch: (body) => this.s.core.patchNamespacedPersistentVolumeClaim({ name, namespace, body }),
        });
    }

    private volumeFinalizer(pv: V1PersistentVolume, add: boolean): Promise<V1PersistentVolume> {
        const name = pv.metadata?.name ?? '';
        return updateFinalizer(pv, FINALIZER_EXTERNAL_PROVISIONER, add, {
            read: () => fresherFromCache(this.s.volumes, name, pv.metadata?.resourceVersion),
            patch: (body) => this.s.core.patchPersistentVolume({ name, body }),
        });
    }

    private async readSecret(ref: SecretRef): Promise<Record<string, string>> {
        try {
            return await readSecretData(this.s.core, ref);
        } catch (err) {
            const e = err as SecretReadError;
            if (e.invalid) throw new ProvisionError(`invalid secret reference: ${e.message}`, { final: true });
            throw new ProvisionError(`error getting secret ${ref.name} in namespace ${ref.namespace}: ${e.message}`);
        }
    }

    /** prepareProvision: the CreateVolume request for a claim. @throws ProvisionError */
    private async prepare(claim: V1PersistentVolumeClaim, driver: DriverEntry, pvName: string): Promise<Prepared> {
        const sc = this.s.classes.get(claimClass(claim));
        if (!sc) throw new ProvisionError(`storageClass "${claimClass(claim)}" not found`);
        // The data source first, as upstream: a populator's claim is not ours, and a source we
        // cannot honour fails before anything is written.
        const ds = claimDataSource(claim);
        const source = ds ? sourceType(ds, claim.metadata?.name ?? '') : undefined;
        if (ds && source === 'populator') throw new ProvisionIgnored(populatorReason(ds));
        checkDriverCapabilities(driver.pluginCapabilities, driver.controllerCapabilities, source);
        if (claim.spec?.selector) throw new ProvisionError('claim Selector is not supported', { final: true });
        const params = sc.parameters ?? {};
        const fsType = fsTypeOf(params, this.s.defaultFsType);
        const requested = claimRequest(claim) ?? 0n;
        const contentSource = ds && source ? await this.contentSource(claim, sc, ds, source) : undefined;
        const ctx = { claim, pvName };
        const secretRefs: Prepared['secretRefs'] = {};
        for (const kind of ['provisioner', 'controller-publish', 'node-stage', 'node-publish', 'controller-expand', 'node-expand'] as SecretKind[]) {
            const ref = secretRef(params, kind, ctx);
            if (ref) secretRefs[kind] = ref;
        }
        const parameters = stripParameters(params);
        if (this.s.extraCreateMetadata) {
            parameters['csi.storage.k8s.io/pvc/name'] = claim.metadata?.name ?? '';
            parameters['csi.storage.k8s.io/pvc/namespace'] = claim.metadata?.namespace ?? '';
            parameters['csi.storage.k8s.io/pv/name'] = pvName;
        }
        const topology = driver.pluginCapabilities.includes('VOLUME_ACCESSIBILITY_CONSTRAINTS');
        const requirements = topology
            ? accessibilityRequirements(
                  driver.name,
                  sc,
                  claim.metadata?.annotations?.[ANN_SELECTED_NODE] || undefined,
                  (n) => this.s.nodes.get(n),
                  () => this.s.nodes.list(),
                  (n) => this.s.csiNodes.get(n),
                  () => this.s.csiNodes.list(),
              )
            : undefined;
        const req: CreateVolumeRequest = {
            name: pvName,
            capacity_range: { required_bytes: requested },
            volume_capabilities: volumeCapabilities(claim, fsType, sc.mountOptions ?? [], driver.controllerCapabilities.includes('SINGLE_NODE_MULTI_WRITER')),
            parameters,
            secrets: secretRefs.provisioner ? await this.readSecret(secretRefs.provisioner) : {},
            ...(contentSource ? { volume_content_source: contentSource } : {}),
            ...(requirements ? { accessibility_requirements: requirements } : {}),
        };
        // Never an empty volume for a claim that asked for content.
        if (hasDataSource(claim) && !req.volume_content_source) throw new ProvisionError('refusing to provision a claim with a data source without its content source', { final: true });
        return { req, sc, fsType, requested, secretRefs, topology };
    }

    /**
     * The CreateVolume content source for a restore or clone (getVolumeContentSource): reads the
     * source (a clone's claim from the cache and its PV live; a snapshot and its content live,
     * through the generic API, since the snapshot CRDs may not be installed), checks it in
     * plan.ts, and protects a clone's source claim with the cloning-protection finalizer before
     * any CreateVolume (setCloneFinalizer).
     * @throws ProvisionError with upstream's message
     */
    private async contentSource(claim: V1PersistentVolumeClaim, sc: V1StorageClass, ds: DataSource, type: SourceType): Promise<VolumeContentSource> {
        const inFlight = claim.metadata?.finalizers?.includes(FINALIZER_PROVISIONING) ?? false;
        if (type === 'clone') {
            const src = this.s.claims.get(`${ds.namespace}/${ds.name}`);
            const pvName = src?.spec?.volumeName;
            const volume = pvName ? await this.s.core.readPersistentVolume({ name: pvName }).catch(() => undefined) : undefined;
            const cs = cloneContentSource(claim, sc, ds, { source: src, volume, inFlight });
            if (src && !src.metadata?.finalizers?.includes(FINALIZER_CLONE_PROTECTION)) {
                const name = src.metadata?.name ?? '';
                const namespace = src.metadata?.namespace ?? '';
                await updateFinalizer(src, FINALIZER_CLONE_PROTECTION, true, {
                    read: () => fresherFromCache(this.s.claims, keyOf(src), src.metadata?.resourceVersion),
                    patch: (body) => this.s.core.patchNamespacedPersistentVolumeClaim({ name, namespace, body }),
                }).catch((err: unknown) => {
                    throw new ProvisionError(`failed to add finalizer ${FINALIZER_CLONE_PROTECTION} to source PVC ${namespace}/${name}: ${toStatus(err).message}`);
                });
            }
            return cs;
        }
        const inputs: SnapshotInputs = { inFlight };
        try {
            inputs.snapshot = (await this.s.custom.getNamespacedCustomObject({ group: SNAPSHOT_GROUP, version: SNAPSHOT_VERSION, namespace: ds.namespace, plural: 'volumesnapshots', name: ds.name })) as VolumeSnapshot;
        } catch (err) {
            inputs.snapshotError = snapshotReadError(err, ds.name);
        }
        const contentName = inputs.snapshot?.status?.boundVolumeSnapshotContentName;
        if (contentName) {
            try {
                inputs.content = (await this.s.custom.getClusterCustomObject({ group: SNAPSHOT_GROUP, version: SNAPSHOT_VERSION, plural: 'volumesnapshotcontents', name: contentName })) as VolumeSnapshotContent;
            } catch (err) {
                inputs.contentError = toStatus(err).message;
            }
        }
        return snapshotContentSource(claim, sc, ds, inputs);
    }

    /** syncClaim for `ns/name`. */
    async syncClaim(key: string, log: Logger): Promise<ReconcileResult | void> {
        let claim = this.s.claims.get(key);
        if (!claim) return;
        const driverName = claimDriver(claim);
        if (!driverName || !this.s.drivers.has(driverName)) return;
        const driver = this.s.drivers.get(driverName) as DriverEntry;
        const rec = this.s.recorder(driverName);
        const pvName = makeVolumeName(this.s.volumeNamePrefix, claim.metadata?.uid, this.s.volumeNameUuidLength);
        const inFlight = claim.metadata?.finalizers?.includes(FINALIZER_PROVISIONING) ?? false;
        const l = log.child({ pvc: key, driver: driverName, pv: pvName });
        const pvExists = () => !!this.s.volumes.get(pvName);
        if (claim.metadata?.deletionTimestamp) {
            if (inFlight) return this.abandon(claim, driver, pvName, l);
            return;
        }
        if (claim.spec?.volumeName || pvExists()) {
            if (inFlight) await this.patchClaimFinalizer(claim, false);
            return;
        }
        const sc = this.s.classes.get(claimClass(claim));
        if (sc && sc.provisioner !== driverName) return;
        if (sc?.volumeBindingMode === 'WaitForFirstConsumer' && !claim.metadata?.annotations?.[ANN_SELECTED_NODE]) return;
        const className = claimClass(claim);
        const started = Date.now();
        const uid = claim.metadata?.uid ?? '';
        const slow = this.infeasible.get(uid);
        if (slow) {
            if (slow.inputs === infeasibleInputs(claim, sc) && slow.until > started) {
                l.debug({ retryInMs: slow.until - started }, 'Skipping provisioning: it previously failed with an infeasible error');
                return { requeueAfterMs: slow.until - started };
            }
            this.infeasible.delete(uid);
        }
        if (!driver.ready) {
            // Still starting: wait quietly; an event only once it has failed to answer for a while.
            if (driver.starting) return this.driverStarting(l);
            rec.event(claim, 'Warning', 'ProvisioningFailed', driver.lastError);
            throw new Error(driver.lastError);
        }
        let prep: Prepared;
        try {
            prep = await this.prepare(claim, driver, pvName);
        } catch (err) {
            if (err instanceof ProvisionIgnored) {
                // Upstream IgnoredError: a Normal event, no ProvisioningFailed, no retry.
                this.s.populatorRecorder.event(claim, 'Normal', 'Provisioning', POPULATOR_EVENT);
                l.info({ reason: err.message }, 'Volume provision ignored');
                return;
            }
            const msg = err instanceof ProvisionError ? err.message : (err as Error).message;
            rec.event(claim, 'Warning', 'ProvisioningFailed', msg);
            this.s.metrics.provisionFailed.inc({ class: className, source: claim.spec?.dataSource?.kind ?? '' });
            if (err instanceof ProvisionError && err.reschedule) await this.reschedule(claim, l);
            throw err;
        }
        // The durable in-flight record: from here on a restart or a claim delete finishes or undoes the work.
        if (!inFlight) claim = await this.patchClaimFinalizer(claim, true);
        rec.event(claim, 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${key}"`);
        crashPoint('provisioner:before-create');
        let volume;
        try {
            volume = await driver.client.createVolume(prep.req);
        } catch (err) {
            await this.createFailed(claim, err, prep, l);
            throw new Error(describeCsiError(err));
        }
        crashPoint('provisioner:after-create');
        if (volume.capacity_bytes > 0n && volume.capacity_bytes < prep.requested) {
            await driver.client.deleteVolume({ volume_id: volume.volume_id, secrets: prep.req.secrets }).catch(() => undefined);
            const msg = `created volume capacity ${volume.capacity_bytes} less than requested capacity ${prep.requested}`;
            rec.event(claim, 'Warning', 'ProvisioningFailed', msg);
            throw new Error(msg);
        }
        if ((prep.req.volume_content_source || hasDataSource(claim)) && !hasContentSource(volume)) {
            // The driver ignored the content source: never hand out an empty volume in its place.
            let msg = 'volume content source missing';
            try {
                await driver.client.deleteVolume({ volume_id: volume.volume_id, secrets: prep.req.secrets });
            } catch (err) {
                msg += `. cleanup of volume ${pvName} failed, volume is orphaned: ${describeCsiError(err)}`;
            }
            rec.event(claim, 'Warning', 'ProvisioningFailed', msg);
            l.warn({ volumeHandle: volume.volume_id }, 'CreateVolume response has no content source; deleted the volume');
            throw new Error(msg);
        }
        const pv = buildPV({ pvName, driver: driverName, identity: this.s.identity, claim, sc: prep.sc, volume, requestedBytes: prep.requested, fsType: prep.fsType, secretRefs: prep.secretRefs });
        try {
            await this.s.core.createPersistentVolume({ body: pv });
        } catch (err) {
            if (!isAlreadyExists(err)) throw err;
        }
        rec.event(claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName}`);
        this.s.metrics.provisionTotal.inc({ class: className, source: claim.spec?.dataSource?.kind ?? '' });
        this.s.metrics.provisionDuration.observe({ class: className, source: claim.spec?.dataSource?.kind ?? '' }, (Date.now() - started) / 1000);
        l.info({ volumeHandle: volume.volume_id }, 'Provisioned volume');
        await this.patchClaimFinalizer(claim, false);
    }

    /**
     * The cloning-protection loop (CloningProtectionController): a claim being deleted that is the
     * source of clones keeps `provisioner.storage.kubernetes.io/cloning-protection` while any claim
     * cloning it is still Pending, then loses it.
     * @throws Error `PVC '<name>' is in 'Pending' state, cloning in progress` (retried with backoff)
     */
    async syncCloneSource(key: string, log: Logger): Promise<void> {
        const claim = this.s.claims.get(key);
        if (!claim?.metadata?.deletionTimestamp || !claim.metadata.finalizers?.includes(FINALIZER_CLONE_PROTECTION)) return;
        const pending = this.s.claims.byIndex(this.s.cloneSourceIndex, key).find((c) => c.status?.phase === 'Pending');
        if (pending) throw new Error(`PVC '${pending.metadata?.name}' is in 'Pending' state, cloning in progress`);
        const name = claim.metadata.name ?? '';
        const namespace = claim.metadata.namespace ?? '';
        await updateFinalizer(claim, FINALIZER_CLONE_PROTECTION, false, {
            read: () => fresherFromCache(this.s.claims, key, claim.metadata?.resourceVersion),
            patch: (body) => this.s.core.patchNamespacedPersistentVolumeClaim({ name, namespace, body }),
        });
        log.info({ pvc: key }, 'Removed cloning-protection finalizer: no clone in progress');
    }

    /** CreateVolume failed: the ProvisioningFailed event, reschedule, and whether the in-flight record can go. */
    private async createFailed(claim: V1PersistentVolumeClaim, err: unknown, prep: Prepared, log: Logger): Promise<void> {
        const driver = claimDriver(claim) as string;
        const code = grpcCode(err);
        const msg = code === Code.INVALID_ARGUMENT ? `Volume provisioning failed with infeasible error. Retries will be delayed. ${describeCsiError(err)}` : describeCsiError(err);
        this.s.recorder(driver).event(claim, 'Warning', 'ProvisioningFailed', msg);
        this.s.metrics.provisionFailed.inc({ class: claimClass(claim), source: claim.spec?.dataSource?.kind ?? '' });
        log.warn({ err: describeCsiError(err) }, 'CreateVolume failed');
        if (mayBeInProgress(err)) return; // the volume may exist: keep the in-flight record
        if (code === Code.INVALID_ARGUMENT) this.infeasible.set(claim.metadata?.uid ?? '', { until: Date.now() + this.s.infeasibleRetryMs, inputs: infeasibleInputs(claim, prep.sc) });
        if (code === Code.RESOURCE_EXHAUSTED && prep.topology && claim.metadata?.annotations?.[ANN_SELECTED_NODE]) await this.reschedule(claim, log);
        await this.patchClaimFinalizer(claim, false);
    }

    /** Removes volume.kubernetes.io/selected-node so the scheduler picks another node (lib rescheduleProvisioning). */
    private async reschedule(claim: V1PersistentVolumeClaim, log: Logger): Promise<void> {
        if (!claim.metadata?.annotations?.[ANN_SELECTED_NODE]) return;
        await this.s.core.patchNamespacedPersistentVolumeClaim({
            name: claim.metadata.name ?? '',
            namespace: claim.metadata.namespace ?? '',
            body: [
                { op: 'test', path: '/metadata/annotations/volume.kubernetes.io~1selected-node', value: claim.metadata.annotations[ANN_SELECTED_NODE] },
                { op: 'remove', path: '/metadata/annotations/volume.kubernetes.io~1selected-node' },
            ],
        });
        log.info({ node: claim.metadata.annotations[ANN_SELECTED_NODE] }, 'Removed selected-node so the claim is rescheduled');
    }

    /**
     * A claim deleted while its provisioning was in flight: if its PV exists, the PV's own
     * reclaim path owns the volume; otherwise CreateVolume again by the same name (idempotent:
     * it answers with the volume if the first call created it) and DeleteVolume it, so nothing
     * leaks. Then the in-flight finalizer goes and the claim delete completes.
     */
    private async abandon(claim: V1PersistentVolumeClaim, driver: DriverEntry, pvName: string, log: Logger): Promise<ReconcileResult | void> {
        let pvFound = !!this.s.volumes.get(pvName);
        if (!pvFound) {
            try {
                await this.s.core.readPersistentVolume({ name: pvName });
                pvFound = true;
            } catch (err) {
                if (!isNotFound(err)) throw err;
            }
        }
        if (!pvFound) {
            if (!driver.ready && driver.starting) return this.driverStarting(log);
            if (!driver.ready) throw new Error(`cannot clean up provisioning of deleted claim: ${driver.lastError}`);
            const prep = await this.prepare(claim, driver, pvName);
            let volumeId: string | undefined;
            try {
                volumeId = (await driver.client.createVolume(prep.req)).volume_id;
            } catch (err) {
                if (mayBeInProgress(err)) throw err;
                // A final error: the driver holds no volume by that name.
                log.info({ err: describeCsiError(err) }, 'Provisioning of deleted claim never created a volume');
            }
            if (volumeId) {
                await driver.client.deleteVolume({ volume_id: volumeId, secrets: prep.req.secrets });
                log.info({ volumeHandle: volumeId }, 'Deleted volume of a claim deleted while provisioning');
            }
        }
        await this.patchClaimFinalizer(claim, false);
    }

    /** A driver still starting: look again soon, without an event. */
    private driverStarting(log: Logger): ReconcileResult {
        log.debug({}, 'Waiting for the CSI driver to start');
        return { requeueAfterMs: DRIVER_STARTING_RETRY_MS };
    }

    /** syncVolume: the external-provisioner finalizer, then deletion of a Released PV with policy Delete. */
    async syncVolume(name: string, log: Logger): Promise<ReconcileResult | void> {
        const pv = this.s.volumes.get(name);
        if (!pv) return;
        const driverName = volumeDriver(pv);
        if (!driverName || !this.s.drivers.has(driverName)) return;
        const l = log.child({ pv: name, driver: driverName });
        const policy = pv.spec?.persistentVolumeReclaimPolicy;
        const hasFin = pv.metadata?.finalizers?.includes(FINALIZER_EXTERNAL_PROVISIONER) ?? false;
        const deleting = !!pv.metadata?.deletionTimestamp;
        if (policy === 'Delete' && !deleting && pv.status?.phase === 'Bound' && !hasFin) {
            await this.volumeFinalizer(pv, true);
            return;
        }
        if ((policy === 'Retain' || policy === 'Recycle') && hasFin) {
            await this.volumeFinalizer(pv, false);
            return;
        }
        if (pv.status?.phase !== 'Released' || policy !== 'Delete' || (deleting && !hasFin)) return;
        const driver = this.s.drivers.get(driverName) as DriverEntry;
        const rec = this.s.recorder(driverName);
        const className = pv.spec?.storageClassName ?? '';
        const fail = (msg: string) => {
            rec.event(pv, 'Warning', 'VolumeFailedDelete', msg);
            this.s.metrics.deleteFailed.inc({ class: className });
            return new Error(msg);
        };
        if (!driver.ready && driver.starting) return this.driverStarting(l);
        if (!driver.ready) throw fail(driver.lastError);
        const [va] = this.s.attachments.byIndex(VA_PV_INDEX, name);
        if (va) throw fail(`persistentvolume ${name} is still attached to node ${va.spec?.nodeName}`);
        // Re-read: never delete a backend volume on the strength of a stale cache.
        let live: V1PersistentVolume;
        try {
            live = await this.s.core.readPersistentVolume({ name });
        } catch (err) {
            if (isNotFound(err)) return;
            throw err;
        }
        if (live.status?.phase !== 'Released' || live.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
        const handle = live.spec?.csi?.volumeHandle;
        if (!handle) throw fail('invalid CSI PV');
        let secrets: Record<string, string> = {};
        const sn = live.metadata?.annotations?.[ANN_DELETION_SECRET_NAME];
        const sns = live.metadata?.annotations?.[ANN_DELETION_SECRET_NAMESPACE];
        if (sn && sns) secrets = await this.readSecret({ name: sn, namespace: sns }).catch((e: Error) => (l.warn({ err: e.message }, 'Deleting without the provisioner secret'), {}));
        const started = Date.now();
        try {
            await driver.client.deleteVolume({ volume_id: handle, secrets });
        } catch (err) {
            throw fail(describeCsiError(err));
        }
        try {
            await this.s.core.deletePersistentVolume({ name });
        } catch (err) {
            if (!isNotFound(err)) throw err;
        }
        const fresh = await this.s.core.readPersistentVolume({ name }).catch(() => undefined);
        if (fresh) await this.volumeFinalizer(fresh, false);
        this.s.metrics.deleteTotal.inc({ class: className });
        this.s.metrics.deleteDuration.observe({ class: className }, (Date.now() - started) / 1000);
        l.info({ volumeHandle: handle }, 'Deleted volume');
    }
}

/**
 * Why a VolumeSnapshot could not be read: the API server's message (e.g.
 * `volumesnapshots.snapshot.storage.k8s.io "x" not found`), or, when the snapshot API itself is
 * missing (a 404 that names no object), a message saying the CRDs are not installed.
 */
export function snapshotReadError(err: unknown, name: string): string {
    const st = toStatus(err);
    if (st.code === 404 && !notFoundNamesObject(err))
        return `the server could not find the requested resource (get volumesnapshots.${SNAPSHOT_GROUP} ${name}): the ${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION} API is not installed (no VolumeSnapshot CustomResourceDefinition)`;
    return st.message;
}

/** True when a 404's Status names the missing object (details.name), i.e. the resource type exists. */
function notFoundNamesObject(err: unknown): boolean {
    let body = (err as { body?: unknown } | null)?.body;
    if (typeof body === 'string') {
        try {
            body = JSON.parse(body);
        } catch {
            return false;
        }
    }
    return !!(body as { details?: { name?: string } } | undefined)?.details?.name;
}
