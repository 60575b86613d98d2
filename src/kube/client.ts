import fs from 'node:fs';
import {
    CoordinationV1Api,
    CoreV1Api,
    CustomObjectsApi,
    IsomorphicFetchHttpLibrary,
    KubeConfig,
    PatchStrategy,
    ServerConfiguration,
    StorageV1Api,
    Watch,
    createConfiguration,
    setHeaderOptions,
} from '@kubernetes/client-node';
import type { ApiType, ConfigurationOptions, HttpLibrary, Middleware, ObservableMiddleware } from '@kubernetes/client-node';
import { abortError, currentSignal, recordWrite } from '../runtime/scope.ts';
import { TokenBucket } from '../runtime/ratelimit.ts';
import type { Metrics } from '../http/metrics.ts';

/** The user agent we send, like client-go's `<binary>/<version>`. */
export const USER_AGENT = 'volume-controller-manager/0.1.0';

/**
 * Loads a kubeconfig: from `path` when given, else in-cluster (service account token) when
 * running in a pod, else the default loading rules ($KUBECONFIG, ~/.kube/config).
 * @throws Error when the file cannot be read or has no current cluster
 */
export function loadKubeConfig(path?: string): KubeConfig {
    const kc = new KubeConfig();
    if (path) {
        if (!fs.existsSync(path)) throw new Error(`kubeconfig ${path} does not exist`);
        kc.loadFromFile(path);
    } else if (process.env.KUBERNETES_SERVICE_HOST) {
        kc.loadFromCluster();
    } else {
        kc.loadFromDefault();
    }
    if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${path ?? '(default)'} has no current cluster`);
    poolConnections(kc);
    return kc;
}

/**
 * client-node 2.x builds a new undici Agent for every request (KubeConfig.createDispatcher), so
 * every API call pays a fresh TCP + TLS handshake and no connection is reused. We keep one
 * dispatcher per (server, TLS material) instead, as client-go keeps one transport: connections
 * are pooled and kept alive. Measured: static binding throughput roughly doubles.
 */
function poolConnections(kc: KubeConfig): void {
    const target = kc as unknown as { createDispatcher: (cluster: unknown, opts: Record<string, unknown>) => unknown };
    const original = target.createDispatcher.bind(kc);
    const pool = new Map<string, unknown>();
    target.createDispatcher = (cluster, opts) => {
        const c = cluster as { server?: string } | null;
        const key = JSON.stringify([c?.server, ...['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'].map((k) => String(opts[k] ?? ''))]);
        let d = pool.get(key);
        if (d === undefined) {
            d = original(cluster, opts);
            pool.set(key, d);
        }
        return d;
    };
}

/** API clients sharing one client-side rate limiter, as one client-go clientset does. */
export interface KubeClients {
    kc: KubeConfig;
    core: CoreV1Api;
    storage: StorageV1Api;
    coordination: CoordinationV1Api;
    /** Custom resources (e.g. snapshot.storage.k8s.io): plain JSON in and out, no client-node models. */
    custom: CustomObjectsApi;
    watch: Watch;
    /** The token bucket every API request waits on. */
    limiter: TokenBucket;
}

export interface ClientOptions {
    /** Requests per second (token refill rate; 0 = unlimited). */
    qps: number;
    /** Token bucket size. */
    burst: number;
    metrics?: Metrics;
}

/** How one set of API clients is built: its own bucket, user agent and per-request timeout. */
interface ApiFactoryOptions {
    limiter: TokenBucket;
    metrics?: Metrics;
    userAgent: string;
    /** Abort every request after this many ms (undefined: no client-side timeout). */
    requestTimeoutMs?: number;
}

/** Returns a constructor helper for typed APIs sharing one bucket, metrics and user agent. */
function apiFactory(kc: KubeConfig, o: ApiFactoryOptions): <T extends ApiType>(Api: new (c: ReturnType<typeof createConfiguration>) => T) => T {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const host = new URL(cluster.server).host;
    const m = o.metrics;
    const throttle: Middleware = {
        async pre(ctx) {
            // The reconcile's signal (src/runtime/scope.ts): once leadership is lost or the process
            // stops, no request starts, and the ones in flight are aborted.
            const scoped = currentSignal();
            if (scoped?.aborted) throw abortError(scoped);
            const start = performance.now();
            await o.limiter.wait(scoped);
            if (scoped?.aborted) throw abortError(scoped);
            m?.rateLimiterWait.observe({ verb: ctx.getHttpMethod() }, (performance.now() - start) / 1000);
            ctx.setHeaderParam('User-Agent', o.userAgent);
            const signals = [ctx.getSignal(), scoped, o.requestTimeoutMs !== undefined ? AbortSignal.timeout(o.requestTimeoutMs) : undefined].filter((x): x is AbortSignal => !!x);
            if (signals.length) ctx.setSignal(signals.length === 1 ? (signals[0] as AbortSignal) : AbortSignal.any(signals));
            return ctx;
        },
        async post(res) {
            return res;
        },
    };
    // Wrap the HTTP library to count every response by code and method (client-go's metric).
    const base = new IsomorphicFetchHttpLibrary();
    const httpApi: HttpLibrary = {
        send(req) {
            const method = req.getHttpMethod();
            return base.send(req).pipe((res) => {
                m?.restRequests.inc({ code: String(res.httpStatusCode), method, host });
                return res;
            });
        },
    };
    return (Api) =>
        recordingWrites(
            new Api(
                createConfiguration({
                    baseServer: new ServerConfiguration(cluster.server, {}),
                    httpApi,
                    authMethods: { default: kc },
                    promiseMiddleware: [throttle],
                }),
            ),
        );
}

const WRITE = /^(create|replace|patch|delete)/;

/**
 * Wraps an API so that every object a write (create, replace, patch, delete) returns is recorded
 * in the OwnWrites ledger of the controller whose reconcile made the call (src/runtime/own-writes.ts).
 */
function recordingWrites<T extends object>(api: T): T {
    return new Proxy(api, {
        get(target, prop, receiver) {
            const v = Reflect.get(target, prop, receiver) as unknown;
            if (typeof prop !== 'string' || typeof v !== 'function' || !WRITE.test(prop)) return v;
            return (...args: unknown[]) =>
                (v as (...a: unknown[]) => Promise<unknown>).apply(target, args).then((res) => {
                    recordWrite(res);
                    return res;
                });
        },
    });
}

/**
 * Creates typed API clients whose every request first waits for a token from one shared
 * bucket (client-go `flowcontrol.NewTokenBucketRateLimiter(qps, burst)`) and is counted in
 * `rest_client_requests_total`. Watches are not throttled (long-running).
 */
export function makeClients(kc: KubeConfig, opts: ClientOptions): KubeClients {
    const limiter = new TokenBucket(opts.qps, opts.burst);
    const make = apiFactory(kc, { limiter, metrics: opts.metrics, userAgent: USER_AGENT });
    return {
        kc,
        core: make(CoreV1Api),
        storage: make(StorageV1Api),
        coordination: make(CoordinationV1Api),
        custom: make(CustomObjectsApi),
        watch: new Watch(kc),
        limiter,
    };
}

/**
 * The client leader election uses: its own token bucket (same qps and burst as the controllers'
 * client, but never shared with their traffic, so a renewal never queues behind controller
 * requests), user agent `volume-controller-manager/<version>/leader-election`, and a per-request
 * timeout, so a request made outside a renewal round (acquiring) cannot hang. Mirrors
 * kube-controller-manager `options.Config`: a second clientset, `AddUserAgent(&config,
 * "leader-election")`, `config.Timeout = RenewDeadline`. (client-go's
 * `resourcelock.NewFromKubeconfig` uses max(1 s, renewDeadline / 2); on a CPU-starved machine a
 * renewal that takes longer than that but less than the renew deadline would then be aborted and
 * retried in vain, so we take kube-controller-manager's choice.)
 * @param requestTimeoutMs per-request timeout in ms (main passes the renew deadline)
 */
export function makeLeaderElectionClient(kc: KubeConfig, opts: ClientOptions & { requestTimeoutMs: number }): CoordinationV1Api {
    const limiter = new TokenBucket(opts.qps, opts.burst);
    return apiFactory(kc, { limiter, metrics: opts.metrics, userAgent: `${USER_AGENT}/leader-election`, requestTimeoutMs: opts.requestTimeoutMs })(CoordinationV1Api);
}

/** Per-call options that send a PATCH as a JSON merge patch (RFC 7386). */
export const MERGE_PATCH: ConfigurationOptions<ObservableMiddleware> = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Per-call options that send a PATCH as a strategic merge patch. */
export const STRATEGIC_MERGE_PATCH: ConfigurationOptions<ObservableMiddleware> = setHeaderOptions(
    'Content-Type',
    PatchStrategy.StrategicMergePatch,
);
