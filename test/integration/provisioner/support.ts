// A built-in CSI driver served on a socket as its own process, for provisioner and attacher tests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILTIN_DRIVER_NAME } from '../../../src/csi/builtin.ts';
import { GrpcCsiClient } from '../../../src/csi/grpc.ts';
import { REPO_ROOT } from '../../../scripts/lib/testbin.ts';
import { childEnv, eventually } from '../../support/env.ts';

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

/** Starts `serve-builtin` on a fresh socket and waits until it answers Probe. */
export async function startDriver(extra: string[] = []): Promise<DriverProcess> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-csi-'));
    const endpoint = `unix://${path.join(dir, 'csi.sock')}`;
    const launch = () => {
        const c = spawn(process.execPath, [path.join(REPO_ROOT, 'src', 'csi', 'serve-builtin.ts'), `--endpoint=${endpoint}`, `--data-dir=${path.join(dir, 'data')}`, ...extra], {
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
