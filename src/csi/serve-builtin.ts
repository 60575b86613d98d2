#!/usr/bin/env node
// Serves the built-in CSI driver's controller role (Identity + Controller) on a socket, for
// csi-sanity and for running it as a separate process (its node role is the `node-plugin`
// subcommand, cmd/node-plugin.ts; both share --data-dir):
//   node src/csi/serve-builtin.ts --endpoint unix:///tmp/csi.sock --data-dir DIR
//   [--node-id node-1] [--known-nodes id1,id2|*] [--capacity 100Gi] [--topology-key KEY]
import { parseArgs } from 'node:util';
import { BuiltinDriver } from './builtin.ts';
import { serveDriver } from './grpc.ts';
import { parseQuantity } from '../storage/quantity.ts';

const { values } = parseArgs({
    options: {
        endpoint: { type: 'string' },
        'data-dir': { type: 'string' },
        'node-id': { type: 'string', default: 'node-1' },
        capacity: { type: 'string', default: '100Gi' },
        'topology-key': { type: 'string' },
        'known-nodes': { type: 'string' },
    },
});
if (!values.endpoint || !values['data-dir']) {
    console.error('usage: serve-builtin --endpoint unix:///path.sock --data-dir DIR [--node-id N] [--capacity 100Gi] [--topology-key K]');
    process.exit(2);
}
const driver = new BuiltinDriver({
    dataDir: values['data-dir'],
    nodeId: values['node-id'],
    // Node IDs ControllerPublish accepts: --known-nodes (comma list, or * for any), else --node-id.
    nodeIds: () => (values['known-nodes'] === '*' ? undefined : (values['known-nodes']?.split(',') ?? [values['node-id'] as string])),
    capacityBytes: parseQuantity(values.capacity as string),
    topologyKey: values['topology-key'],
});
const server = await serveDriver(driver, values.endpoint);
process.stderr.write(`serving ${values.endpoint}\n`);
const stop = () => {
    server.forceShutdown();
    process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
