// The external-attacher's I/O: ControllerPublish/Unpublish for VolumeAttachments of our drivers.
// Mirrors kubernetes-csi/external-attacher pkg/controller/csi_handler.go and trivial_handler.go.
import type { CoreV1Api, StorageV1Api, V1CSINode, V1PersistentVolume, V1VolumeAttachment } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { CsiError, describeCsiError } from '../../src/csi/errors.ts';
import { DRIVER_STARTING_RETRY_MS } from '../../src/csi/registry.ts';
import type { DriverEntry, DriverRegistry } from '../../src/csi/registry.ts';
import { MERGE_PATCH } from '../../src/kube/client.ts';
import { isNotFound } from '../../src/kube/errors.ts';
import { readSecretData } from '../../src/kube/secrets.ts';
import type { SecretReadError } from '../../src/kube/secrets.ts';
import { fresherFromCache } from '../../src/kube/informer.ts';
import type { SharedInformer } from '../../src/kube/informer.ts';
import { addFinalizerPatch, updateFinalizer } from '../../src/kube/patch.ts';
import type { ReconcileResult } from '../../src/runtime/result.ts';
import { VA_PV_INDEX } from '../../src/storage/indexers.ts';
import { ANN_NODE_ID, attacherFinalizer, nodeIdFor, publishCapability, vaSource } from './decide.ts';

/** What the attacher reads and writes through. */
export interface AttacherDeps {
    core: CoreV1Api;
    storage: StorageV1Api;
    drivers: DriverRegistry;
    attachments: SharedInformer<V1VolumeAttachment>;
    volumes: SharedInformer<V1PersistentVolume>;
    csiNodes: SharedInformer<V1CSINode>;
    defaultFsType: string;
}

/** A VolumeAttachment's `attachError`/`detachError` for err: a CSI failure as Go sidecars print it, anything else by its message. */
function volumeError(err: unknown): { message: string; time: string } {
    return { message: err instanceof CsiError ? describeCsiError(err) : (err as Error).message, time: new Date().toISOString() };
}

/** Attach and detach of VolumeAttachments for every driver in the registry. */
export class Attacher {
    private readonly s: AttacherDeps;
    /** VAs to publish again although their status says attached (the driver lost them). */
    private readonly forceSync = new Set<string>();

    constructor(deps: AttacherDeps) {
        this.s = deps;
    }

    private driverFor(va: V1VolumeAttachment): DriverEntry | undefined {
        const name = va.spec?.attacher;
        return name ? this.s.drivers.get(name) : undefined;
    }

    private async patchVAStatus(va: V1VolumeAttachment, status: Record<string, unknown>): Promise<void> {
        try {
            await this.s.storage.patchVolumeAttachmentStatus({ name: va.metadata?.name ?? '', body: { status } }, MERGE_PATCH);
        } catch (err) {
            if (!isNotFound(err)) throw err;
        }
    }

    /** getCredentials: the controllerPublishSecretRef's data, undefined when the PV names none. */
    private async readSecrets(ref: { name?: string; namespace?: string } | undefined): Promise<Record<string, string> | undefined> {
        if (!ref?.name) return undefined;
        try {
            return await readSecretData(this.s.core, { name: ref.name, namespace: ref.namespace ?? '' });
        } catch (err) {
            const e = err as SecretReadError;
            throw new Error(e.invalid ? `invalid controllerPublishSecretRef: ${e.message}` : `failed to load secret "${ref.namespace}/${ref.name}": ${e.message}`);
        }
    }

    /**
     * syncVA for a VolumeAttachment name: ControllerPublish for one that is not deleting,
     * ControllerUnpublish and the finalizer's removal for one that is (csi_handler.go SyncNewOrUpdatedVolumeAttachment).
     */
    async syncVA(name: string, log: Logger): Promise<ReconcileResult | void> {
        const va = this.s.attachments.get(name);
        if (!va) return;
        const driver = this.driverFor(va);
        if (!driver) return;
        const l = log.child({ va: name, driver: driver.name, node: va.spec?.nodeName, pv: va.spec?.source?.persistentVolumeName });
        if (!driver.ready && driver.starting && (va.metadata?.deletionTimestamp || !va.status?.attached)) {
            // Still starting: wait quietly, no attach/detach error yet.
            l.debug({}, 'Waiting for the CSI driver to start');
            return { requeueAfterMs: DRIVER_STARTING_RETRY_MS };
        }
        if (va.metadata?.deletionTimestamp) await this.detach(va, driver, l);
        else await this.attach(va, driver, l);
    }

    private async attach(va: V1VolumeAttachment, driver: DriverEntry, log: Logger): Promise<void> {
        const forced = this.forceSync.delete(va.metadata?.name ?? '');
        if (va.status?.attached && !forced) return;
        if (!driver.ready) {
            await this.patchVAStatus(va, { attachError: { message: driver.lastError, time: new Date().toISOString() } });
            throw new Error(driver.lastError);
        }
        // Trivial handler: no PUBLISH_UNPUBLISH_VOLUME → attached without a call.
        if (!driver.controllerCapabilities.includes('PUBLISH_UNPUBLISH_VOLUME')) {
            await this.patchVAStatus(va, { attached: true, attachError: null });
            return;
        }
        const fin = attacherFinalizer(driver.name);
        try {
            const { spec, pv } = vaSource(va, (n) => this.s.volumes.get(n));
            if (pv?.metadata?.deletionTimestamp) throw new Error(`PersistentVolume "${pv.metadata.name}" is marked for deletion`);
            if (pv) {
                const pvName = pv.metadata?.name ?? '';
                try {
                    await updateFinalizer(pv, fin, true, { read: () => fresherFromCache(this.s.volumes, pvName, pv.metadata?.resourceVersion), patch: (body) => this.s.core.patchPersistentVolume({ name: pvName, body }) });
                } catch (err) {
                    throw new Error(`could not add PersistentVolume finalizer: ${(err as Error).message}`);
                }
            }
            const node = va.spec?.nodeName ?? '';
            const nodeId = nodeIdFor(this.s.csiNodes.get(node), driver.name);
            if (!nodeId) throw new Error(`CSINode ${node} does not contain driver ${driver.name}`);
            const caps = driver.controllerCapabilities;
            const capability = publishCapability(spec, this.s.defaultFsType, caps.includes('SINGLE_NODE_MULTI_WRITER'));
            const secrets = await this.readSecrets(spec.csi?.controllerPublishSecretRef);
            if (!va.metadata?.finalizers?.includes(fin) || va.metadata?.annotations?.[ANN_NODE_ID] !== nodeId) {
                const ops: object[] = [...(addFinalizerPatch(va.metadata, fin) ?? [])];
                ops.push(
                    va.metadata?.annotations
                        ? { op: 'add', path: `/metadata/annotations/${ANN_NODE_ID.replace('/', '~1')}`, value: nodeId }
                        : { op: 'add', path: '/metadata/annotations', value: { [ANN_NODE_ID]: nodeId } },
                );
                try {
                    await this.s.storage.patchVolumeAttachment({ name: va.metadata?.name ?? '', body: ops });
                } catch (err) {
                    throw new Error(`could not save VolumeAttachment: ${(err as Error).message}`);
                }
            }
            const ctx = await driver.client.controllerPublishVolume({
                volume_id: spec.csi?.volumeHandle ?? '',
                node_id: nodeId,
                volume_capability: capability,
                readonly: caps.includes('PUBLISH_READONLY') ? !!spec.csi?.readOnly : false,
                secrets,
                volume_context: spec.csi?.volumeAttributes,
            });
            await this.patchVAStatus(va, { attached: true, attachmentMetadata: Object.keys(ctx).length ? ctx : null, attachError: null });
            log.info({}, 'Attached volume');
        } catch (err) {
            // saveAttachError: a CSI failure with its gRPC status and code, any other with its message.
            await this.patchVAStatus(va, { attachError: { ...volumeError(err), ...(err instanceof CsiError ? { errorCode: err.code } : {}) } });
            throw err;
        }
    }

    private async detach(va: V1VolumeAttachment, driver: DriverEntry, log: Logger): Promise<void> {
        const fin = attacherFinalizer(driver.name);
        const name = va.metadata?.name ?? '';
        if (!va.metadata?.finalizers?.includes(fin)) return;
        // Not ready: its capabilities are unknown, so whether it needs ControllerUnpublish is too.
        if (!driver.ready) {
            await this.patchVAStatus(va, { detachError: { message: driver.lastError, time: new Date().toISOString() } });
            throw new Error(driver.lastError);
        }
        if (driver.controllerCapabilities.includes('PUBLISH_UNPUBLISH_VOLUME')) {
            try {
                const { spec } = vaSource(va, (n) => this.s.volumes.get(n));
                const node = va.spec?.nodeName ?? '';
                const nodeId = nodeIdFor(this.s.csiNodes.get(node), driver.name) ?? va.metadata?.annotations?.[ANN_NODE_ID];
                if (!nodeId) throw new Error(`CSINode ${node} does not contain driver ${driver.name}`);
                const secrets = await this.readSecrets(spec.csi?.controllerPublishSecretRef);
                await driver.client.controllerUnpublishVolume({ volume_id: spec.csi?.volumeHandle ?? '', node_id: nodeId, secrets });
            } catch (err) {
                await this.patchVAStatus(va, { detachError: volumeError(err) });
                throw err;
            }
        }
        // Finalizer first: a deleting VA without it counts as detached (no second Unpublish).
        await updateFinalizer(va, fin, false, { read: () => fresherFromCache(this.s.attachments, name, va.metadata?.resourceVersion), patch: (body) => this.s.storage.patchVolumeAttachment({ name, body }) });
        await this.patchVAStatus(va, { attached: false, detachError: null, attachmentMetadata: null });
        log.info({}, 'Detached volume');
    }

    /**
     * The periodic ListVolumes check (external-attacher ReconcileVA, `--reconcile-sync`): for a
     * driver with LIST_VOLUMES and LIST_VOLUMES_PUBLISHED_NODES, every attached, non-deleting
     * VolumeAttachment whose volume the driver no longer reports as published on the node is
     * published again. It never creates or deletes VolumeAttachments (that is the
     * attach-detach controller's job). Returns the names to requeue.
     */
    async reconcileWithDriver(driver: DriverEntry, log: Logger): Promise<string[]> {
        const caps = driver.controllerCapabilities;
        if (!driver.ready || !caps.includes('LIST_VOLUMES') || !caps.includes('LIST_VOLUMES_PUBLISHED_NODES')) return [];
        const published = new Map<string, Set<string>>();
        let token = '';
        do {
            const page = await driver.client.listVolumes({ starting_token: token });
            for (const e of page.entries) published.set(e.volume.volume_id, new Set(e.published_node_ids));
            token = page.next_token;
        } while (token);
        const out: string[] = [];
        for (const va of this.s.attachments.list()) {
            if (va.spec?.attacher !== driver.name || !va.status?.attached || va.metadata?.deletionTimestamp) continue;
            let handle: string | undefined;
            try {
                handle = vaSource(va, (n) => this.s.volumes.get(n)).spec.csi?.volumeHandle;
            } catch {
                continue;
            }
            const node = va.spec?.nodeName ?? '';
            const nodeId = nodeIdFor(this.s.csiNodes.get(node), driver.name) ?? va.metadata?.annotations?.[ANN_NODE_ID];
            if (!handle || !nodeId) continue;
            if (published.get(handle)?.has(nodeId)) continue;
            const name = va.metadata?.name ?? '';
            this.forceSync.add(name);
            out.push(name);
            log.warn({ va: name, volumeHandle: handle, node }, 'Driver no longer reports the volume published on the node; publishing it again');
        }
        return out;
    }

    /** syncPV: release our finalizer from a deleting PV once no VolumeAttachment names it. */
    async syncPV(name: string, log: Logger): Promise<void> {
        const pv = this.s.volumes.get(name);
        if (!pv?.metadata?.deletionTimestamp) return;
        for (const d of this.s.drivers.names()) {
            const fin = attacherFinalizer(d);
            if (!pv.metadata.finalizers?.includes(fin)) continue;
            if (this.s.attachments.byIndex(VA_PV_INDEX, name).length > 0) return;
            await updateFinalizer(pv, fin, false, { read: () => fresherFromCache(this.s.volumes, name, pv.metadata?.resourceVersion), patch: (body) => this.s.core.patchPersistentVolume({ name, body }) });
            log.info({ pv: name, driver: d }, 'Removed attacher finalizer from PV');
        }
    }
}
