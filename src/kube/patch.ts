import type { CoreV1Api, V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { MERGE_PATCH } from './client.ts';
import { toStatus } from './errors.ts';

/**
 * Writes as JSON merge patches that carry the object's metadata.resourceVersion, so the API
 * server applies them only to the version we read (optimistic concurrency: a stale read gets
 * 409 Conflict). Patches, not PUTs, because client-node's models drop fields they do not know
 * and a PUT would erase them.
 */
function withVersion(obj: { metadata?: { resourceVersion?: string } }, body: Record<string, unknown>): Record<string, unknown> {
    const meta = (body.metadata as Record<string, unknown> | undefined) ?? {};
    return { ...body, metadata: { ...meta, resourceVersion: obj.metadata?.resourceVersion } };
}

/** Merge-patches a PV's metadata/spec at its current resourceVersion; resolves to the new object. */
export function patchVolume(core: CoreV1Api, pv: V1PersistentVolume, body: Record<string, unknown>): Promise<V1PersistentVolume> {
    return core.patchPersistentVolume({ name: pv.metadata?.name ?? '', body: withVersion(pv, body) }, MERGE_PATCH);
}

/** Merge-patches a PV's status subresource at its current resourceVersion. */
export function patchVolumeStatus(core: CoreV1Api, pv: V1PersistentVolume, status: Record<string, unknown>): Promise<V1PersistentVolume> {
    return core.patchPersistentVolumeStatus({ name: pv.metadata?.name ?? '', body: withVersion(pv, { status }) }, MERGE_PATCH);
}

/** Merge-patches a PVC's metadata/spec at its current resourceVersion. */
export function patchClaim(core: CoreV1Api, claim: V1PersistentVolumeClaim, body: Record<string, unknown>): Promise<V1PersistentVolumeClaim> {
    return core.patchNamespacedPersistentVolumeClaim(
        { name: claim.metadata?.name ?? '', namespace: claim.metadata?.namespace ?? '', body: withVersion(claim, body) },
        MERGE_PATCH,
    );
}

/** Merge-patches a PVC's status subresource at its current resourceVersion. */
export function patchClaimStatus(core: CoreV1Api, claim: V1PersistentVolumeClaim, status: Record<string, unknown>): Promise<V1PersistentVolumeClaim> {
    return core.patchNamespacedPersistentVolumeClaimStatus(
        { name: claim.metadata?.name ?? '', namespace: claim.metadata?.namespace ?? '', body: withVersion(claim, { status }) },
        MERGE_PATCH,
    );
}

/**
 * A JSON patch removing one finalizer, guarded by a `test` op on that entry, so a concurrent
 * change to the list makes the request fail (422) instead of removing the wrong entry
 * (external-provisioner #1217). Undefined when the finalizer is absent.
 */
export function removeFinalizerPatch(finalizers: string[] | undefined, finalizer: string): object[] | undefined {
    const list = finalizers ?? [];
    const i = list.indexOf(finalizer);
    if (i < 0) return undefined;
    return [
        { op: 'test', path: `/metadata/finalizers/${i}`, value: finalizer },
        { op: 'remove', path: `/metadata/finalizers/${i}` },
    ];
}

/**
 * A JSON patch adding one finalizer. Guarded by a `test` of the current list, or, when there is
 * no list yet, of the resourceVersion read (so a concurrent add is not overwritten).
 * Undefined when the finalizer is already there.
 */
export function addFinalizerPatch(meta: { finalizers?: string[]; resourceVersion?: string } | undefined, finalizer: string): object[] | undefined {
    const finalizers = meta?.finalizers;
    if (finalizers?.includes(finalizer)) return undefined;
    if (!finalizers || finalizers.length === 0) {
        return [
            { op: 'test', path: '/metadata/resourceVersion', value: meta?.resourceVersion },
            { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
        ];
    }
    return [
        { op: 'test', path: '/metadata/finalizers', value: finalizers },
        { op: 'add', path: '/metadata/finalizers/-', value: finalizer },
    ];
}

/**
 * Adds or removes one finalizer with a `test`-guarded JSON patch built from `current`; when the
 * guard fails (422: our copy was stale) or the write conflicts, re-reads the object and tries
 * again (3 attempts). Resolves to the object as written (or as read when nothing was needed);
 * NotFound on removal counts as done.
 * @throws the last API error when every attempt failed
 */
export async function updateFinalizer<T extends { metadata?: { finalizers?: string[]; resourceVersion?: string } }>(
    current: T,
    finalizer: string,
    add: boolean,
    ops: { read: () => Promise<T>; patch: (body: object[]) => Promise<T> },
): Promise<T> {
    let obj = current;
    for (let attempt = 1; ; attempt++) {
        const body = add ? addFinalizerPatch(obj.metadata, finalizer) : removeFinalizerPatch(obj.metadata?.finalizers, finalizer);
        if (!body) return obj;
        try {
            return await ops.patch(body);
        } catch (err) {
            const code = toStatus(err).code;
            if (!add && code === 404) return obj;
            if ((code !== 422 && code !== 409) || attempt >= 3) throw err;
            try {
                obj = await ops.read();
            } catch (e) {
                if (!add && toStatus(e).code === 404) return obj;
                throw e;
            }
        }
    }
}
