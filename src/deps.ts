import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { KubeClients } from './kube/client.ts';
import type { EventBroadcaster } from './kube/events.ts';
import type { InformerFactory } from './kube/informer.ts';
import type { Metrics } from './http/metrics.ts';

/** What every controller is built from: the process's one set of clients, caches and sinks. */
export interface ControllerDeps {
    config: Config;
    clients: KubeClients;
    /** Shared informers: one per resource type for the whole process. */
    informers: InformerFactory;
    events: EventBroadcaster;
    metrics: Metrics;
    /** Root logger; controllers derive `child({ controller })`. */
    log: Logger;
}
