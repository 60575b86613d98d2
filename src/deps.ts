import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { KubeClients } from './kube/client.ts';
import type { EventBroadcaster } from './kube/events.ts';
import type { InformerFactory } from './kube/informer.ts';
import type { Metrics } from './http/metrics.ts';
import type { DriverRegistry } from './csi/registry.ts';

/** What every controller is built from: the process's one set of clients, caches and sinks. */
export interface ControllerDeps {
    config: Config;
    clients: KubeClients;
    /** Shared informers: one per resource type for the whole process. */
    informers: InformerFactory;
    events: EventBroadcaster;
    metrics: Metrics;
    /** The CSI drivers this process serves (configured endpoints and the built-in driver). */
    drivers: DriverRegistry;
    /** Root logger; controllers derive `child({ controller })`. */
    log: Logger;
}
