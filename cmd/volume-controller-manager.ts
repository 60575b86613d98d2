#!/usr/bin/env node
// volume-controller-manager: the Kubernetes volume controllers in one leader-elected process.
// The entry point wires the runtime (src/) to the controllers (controllers/); neither imports it.
// Subcommand: `node-plugin` serves the built-in CSI driver's node plugin (cmd/node-plugin.ts).
import { CONTROLLERS } from '../controllers/index.ts';
import { ConfigError, helpText, loadConfig } from '../src/config.ts';
import type { Config } from '../src/config.ts';
import type { ControllerDeps } from '../src/deps.ts';
import { HealthServer } from '../src/http/server.ts';
import { Metrics } from '../src/http/metrics.ts';
import { loadKubeConfig, makeClients, makeLeaderElectionClient } from '../src/kube/client.ts';
import { describeError } from '../src/kube/errors.ts';
import { EventBroadcaster } from '../src/kube/events.ts';
import { InformerFactory } from '../src/kube/informer.ts';
import { LeaseElector } from '../src/kube/lease.ts';
import { createLogger } from '../src/log.ts';
import { BUILTIN_DRIVER_NAME, BuiltinDriver, prepareDataDir } from '../src/csi/builtin.ts';
import { DriverRegistry } from '../src/csi/registry.ts';
import { RESOURCES } from '../src/kube/resources.ts';
import { parseQuantity } from '../src/storage/quantity.ts';
import { runManager } from '../src/runtime/manager.ts';
import type { Runnable } from '../src/runtime/manager.ts';

/** How long shutdown waits for queued Events to be written, ms. */
const EVENT_FLUSH_MS = 1000;

async function main(): Promise<number> {
    let config: Config | 'help';
    try {
        config = loadConfig(process.argv.slice(2));
    } catch (e) {
        if (e instanceof ConfigError) {
            console.error(`volume-controller-manager: ${e.message}`);
            return 2;
        }
        throw e;
    }
    if (config === 'help') {
        process.stdout.write(helpText() + '\n');
        return 0;
    }
    if (config.builtinDriverDir) {
        try {
            prepareDataDir(config.builtinDriverDir);
        } catch (e) {
            console.error(`volume-controller-manager: invalid value ${JSON.stringify(config.builtinDriverDir)} for --builtin-driver-dir: ${(e as Error).message}`);
            return 2;
        }
    }
    const log = createLogger(config.logLevel);
    process.on('unhandledRejection', (err) => log.error({ err: describeError(err) }, 'Unhandled promise rejection'));

    let kc;
    try {
        kc = loadKubeConfig(config.kubeconfig);
    } catch (e) {
        console.error(`volume-controller-manager: --kubeconfig: ${(e as Error).message}`);
        return 1;
    }
    const metrics = new Metrics();
    const clients = makeClients(kc, { qps: config.kubeApiQps, burst: config.kubeApiBurst, metrics });
    const informers = new InformerFactory(clients, { log, metrics });
    const events = new EventBroadcaster({ api: clients.core, log, metrics, host: config.identity });
    const drivers = new DriverRegistry(log, { startupGraceMs: config.csiTimeoutMs });
    drivers.addEndpoints(config.csiDrivers, config.csiTimeoutMs);
    if (config.builtinDriverDir) {
        // Nodes the built-in driver can publish to: those whose CSINode registers it.
        const csiNodes = informers.for(RESOURCES.csiNodes);
        const builtin = new BuiltinDriver({
            dataDir: config.builtinDriverDir,
            capacityBytes: parseQuantity(config.builtinDriverCapacity),
            topologyKey: config.builtinDriverTopologyKey,
            nodeIds: () =>
                csiNodes
                    .list()
                    .map((n) => n.spec?.drivers?.find((d) => d.name === BUILTIN_DRIVER_NAME)?.nodeID)
                    .filter((x): x is string => !!x),
        });
        drivers.add(BUILTIN_DRIVER_NAME, 'builtin', builtin);
    }
    const deps: ControllerDeps = { config, clients, informers, events, metrics, log, drivers };

    const controllers: Runnable[] = [];
    for (const name of config.controllers) {
        const factory = CONTROLLERS[name];
        if (!factory) {
            log.warn({ controller: name }, 'Controller not implemented yet; skipping');
            continue;
        }
        controllers.push(factory(deps));
    }

    const elector = config.leaderElect
        ? new LeaseElector({
              // Its own client and token bucket: renewals never wait behind controller traffic.
              api: makeLeaderElectionClient(kc, {
                  qps: config.kubeApiQps,
                  burst: config.kubeApiBurst,
                  metrics,
                  requestTimeoutMs: config.renewDeadlineMs,
              }),
              namespace: config.leaseNamespace,
              name: config.leaseName,
              identity: config.identity,
              leaseDurationMs: config.leaseDurationMs,
              renewDeadlineMs: config.renewDeadlineMs,
              retryPeriodMs: config.retryPeriodMs,
              log,
              onNewLeader: (id) => log.info({ leader: id }, 'New leader elected'),
          })
        : undefined;

    const server = new HealthServer(metrics, log);
    server.addHealthCheck('ping', () => undefined);
    if (elector) server.addHealthCheck('leaderElection', () => elector.check());
    server.addReadyCheck('informer-sync', () => {
        const u = informers.unsynced();
        return u.length ? `caches not synced: ${u.join(', ')}` : undefined;
    });
    try {
        if (config.metricsBindAddress === config.healthProbeBindAddress) {
            await server.listen(config.metricsBindAddress, ['/metrics', '/healthz', '/readyz']);
        } else {
            await server.listen(config.metricsBindAddress, ['/metrics']);
            await server.listen(config.healthProbeBindAddress, ['/healthz', '/readyz']);
        }
    } catch (e) {
        console.error(`volume-controller-manager: cannot listen: ${(e as Error).message}`);
        return 1;
    }

    const stop = new AbortController();
    let signals = 0;
    const onSignal = (sig: string) => {
        signals++;
        if (signals > 1) {
            log.warn({ signal: sig }, 'Second signal; exiting at once');
            process.exit(1);
        }
        log.info({ signal: sig }, 'Shutting down');
        stop.abort();
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));

    log.info(
        { identity: config.identity, controllers: config.controllers, leaderElect: config.leaderElect, qps: config.kubeApiQps, burst: config.kubeApiBurst },
        'Starting volume-controller-manager',
    );
    await runManager({ log, metrics, informers, elector, leaseName: config.leaseName, services: [drivers], controllers }, stop.signal);
    // A short, bounded flush: the Lease is already released, and events still waiting on the
    // API (client-side throttling, an outage) must not hold up the exit.
    const abandoned = await events.flush(EVENT_FLUSH_MS);
    if (abandoned > 0) {
        metrics.eventsDropped.inc({ reason: 'shutdown' }, abandoned);
        log.warn({ abandoned, capMs: EVENT_FLUSH_MS }, 'Event flush cut short; events not written');
    }
    await server.close();
    drivers.close();
    log.info('Stopped');
    return 0;
}

// `volume-controller-manager node-plugin …` runs the built-in driver's node plugin instead (cmd/node-plugin.ts).
const entry = process.argv[2] === 'node-plugin' ? import('./node-plugin.ts').then((m) => m.runNodePlugin(process.argv.slice(3))) : main();
entry.then(
    (code) => {
        process.exitCode = code;
        // Let pino flush, then make sure nothing (sockets, timers) holds the process open.
        setTimeout(() => process.exit(code), 200).unref();
    },
    (err) => {
        console.error(`volume-controller-manager: fatal: ${(err as Error)?.stack ?? String(err)}`);
        process.exit(1);
    },
);
