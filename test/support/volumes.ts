// Object builders and readers for volume integration tests (real API server).
import type { CoreV1Event, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../../src/kube/client.ts';
import { after, before } from 'node:test';
import { ManagerProcess, eventually, managerArgs, useCluster } from './env.ts';
import type { TestCluster } from './env.ts';

export interface PVOpts {
    size?: string;
    modes?: string[];
    cls?: string;
    policy?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    claimRef?: { namespace: string; name: string; uid?: string };
    csi?: { driver: string; volumeHandle: string };
    volumeMode?: string;
}

export function pvObject(name: string, o: PVOpts = {}): V1PersistentVolume {
    return {
        metadata: { name, labels: o.labels, annotations: o.annotations },
        spec: {
            capacity: { storage: o.size ?? '1Gi' },
            accessModes: o.modes ?? ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: o.policy ?? 'Retain',
            storageClassName: o.cls ?? '',
            volumeMode: o.volumeMode,
            ...(o.claimRef ? { claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', ...o.claimRef } } : {}),
            ...(o.csi ? { csi: o.csi } : { hostPath: { path: `/tmp/vcm-test/${name}` } }),
        },
    };
}

export interface PVCOpts {
    size?: string;
    modes?: string[];
    /** null = no class at all (default-class candidate) */
    cls?: string | null;
    volumeName?: string;
    selector?: { matchLabels?: Record<string, string> };
    annotations?: Record<string, string>;
}

export function pvcObject(name: string, o: PVCOpts = {}): V1PersistentVolumeClaim {
    return {
        metadata: { name, annotations: o.annotations },
        spec: {
            accessModes: o.modes ?? ['ReadWriteOnce'],
            resources: { requests: { storage: o.size ?? '1Gi' } },
            ...(o.cls === null ? {} : { storageClassName: o.cls ?? '' }),
            volumeName: o.volumeName,
            selector: o.selector,
        },
    };
}

export function podObject(name: string, claims: string[], nodeName?: string): V1Pod {
    return {
        metadata: { name },
        spec: {
            nodeName,
            containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
            volumes: claims.map((c, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: c } })),
        },
    };
}

/** Typed shortcuts over the admin clients. */
export class Volumes {
    readonly c: KubeClients;
    readonly ns: string;
    constructor(c: KubeClients, ns = 'default') {
        this.c = c;
        this.ns = ns;
    }
    createPV(name: string, o?: PVOpts) {
        return this.c.core.createPersistentVolume({ body: pvObject(name, o) });
    }
    createPVC(name: string, o?: PVCOpts) {
        return this.c.core.createNamespacedPersistentVolumeClaim({ namespace: this.ns, body: pvcObject(name, o) });
    }
    pv(name: string) {
        return this.c.core.readPersistentVolume({ name });
    }
    pvc(name: string) {
        return this.c.core.readNamespacedPersistentVolumeClaim({ name, namespace: this.ns });
    }
    pvExists(name: string): Promise<boolean> {
        return this.pv(name).then(() => true, () => false);
    }
    pvcExists(name: string): Promise<boolean> {
        return this.pvc(name).then(() => true, () => false);
    }
    async waitClaimPhase(name: string, phase: string, timeoutMs = 20_000): Promise<V1PersistentVolumeClaim> {
        return eventually(`claim ${name} ${phase}`, async () => {
            const c = await this.pvc(name);
            return c.status?.phase === phase ? c : undefined;
        }, timeoutMs);
    }
    async waitVolumePhase(name: string, phase: string, timeoutMs = 20_000): Promise<V1PersistentVolume> {
        return eventually(`volume ${name} ${phase}`, async () => {
            const v = await this.pv(name);
            return v.status?.phase === phase ? v : undefined;
        }, timeoutMs);
    }
    /** Events about an object (PVs' events live in the default namespace). */
    async events(kind: 'PersistentVolumeClaim' | 'PersistentVolume' | 'Pod', name: string): Promise<CoreV1Event[]> {
        const ns = kind === 'PersistentVolume' ? 'default' : this.ns;
        const l = await this.c.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name},involvedObject.kind=${kind}` });
        return l.items;
    }
    async waitEvent(kind: 'PersistentVolumeClaim' | 'PersistentVolume' | 'Pod', name: string, reason: string, timeoutMs = 20_000): Promise<CoreV1Event> {
        return eventually(`${reason} event on ${kind} ${name}`, async () => (await this.events(kind, name)).find((e) => e.reason === reason), timeoutMs);
    }
}

/** Starts volume-controller-manager with the given controllers against the test cluster. */
export async function startManager(env: TestCluster, controllers: string, extra: string[] = []): Promise<ManagerProcess> {
    const p = new ManagerProcess(managerArgs(env.cp.kubeconfig, [`--controllers=${controllers}`, '--kube-api-qps=500', '--kube-api-burst=1000', ...extra]));
    await p.waitForLog('Caches synced; starting controllers', 30_000);
    return p;
}

/** Stops a manager gracefully and checks it exited 0. */
export async function stopManager(p: ManagerProcess): Promise<void> {
    if (process.env.TEST_SHOW_LOGS) console.log(p.raw.join('\n'));
    if (p.child.exitCode !== null) return;
    p.kill('SIGTERM');
    await p.exited;
}

/** What withManager gives a suite: filled in by its `before` hook. */
export interface ManagedCluster {
    env: TestCluster;
    mgr: ManagerProcess;
    v: Volumes;
}

/**
 * Registers, in the calling describe block, a `before` hook that starts a fresh control plane and
 * a volume-controller-manager with these controllers, and an `after` hook that stops both.
 * Call it from a describe body (not from inside a hook).
 */
export function withManager(controllers: string, extra: string[] = []): ManagedCluster {
    const ctx = {} as ManagedCluster;
    before(async () => {
        ctx.env = await useCluster();
        ctx.v = new Volumes(ctx.env.clients);
        ctx.mgr = await startManager(ctx.env, controllers, extra);
    });
    after(async () => {
        if (ctx.mgr) await stopManager(ctx.mgr);
        await ctx.env?.stop();
    });
    return ctx;
}
