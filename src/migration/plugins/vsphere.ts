// kubernetes.io/vsphere-volume ⇄ csi.vsphere.vmware.com. Mirrors csi-translation-lib
// plugins/vsphere_volume.go. The handle is the in-tree volume path.
import type { V1PersistentVolume, V1StorageClass, V1Volume } from '@kubernetes/client-node';
import { goLower } from '../go.ts';
import { csiSource, deepCopy, fail, swapSource, swapToInTree } from '../plugin.ts';
import type { InTreePlugin } from '../plugin.ts';
import { addTopology, getTopologyLabel, getTopologyValues, replaceTopology, translateAllowedTopologies } from '../topology.ts';

export const VSPHERE_DRIVER = 'csi.vsphere.vmware.com';
export const VSPHERE_IN_TREE = 'kubernetes.io/vsphere-volume';
export const VSPHERE_TOPOLOGY_ZONE_KEY = 'topology.csi.vmware.com/zone';
export const VSPHERE_TOPOLOGY_REGION_KEY = 'topology.csi.vmware.com/region';
/** Volume context key the driver returns for migrated volumes: the in-tree volume path. */
export const ATTRIBUTE_INITIAL_VOLUME_FILEPATH = 'initialvolumefilepath';

/** In-tree StorageClass parameters (lower-cased) → the driver's migration parameters. */
const PARAMS: Record<string, string> = {
    fstype: 'csi.storage.k8s.io/fstype',
    storagepolicyname: 'storagepolicyname',
    datastore: 'datastore-migrationparam',
    diskformat: 'diskformat-migrationparam',
    hostfailurestotolerate: 'hostfailurestotolerate-migrationparam',
    forceprovisioning: 'forceprovisioning-migrationparam',
    cachereservation: 'cachereservation-migrationparam',
    diskstripes: 'diskstripes-migrationparam',
    objectspacereservation: 'objectspacereservation-migrationparam',
    iopslimit: 'iopslimit-migrationparam',
};

/** Zone/region from node affinity keys, else (one value each) from the labels, to the driver's keys. */
function topologyToCSI(pv: V1PersistentVolume): void {
    const [zoneLabel, regionLabel] = getTopologyLabel(pv);
    const labels = pv.metadata?.labels ?? {};
    for (const [label, key] of [
        [zoneLabel, VSPHERE_TOPOLOGY_ZONE_KEY],
        [regionLabel, VSPHERE_TOPOLOGY_REGION_KEY],
    ] as const) {
        if (getTopologyValues(pv, label).length > 0) {
            replaceTopology(pv, label, key);
        } else if (Object.hasOwn(labels, label) && (labels[label] ?? '').length > 0) {
            try {
                addTopology(pv, key, [labels[label] as string]);
            } catch {
                // upstream discards addTopology's error here
            }
        }
    }
}

/** The driver's zone/region keys back to the Kubernetes ones; labels from the first value when missing. */
function topologyToInTree(pv: V1PersistentVolume): void {
    const [zoneLabel, regionLabel] = getTopologyLabel(pv);
    replaceTopology(pv, VSPHERE_TOPOLOGY_ZONE_KEY, zoneLabel);
    replaceTopology(pv, VSPHERE_TOPOLOGY_REGION_KEY, regionLabel);
    for (const label of [zoneLabel, regionLabel]) {
        const vals = getTopologyValues(pv, label);
        if (vals.length > 0) {
            const labels = ((pv.metadata ??= {}).labels ??= {});
            if (!Object.hasOwn(labels, label)) labels[label] = vals[0] as string;
        }
    }
}

/** The vsphere-volume translator. */
export const vsphere: InTreePlugin = {
    inTreeName: VSPHERE_IN_TREE,
    driverName: VSPHERE_DRIVER,
    sourceField: 'vsphereVolume',
    topologyKey: VSPHERE_TOPOLOGY_ZONE_KEY,

    /**
     * Known parameters are renamed for the driver, unknown ones dropped (upstream logs them),
     * `csimigration: "true"` is added, allowed topologies get the driver's zone key.
     * @throws TranslationError for no class
     */
    translateStorageClass(input: V1StorageClass): V1StorageClass {
        if (!input) fail('sc is nil');
        const sc = deepCopy(input);
        const params: Record<string, string> = {};
        for (const [k, v] of Object.entries(sc.parameters ?? {})) {
            const to = PARAMS[goLower(k)];
            if (to) params[to] = v;
        }
        params.csimigration = 'true';
        if ((sc.allowedTopologies ?? []).length > 0) sc.allowedTopologies = translateAllowedTopologies(sc.allowedTopologies, VSPHERE_TOPOLOGY_ZONE_KEY);
        sc.parameters = params;
        return sc;
    },

    /**
     * Upstream v1.36 reads the storage policy of an inline volume from a field that is nil at that
     * point (a nil dereference when the policy is set); we carry the volume's policy, which is
     * what that code means to do.
     */
    translateInline(volume: V1Volume): V1PersistentVolume {
        const src = volume?.vsphereVolume;
        if (!src) fail('volume is nil or VsphereVolume not defined on volume');
        const attrs: Record<string, string> = {};
        if (src.storagePolicyName) attrs.storagepolicyname = src.storagePolicyName;
        return {
            metadata: { name: `${VSPHERE_DRIVER}-${src.volumePath}` },
            spec: {
                csi: csiSource({ driver: VSPHERE_DRIVER, volumeHandle: src.volumePath, fsType: src.fsType, volumeAttributes: attrs }),
                accessModes: ['ReadWriteOnce'],
            },
        };
    },

    translatePV(pv: V1PersistentVolume): V1PersistentVolume {
        const src = pv?.spec?.vsphereVolume;
        if (!src) fail('pv is nil or VsphereVolume not defined on pv');
        const attrs: Record<string, string> = {};
        if (src.storagePolicyName) attrs.storagepolicyname = src.storagePolicyName;
        const csi = csiSource({ driver: VSPHERE_DRIVER, volumeHandle: src.volumePath, fsType: src.fsType, volumeAttributes: attrs });
        topologyToCSI(pv);
        return swapSource(pv, 'vsphereVolume', csi);
    },

    translateCSIPV(pv: V1PersistentVolume): V1PersistentVolume {
        const csi = pv?.spec?.csi;
        if (!csi) fail('pv is nil or CSI source not defined on pv');
        const src: Record<string, unknown> = { volumePath: csi.volumeAttributes?.[ATTRIBUTE_INITIAL_VOLUME_FILEPATH] ?? '' };
        if (csi.fsType) src.fsType = csi.fsType;
        topologyToInTree(pv);
        return swapToInTree(pv, 'vsphereVolume', src);
    },

    canSupport: (pv) => !!pv?.spec?.vsphereVolume,
    canSupportInline: (v) => !!v?.vsphereVolume,
    repairVolumeHandle: (h) => h,
};
