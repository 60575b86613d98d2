// kubernetes.io/portworx-volume ⇄ pxd.portworx.com. Mirrors csi-translation-lib plugins/portworx.go.
import type { V1PersistentVolume, V1StorageClass, V1Volume } from '@kubernetes/client-node';
import { goLower } from '../go.ts';
import { csiSource, deepCopy, fail, swapSource, swapToInTree } from '../plugin.ts';
import type { InTreePlugin } from '../plugin.ts';

export const PORTWORX_DRIVER = 'pxd.portworx.com';
export const PORTWORX_IN_TREE = 'kubernetes.io/portworx-volume';
export const OPENSTORAGE_AUTH_SECRET_NAME = 'openstorage.io/auth-secret-name';
export const OPENSTORAGE_AUTH_SECRET_NAMESPACE = 'openstorage.io/auth-secret-namespace';

const SECRET_USES = ['provisioner', 'controller-publish', 'node-publish', 'node-stage', 'controller-expand', 'node-expand'];

/** The portworx translator. */
export const portworx: InTreePlugin = {
    inTreeName: PORTWORX_IN_TREE,
    driverName: PORTWORX_DRIVER,
    sourceField: 'portworxVolume',

    /**
     * The openstorage auth secret parameters become every `csi.storage.k8s.io/*-secret-name|namespace`
     * parameter; others pass; the provisioner becomes the CSI driver (unlike the other plugins).
     * @throws TranslationError for no class
     */
    translateStorageClass(input: V1StorageClass): V1StorageClass {
        if (!input) fail('sc is nil');
        const sc = deepCopy(input);
        const params: Record<string, string> = {};
        for (const [k, v] of Object.entries(sc.parameters ?? {})) {
            switch (goLower(k)) {
                case OPENSTORAGE_AUTH_SECRET_NAME:
                    for (const u of SECRET_USES) params[`csi.storage.k8s.io/${u}-secret-name`] = v;
                    break;
                case OPENSTORAGE_AUTH_SECRET_NAMESPACE:
                    for (const u of SECRET_USES) params[`csi.storage.k8s.io/${u}-secret-namespace`] = v;
                    break;
                default:
                    params[k] = v;
            }
        }
        if (Object.keys(params).length > 0) sc.parameters = params;
        sc.provisioner = PORTWORX_DRIVER;
        return sc;
    },

    /** readOnly is carried by the access mode only (ROX), as upstream. */
    translateInline(volume: V1Volume): V1PersistentVolume {
        const src = volume?.portworxVolume;
        if (!src) fail('volume is nil or PortworxVolume not defined on volume');
        return {
            metadata: { name: `${PORTWORX_DRIVER}-${src.volumeID}` },
            spec: {
                csi: csiSource({ driver: PORTWORX_DRIVER, volumeHandle: src.volumeID, fsType: src.fsType }),
                accessModes: [src.readOnly ? 'ReadOnlyMany' : 'ReadWriteOnce'],
            },
        };
    },

    /** The PV's openstorage auth secret annotations (both needed) become every CSI secret reference; readOnly is not carried, as upstream. */
    translatePV(pv: V1PersistentVolume): V1PersistentVolume {
        const src = pv?.spec?.portworxVolume;
        if (!src) fail('pv is nil or PortworxVolume not defined on pv');
        const ann = pv.metadata?.annotations ?? {};
        const ref =
            Object.hasOwn(ann, OPENSTORAGE_AUTH_SECRET_NAME) && Object.hasOwn(ann, OPENSTORAGE_AUTH_SECRET_NAMESPACE)
                ? { name: ann[OPENSTORAGE_AUTH_SECRET_NAME], namespace: ann[OPENSTORAGE_AUTH_SECRET_NAMESPACE] }
                : undefined;
        return swapSource(
            pv,
            'portworxVolume',
            csiSource({
                driver: PORTWORX_DRIVER,
                volumeHandle: src.volumeID,
                fsType: src.fsType,
                controllerPublishSecretRef: ref,
                nodeStageSecretRef: ref,
                nodePublishSecretRef: ref,
                controllerExpandSecretRef: ref,
                nodeExpandSecretRef: ref,
            }),
        );
    },

    translateCSIPV(pv: V1PersistentVolume): V1PersistentVolume {
        const csi = pv?.spec?.csi;
        if (!csi) fail('pv is nil or CSI source not defined on pv');
        const src: Record<string, unknown> = { volumeID: csi.volumeHandle };
        if (csi.fsType) src.fsType = csi.fsType;
        if (csi.readOnly) src.readOnly = true;
        return swapToInTree(pv, 'portworxVolume', src);
    },

    canSupport: (pv) => !!pv?.spec?.portworxVolume,
    canSupportInline: (v) => !!v?.portworxVolume,
    repairVolumeHandle: (h) => h,
};
