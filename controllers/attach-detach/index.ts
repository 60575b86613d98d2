// Wiring of the attach-detach controller (kube-controller-manager `attachdetach`): every change
// to a pod, node, claim, volume, CSIDriver or VolumeAttachment requeues the nodes it concerns;
// each node is reconciled level-based; a periodic resync (--attach-detach-reconcile-sync-period)
// re-checks all of them.
import client from 'prom-client';
import type { V1Pod, V1VolumeAttachment } from '@kubernetes/client-node';
import type { ControllerDeps } from '../../src/deps.ts';
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { runWorkers } from '../../src/runtime/controller.ts';
import type { Runnable } from '../../src/runtime/manager.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';
import { POD_CLAIM_INDEX, VA_PV_INDEX, podClaimKeys, vaPersistentVolume } from '../../src/storage/indexers.ts';
import { AttachDetach, INDEX_NODE } from './reconcile.ts';

/** Event source component, as upstream. */
export const COMPONENT = 'attachdetach-controller';

/** Builds the attach-detach Runnable. */
export function attachDetach(deps: ControllerDeps): Runnable {
    const name = 'attach-detach';
    const log = deps.log.child({ controller: name });
    const inf = deps.informers;
    const pods = inf.for(RESOURCES.pods);
    const nodes = inf.for(RESOURCES.nodes);
    const claims = inf.for(RESOURCES.persistentVolumeClaims);
    const volumes = inf.for(RESOURCES.persistentVolumes);
    const csiDrivers = inf.for(RESOURCES.csiDrivers);
    const attachments = inf.for(RESOURCES.volumeAttachments);
    pods.addIndexer(INDEX_NODE, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    attachments.addIndexer(INDEX_NODE, (a) => (a.spec?.nodeName ? [a.spec.nodeName] : []));
    pods.addIndexer(POD_CLAIM_INDEX, podClaimKeys);
    attachments.addIndexer(VA_PV_INDEX, vaPersistentVolume);
    const forcedDetaches = new client.Counter({
        name: 'attachdetach_controller_forced_detaches',
        help: 'Number of times the A/D Controller performed a forced detach',
        labelNames: ['reason'],
        registers: [deps.metrics.registry],
    });
    let queue: WorkQueue<string> | undefined;
    const adc = new AttachDetach({
        core: deps.clients.core,
        storage: deps.clients.storage,
        pods,
        nodes,
        claims,
        volumes,
        csiDrivers,
        attachments,
        recorder: deps.events.recorder(COMPONENT),
        forcedDetaches,
        maxWaitForUnmountMs: deps.config.maxWaitForUnmountMs,
        disableForceDetachOnTimeout: deps.config.disableForceDetachOnTimeout,
        enqueueNode: (n) => queue?.add(n),
    });

    return {
        name,
        async start(signal) {
            const q = new WorkQueue<string>({ metrics: deps.metrics.queueMetrics('attachdetach-nodes') });
            queue = q;
            const podNode = (p: V1Pod) => p.spec?.nodeName && q.add(p.spec.nodeName);
            const vaNode = (a: V1VolumeAttachment) => a.spec?.nodeName && q.add(a.spec.nodeName);
            const nodesUsingClaim = (ns: string | undefined, claim: string | undefined) => {
                if (!claim) return;
                for (const p of pods.byIndex(POD_CLAIM_INDEX, `${ns}/${claim}`)) podNode(p);
            };
            const all = () => {
                for (const n of nodes.list()) q.add(keyOf(n));
                for (const a of attachments.list()) vaNode(a);
            };
            const unregister = [
                pods.addEventHandler({
                    onAdd: podNode,
                    onUpdate: (o, n) => {
                        podNode(o);
                        podNode(n);
                    },
                    onDelete: podNode,
                }),
                nodes.addEventHandler({ onAdd: (n) => q.add(keyOf(n)), onUpdate: (_o, n) => q.add(keyOf(n)), onDelete: (n) => q.add(keyOf(n)) }),
                attachments.addEventHandler({
                    onAdd: vaNode,
                    onUpdate: (_o, n) => vaNode(n),
                    // A released volume may be what pods on other nodes wait for.
                    onDelete: (a) => {
                        vaNode(a);
                        const ref = volumes.get(a.spec?.source?.persistentVolumeName ?? '')?.spec?.claimRef;
                        nodesUsingClaim(ref?.namespace, ref?.name);
                    },
                }),
                claims.addEventHandler({ onUpdate: (_o, c) => nodesUsingClaim(c.metadata?.namespace, c.metadata?.name) }),
                volumes.addEventHandler({ onUpdate: (_o, v) => nodesUsingClaim(v.spec?.claimRef?.namespace, v.spec?.claimRef?.name) }),
                csiDrivers.addEventHandler({ onAdd: all, onUpdate: all, onDelete: all }),
            ];
            const resync = setInterval(all, deps.config.adcSyncPeriodMs);
            resync.unref();
            log.info({ workers: deps.config.workerThreads }, 'Starting attach-detach controller');
            try {
                await runWorkers({ name, queue: q, workers: deps.config.workerThreads, log, metrics: deps.metrics, reconcile: (k, ctx) => adc.syncNode(k, ctx.log) }, signal);
            } finally {
                clearInterval(resync);
                for (const u of unregister) u();
                queue = undefined;
            }
        },
    };
}
