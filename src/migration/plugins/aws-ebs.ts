// kubernetes.io/aws-ebs ⇄ ebs.csi.aws.com. Mirrors csi-translation-lib plugins/aws_ebs.go.
import type { V1PersistentVolume, V1StorageClass, V1TopologySelectorTerm, V1Volume } from '@kubernetes/client-node';
import { goAtoiInt32, goLower, goParseURL, goSetString } from '../go.ts';
import { csiSource, deepCopy, fail, swapSource, swapToInTree } from '../plugin.ts';
import type { InTreePlugin } from '../plugin.ts';
import { applyZoneTopologies, topologySelectors, translateTopologyFromCSIToInTree, translateTopologyFromInTreeToCSI } from '../topology.ts';

export const AWS_EBS_DRIVER = 'ebs.csi.aws.com';
export const AWS_EBS_IN_TREE = 'kubernetes.io/aws-ebs';
export const AWS_EBS_TOPOLOGY_KEY = `topology.${AWS_EBS_DRIVER}/zone`;

const AWS_VOLUME_RE = /^vol-[^/]*$/;

/**
 * The EBS volume ID in a Kubernetes volume ID: `aws://<zone>/<vol-id>`, `aws:///<vol-id>` or a
 * bare `<vol-id>` (returned as is) (KubernetesVolumeIDToEBSVolumeID).
 * @throws TranslationError for an unparsable URL, another scheme or an ID not shaped `vol-…`
 */
export function kubernetesVolumeIDToEBSVolumeID(kubernetesID: string): string {
    if (!kubernetesID.startsWith('aws://')) return kubernetesID;
    let u;
    try {
        u = goParseURL(kubernetesID);
    } catch (e) {
        return fail(`Invalid disk name (${kubernetesID}): ${(e as Error).message}`);
    }
    if (u.scheme !== 'aws') fail(`Invalid scheme for AWS volume (${kubernetesID})`);
    const id = u.path.replace(/^\/+|\/+$/g, '');
    if (!AWS_VOLUME_RE.test(id)) fail(`Invalid format for AWS volume (${kubernetesID})`);
    return id;
}

/**
 * The region of AWS zones: `us-west-2a` → `us-west-2`, local zones `us-west-2-lax-1a` and
 * wavelength zones `us-east-1-wl1-bos-wlz-1` → their region (getAwsRegionFromZones).
 * @throws TranslationError for no zones, an unknown zone shape, or zones of several regions
 */
export function awsRegionFromZones(zones: string[]): string {
    if (zones.length < 1) fail('no zones specified');
    const regions = new Set<string>();
    for (const zone of zones) {
        const parts = zone.split('-');
        const last = parts[parts.length - 1] ?? '';
        if ((parts.length === 3 || parts.length === 4) && Buffer.byteLength(last) === 2) {
            parts[parts.length - 1] = last.slice(0, 1);
            regions.add(parts.join('-'));
        } else if (parts.length === 5 || parts.length === 7) {
            regions.add(parts.slice(0, 3).join('-'));
        } else {
            fail(`Unexpected zone format: ${zone} is not a valid AWS zone`);
        }
    }
    if (regions.size !== 1) fail(`multiple or no regions gotten from zones, got: ${goSetString(regions)}`);
    return [...regions][0] as string;
}

function partitionAttr(partition: number | undefined): Record<string, string> {
    return { partition: String(partition ?? 0) };
}

/** The aws-ebs translator. */
export const awsEbs: InTreePlugin = {
    inTreeName: AWS_EBS_IN_TREE,
    driverName: AWS_EBS_DRIVER,
    sourceField: 'awsElasticBlockStore',
    topologyKey: AWS_EBS_TOPOLOGY_KEY,

    translateStorageClass(input: V1StorageClass): V1StorageClass {
        const sc = deepCopy(input);
        let generated: V1TopologySelectorTerm[] | undefined;
        const params: Record<string, string> = {};
        for (const [k, v] of Object.entries(sc.parameters ?? {})) {
            switch (goLower(k)) {
                case 'fstype':
                    params['csi.storage.k8s.io/fstype'] = v;
                    break;
                case 'zone':
                    generated = topologySelectors(AWS_EBS_TOPOLOGY_KEY, [v]);
                    break;
                case 'zones':
                    generated = topologySelectors(AWS_EBS_TOPOLOGY_KEY, v.split(','));
                    break;
                case 'iopspergb':
                    // kept, and the driver may raise IOPS to its minimum as the in-tree plugin did
                    params[k] = v;
                    params.allowautoiopspergbincrease = 'true';
                    break;
                default:
                    params[k] = v;
            }
        }
        applyZoneTopologies(sc, generated, AWS_EBS_TOPOLOGY_KEY);
        sc.parameters = params;
        return sc;
    },

    translateInline(volume: V1Volume): V1PersistentVolume {
        const ebs = volume?.awsElasticBlockStore;
        if (!ebs) fail('volume is nil or AWS EBS not defined on volume');
        let handle: string;
        try {
            handle = kubernetesVolumeIDToEBSVolumeID(ebs.volumeID);
        } catch (e) {
            return fail(`failed to translate Kubernetes ID to EBS Volume ID ${(e as Error).message}`);
        }
        return {
            metadata: { name: `${AWS_EBS_DRIVER}-${handle}` },
            spec: {
                csi: csiSource({ driver: AWS_EBS_DRIVER, volumeHandle: handle, readOnly: ebs.readOnly, fsType: ebs.fsType, volumeAttributes: partitionAttr(ebs.partition) }),
                accessModes: ['ReadWriteOnce'],
            },
        };
    },

    translatePV(pv: V1PersistentVolume): V1PersistentVolume {
        const ebs = pv?.spec?.awsElasticBlockStore;
        if (!ebs) fail('pv is nil or AWS EBS not defined on pv');
        let handle: string;
        try {
            handle = kubernetesVolumeIDToEBSVolumeID(ebs.volumeID);
        } catch (e) {
            return fail(`failed to translate Kubernetes ID to EBS Volume ID ${(e as Error).message}`);
        }
        const csi = csiSource({ driver: AWS_EBS_DRIVER, volumeHandle: handle, readOnly: ebs.readOnly, fsType: ebs.fsType, volumeAttributes: partitionAttr(ebs.partition) });
        translateTopologyFromInTreeToCSI(pv, AWS_EBS_TOPOLOGY_KEY);
        return swapSource(pv, 'awsElasticBlockStore', csi);
    },

    translateCSIPV(pv: V1PersistentVolume): V1PersistentVolume {
        const csi = pv?.spec?.csi;
        if (!csi) fail('pv is nil or CSI source not defined on pv');
        const ebs: Record<string, unknown> = { volumeID: csi.volumeHandle };
        if (csi.fsType) ebs.fsType = csi.fsType;
        if (csi.readOnly) ebs.readOnly = true;
        const partition = csi.volumeAttributes?.partition;
        if (partition !== undefined) {
            let n: number;
            try {
                n = goAtoiInt32(partition);
            } catch (e) {
                return fail(`failed to convert partition ${partition} to integer: ${(e as Error).message}`);
            }
            if (n !== 0) ebs.partition = n;
        }
        try {
            translateTopologyFromCSIToInTree(pv, AWS_EBS_TOPOLOGY_KEY, awsRegionFromZones);
        } catch (e) {
            fail(`failed to translate topology. PV:${pv.metadata?.name ?? ''}. Error:${(e as Error).message}`);
        }
        return swapToInTree(pv, 'awsElasticBlockStore', ebs);
    },

    canSupport: (pv) => !!pv?.spec?.awsElasticBlockStore,
    canSupportInline: (v) => !!v?.awsElasticBlockStore,
    repairVolumeHandle: (h) => h,
};
