// pv-protection (kube-controller-manager `pv-protection`): keeps `kubernetes.io/pv-protection` on
// PVs, and removes it from a deleting PV once it is not Bound, so the delete completes.
import { RESOURCES, keyOf } from '../../src/kube/resources.ts';
import { defineController } from '../../src/runtime/loop.ts';
import { reconcilePvProtection } from './reconcile.ts';

/** The pv-protection loop: volumes → `pvprotection` queue → reconcilePvProtection. */
export const pvProtection = defineController('pv-protection', (loop, deps) => {
    const volumes = deps.informers.for(RESOURCES.persistentVolumes);
    const r = { core: deps.clients.core, volumes };
    const q = loop.queue({ name: 'pvprotection', reconcile: (name, ctx) => reconcilePvProtection(r, name, ctx.log) });
    loop.watch(volumes, q, keyOf, ['add', 'update']);
});
