// Pure pieces of the external-attacher (kubernetes-csi/external-attacher pkg/controller).
import type { V1CSINode, V1PersistentVolume, V1PersistentVolumeSpec, V1VolumeAttachment } from '@kubernetes/client-node';
import type { AccessModeName, VolumeCapability } from '../../src/csi/types.ts';

/** VA annotation remembering the node ID, the detach fallback when the CSINode is gone. */
export const ANN_NODE_ID = 'csi.alpha.kubernetes.io/node-id';

/** csi-lib-utils SanitizeDriverName: `[^a-zA-Z0-9-]` → `-`, a trailing `-` gets `X`. */
export function sanitizeDriverName(driver: string): string {
    let s = driver.replace(/[^a-zA-Z0-9-]/g, '-');
    if (s.endsWith('-')) s += 'X';
    return s;
}

/** The finalizer the attacher puts on VAs and PVs: `external-attacher/<sanitized driver>`. */
export function attacherFinalizer(driver: string): string {
    return `external-attacher/${sanitizeDriverName(driver)}`;
}

/** The node's ID for a driver from its CSINode, or undefined. */
export function nodeIdFor(csiNode: V1CSINode | undefined, driver: string): string | undefined {
    return csiNode?.spec?.drivers?.find((d) => d.name === driver)?.nodeID;
}

/**
 * The access mode for a PV as a whole (ToCSIAccessMode over all modes): RWX → MULTI_NODE_MULTI_WRITER,
 * ROX alone → MULTI_NODE_READER_ONLY, RWO/RWOP → SINGLE_NODE_WRITER (SINGLE_NODE_MULTI_WRITER /
 * SINGLE_NODE_SINGLE_WRITER with that capability).
 * @throws Error for combinations CSI cannot express
 */
export function pvAccessMode(modes: string[], singleNodeMultiWriter: boolean): AccessModeName {
    const s = new Set(modes);
    if (s.has('ReadWriteOncePod') && s.size > 1) throw new Error('Kubernetes does not support use of ReadWriteOncePod with other access modes on the same PersistentVolume');
    if (s.has('ReadWriteMany')) return 'MULTI_NODE_MULTI_WRITER';
    if (s.has('ReadOnlyMany') && s.has('ReadWriteOnce')) throw new Error('CSI does not support ReadOnlyMany and ReadWriteOnce on the same PersistentVolume');
    if (s.has('ReadOnlyMany')) return 'MULTI_NODE_READER_ONLY';
    if (s.has('ReadWriteOncePod')) return singleNodeMultiWriter ? 'SINGLE_NODE_SINGLE_WRITER' : 'SINGLE_NODE_WRITER';
    if (s.has('ReadWriteOnce')) return singleNodeMultiWriter ? 'SINGLE_NODE_MULTI_WRITER' : 'SINGLE_NODE_WRITER';
    throw new Error(`unsupported AccessMode combination: ${JSON.stringify(modes)}`);
}

/** The ControllerPublish volume capability for a PV spec. */
export function publishCapability(spec: V1PersistentVolumeSpec, defaultFsType: string, singleNodeMultiWriter: boolean): VolumeCapability {
    const mode = pvAccessMode(spec.accessModes ?? [], singleNodeMultiWriter);
    if (spec.volumeMode === 'Block') return { block: {}, access_mode: { mode } };
    return { mount: { fs_type: spec.csi?.fsType || defaultFsType, mount_flags: spec.mountOptions ?? [] }, access_mode: { mode } };
}

/** The PV spec a VA attaches: its PV's, or the inline spec. @throws Error with upstream texts */
export function vaSource(va: V1VolumeAttachment, pv: (name: string) => V1PersistentVolume | undefined): { spec: V1PersistentVolumeSpec; pv?: V1PersistentVolume } {
    const src = va.spec?.source ?? {};
    if (src.persistentVolumeName && src.inlineVolumeSpec) throw new Error('both InlineCSIVolumeSource and PersistentVolumeName specified in VA source');
    if (src.persistentVolumeName) {
        const p = pv(src.persistentVolumeName);
        if (!p) throw new Error(`persistentvolume "${src.persistentVolumeName}" not found`);
        if (!p.spec?.csi) throw new Error('pv spec contained non-csi source that was not migrated');
        return { spec: p.spec, pv: p };
    }
    if (src.inlineVolumeSpec) {
        if (!src.inlineVolumeSpec.csi) throw new Error('inline volume spec contains nil CSI source');
        return { spec: src.inlineVolumeSpec as V1PersistentVolumeSpec };
    }
    throw new Error('neither InlineCSIVolumeSource nor PersistentVolumeName specified in VA source');
}

/**
 * True when an update changed nothing but attach/detach errors (external-attacher
 * shouldEnqueueVAChange): our own error write must not retrigger the VolumeAttachment.
 */
export function onlyErrorsChanged(a: V1VolumeAttachment, b: V1VolumeAttachment): boolean {
    if (a.metadata?.resourceVersion === b.metadata?.resourceVersion) return false;
    const strip = (v: V1VolumeAttachment) =>
        JSON.stringify({ m: { ...v.metadata, resourceVersion: undefined, managedFields: undefined }, s: v.spec, st: { ...v.status, attachError: undefined, detachError: undefined } });
    return strip(a) === strip(b);
}
