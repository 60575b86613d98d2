import type { Logger } from 'pino';
import type { InformerFactory } from '../kube/informer.ts';
import type { LeaseElector } from '../kube/lease.ts';
import type { Metrics } from '../http/metrics.ts';
import { describeError } from '../kube/errors.ts';

/**
 * Something the manager runs (controller-runtime `Runnable`): `start` blocks until `signal`
 * aborts and its work has drained.
 */
export interface Runnable {
    name: string;
    start(signal: AbortSignal): Promise<void>;
}

export interface ManagerOptions {
    log: Logger;
    metrics: Metrics;
    informers: InformerFactory;
    /** Undefined when leader election is off (`--leader-elect=false`). */
    elector: LeaseElector | undefined;
    /** Lease name, for the leader_election_master_status label. */
    leaseName: string;
    /** Runnables every replica runs from start to shutdown, leader or not (e.g. the CSI driver registry's probing). */
    services?: Runnable[];
    /** Runnables that only the leader runs (every controller). */
    controllers: Runnable[];
    /** How long to wait for controllers to drain after a stop, in ms (default 30 s). */
    gracefulShutdownMs?: number;
}

/**
 * Runs the process: informers start at once (a standby keeps its caches warm); controllers
 * start only while we lead, after every informer has synced, and stop (drain) when leadership
 * is lost, after which we campaign again. Services run on every replica from the start (e.g.
 * the CSI driver registry probing its drivers, so a standby is ready when it takes over). On
 * `signal` abort: stop controllers, release the lease, stop informers, wait for the services.
 */
export async function runManager(o: ManagerOptions, signal: AbortSignal): Promise<void> {
    const grace = o.gracefulShutdownMs ?? 30_000;
    o.informers.start();
    const services = (o.services ?? []).map((r) =>
        r.start(signal).catch((err) => o.log.error({ service: r.name, err: describeError(err) }, 'Service stopped with an error')),
    );
    o.metrics.leaderStatus.set({ name: o.leaseName }, 0);

    const lead = async (leaderSignal: AbortSignal): Promise<void> => {
        o.metrics.leaderStatus.set({ name: o.leaseName }, 1);
        try {
            await o.informers.waitForSync(leaderSignal);
            if (leaderSignal.aborted) return;
            o.log.info({ controllers: o.controllers.map((c) => c.name) }, 'Caches synced; starting controllers');
            const runs = o.controllers.map((c) =>
                c.start(leaderSignal).catch((err) => o.log.error({ controller: c.name, err: describeError(err) }, 'Controller stopped with an error')),
            );
            await Promise.all(runs);
            // Hold leadership (and the gauge) until it is lost or we shut down.
            if (!leaderSignal.aborted) await new Promise((r) => leaderSignal.addEventListener('abort', r, { once: true }));
        } finally {
            o.metrics.leaderStatus.set({ name: o.leaseName }, 0);
        }
    };

    const withGrace = async (p: Promise<void>) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((r) => {
            signal.addEventListener(
                'abort',
                () => {
                    timer = setTimeout(() => {
                        o.log.warn({ graceMs: grace }, 'Controllers did not drain in time; stopping anyway');
                        r();
                    }, grace);
                    timer.unref();
                },
                { once: true },
            );
        });
        await Promise.race([p, timeout]);
        clearTimeout(timer);
    };

    try {
        if (o.elector) await withGrace(o.elector.run(signal, lead));
        else await withGrace(lead(signal));
    } finally {
        o.informers.stop();
        await Promise.all(services);
    }
}
