// kubernetes.io/azure-disk ⇄ disk.csi.azure.com. Mirrors csi-translation-lib plugins/azure_disk.go.
// Only managed disks migrate; PVs keep their node affinity and access modes as they are.
import type { V1AzureDiskVolumeSource, V1PersistentVolume, V1StorageClass, V1TopologySelectorTerm, V1Volume } from '@kubernetes/client-node';
import { goLower } from '../go.ts';
import { csiSource, deepCopy, fail, swapSource, swapToInTree } from '../plugin.ts';
import type { InTreePlugin } from '../plugin.ts';
import { applyZoneTopologies, topologySelectors } from '../topology.ts';

export const AZURE_DISK_DRIVER = 'disk.csi.azure.com';
export const AZURE_DISK_IN_TREE = 'kubernetes.io/azure-disk';
export const AZURE_DISK_TOPOLOGY_KEY = 'topology.disk.csi.azure.com/zone';
const MANAGED = 'Managed';

// Kept as source text: upstream prints the pattern in its error message.
const MANAGED_DISK_PATH = '.*/subscriptions/(?:.*)/resourceGroups/(?:.*)/providers/Microsoft.Compute/disks/(.+)';
const UNMANAGED_DISK_PATH = 'http(?:.*)://(?:.*)/vhds/(.+)';
const MANAGED_DISK_RE = new RegExp(MANAGED_DISK_PATH);
const UNMANAGED_DISK_RE = new RegExp(UNMANAGED_DISK_PATH);
const UNZONED_CSI_REGION_RE = /^[0-9]+$/;

/** A disk URI is managed unless it starts with `http` (any case) (isManagedDisk). */
export function isManagedDisk(diskURI: string): boolean {
    return !(diskURI.length > 4 && diskURI.slice(0, 4).toLowerCase() === 'http');
}

/** The disk name at the end of a managed or unmanaged (`…/vhds/<name>`) disk URI (getDiskName). @throws TranslationError */
export function diskName(diskURI: string): string {
    const managed = isManagedDisk(diskURI);
    const m = (managed ? MANAGED_DISK_RE : UNMANAGED_DISK_RE).exec(diskURI);
    if (!m || m.length !== 2) fail(`could not get disk name from ${diskURI}, correct format: ${managed ? MANAGED_DISK_PATH : UNMANAGED_DISK_PATH}`);
    return m[1] as string;
}

function checkKind(src: V1AzureDiskVolumeSource): void {
    if (src.kind !== undefined && src.kind !== null && src.kind.toLowerCase() !== MANAGED.toLowerCase()) fail(`kind(${src.kind}) is not supported in csi migration`);
}

/** Zones "0", "1", … (regions without availability zones) are "" for the CSI driver (replaceFailureDomainsToCSI). */
function replaceFailureDomainsToCSI(ts: V1TopologySelectorTerm[] | undefined): V1TopologySelectorTerm[] | undefined {
    if (!ts) return undefined;
    return ts.map((term) => {
        const t = deepCopy(term);
        for (const e of t.matchLabelExpressions ?? []) {
            if (e.key === AZURE_DISK_TOPOLOGY_KEY && e.values) e.values = e.values.map((v) => (UNZONED_CSI_REGION_RE.test(v) ? '' : v));
        }
        return t;
    });
}

/** The azure-disk translator. */
export const azureDisk: InTreePlugin = {
    inTreeName: AZURE_DISK_IN_TREE,
    driverName: AZURE_DISK_DRIVER,
    sourceField: 'azureDisk',
    topologyKey: AZURE_DISK_TOPOLOGY_KEY,

    translateStorageClass(input: V1StorageClass): V1StorageClass {
        const sc = deepCopy(input);
        let generated: V1TopologySelectorTerm[] | undefined;
        const params: Record<string, string> = {};
        for (const [k, v] of Object.entries(sc.parameters ?? {})) {
            switch (goLower(k)) {
                case 'zone':
                    generated = topologySelectors(AZURE_DISK_TOPOLOGY_KEY, [v]);
                    break;
                case 'zones':
                    generated = topologySelectors(AZURE_DISK_TOPOLOGY_KEY, v.split(','));
                    break;
                default:
                    params[k] = v;
            }
        }
        applyZoneTopologies(sc, generated, AZURE_DISK_TOPOLOGY_KEY);
        const replaced = replaceFailureDomainsToCSI(sc.allowedTopologies);
        if (replaced) sc.allowedTopologies = replaced;
        sc.parameters = params;
        return sc;
    },

    translateInline(volume: V1Volume): V1PersistentVolume {
        const src = volume?.azureDisk;
        if (!src) fail('volume is nil or Azure Disk not defined on volume');
        checkKind(src);
        const attrs: Record<string, string> = { kind: MANAGED };
        if (src.cachingMode) attrs.cachingmode = src.cachingMode;
        if (src.fsType !== undefined && src.fsType !== null) attrs.fstype = src.fsType;
        return {
            metadata: { name: src.diskURI },
            spec: {
                csi: csiSource({ driver: AZURE_DISK_DRIVER, volumeHandle: src.diskURI, readOnly: src.readOnly ?? false, fsType: src.fsType ?? '', volumeAttributes: attrs }),
                accessModes: ['ReadWriteOnce'],
            },
        };
    },

    translatePV(pv: V1PersistentVolume): V1PersistentVolume {
        const src = pv?.spec?.azureDisk;
        if (!src) fail('pv is nil or Azure Disk source not defined on pv');
        checkKind(src);
        const attrs: Record<string, string> = { kind: MANAGED };
        if (src.cachingMode !== undefined && src.cachingMode !== null) attrs.cachingmode = src.cachingMode;
        if (src.fsType !== undefined && src.fsType !== null) attrs.fstype = src.fsType;
        return swapSource(pv, 'azureDisk', csiSource({ driver: AZURE_DISK_DRIVER, volumeHandle: src.diskURI, readOnly: src.readOnly ?? false, fsType: src.fsType ?? '', volumeAttributes: attrs }));
    },

    translateCSIPV(pv: V1PersistentVolume): V1PersistentVolume {
        const csi = pv?.spec?.csi;
        if (!csi) fail('pv is nil or CSI source not defined on pv');
        const uri = csi.volumeHandle;
        // fsType and readOnly are pointers upstream: always written, even when empty / false
        const src: V1AzureDiskVolumeSource = { diskName: diskName(uri), diskURI: uri, fsType: csi.fsType ?? '', readOnly: csi.readOnly ?? false, kind: MANAGED };
        for (const [k, v] of Object.entries(csi.volumeAttributes ?? {})) {
            switch (goLower(k)) {
                case 'cachingmode':
                    if (v !== '') src.cachingMode = v;
                    break;
                case 'fstype':
                    if (v !== '') src.fsType = v;
                    break;
            }
        }
        return swapToInTree(pv, 'azureDisk', src);
    },

    canSupport: (pv) => !!pv?.spec?.azureDisk,
    canSupportInline: (v) => !!v?.azureDisk,
    repairVolumeHandle: (h) => h,
};
