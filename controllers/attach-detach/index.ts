// The attach-detach loop (kube-controller-manager `attachdetach`): every change to a pod, node,
// claim, volume, CSIDriver or VolumeAttachment requeues the nodes it concerns on the `nodes`
// queue; each node is reconciled level-based (AttachDetach.syncNode); every
// --attach-detach-reconcile-sync-period every node is checked again. Mirrors
// attach_detach_controller.go (wiring) over reconciler.go (reconcile.ts, decide.ts).
import client from 'prom-client';
import type { V1Pod, V1VolumeAttachment } from '@kubernetes/client-node';
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { defineController } from '../../src/runtime/loop.ts';
import { POD_CLAIM_INDEX, VA_PV_INDEX, podClaimKeys, vaPersistentVolume } from '../../src/storage/indexers.ts';
import { AttachDetach, INDEX_INLINE_VOLUME, INDEX_NODE, vaInlineVolumeKeys } from './reconcile.ts';

/** Event source component, as upstream. */
export const COMPONENT = 'attachdetach-controller';

/** The attach-detach loop. */
export const attachDetach = defineController('attach-detach', (loop, deps) => {
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
    attachments.addIndexer(INDEX_INLINE_VOLUME, vaInlineVolumeKeys);

    const nodeQueue = loop.queue({ name: 'nodes', reconcile: (node, ctx) => adc.syncNode(node, ctx.log) });
    const adc: AttachDetach = new AttachDetach({
        core: deps.clients.core,
        storage: deps.clients.storage,
        pods,
        nodes,
        claims,
        volumes,
        csiDrivers,
        attachments,
        recorder: deps.events.recorder(COMPONENT),
        forcedDetaches: new client.Counter({
            name: 'attachdetach_controller_forced_detaches',
            help: 'Number of times the A/D Controller performed a forced detach',
            labelNames: ['reason'],
            registers: [deps.metrics.registry],
        }),
        maxWaitForUnmountMs: deps.config.maxWaitForUnmountMs,
        disableForceDetachOnTimeout: deps.config.disableForceDetachOnTimeout,
        nodeQueue,
    });

    const podNode = (p: V1Pod) => p.spec?.nodeName;
    const vaNode = (a: V1VolumeAttachment) => a.spec?.nodeName;
    /** Nodes of the pods using a claim (ns/name). */
    const nodesUsingClaim = (ns: string | undefined, claim: string | undefined) => (claim ? pods.byIndex(POD_CLAIM_INDEX, `${ns}/${claim}`).map(podNode) : []);
    /** Every node, and every node a VolumeAttachment names (the Node object may be gone). */
    const allNodes = () => [...nodes.list().map(keyOf), ...attachments.list().map(vaNode)];

    loop.watch(pods, nodeQueue, { add: podNode, update: (o, n) => [podNode(o), podNode(n)], delete: podNode });
    loop.watch(nodes, nodeQueue, keyOf);
    loop.watch(attachments, nodeQueue, {
        add: vaNode,
        update: (_o, n) => vaNode(n),
        // A released volume may be what pods on other nodes wait for.
        delete: (a) => {
            const ref = volumes.get(a.spec?.source?.persistentVolumeName ?? '')?.spec?.claimRef;
            return [vaNode(a), ...nodesUsingClaim(ref?.namespace, ref?.name)];
        },
    });
    loop.watch(claims, nodeQueue, { update: (_o, c) => nodesUsingClaim(c.metadata?.namespace, c.metadata?.name) });
    loop.watch(volumes, nodeQueue, { update: (_o, v) => nodesUsingClaim(v.spec?.claimRef?.namespace, v.spec?.claimRef?.name) });
    loop.watch(csiDrivers, nodeQueue, allNodes);
    loop.every('resync', deps.config.adcSyncPeriodMs, () => {
        for (const n of allNodes()) if (n) nodeQueue.add(n);
    });
});
