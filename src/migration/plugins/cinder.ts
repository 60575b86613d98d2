// kubernetes.io/cinder ⇄ cinder.csi.openstack.org. Mirrors csi-translation-lib plugins/openstack_cinder.go.
import type { V1PersistentVolume, V1StorageClass, V1Volume } from '@kubernetes/client-node';
import { goLower } from '../go.ts';
import { csiSource, deepCopy, fail, swapSource, swapToInTree } from '../plugin.ts';
import type { InTreePlugin } from '../plugin.ts';
import { translateAllowedTopologies, translateTopologyFromCSIToInTree, translateTopologyFromInTreeToCSI } from '../topology.ts';

export const CINDER_DRIVER = 'cinder.csi.openstack.org';
export const CINDER_IN_TREE = 'kubernetes.io/cinder';
export const CINDER_TOPOLOGY_KEY = 'topology.cinder.csi.openstack.org/zone';

/** The cinder translator. */
export const cinder: InTreePlugin = {
    inTreeName: CINDER_IN_TREE,
    driverName: CINDER_DRIVER,
    sourceField: 'cinder',
    topologyKey: CINDER_TOPOLOGY_KEY,

    /** `fstype` becomes `csi.storage.k8s.io/fstype`; everything else (including `availability`) passes; allowed topologies get the CSI key. */
    translateStorageClass(input: V1StorageClass): V1StorageClass {
        const sc = deepCopy(input);
        const params: Record<string, string> = {};
        for (const [k, v] of Object.entries(sc.parameters ?? {})) {
            if (goLower(k) === 'fstype') params['csi.storage.k8s.io/fstype'] = v;
            else params[k] = v;
        }
        if ((sc.allowedTopologies ?? []).length > 0) sc.allowedTopologies = translateAllowedTopologies(sc.allowedTopologies, CINDER_TOPOLOGY_KEY);
        sc.parameters = params;
        return sc;
    },

    translateInline(volume: V1Volume): V1PersistentVolume {
        const src = volume?.cinder;
        if (!src) fail('volume is nil or Cinder not defined on volume');
        return {
            metadata: { name: `${CINDER_DRIVER}-${src.volumeID}` },
            spec: {
                csi: csiSource({ driver: CINDER_DRIVER, volumeHandle: src.volumeID, readOnly: src.readOnly, fsType: src.fsType }),
                accessModes: ['ReadWriteOnce'],
            },
        };
    },

    translatePV(pv: V1PersistentVolume): V1PersistentVolume {
        const src = pv?.spec?.cinder;
        if (!src) fail('pv is nil or Cinder not defined on pv');
        const csi = csiSource({ driver: CINDER_DRIVER, volumeHandle: src.volumeID, readOnly: src.readOnly, fsType: src.fsType });
        translateTopologyFromInTreeToCSI(pv, CINDER_TOPOLOGY_KEY);
        return swapSource(pv, 'cinder', csi);
    },

    translateCSIPV(pv: V1PersistentVolume): V1PersistentVolume {
        const csi = pv?.spec?.csi;
        if (!csi) fail('pv is nil or CSI source not defined on pv');
        const src: Record<string, unknown> = { volumeID: csi.volumeHandle };
        if (csi.fsType) src.fsType = csi.fsType;
        if (csi.readOnly) src.readOnly = true;
        // The region cannot be guessed from a Cinder zone: zone only.
        try {
            translateTopologyFromCSIToInTree(pv, CINDER_TOPOLOGY_KEY, undefined);
        } catch (e) {
            fail(`failed to translate topology. PV:${pv.metadata?.name ?? ''}. Error:${(e as Error).message}`);
        }
        return swapToInTree(pv, 'cinder', src);
    },

    canSupport: (pv) => !!pv?.spec?.cinder,
    canSupportInline: (v) => !!v?.cinder,
    repairVolumeHandle: (h) => h,
};
