// The shape every in-tree plugin's translation has (csi-translation-lib plugins/in_tree_volume.go
// InTreePlugin), and the error they throw. Objects are the API's JSON shapes (client-node models);
// what a translation builds is written as the API server would store it: fields Go omits when
// empty (`omitempty`) are left out, pointer fields Go keeps (azureDisk.fsType, readOnly, ...) are
// kept even when empty.
import type { V1CSIPersistentVolumeSource, V1PersistentVolume, V1StorageClass, V1Volume } from '@kubernetes/client-node';

/**
 * A translation that cannot be done: the in-tree source cannot be expressed for the CSI driver
 * (or back). The message is upstream's error text; callers report it as an Event on the object
 * concerned and in a log line, never as a silent skip.
 */
export class TranslationError extends Error {
    override name = 'TranslationError';
}

/** Throws a TranslationError with this message. */
export function fail(message: string): never {
    throw new TranslationError(message);
}

/** The translation of one in-tree volume plugin to its CSI driver and back. Mirrors InTreePlugin. */
export interface InTreePlugin {
    /** The in-tree plugin name, e.g. `kubernetes.io/aws-ebs` (StorageClass provisioner, provisioned-by). */
    readonly inTreeName: string;
    /** The CSI driver that supersedes it, e.g. `ebs.csi.aws.com`. */
    readonly driverName: string;
    /** The PV / pod volume source field it handles, e.g. `awsElasticBlockStore`. */
    readonly sourceField: 'awsElasticBlockStore' | 'gcePersistentDisk' | 'azureDisk' | 'azureFile' | 'cinder' | 'vsphereVolume' | 'portworxVolume';
    /** The CSI topology key its driver uses for zones, if it has one. */
    readonly topologyKey?: string;
    /**
     * StorageClass parameters and allowed topologies for the CSI driver (the class is copied,
     * not modified). @throws TranslationError
     */
    translateStorageClass(sc: V1StorageClass): V1StorageClass;
    /**
     * A pod's inline volume as a CSI PV (name unique per disk, access modes and, by the caller,
     * volume mode set). @param podNamespace only azure-file uses it (secret namespace)
     * @throws TranslationError
     */
    translateInline(volume: V1Volume, podNamespace: string): V1PersistentVolume;
    /** A PV with the in-tree source as a PV with the CSI source (modifies and returns pv). @throws TranslationError */
    translatePV(pv: V1PersistentVolume): V1PersistentVolume;
    /** A PV with this driver's CSI source back to the in-tree source (modifies and returns pv). @throws TranslationError */
    translateCSIPV(pv: V1PersistentVolume): V1PersistentVolume;
    /** Whether the PV has this plugin's source. */
    canSupport(pv: V1PersistentVolume | undefined): boolean;
    /** Whether the pod volume has this plugin's source. */
    canSupportInline(volume: V1Volume | undefined): boolean;
    /** A fully specified handle from a partial one and the node ID (gce-pd); others return it unchanged. @throws TranslationError */
    repairVolumeHandle(volumeHandle: string, nodeID: string): string;
}

/**
 * A CSIPersistentVolumeSource as Go serializes it: driver and volumeHandle always, readOnly only
 * when true, fsType only when set, volumeAttributes only when not empty, secret references only
 * when given.
 */
export function csiSource(s: {
    driver: string;
    volumeHandle: string;
    readOnly?: boolean;
    fsType?: string;
    volumeAttributes?: Record<string, string>;
    controllerPublishSecretRef?: { name?: string; namespace?: string };
    nodeStageSecretRef?: { name?: string; namespace?: string };
    nodePublishSecretRef?: { name?: string; namespace?: string };
    controllerExpandSecretRef?: { name?: string; namespace?: string };
    nodeExpandSecretRef?: { name?: string; namespace?: string };
}): V1CSIPersistentVolumeSource {
    const out: V1CSIPersistentVolumeSource = { driver: s.driver, volumeHandle: s.volumeHandle };
    if (s.readOnly) out.readOnly = true;
    if (s.fsType) out.fsType = s.fsType;
    if (s.volumeAttributes && Object.keys(s.volumeAttributes).length > 0) out.volumeAttributes = s.volumeAttributes;
    for (const k of ['controllerPublishSecretRef', 'nodeStageSecretRef', 'nodePublishSecretRef', 'controllerExpandSecretRef', 'nodeExpandSecretRef'] as const) {
        const ref = s[k];
        if (ref) out[k] = secretRef(ref.name, ref.namespace);
    }
    return out;
}

/** A SecretReference as Go serializes it (empty name / namespace omitted). */
export function secretRef(name: string | undefined, namespace: string | undefined): { name?: string; namespace?: string } {
    return { ...(name ? { name } : {}), ...(namespace ? { namespace } : {}) };
}

/** A deep copy of an API object (plain data and Dates). */
export function deepCopy<T>(o: T): T {
    return structuredClone(o);
}

/** Removes the in-tree source field and sets the CSI one (the PersistentVolumeSource is a union). */
export function swapSource(pv: V1PersistentVolume, field: string, csi: V1CSIPersistentVolumeSource): V1PersistentVolume {
    const spec = (pv.spec ??= {}) as Record<string, unknown>;
    delete spec[field];
    spec.csi = csi;
    return pv;
}

/** Removes the CSI source and sets the in-tree one. */
export function swapToInTree(pv: V1PersistentVolume, field: string, source: object): V1PersistentVolume {
    const spec = (pv.spec ??= {}) as Record<string, unknown>;
    delete spec.csi;
    spec[field] = source;
    return pv;
}
