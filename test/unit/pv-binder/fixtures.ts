// Builders for PV binder unit tables (pure data; no API server involved).
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1StorageClass } from '@kubernetes/client-node';
import { VolumeIndex, explainNoMatch } from '../../../controllers/pv-binder/volume-index.ts';
import type { BinderWorld } from '../../../controllers/pv-binder/decide.ts';

export function pv(name: string, size: string, o: { modes?: string[]; cls?: string; phase?: string; claimRef?: { name: string; namespace?: string; uid?: string }; labels?: Record<string, string>; mode?: string; ann?: Record<string, string>; policy?: string; deleting?: boolean; csi?: boolean } = {}): V1PersistentVolume {
    return {
        metadata: { name, labels: o.labels, annotations: o.ann, ...(o.deleting ? { deletionTimestamp: new Date() } : {}) },
        spec: {
            capacity: { storage: size },
            accessModes: o.modes ?? ['ReadWriteOnce'],
            storageClassName: o.cls ?? '',
            volumeMode: o.mode,
            persistentVolumeReclaimPolicy: o.policy ?? 'Retain',
            ...(o.claimRef ? { claimRef: { namespace: 'ns', ...o.claimRef } } : {}),
            ...(o.csi ? { csi: { driver: 'd', volumeHandle: 'h' } } : { hostPath: { path: `/tmp/${name}` } }),
        },
        status: { phase: o.phase ?? 'Available' },
    };
}

export function pvc(name: string, size: string, o: { modes?: string[]; cls?: string | null; volumeName?: string; uid?: string; ann?: Record<string, string>; selector?: V1PersistentVolumeClaim['spec'] extends infer S ? S extends { selector?: infer X } ? X : never : never; mode?: string; phase?: string } = {}): V1PersistentVolumeClaim {
    return {
        metadata: { name, namespace: 'ns', uid: o.uid ?? `uid-${name}`, annotations: o.ann },
        spec: {
            accessModes: o.modes ?? ['ReadWriteOnce'],
            resources: { requests: { storage: size } },
            ...(o.cls === null ? {} : { storageClassName: o.cls ?? '' }),
            volumeName: o.volumeName,
            selector: o.selector,
            volumeMode: o.mode,
        },
        status: { phase: o.phase ?? 'Pending' },
    };
}

export function sc(name: string, provisioner: string, o: { mode?: string; def?: boolean } = {}): V1StorageClass {
    return {
        metadata: { name, annotations: o.def ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {}, creationTimestamp: new Date('2025-01-01') },
        provisioner,
        volumeBindingMode: o.mode ?? 'Immediate',
    };
}

export function pod(name: string, claim: string, o: { node?: string; phase?: string } = {}): V1Pod {
    return {
        metadata: { name, namespace: 'ns' },
        spec: { nodeName: o.node, containers: [{ name: 'c' }], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: claim } }] },
        status: { phase: o.phase ?? 'Pending' },
    };
}

/** An in-memory BinderWorld over plain lists, using the real VolumeIndex. */
export function world(volumes: V1PersistentVolume[] = [], classes: V1StorageClass[] = [], pods: V1Pod[] = []): BinderWorld {
    const index = new VolumeIndex();
    for (const v of volumes) index.upsert(v);
    return {
        volume: (n) => volumes.find((v) => v.metadata?.name === n),
        storageClass: (n) => classes.find((c) => c.metadata?.name === n),
        storageClasses: () => classes,
        podsUsingClaim: (ns, n) => pods.filter((p) => p.metadata?.namespace === ns && p.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === n)),
        findBestMatch: (c, d) => index.findBestMatch(c, d),
        explainNoMatch: (c) => explainNoMatch(c, volumes),
    };
}
