// kubernetes.io/gce-pd ⇄ pd.csi.storage.gke.io. Mirrors csi-translation-lib plugins/gce_pd.go.
import type { V1PersistentVolume, V1StorageClass, V1TopologySelectorTerm, V1Volume } from '@kubernetes/client-node';
import { goAtoiInt32, goLower, goSetString } from '../go.ts';
import { csiSource, deepCopy, fail, swapSource, swapToInTree } from '../plugin.ts';
import type { InTreePlugin } from '../plugin.ts';
import {
    LABEL_FAILURE_DOMAIN_BETA_ZONE,
    LABEL_MULTI_ZONE_DELIMITER,
    LABEL_TOPOLOGY_ZONE,
    applyZoneTopologies,
    topologySelectors,
    translateTopologyFromCSIToInTree,
    translateTopologyFromInTreeToCSI,
} from '../topology.ts';

export const GCE_PD_DRIVER = 'pd.csi.storage.gke.io';
export const GCE_PD_IN_TREE = 'kubernetes.io/gce-pd';
export const GCE_PD_TOPOLOGY_KEY = 'topology.gke.io/zone';
/** Stands for an unknown project or zone in a volume handle. */
export const UNSPECIFIED = 'UNSPECIFIED';

/** `projects/<project>/zones/<zone>/disks/<disk>`. */
export const zonalHandle = (project: string, zone: string, disk: string) => `projects/${project}/zones/${zone}/disks/${disk}`;
/** `projects/<project>/regions/<region>/disks/<disk>`. */
export const regionalHandle = (project: string, region: string, disk: string) => `projects/${project}/regions/${region}/disks/${disk}`;

// Positions in a handle split on "/".
const PROJECT = 1;
const REGIONALITY = 2;
const ZONE = 3;
const DISK = 5;
const TOTAL = 6;

/**
 * The region of GCE zones `{locale}-{region}-{zone}` (gceGetRegionFromZones).
 * @throws TranslationError for no zones, another shape, or zones of several regions
 */
export function gceRegionFromZones(zones: string[]): string {
    if (zones.length < 1) fail('no zones specified');
    const regions = new Set<string>();
    for (const zone of zones) {
        const parts = zone.split('-');
        if (parts.length !== 3) fail(`zone in unexpected format, expected: {locale}-{region}-{zone}, got: ${zone}`);
        regions.add(parts.slice(0, 2).join('-'));
    }
    if (regions.size !== 1) fail(`multiple or no regions gotten from zones, got: ${goSetString(regions)}`);
    return [...regions][0] as string;
}

/**
 * Access modes the PD CSI driver accepts for a legacy PV: RWX counts as RWO (the in-tree plugin
 * never enforced it), RWO+ROX becomes RWO, ROX alone stays, nothing else → RWO; none stays none
 * (backwardCompatibleAccessModes).
 */
export function backwardCompatibleAccessModes(ams: string[] | undefined): string[] | undefined {
    if (ams === undefined) return undefined;
    const s = new Set(ams.map((m) => (m === 'ReadWriteMany' ? 'ReadWriteOnce' : m)));
    if (s.has('ReadWriteOnce')) return ['ReadWriteOnce'];
    if (s.has('ReadOnlyMany')) return ['ReadOnlyMany'];
    return ['ReadWriteOnce'];
}

function pdNameFromVolumeID(id: string): string {
    const parts = id.split('/');
    if (parts.length < TOTAL) fail(`failed to get id components.Got: ${parts.length}, wanted ${TOTAL} components or more. `);
    return parts[DISK] as string;
}

/** The gce-pd translator. */
export const gcePd: InTreePlugin = {
    inTreeName: GCE_PD_IN_TREE,
    driverName: GCE_PD_DRIVER,
    sourceField: 'gcePersistentDisk',
    topologyKey: GCE_PD_TOPOLOGY_KEY,

    translateStorageClass(input: V1StorageClass): V1StorageClass {
        const sc = deepCopy(input);
        let generated: V1TopologySelectorTerm[] | undefined;
        const params: Record<string, string> = {};
        for (const [k, v] of Object.entries(sc.parameters ?? {})) {
            switch (goLower(k)) {
                case 'fstype':
                    // the external provisioner strips prefixed parameters before CreateVolume
                    params['csi.storage.k8s.io/fstype'] = v;
                    break;
                case 'zone':
                    generated = topologySelectors(GCE_PD_TOPOLOGY_KEY, [v]);
                    break;
                case 'zones':
                    generated = topologySelectors(GCE_PD_TOPOLOGY_KEY, v.split(','));
                    break;
                default:
                    params[k] = v;
            }
        }
        applyZoneTopologies(sc, generated, GCE_PD_TOPOLOGY_KEY);
        sc.parameters = params;
        return sc;
    },

    translateInline(volume: V1Volume): V1PersistentVolume {
        const pd = volume?.gcePersistentDisk;
        if (!pd) fail('volume is nil or GCE PD not defined on volume');
        const partition = pd.partition ? String(pd.partition) : '';
        return {
            metadata: { name: `${GCE_PD_DRIVER}-${pd.pdName}` },
            spec: {
                csi: csiSource({
                    driver: GCE_PD_DRIVER,
                    volumeHandle: zonalHandle(UNSPECIFIED, UNSPECIFIED, pd.pdName),
                    readOnly: pd.readOnly,
                    fsType: pd.fsType,
                    volumeAttributes: { partition },
                }),
                accessModes: [pd.readOnly ? 'ReadOnlyMany' : 'ReadWriteOnce'],
                volumeMode: 'Filesystem',
            },
        };
    },

    translatePV(pv: V1PersistentVolume): V1PersistentVolume {
        const pd = pv?.spec?.gcePersistentDisk;
        if (!pd) fail('pv is nil or GCE Persistent Disk source not defined on pv');
        const labels = pv.metadata?.labels ?? {};
        // the zone label is the beta one or the GA one, depending on the version that wrote it
        const zonesLabel = labels[LABEL_FAILURE_DOMAIN_BETA_ZONE] || labels[LABEL_TOPOLOGY_ZONE] || '';
        const zones = zonesLabel.split(LABEL_MULTI_ZONE_DELIMITER);
        let handle: string;
        if (zones.length === 1 && (zones[0] as string).length !== 0) {
            handle = zonalHandle(UNSPECIFIED, zones[0] as string, pd.pdName);
        } else if (zones.length > 1) {
            let region: string;
            try {
                region = gceRegionFromZones(zones);
            } catch (e) {
                return fail(`failed to get region from zones: ${(e as Error).message}`);
            }
            handle = regionalHandle(UNSPECIFIED, region, pd.pdName);
        } else {
            handle = zonalHandle(UNSPECIFIED, UNSPECIFIED, pd.pdName);
        }
        const partition = pd.partition ? String(pd.partition) : '';
        const csi = csiSource({ driver: GCE_PD_DRIVER, volumeHandle: handle, readOnly: pd.readOnly, fsType: pd.fsType, volumeAttributes: { partition } });
        translateTopologyFromInTreeToCSI(pv, GCE_PD_TOPOLOGY_KEY);
        swapSource(pv, 'gcePersistentDisk', csi);
        const modes = backwardCompatibleAccessModes(pv.spec?.accessModes);
        if (pv.spec) {
            if (modes === undefined) delete pv.spec.accessModes;
            else pv.spec.accessModes = modes;
        }
        return pv;
    },

    translateCSIPV(pv: V1PersistentVolume): V1PersistentVolume {
        const csi = pv?.spec?.csi;
        if (!csi) fail('pv is nil or CSI source not defined on pv');
        const pd: Record<string, unknown> = { pdName: pdNameFromVolumeID(csi.volumeHandle) };
        if (csi.fsType) pd.fsType = csi.fsType;
        if (csi.readOnly) pd.readOnly = true;
        const partition = csi.volumeAttributes?.partition;
        if (partition !== undefined && partition !== '') {
            let n: number;
            try {
                n = goAtoiInt32(partition);
            } catch (e) {
                return fail(`Failed to convert partition ${partition} to integer: ${(e as Error).message}`);
            }
            if (n !== 0) pd.partition = n;
        }
        try {
            translateTopologyFromCSIToInTree(pv, GCE_PD_TOPOLOGY_KEY, gceRegionFromZones);
        } catch (e) {
            fail(`failed to translate topology. PV:${pv.metadata?.name ?? ''}. Error:${(e as Error).message}`);
        }
        return swapToInTree(pv, 'gcePersistentDisk', pd);
    },

    canSupport: (pv) => !!pv?.spec?.gcePersistentDisk,
    canSupportInline: (v) => !!v?.gcePersistentDisk,

    /** Fills an UNSPECIFIED project (and zone or region) of a handle from the node ID `projects/<p>/zones/<z>/instances/<i>`. */
    repairVolumeHandle(volumeHandle: string, nodeID: string): string {
        const tok = volumeHandle.split('/');
        if (tok.length < TOTAL) fail(`volume handle has wrong number of elements; got ${tok.length}, wanted ${TOTAL} or more`);
        if (tok[PROJECT] !== UNSPECIFIED) return volumeHandle;
        const node = nodeID.split('/');
        if (node.length < TOTAL) fail(`node handle has wrong number of elements; got ${node.length}, wanted ${TOTAL} or more`);
        const disk = tok[DISK] as string;
        const project = node[PROJECT] as string;
        switch (tok[REGIONALITY]) {
            case 'zones':
                return zonalHandle(project, tok[ZONE] === UNSPECIFIED ? (node[ZONE] as string) : (tok[ZONE] as string), disk);
            case 'regions': {
                let region = tok[ZONE] as string;
                if (region === UNSPECIFIED) {
                    try {
                        region = gceRegionFromZones([node[ZONE] as string]);
                    } catch (e) {
                        return fail(`failed to get region from zone ${node[ZONE]}: ${(e as Error).message}`);
                    }
                }
                return regionalHandle(project, region, disk);
            }
            default:
                return fail(`expected volume handle to have zones or regions regionality value, got: ${tok[REGIONALITY]}`);
        }
    },
};
