import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';

/** A named health check; returns an error string when unhealthy, undefined when healthy. */
export type Check = () => string | undefined;

/**
 * Serves `/healthz`, `/readyz` (200 "ok" or 500 with the failing checks, like component-base
 * healthz; `?verbose` lists every check) and `/metrics` (Prometheus text).
 */
export class HealthServer {
    private readonly health = new Map<string, Check>();
    private readonly ready = new Map<string, Check>();
    private servers: http.Server[] = [];

    private readonly metrics: Metrics;
    private readonly log: Logger;

    constructor(metrics: Metrics, log: Logger) {
        this.metrics = metrics;
        this.log = log;
    }

    /** Adds a liveness check (also counted for readiness). */
    addHealthCheck(name: string, check: Check): void {
        this.health.set(name, check);
    }

    /** Adds a readiness-only check. */
    addReadyCheck(name: string, check: Check): void {
        this.ready.set(name, check);
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse, paths: Set<string>): Promise<void> {
        const url = new URL(req.url ?? '/', 'http://x');
        if (!paths.has(url.pathname)) {
            res.writeHead(404).end('not found\n');
            return;
        }
        if (url.pathname === '/metrics') {
            const body = await this.metrics.registry.metrics();
            res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(body);
            return;
        }
        const checks = url.pathname === '/healthz' ? [...this.health] : [...this.health, ...this.ready];
        const results = checks.map(([name, c]) => {
            let err: string | undefined;
            try {
                err = c();
            } catch (e) {
                err = (e as Error).message;
            }
            return { name, err };
        });
        const failed = results.filter((r) => r.err);
        if (failed.length === 0 && !url.searchParams.has('verbose')) {
            res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
            return;
        }
        const lines = results.map((r) => (r.err ? `[-]${r.name} failed: ${r.err}` : `[+]${r.name} ok`));
        const code = failed.length ? 500 : 200;
        lines.push(failed.length ? `${url.pathname.slice(1)} check failed` : `${url.pathname.slice(1)} check passed`);
        res.writeHead(code, { 'content-type': 'text/plain' }).end(lines.join('\n') + '\n');
    }

    /**
     * Listens on `address` (host:port, :port; '0' = do not serve) for the given paths.
     * @returns the bound port, or undefined when disabled
     */
    async listen(address: string, paths: string[]): Promise<number | undefined> {
        if (address === '0') return undefined;
        const i = address.lastIndexOf(':');
        const host = address.slice(0, i).replace(/^\[|\]$/g, '') || undefined;
        const port = Number(address.slice(i + 1));
        const set = new Set(paths);
        const server = http.createServer((req, res) => {
            this.handle(req, res, set).catch((err) => {
                this.log.error({ err: (err as Error).message }, 'Health server request failed');
                if (!res.headersSent) res.writeHead(500);
                res.end();
            });
        });
        await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(port, host, () => resolve());
        });
        this.servers.push(server);
        const bound = (server.address() as AddressInfo).port;
        this.log.info({ address: host ?? '', port: bound, paths }, 'Serving HTTP endpoints');
        return bound;
    }

    /** Closes every listener. */
    async close(): Promise<void> {
        await Promise.all(
            this.servers.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })),
        );
        this.servers = [];
    }
}
