// Cancellation against a real API server: when the leader loses its lease in the middle of a
// slow CreateVolume, the call is cancelled (the driver sees its gRPC call cancelled) and the
// process writes nothing more to the API after it steps down.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status as Code } from '@grpc/grpc-js';
import type { Server } from '@grpc/grpc-js';
import { V1MicroTime } from '@kubernetes/client-node';
import { CsiError } from '../../src/csi/errors.ts';
import { serveDriver } from '../../src/csi/grpc.ts';
import { currentSignal } from '../../src/runtime/scope.ts';
import { ManagerProcess, auditEntries, eventually, managerArgs, useCluster } from '../support/env.ts';
import type { TestCluster } from '../support/env.ts';

const DRIVER = 'slow.csi.vcm.test';
const LEASE = { name: 'volume-controller-manager', namespace: 'kube-system' };

describe('cancellation: a lost lease stops work in flight', () => {
    let env: TestCluster;
    let server: Server;
    let mgr: ManagerProcess | undefined;
    let dir: string;
    const seen = { started: 0, cancelled: 0 };

    before(async () => {
        env = await useCluster({ audit: true });
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-slow-'));
        server = await serveDriver(
            {
                getPluginInfo: async () => ({ name: DRIVER, vendor_version: '0.0.1' }),
                getPluginCapabilities: async () => ['CONTROLLER_SERVICE'],
                probe: async () => true,
                controllerGetCapabilities: async () => ['CREATE_DELETE_VOLUME'],
                // Never finishes on its own: it ends when the caller cancels the call.
                createVolume: () =>
                    new Promise((_resolve, reject) => {
                        seen.started++;
                        const signal = currentSignal();
                        signal?.addEventListener('abort', () => {
                            seen.cancelled++;
                            reject(new CsiError(Code.CANCELLED, 'cancelled by the caller'));
                        });
                    }),
            },
            `unix://${path.join(dir, 'csi.sock')}`,
        );
        await env.clients.storage.createStorageClass({ body: { metadata: { name: 'slow' }, provisioner: DRIVER, volumeBindingMode: 'Immediate' } });
    });
    after(async () => {
        mgr?.kill('SIGKILL');
        server?.forceShutdown();
        await env.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it('a lease lost during a slow CreateVolume cancels the call, and nothing is written after the step-down', async () => {
        mgr = new ManagerProcess(
            managerArgs(env.cp.kubeconfig, ['--controllers=provisioner,pv-binder', `--csi-drivers=${DRIVER}=unix://${path.join(dir, 'csi.sock')}`, '--timeout=2m', '--log-level=debug']),
        );
        await mgr.waitForLog('Successfully acquired lease');
        await env.clients.core.createNamespacedPersistentVolumeClaim({
            namespace: 'default',
            body: { metadata: { name: 'c1' }, spec: { storageClassName: 'slow', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
        });
        await eventually('CreateVolume in flight', () => seen.started > 0, 30_000);

        // Another candidate takes the lease: our leader cannot renew and must step down.
        const lease = await env.clients.coordination.readNamespacedLease(LEASE);
        const now = new V1MicroTime();
        await env.clients.coordination.replaceNamespacedLease({ ...LEASE, body: { ...lease, spec: { ...lease.spec, holderIdentity: 'thief', renewTime: now, acquireTime: now, leaseDurationSeconds: 3600 } } });

        const lost = await mgr.waitForLog('Leader election lost; stopping controllers', 30_000);
        await eventually('the driver saw CreateVolume cancelled', () => seen.cancelled > 0, 30_000);
        // Positive signal that the reconcile has ended: the runtime logs its cancellation.
        await mgr.waitForLog('Reconcile cancelled: the controller is stopping', 30_000);

        const steppedDown = Date.parse(lost.time as string);
        const writes = auditEntries(env.cp).filter(
            (e) =>
                e.userAgent?.startsWith('volume-controller-manager/') &&
                !e.userAgent.includes('leader-election') &&
                ['create', 'update', 'patch', 'delete'].includes(e.verb) &&
                Date.parse(e.requestReceivedTimestamp ?? '') > steppedDown,
        );
        assert.deepEqual(writes.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`), [], 'no API write after the step-down');
        assert.equal(seen.started, 1, 'CreateVolume was not retried by a process that no longer leads');
        // The holder declared 3600 s: we must not take the lease back after our own 4 s flag.
        assert.equal((await env.clients.coordination.readNamespacedLease(LEASE)).spec?.holderIdentity, 'thief');
    });
});
