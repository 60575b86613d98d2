// Side by side with kube-controller-manager v1.36.3 on the same in-tree objects: two fresh control
// planes, one running kube-controller-manager's persistentvolume-binder, pv-protection,
// pvc-protection and attachdetach controllers, the other ours; the same StorageClass, in-tree EBS,
// GCE PD and RBD volumes, claims, nodes (one CSINode listing kubernetes.io/aws-ebs as migrated, one
// not) and pods are created on both. Once each side shows the same positive signals (phases,
// events, VolumeAttachments), the annotations and finalizers of every claim and volume, the
// volume phases and messages, the claim events and the VolumeAttachments (name, attacher, node,
// source) must be equal. Skips, saying so, when kube-controller-manager is not built (`npm run
// testbin -- --bench`). DUMP_SNAPSHOT=1 prints what kube-controller-manager wrote.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { testbinDir } from '../../../scripts/lib/testbin.ts';
import type { KubeClients } from '../../../src/kube/client.ts';
import { childEnv, eventually, useCluster } from '../../support/env.ts';
import type { TestCluster } from '../../support/env.ts';
import { startManager, stopManager, Volumes } from '../../support/volumes.ts';
import type { ManagerProcess } from '../../support/env.ts';

const KCM = path.join(testbinDir(), 'kube-controller-manager');
const SKIP = fs.existsSync(KCM) ? false : `kube-controller-manager not built at ${KCM} (npm run testbin -- --bench)`;

const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
const BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
const MIGRATED_TO = 'pv.kubernetes.io/migrated-to';

function pv(name: string, source: object, o: { ann?: Record<string, string>; finalizers?: string[]; policy?: string; cls?: string; claimRef?: object } = {}): V1PersistentVolume {
    return {
        metadata: { name, annotations: o.ann, finalizers: o.finalizers },
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: o.policy ?? 'Delete', storageClassName: o.cls ?? '', claimRef: o.claimRef, ...source },
    } as V1PersistentVolume;
}
function pvc(name: string, o: { ann?: Record<string, string>; cls?: string; volumeName?: string } = {}): V1PersistentVolumeClaim {
    return { metadata: { name, annotations: o.ann }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: o.cls ?? '', volumeName: o.volumeName } };
}
function pod(name: string, node: string, volumes: NonNullable<V1Pod['spec']>['volumes']): V1Pod {
    return { metadata: { name }, spec: { nodeName: node, containers: [{ name: 'app', image: 'registry.invalid/app:1' }], volumes } };
}
const ebs = (id: string) => ({ awsElasticBlockStore: { volumeID: id, fsType: 'ext4' } });
const gone = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: 'default', name: 'gone', uid: '6f0c5e9e-0000-4000-8000-000000000001' };

/** The same objects, created on one cluster. */
async function createScenario(c: KubeClients): Promise<void> {
    await c.storage.createStorageClass({ body: { metadata: { name: 'gp2' }, provisioner: 'kubernetes.io/aws-ebs', parameters: { type: 'gp2' }, volumeBindingMode: 'Immediate' } });
    for (const [n, migrated] of [
        ['n1', true],
        ['n2', false],
    ] as const) {
        await c.core.createNode({ body: { metadata: { name: n, annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } } } });
        await c.storage.createCSINode({
            body: { metadata: { name: n, ...(migrated ? { annotations: { 'storage.alpha.kubernetes.io/migrated-plugins': 'kubernetes.io/aws-ebs' } } : {}) }, spec: { drivers: [{ name: 'ebs.csi.aws.com', nodeID: `i-${n}` }] } },
        });
    }
    const pvs = [
        // provisioned in-tree before the switch, with the in-tree finalizer
        // (pre-bound to its claim, as a provisioned PV is, so that new-c cannot take it)
        pv('dyn', ebs('aws://us-east-1a/vol-0d00000000000001'), {
            ann: { [PROVISIONED_BY]: 'kubernetes.io/aws-ebs' },
            finalizers: ['kubernetes.io/pv-controller'],
            cls: 'gp2',
            claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: 'default', name: 'dyn-c' },
        }),
        // created by hand
        pv('static', ebs('vol-0500000000000001'), { policy: 'Retain' }),
        // Released: its claim is gone
        pv('rel', ebs('vol-0e00000000000001'), { ann: { [PROVISIONED_BY]: 'kubernetes.io/aws-ebs' }, finalizers: ['kubernetes.io/pv-controller'], cls: 'gp2', claimRef: gone }),
        pv('static-rel', ebs('vol-0f00000000000001'), { claimRef: { ...gone, name: 'gone2' } }),
        // a GCE PD provisioned in-tree, Retain
        pv('gce', { gcePersistentDisk: { pdName: 'disk-1' } }, { ann: { [PROVISIONED_BY]: 'kubernetes.io/gce-pd' }, finalizers: ['kubernetes.io/pv-controller'], policy: 'Retain', cls: 'standard' }),
        // rollback: migrated-to of a plugin not migrated, the external provisioner's finalizer
        pv('rbd-old', { rbd: { monitors: ['m:6789'], image: 'img' } }, { ann: { [PROVISIONED_BY]: 'kubernetes.io/rbd', [MIGRATED_TO]: 'rbd.csi.ceph.com' }, finalizers: ['external-provisioner.volume.kubernetes.io/finalizer'], cls: 'ceph' }),
    ];
    for (const body of pvs) await c.core.createPersistentVolume({ body });
    const claims = [
        pvc('dyn-c', { cls: 'gp2', volumeName: 'dyn', ann: { [STORAGE_PROVISIONER]: 'kubernetes.io/aws-ebs', [BETA_STORAGE_PROVISIONER]: 'kubernetes.io/aws-ebs' } }),
        pvc('static-c'),
        pvc('new-c', { cls: 'gp2' }),
        pvc('rbd-c', { cls: 'nothing', ann: { [STORAGE_PROVISIONER]: 'kubernetes.io/rbd', [MIGRATED_TO]: 'rbd.csi.ceph.com' } }),
    ];
    for (const body of claims) await c.core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body });
    await c.core.createNamespacedPod({ namespace: 'default', body: pod('pa', 'n1', [{ name: 'data', persistentVolumeClaim: { claimName: 'dyn-c' } }]) });
    await c.core.createNamespacedPod({ namespace: 'default', body: pod('pb', 'n2', [{ name: 'data', persistentVolumeClaim: { claimName: 'static-c' } }]) });
    await c.core.createNamespacedPod({ namespace: 'default', body: pod('pi', 'n1', [{ name: 'scratch', awsElasticBlockStore: { volumeID: 'aws:///vol-0c00000000000001', fsType: 'xfs' } }]) });
}

/** Positive signals both sides must show before the comparison. */
async function settled(v: Volumes): Promise<void> {
    await v.waitClaimPhase('dyn-c', 'Bound', 60_000);
    await v.waitClaimPhase('static-c', 'Bound', 60_000);
    await v.waitVolumePhase('rel', 'Released', 60_000);
    await v.waitVolumePhase('static-rel', 'Failed', 60_000);
    await v.waitEvent('PersistentVolumeClaim', 'new-c', 'ExternalProvisioning', 60_000);
    await v.waitEvent('PersistentVolumeClaim', 'rbd-c', 'ProvisioningFailed', 60_000);
    await eventually('migration annotations on gce and rbd-old', async () => (await v.pv('gce')).metadata?.annotations?.[MIGRATED_TO] && !(await v.pv('rbd-old')).metadata?.annotations?.[MIGRATED_TO], 60_000);
    await eventually('three VolumeAttachments', async () => (await v.c.storage.listVolumeAttachment()).items.length === 3, 60_000);
}

/** What is compared: per object, annotations, sorted finalizers, phase and message; claim events; VolumeAttachments. */
async function snapshot(v: Volumes): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const p of (await v.c.core.listPersistentVolume()).items) {
        out[`pv/${p.metadata?.name}`] = { annotations: p.metadata?.annotations ?? {}, finalizers: [...(p.metadata?.finalizers ?? [])].sort(), phase: p.status?.phase, message: p.status?.message, claim: p.spec?.claimRef?.name };
    }
    for (const c of (await v.c.core.listNamespacedPersistentVolumeClaim({ namespace: 'default' })).items) {
        const events = (await v.events('PersistentVolumeClaim', c.metadata?.name ?? '')).map((e) => `${e.type} ${e.reason} ${e.message}`).sort();
        out[`pvc/${c.metadata?.name}`] = { annotations: c.metadata?.annotations ?? {}, finalizers: [...(c.metadata?.finalizers ?? [])].sort(), phase: c.status?.phase, volumeName: c.spec?.volumeName, events: [...new Set(events)] };
    }
    for (const a of (await v.c.storage.listVolumeAttachment()).items) {
        out[`va/${a.metadata?.name}`] = JSON.parse(JSON.stringify({ attacher: a.spec?.attacher, nodeName: a.spec?.nodeName, source: a.spec?.source }));
    }
    return out;
}

/** kube-controller-manager with the volume controllers only, logging into the cluster's directory. */
function startKCM(env: TestCluster): { child: ChildProcess; stop(): Promise<void> } {
    const log = fs.openSync(path.join(env.dir, 'kube-controller-manager.log'), 'a');
    const child = spawn(
        KCM,
        [
            `--kubeconfig=${env.cp.kubeconfig}`,
            '--leader-elect=false',
            '--controllers=persistentvolume-binder,attachdetach,pv-protection,pvc-protection',
            '--use-service-account-credentials=false',
            '--secure-port=0',
            '--v=2',
        ],
        { stdio: ['ignore', log, log], env: childEnv() },
    );
    fs.closeSync(log);
    const reap = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
    process.once('exit', reap);
    return {
        child,
        async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const done = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            await done;
            process.removeListener('exit', reap);
        },
    };
}

describe('CSI migration side by side with kube-controller-manager v1.36.3', { skip: SKIP }, () => {
    let upstream: TestCluster;
    let ours: TestCluster;
    let kcm: ReturnType<typeof startKCM> | undefined;
    let mgr: ManagerProcess | undefined;
    before(async () => {
        [upstream, ours] = await Promise.all([useCluster({ crds: false }), useCluster({ crds: false })]);
        kcm = startKCM(upstream);
        mgr = await startManager(ours, 'pv-binder,pvc-protection,pv-protection,attach-detach');
    });
    after(async () => {
        await kcm?.stop();
        if (mgr) await stopManager(mgr);
        await Promise.all([upstream?.stop(), ours?.stop()]);
    });

    it('the same annotations, finalizers, phases, claim events and VolumeAttachments', async () => {
        const up = new Volumes(upstream.clients);
        const us = new Volumes(ours.clients);
        await Promise.all([createScenario(upstream.clients), createScenario(ours.clients)]);
        await Promise.all([settled(up), settled(us)]);
        const [a, b] = await Promise.all([snapshot(up), snapshot(us)]);
        // kube-controller-manager did the work we compare against (not two idle sides)
        assert.equal((a['pv/dyn'] as { annotations: Record<string, string> }).annotations[MIGRATED_TO], 'ebs.csi.aws.com');
        assert.equal(Object.keys(a).filter((k) => k.startsWith('va/')).length, 3);
        if (process.env.DUMP_SNAPSHOT) console.log(JSON.stringify(a, null, 1));
        assert.deepEqual(b, a);
    });
});
