// A built-in CSI driver served on a socket as its own process, for provisioner and attacher tests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILTIN_DRIVER_NAME } from '../../../src/csi/builtin.ts';
import { GrpcCsiClient } from '../../../src/csi/grpc.ts';
import { REPO_ROOT } from '../../../scripts/lib/testbin.ts';
import { after, before } from 'node:test';
import type { V1StorageClass } from '@kubernetes/client-node';
import { childEnv, eventually, useCluster } from '../../support/env.ts';
import type { ManagerProcess, TestCluster } from '../../support/env.ts';
import { Volumes, startManager, stopManager } from '../../support/volumes.ts';

export interface DriverProcess {
    endpoint: string;
    /** `--csi-drivers` value for the manager. */
    flag: string;
    client: GrpcCsiClient;
    child: ChildProcess;
    volumeCount(): Promise<number>;
    /** Kills the driver (SIGKILL) and starts it again on the same socket and data. */
    restart(): Promise<void>;
    stop(): Promise<void>;
}

/**
 * Starts `serve-builtin` on a fresh socket (or `o.endpoint`) and waits until it answers Probe.
 * Its data lives in a fresh directory, or in `o.dataDir` (several drivers may share one).
 */
export async function startDriver(extra: string[] = [], o: { dataDir?: string; endpoint?: string } = {}): Promise<DriverProcess> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-csi-'));
    const endpoint = o.endpoint ?? `unix://${path.join(dir, 'csi.sock')}`;
    const dataDir = o.dataDir ?? path.join(dir, 'data');
    const launch = () => {
        const c = spawn(process.execPath, [path.join(REPO_ROOT, 'src', 'csi', 'serve-builtin.ts'), `--endpoint=${endpoint}`, `--data-dir=${dataDir}`, ...extra], {
            stdio: 'ignore',
            env: childEnv(),
        });
        process.once('exit', () => c.kill('SIGKILL'));
        return c;
    };
    let child = launch();
    const client = new GrpcCsiClient(endpoint, 2000);
    await eventually('driver answers Probe', () => client.probe().catch(() => false), 20_000);
    return {
        endpoint,
        flag: `--csi-drivers=${BUILTIN_DRIVER_NAME}=${endpoint}`,
        client,
        get child() {
            return child;
        },
        async restart() {
            const exited = new Promise((r) => child.once('exit', r));
            child.kill('SIGKILL');
            await exited;
            child = launch();
            await eventually('driver answers Probe again', () => client.probe().catch(() => false), 20_000);
        },
        volumeCount: async () => (await client.listVolumes({})).entries.length,
        async stop() {
            client.close();
            child.kill('SIGTERM');
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** The built-in driver's name, and the controllers a provisioning test runs. */
export const DRIVER = BUILTIN_DRIVER_NAME;
export const PROVISIONING_CONTROLLERS = 'pv-binder,pvc-protection,pv-protection,provisioner';

/** A StorageClass for the built-in driver (Immediate, Delete unless overridden). */
export function storageClass(name: string, o: Partial<V1StorageClass> = {}): V1StorageClass {
    return { metadata: { name }, provisioner: DRIVER, reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate', ...o };
}

/** What withDriver gives a suite: filled in by its `before` hook. */
export interface DriverSuite {
    env: TestCluster;
    drv: DriverProcess;
    mgr: ManagerProcess;
    v: Volumes;
}

/**
 * Registers before/after hooks in the calling describe block: a control plane, the built-in
 * driver on a socket (driverArgs), and a manager running the provisioning controllers against
 * it (managerArgs; fast retries). With `manager: false` no manager is started.
 */
export function withDriver(o: { driverArgs?: string[]; managerArgs?: string[]; manager?: boolean } = {}): DriverSuite {
    const ctx = {} as DriverSuite;
    before(async () => {
        ctx.env = await useCluster();
        ctx.v = new Volumes(ctx.env.clients);
        ctx.drv = await startDriver(o.driverArgs ?? []);
        if (o.manager !== false) {
            ctx.mgr = await startManager(ctx.env, PROVISIONING_CONTROLLERS, [ctx.drv.flag, '--retry-interval-start=200ms', '--retry-interval-max=2s', ...(o.managerArgs ?? [])]);
        }
    });
    after(async () => {
        if (ctx.mgr) await stopManager(ctx.mgr);
        await ctx.drv?.stop();
        await ctx.env?.stop();
    });
    return ctx;
}
