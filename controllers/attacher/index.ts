// The external-attacher loop (kubernetes-csi/external-attacher) for every CSI driver of this
// process: VolumeAttachments of our drivers → one `va` queue (external-attacher's vaQueue; the
// queue never gives one key to two workers, so an attach and a detach of the same VA never run
// at once) in which deleting VolumeAttachments go first, so a burst of attaches never starves
// the detaches a hand-over waits for (external-attacher #761); deleting PVs → the `pv` queue
// (the PV finalizer); every --reconcile-sync the ListVolumes re-check. Mirrors
// pkg/controller/controller.go (wiring) over csi_handler.go (reconcile.ts, decide.ts).
import type { V1VolumeAttachment } from '@kubernetes/client-node';
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { defineController } from '../../src/runtime/loop.ts';
import { ItemExponentialBackoff } from '../../src/runtime/ratelimit.ts';
import { VA_PV_INDEX, vaPersistentVolume } from '../../src/storage/indexers.ts';
import { onlyErrorsChanged } from './decide.ts';
import { Attacher } from './reconcile.ts';

/** The attacher loop. */
export const attacher = defineController('attacher', (loop, deps) => {
    const attachments = deps.informers.for(RESOURCES.volumeAttachments);
    const volumes = deps.informers.for(RESOURCES.persistentVolumes);
    attachments.addIndexer(VA_PV_INDEX, vaPersistentVolume);
    const a = new Attacher({
        core: deps.clients.core,
        storage: deps.clients.storage,
        drivers: deps.drivers,
        attachments,
        volumes,
        csiNodes: deps.informers.for(RESOURCES.csiNodes),
        defaultFsType: deps.config.defaultFsType,
    });

    const rateLimiter = () => new ItemExponentialBackoff<string>(deps.config.retryIntervalStartMs, deps.config.retryIntervalMaxMs);
    const vaQueue = loop.queue({
        name: 'va',
        rateLimiter,
        reconcile: (name, ctx) => a.syncVA(name, ctx.log),
        // Detaches first.
        priority: (name) => (attachments.get(name)?.metadata?.deletionTimestamp ? 1 : 0),
    });
    const pvQueue = loop.queue({ name: 'pv', rateLimiter, workers: 1, reconcile: (name, ctx) => a.syncPV(name, ctx.log) });

    /** The VolumeAttachments this process attaches: those of its drivers. */
    const ours = (va: V1VolumeAttachment) => (va.spec?.attacher && deps.drivers.has(va.spec.attacher) ? keyOf(va) : undefined);
    loop.watch(attachments, vaQueue, {
        add: ours,
        // shouldEnqueueVAChange: our own attach/detach error write must not retrigger.
        update: (o, n) => (onlyErrorsChanged(o, n) ? undefined : ours(n)),
    });
    loop.watch(attachments, pvQueue, { delete: (va) => va.spec?.source?.persistentVolumeName });
    loop.watch(volumes, pvQueue, (pv) => (pv.metadata?.deletionTimestamp ? keyOf(pv) : undefined), ['add', 'update']);
    loop.every('list-volumes-recheck', deps.config.attacherReconcileSyncMs, async () => {
        for (const d of deps.drivers.names()) {
            const e = deps.drivers.get(d);
            if (!e) continue;
            try {
                for (const name of await a.reconcileWithDriver(e, loop.log)) vaQueue.add(name);
            } catch (err) {
                loop.log.warn({ driver: d, err: (err as Error).message }, 'ListVolumes re-check failed');
            }
        }
    });
});
