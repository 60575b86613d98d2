// `volume-controller-manager node-plugin`: the built-in driver's node plugin (Identity + Node
// services of dir.csi.volume-controller-manager.io) on a unix socket, for the kubelet of this
// node, registered through node-driver-registrar as a vendor driver's node plugin is. It serves
// nothing of the controller side: that runs in the controller-manager. Both use the same shared
// data directory (docs/builtin-driver.md).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { BUILTIN_DRIVER_NAME, BuiltinNode } from '../src/csi/builtin.ts';
import { serveDriver } from '../src/csi/grpc.ts';
import { createLogger } from '../src/log.ts';

export const NODE_PLUGIN_HELP = `usage: volume-controller-manager node-plugin --endpoint=unix:///PATH/csi.sock --node-id=ID --data-dir=DIR [options]

Serves the node plugin (Identity + Node services) of the built-in CSI driver ${BUILTIN_DRIVER_NAME}
on a unix socket, for the kubelet (register it with node-driver-registrar). Needs root (it mounts).

  --endpoint=unix:///PATH       socket to serve on (its directory is created)
  --node-id=ID                  this node's ID in NodeGetInfo (normally the Node's name)
  --data-dir=DIR                the driver's shared data directory as mounted on this node: the same
                                storage as the controller-manager's --builtin-driver-dir
  --topology-key=KEY            report this topology key in NodeGetInfo (the controller-manager's
                                --builtin-driver-topology-key must name the same key); default none
  --topology-value=VALUE        this node's value of the key (default: the node ID)
  --log-level=LEVEL             trace, debug, info, warn or error (default info)
  -h, --help                    this text`;

const Options = z.object({
    endpoint: z.string().regex(/^(unix:\/\/)?\//, 'want a unix socket: unix:///path/csi.sock or /path/csi.sock'),
    'node-id': z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters (CSI size limit)'),
    'data-dir': z.string().min(1, 'must not be empty'),
    'topology-key': z.string().min(1).optional(),
    'topology-value': z.string().min(1).optional(),
    'log-level': z.enum(['trace', 'debug', 'info', 'warn', 'error']),
});

/**
 * Runs the node plugin until SIGTERM or SIGINT.
 * @param argv the arguments after `node-plugin`
 * @returns the exit code: 0 after a clean stop or --help, 2 for bad flags or an unusable data
 *   directory (one line on stderr saying which), 1 when the socket cannot be served
 */
export async function runNodePlugin(argv: string[]): Promise<number> {
    let values;
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                endpoint: { type: 'string' },
                'node-id': { type: 'string' },
                'data-dir': { type: 'string' },
                'topology-key': { type: 'string' },
                'topology-value': { type: 'string' },
                'log-level': { type: 'string', default: 'info' },
                help: { type: 'boolean', short: 'h' },
            },
        }));
    } catch (e) {
        console.error(`volume-controller-manager node-plugin: ${(e as Error).message}\n${NODE_PLUGIN_HELP}`);
        return 2;
    }
    if (values.help) {
        process.stdout.write(NODE_PLUGIN_HELP + '\n');
        return 0;
    }
    for (const required of ['endpoint', 'node-id', 'data-dir'] as const) {
        if (values[required] === undefined) {
            console.error(`volume-controller-manager node-plugin: --${required} is required\n${NODE_PLUGIN_HELP}`);
            return 2;
        }
    }
    const parsed = Options.safeParse(values);
    if (!parsed.success) {
        const i = parsed.error.issues[0];
        console.error(`volume-controller-manager node-plugin: invalid value ${JSON.stringify(values[i?.path[0] as keyof typeof values])} for --${String(i?.path[0])}: ${i?.message}`);
        return 2;
    }
    const o = parsed.data;
    const log = createLogger(o['log-level']).child({ role: 'node-plugin', driver: BUILTIN_DRIVER_NAME, node: o['node-id'] });
    let node: BuiltinNode;
    try {
        node = new BuiltinNode({
            dataDir: o['data-dir'],
            nodeId: o['node-id'],
            topologyKey: o['topology-key'],
            topologyValue: o['topology-value'],
            log,
        });
    } catch (e) {
        console.error(`volume-controller-manager node-plugin: invalid value ${JSON.stringify(o['data-dir'])} for --data-dir: ${(e as Error).message}`);
        return 2;
    }
    const socket = o.endpoint.replace(/^unix:\/\//, '');
    let server;
    try {
        fs.mkdirSync(path.dirname(socket), { recursive: true });
        server = await serveDriver(node, `unix://${socket}`);
    } catch (e) {
        console.error(`volume-controller-manager node-plugin: cannot serve ${o.endpoint}: ${(e as Error).message}`);
        return 1;
    }
    log.info({ endpoint: `unix://${socket}`, dataDir: path.resolve(o['data-dir']), topologyKey: o['topology-key'] }, 'Serving node plugin');
    await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
            log.info({ signal }, 'Shutting down');
            // In-flight calls (a mount) get a moment to finish; then the socket goes.
            const force = setTimeout(() => server.forceShutdown(), 5000);
            server.tryShutdown(() => {
                clearTimeout(force);
                resolve();
            });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
    });
    fs.rmSync(socket, { force: true });
    log.info('Stopped');
    return 0;
}
