// The external-provisioner loop (kubernetes-csi/external-provisioner) for every CSI driver of this
// process: claims and volumes from the shared informers → the `claims` and `volumes` queues
// (per-key backoff --retry-interval-start → --retry-interval-max, as the sidecar's) →
// Provisioner.syncClaim / syncVolume, plus the `clone-sources` queue that lifts the
// cloning-protection finalizer (one worker, as upstream's --cloning-protection-threads).
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { EventRecorder } from '../../src/kube/events.ts';
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { defineController } from '../../src/runtime/loop.ts';
import { ItemExponentialBackoff } from '../../src/runtime/ratelimit.ts';
import { claimRefKey } from '../../src/storage/helpers.ts';
import { VA_PV_INDEX, vaPersistentVolume } from '../../src/storage/indexers.ts';
import { FINALIZER_CLONE_PROTECTION, cloneSourceKey } from './decide.ts';
import { registerProvisionerMetrics } from './metrics.ts';
import { Provisioner } from './reconcile.ts';

/** Index of claims by the `ns/name` of the claim they clone. */
const CLONE_SOURCE_INDEX = 'provisioner-clone-source';

/** The provisioner loop. */
export const provisioner = defineController('provisioner', (loop, deps) => {
    const claims = deps.informers.for(RESOURCES.persistentVolumeClaims);
    const volumes = deps.informers.for(RESOURCES.persistentVolumes);
    const attachments = deps.informers.for(RESOURCES.volumeAttachments);
    attachments.addIndexer(VA_PV_INDEX, vaPersistentVolume);
    claims.addIndexer(CLONE_SOURCE_INDEX, (c) => {
        const k = cloneSourceKey(c);
        return k ? [k] : [];
    });
    const recorders = new Map<string, EventRecorder>();
    const p = new Provisioner({
        core: deps.clients.core,
        custom: deps.clients.custom,
        drivers: deps.drivers,
        claims,
        volumes,
        classes: deps.informers.for(RESOURCES.storageClasses),
        nodes: deps.informers.for(RESOURCES.nodes),
        csiNodes: deps.informers.for(RESOURCES.csiNodes),
        attachments,
        recorder(driver) {
            let r = recorders.get(driver);
            if (!r) recorders.set(driver, (r = deps.events.recorder(`${driver}_${deps.config.identity}`)));
            return r;
        },
        populatorRecorder: deps.events.recorder('external-provisioner'),
        cloneSourceIndex: CLONE_SOURCE_INDEX,
        metrics: registerProvisionerMetrics(deps.metrics),
        identity: deps.config.identity,
        volumeNamePrefix: deps.config.volumeNamePrefix,
        volumeNameUuidLength: deps.config.volumeNameUuidLength,
        extraCreateMetadata: deps.config.extraCreateMetadata,
        defaultFsType: deps.config.defaultFsType,
        infeasibleRetryMs: deps.config.retryIntervalMaxMs,
    });

    const rateLimiter = () => new ItemExponentialBackoff<string>(deps.config.retryIntervalStartMs, deps.config.retryIntervalMaxMs);
    const claimQueue = loop.queue({ name: 'claims', rateLimiter, reconcile: (key, ctx) => p.syncClaim(key, ctx.log) });
    const volumeQueue = loop.queue({ name: 'volumes', rateLimiter, reconcile: (name, ctx) => p.syncVolume(name, ctx.log) });
    const sourceQueue = loop.queue({ name: 'clone-sources', rateLimiter, workers: 1, reconcile: (key, ctx) => p.syncCloneSource(key, ctx.log) });

    /** A source claim being deleted that still carries the cloning-protection finalizer. */
    const protectedSource = (key: string | undefined) => {
        const c = key ? claims.get(key) : undefined;
        return c?.metadata?.deletionTimestamp && c.metadata.finalizers?.includes(FINALIZER_CLONE_PROTECTION) ? key : undefined;
    };
    /** Pending clones of a source whose phase changed: a source that became Bound lets them go on. */
    const pendingClonesOf = (o: V1PersistentVolumeClaim, c: V1PersistentVolumeClaim) =>
        o.status?.phase === c.status?.phase ? [] : claims.byIndex(CLONE_SOURCE_INDEX, keyOf(c)).filter((d) => d.status?.phase === 'Pending').map(keyOf);

    loop.watch(claims, claimQueue, keyOf, ['add', 'update']);
    loop.watch(claims, claimQueue, { update: pendingClonesOf });
    // A clone's state changing may end its source's protection.
    loop.watch(claims, sourceQueue, {
        add: (c) => protectedSource(keyOf(c)),
        update: (_o, c) => [protectedSource(keyOf(c)), protectedSource(cloneSourceKey(c))],
        delete: (c) => protectedSource(cloneSourceKey(c)),
    });
    loop.watch(volumes, volumeQueue, keyOf, ['add', 'update']);
    loop.watch(volumes, claimQueue, { delete: claimRefKey });
    // A detached volume may now be deleted.
    loop.watch(attachments, volumeQueue, { delete: (a) => a.spec?.source?.persistentVolumeName });
});
