// kubernetes.io/azure-file ⇄ file.csi.azure.com. Mirrors csi-translation-lib plugins/azure_file.go.
// The handle is `<resource group>#<account>#<share>#<pv or volume name>#<secret namespace>`.
import type { V1AzureFilePersistentVolumeSource, V1PersistentVolume, V1StorageClass, V1Volume } from '@kubernetes/client-node';
import { goLower, goQuote } from '../go.ts';
import { csiSource, deepCopy, fail, swapSource, swapToInTree } from '../plugin.ts';
import type { InTreePlugin } from '../plugin.ts';

export const AZURE_FILE_DRIVER = 'file.csi.azure.com';
export const AZURE_FILE_IN_TREE = 'kubernetes.io/azure-file';
/** PV annotation carrying the resource group of an in-tree azure-file share. */
export const AZURE_FILE_RESOURCE_GROUP_ANNOTATION = 'kubernetes.io/azure-file-resource-group';
const DEFAULT_SECRET_NAMESPACE = 'default';
const SECRET_NAME_RE = /azure-storage-account-(.+)-secret/;

/** The storage account in a secret name `azure-storage-account-<account>-secret` (getStorageAccountName). @throws TranslationError */
export function storageAccountName(secretName: string): string {
    const m = SECRET_NAME_RE.exec(secretName);
    if (!m || m.length !== 2) fail(`could not get account name from ${secretName}, correct format: azure-storage-account-(.+)-secret`);
    return m[1] as string;
}

/**
 * Resource group, account, share and disk name from a handle `rg#account#share[#disk…]`
 * (getFileShareInfo). @throws TranslationError with fewer than two `#`
 */
export function fileShareInfo(id: string): [resourceGroup: string, account: string, share: string, disk: string] {
    const seg = id.split('#');
    if (seg.length < 3) fail(`error parsing volume id: ${goQuote(id)}, should at least contain two #`);
    return [seg[0] as string, seg[1] as string, seg[2] as string, seg.length > 3 ? (seg[3] as string) : ''];
}

/** The account for a handle: from the secret name, else (logged upstream at V(5)) the secret name itself. */
function accountFor(secretName: string): string {
    try {
        return storageAccountName(secretName);
    } catch {
        return secretName;
    }
}

/** The azure-file translator. */
export const azureFile: InTreePlugin = {
    inTreeName: AZURE_FILE_IN_TREE,
    driverName: AZURE_FILE_DRIVER,
    sourceField: 'azureFile',

    /** StorageClass parameters pass unchanged. */
    translateStorageClass: (sc: V1StorageClass) => deepCopy(sc),

    translateInline(volume: V1Volume, podNamespace: string): V1PersistentVolume {
        const src = volume?.azureFile;
        if (!src) fail('volume is nil or Azure File not defined on volume');
        const ns = podNamespace || DEFAULT_SECRET_NAMESPACE;
        const id = ['', accountFor(src.secretName), src.shareName, volume.name, ns].join('#');
        return {
            metadata: { name: id },
            spec: {
                csi: csiSource({
                    driver: AZURE_FILE_DRIVER,
                    volumeHandle: id,
                    readOnly: src.readOnly,
                    volumeAttributes: { sharename: src.shareName },
                    nodeStageSecretRef: { name: src.secretName, namespace: ns },
                }),
                accessModes: ['ReadWriteMany'],
            },
        };
    },

    translatePV(pv: V1PersistentVolume): V1PersistentVolume {
        const src = pv?.spec?.azureFile;
        if (!src) fail('pv is nil or Azure File source not defined on pv');
        const rg = pv.metadata?.annotations?.[AZURE_FILE_RESOURCE_GROUP_ANNOTATION] ?? '';
        // A pod cannot be assumed here: the secret namespace comes from the source, else the claimRef.
        const ns = src.secretNamespace ?? pv.spec?.claimRef?.namespace ?? '';
        if (ns.length === 0) fail('could not find a secret namespace in PersistentVolumeSource or ClaimRef');
        const id = [rg, accountFor(src.secretName), src.shareName, pv.metadata?.name ?? '', ns].join('#');
        return swapSource(
            pv,
            'azureFile',
            csiSource({ driver: AZURE_FILE_DRIVER, volumeHandle: id, readOnly: src.readOnly, volumeAttributes: { sharename: src.shareName }, nodeStageSecretRef: { name: src.secretName, namespace: ns } }),
        );
    },

    translateCSIPV(pv: V1PersistentVolume): V1PersistentVolume {
        const csi = pv?.spec?.csi;
        if (!csi) fail('pv is nil or CSI source not defined on pv');
        let shareName = '';
        let secretName = '';
        let secretNamespace: string | undefined;
        for (const [k, v] of Object.entries(csi.volumeAttributes ?? {})) {
            switch (goLower(k)) {
                case 'sharename':
                    shareName = v;
                    break;
                case 'secretname':
                    secretName = v;
                    break;
                case 'secretnamespace':
                    secretNamespace = v;
                    break;
            }
        }
        let rg = '';
        if (csi.nodeStageSecretRef?.name) {
            secretName = csi.nodeStageSecretRef.name;
            secretNamespace = csi.nodeStageSecretRef.namespace ?? '';
        }
        if (shareName === '' || secretName === '') {
            const [group, account, share] = fileShareInfo(csi.volumeHandle);
            if (shareName === '') shareName = share;
            if (secretName === '') secretName = `azure-storage-account-${account}-secret`;
            rg = group;
        }
        const src: V1AzureFilePersistentVolumeSource = { secretName, shareName, secretNamespace: secretNamespace ?? DEFAULT_SECRET_NAMESPACE };
        if (csi.readOnly) src.readOnly = true;
        swapToInTree(pv, 'azureFile', src);
        const meta = (pv.metadata ??= {});
        meta.annotations ??= {};
        if (rg !== '') meta.annotations[AZURE_FILE_RESOURCE_GROUP_ANNOTATION] = rg;
        return pv;
    },

    canSupport: (pv) => !!pv?.spec?.azureFile,
    canSupportInline: (v) => !!v?.azureFile,
    repairVolumeHandle: (h) => h,
};
