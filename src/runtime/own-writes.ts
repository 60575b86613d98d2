import { isDeepStrictEqual } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';

/**
 * The object versions one controller wrote, so that its work queue can tell an update event
 * caused by its own write from a change somebody else made.
 *
 * `runWorkers` runs every reconcile in a scope holding its controller's ledger (src/runtime/scope.ts);
 * the API clients (src/kube/client.ts) call `recordWrite()` with every object a create, replace,
 * patch or delete returns, which lands in the ledger of the controller whose reconcile made the
 * call (AsyncLocalStorage, so no reconciler passes anything). An informer update whose new version this controller wrote, and which leaves
 * unchanged everything a user sets (spec, labels, annotations, owner references, deletion), is
 * "our own write": while its key is backing off after a failure it must not re-queue the key
 * ahead of the backoff (see WorkQueue.addUpdate). A write made by another controller of this
 * process lands in that controller's ledger, so it still wakes this one at once.
 *
 * Entries are (uid, resourceVersion) pairs, kept for 10 minutes (LRU of 10,000): long enough for
 * the watch event of the write to arrive.
 */
export class OwnWrites {
    private readonly versions = new LRUCache<string, true>({ max: 10_000, ttl: 600_000 });

    /** Records an object version this controller wrote (ignored without uid and resourceVersion). */
    record(obj: KubernetesObject | undefined): void {
        const k = versionKey(obj);
        if (k) this.versions.set(k, true);
    }

    /** True when this controller wrote exactly this version of the object. */
    wrote(obj: KubernetesObject | undefined): boolean {
        const k = versionKey(obj);
        return k !== undefined && this.versions.has(k);
    }

    /**
     * True when the update before → after is this controller's own write and changes nothing a
     * user sets: after is a version we wrote, and spec, labels, annotations, owner references and
     * deletionTimestamp are equal (so even an event that merges several versions, as after a
     * relist, never hides a user's edit). Status, finalizers and resourceVersion may differ.
     */
    onlyOwnWrite(before: KubernetesObject, after: KubernetesObject): boolean {
        if (!this.wrote(after)) return false;
        const a = before as KubernetesObject & { spec?: unknown };
        const b = after as KubernetesObject & { spec?: unknown };
        const m = a.metadata ?? {};
        const n = b.metadata ?? {};
        return (
            isDeepStrictEqual(a.spec, b.spec) &&
            isDeepStrictEqual(m.labels ?? {}, n.labels ?? {}) &&
            isDeepStrictEqual(m.annotations ?? {}, n.annotations ?? {}) &&
            isDeepStrictEqual(m.ownerReferences ?? [], n.ownerReferences ?? []) &&
            String(m.deletionTimestamp ?? '') === String(n.deletionTimestamp ?? '')
        );
    }
}

function versionKey(obj: KubernetesObject | undefined): string | undefined {
    const uid = obj?.metadata?.uid;
    const rv = obj?.metadata?.resourceVersion;
    return uid && rv ? `${uid}/${rv}` : undefined;
}
