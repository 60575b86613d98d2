import { V1MicroTime } from '@kubernetes/client-node';
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { withSignal } from '../runtime/scope.ts';
import { describeError, isConflict, isAlreadyExists, isNotFound } from './errors.ts';

export interface LeaseElectorOptions {
    /**
     * The leader-election client: its own token bucket and a per-request timeout
     * (makeLeaderElectionClient), never the controllers' client.
     */
    api: CoordinationV1Api;
    namespace: string;
    name: string;
    /** Our holderIdentity (client-go: hostname + '_' + UUID). */
    identity: string;
    /** Milliseconds a non-leader waits after observing the last change before taking over (15 s). */
    leaseDurationMs: number;
    /** Milliseconds the leader keeps retrying a renewal before stepping down (10 s). */
    renewDeadlineMs: number;
    /** Milliseconds between tries (2 s); waits are jittered by up to 20 %. */
    retryPeriodMs: number;
    log: Logger;
    /** Called with the new holder whenever the observed holder changes. */
    onNewLeader?(identity: string): void;
}

interface Observed {
    holder: string;
    renewTime: string;
    transitions: number;
    /** The holder's declared spec.leaseDurationSeconds, in ms (expiry is judged by it, as client-go does). */
    durationMs: number;
    resourceVersion: string;
}

const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        const t = setTimeout(done, ms);
        function done() {
            clearTimeout(t);
            signal.removeEventListener('abort', done);
            resolve();
        }
        signal.addEventListener('abort', done, { once: true });
    });

const jitter = (ms: number) => ms * (1 + Math.random() * 0.2);

/**
 * Leader election on a coordination.k8s.io/v1 Lease with client-go `leaderelection` semantics:
 *
 * - expiry is judged from the time *we observed* the record change, never from the holder's
 *   renewTime (so clock skew between replicas does not matter);
 * - every write carries the Lease's resourceVersion; a 409 means another candidate won;
 * - acquireTime/renewTime are MicroTime (6 fractional digits, as the API requires);
 * - the leader renews in rounds (client-go `renew()`): a round tries at once and then every
 *   retryPeriod until a try succeeds or renewDeadline has passed *since the round started*
 *   (requests still in flight are aborted then); a failed round steps down; the next round
 *   starts retryPeriod after a successful one;
 * - while its lease is valid, the leader renews optimistically with the Lease it last wrote
 *   (one PUT, no GET; client-go's fast path), falling back to GET + PUT;
 * - on release (SIGTERM) it clears holderIdentity so a standby takes over at once.
 *
 * Mirrors k8s.io/client-go/tools/leaderelection (leaderelection.go, resourcelock/leaselock.go).
 */
export class LeaseElector {
    private readonly o: LeaseElectorOptions;
    private observed: Observed | undefined;
    private observedAt = 0;
    private leading = false;
    private lastRenew = 0;
    /** The Lease as we last read or wrote it (the fast path's base object). */
    private lease: V1Lease | undefined;

    constructor(opts: LeaseElectorOptions) {
        this.o = opts;
    }

    /** True while we hold the lease. */
    isLeader(): boolean {
        return this.leading;
    }

    /** The holder we last observed ('' when none). */
    observedLeader(): string {
        return this.observed?.holder ?? '';
    }

    /**
     * Health check (client-go HealthzAdaptor): fails when we believe we lead but have not renewed
     * for longer than leaseDuration + 20 s. Returns an error string or undefined.
     */
    check(): string | undefined {
        if (!this.leading) return undefined;
        const since = Date.now() - this.lastRenew;
        return since > this.o.leaseDurationMs + 20_000 ? `failed election to renew leadership on lease ${this.o.name}` : undefined;
    }

    /**
     * Campaigns until signal aborts. Each time the lease is won, `lead` runs with a signal that
     * aborts when leadership is lost (or the outer signal aborts); after `lead` resolves the
     * elector goes back to campaigning (or, on the outer abort, releases the lease and returns).
     */
    async run(signal: AbortSignal, lead: (leaderSignal: AbortSignal) => Promise<void>): Promise<void> {
        const log = this.o.log;
        while (!signal.aborted) {
            log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'Attempting to acquire leader lease');
            while (!signal.aborted && !(await this.tryAcquireOrRenew())) await sleep(jitter(this.o.retryPeriodMs), signal);
            if (signal.aborted) break;
            this.leading = true;
            log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'Successfully acquired lease');
            const leaderCtl = new AbortController();
            const onOuter = () => leaderCtl.abort();
            signal.addEventListener('abort', onOuter, { once: true });
            const work = lead(leaderCtl.signal).then(
                () => true,
                (err) => {
                    log.error({ err: describeError(err) }, 'Leader work failed; stepping down');
                    return false;
                },
            );
            const renew = this.renewLoop(leaderCtl.signal);
            // Work that ends normally keeps the lease (renewing) until shutdown or a lost renewal.
            await Promise.race([renew, work.then((ok) => (ok ? renew : undefined))]);
            const lost = !signal.aborted;
            if (lost) log.error({ identity: this.o.identity }, 'Leader election lost; stopping controllers');
            leaderCtl.abort();
            signal.removeEventListener('abort', onOuter);
            await work;
            this.leading = false;
            if (!lost) break;
        }
        await this.release();
    }

    /**
     * Renews until a round fails or signal aborts (client-go `renew()`): each round starts its
     * own renewDeadline timer and tries tryAcquireOrRenew at once, then every retryPeriod, until
     * one succeeds (the next round starts retryPeriod later) or the deadline passes (resolves:
     * leadership lost). Requests still running at the deadline are aborted.
     */
    private async renewLoop(signal: AbortSignal): Promise<void> {
        const { renewDeadlineMs, retryPeriodMs } = this.o;
        while (!signal.aborted) {
            const round = AbortSignal.any([signal, AbortSignal.timeout(renewDeadlineMs)]);
            let ok = false;
            while (!round.aborted) {
                const tried = Date.now();
                ok = await this.tryAcquireOrRenew(round);
                if (ok) break;
                await sleep(Math.max(0, tried + retryPeriodMs - Date.now()), round);
            }
            if (!ok) {
                if (!signal.aborted) this.o.log.warn({ lease: `${this.o.namespace}/${this.o.name}`, renewDeadlineMs }, 'Failed to renew lease within the renew deadline');
                return;
            }
            await sleep(retryPeriodMs, signal);
        }
    }

    private record(lease: V1Lease | undefined): Observed {
        const s = lease?.spec;
        return {
            holder: s?.holderIdentity ?? '',
            renewTime: s?.renewTime ? new Date(s.renewTime).toISOString() : '',
            transitions: s?.leaseTransitions ?? 0,
            durationMs: (s?.leaseDurationSeconds ?? Math.round(this.o.leaseDurationMs / 1000)) * 1000,
            resourceVersion: lease?.metadata?.resourceVersion ?? '',
        };
    }

    /** When the lease we observed expires, by our clock: observed time + the holder's declared duration (client-go isLeaseValid). */
    private expiresAt(): number {
        return this.observedAt + (this.observed?.durationMs ?? this.o.leaseDurationMs);
    }

    /** True while we lead and the lease we last observed has not expired (client-go isLeaseValid). */
    private leaseValid(): boolean {
        return this.leading && this.observed?.holder === this.o.identity && this.expiresAt() > Date.now();
    }

    /**
     * One client-go tryAcquireOrRenew: the leader's optimistic renewal when its lease is valid,
     * else GET the Lease and take it if it is ours, free, or expired (judged from when we
     * observed it change). Returns true when we hold the lease afterwards; never throws.
     * @param signal aborts the requests (the end of a renewal round), through the scope the API
     *   client reads (src/runtime/scope.ts)
     */
    async tryAcquireOrRenew(signal?: AbortSignal): Promise<boolean> {
        return signal ? withSignal(signal, () => this.attempt(signal)) : this.attempt(undefined);
    }

    private async attempt(signal: AbortSignal | undefined): Promise<boolean> {
        const { api, namespace, name, identity } = this.o;
        const now = new V1MicroTime();
        const durationSeconds = Math.max(1, Math.round(this.o.leaseDurationMs / 1000));
        // 1. Fast path: the leader renews the Lease it last wrote (its resourceVersion is the precondition).
        if (this.leaseValid() && this.lease) {
            const spec = this.lease.spec ?? {};
            const body: V1Lease = {
                ...this.lease,
                spec: { ...spec, holderIdentity: identity, leaseDurationSeconds: durationSeconds, renewTime: now, acquireTime: spec.acquireTime ? new V1MicroTime(spec.acquireTime) : now },
            };
            try {
                const updated = await api.replaceNamespacedLease({ name, namespace, body });
                this.observe(updated);
                this.lastRenew = Date.now();
                return true;
            } catch (err) {
                if (signal?.aborted) return false;
                this.o.log.warn({ err: describeError(err) }, 'Failed to update lease optimistically; falling back to slow path');
            }
        }
        // 2. Read (or create) the Lease.
        let lease: V1Lease;
        try {
            lease = await api.readNamespacedLease({ name, namespace });
        } catch (err) {
            if (!isNotFound(err)) {
                if (!signal?.aborted) this.o.log.warn({ err: describeError(err) }, 'Error retrieving lease');
                return false;
            }
            try {
                const created = await api.createNamespacedLease(
                    {
                        namespace,
                        body: {
                            metadata: { name, namespace },
                            spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
                        },
                    },
                );
                this.observe(created);
                this.lastRenew = Date.now();
                return true;
            } catch (e) {
                if (!isAlreadyExists(e) && !signal?.aborted) this.o.log.warn({ err: describeError(e) }, 'Error creating lease');
                return false;
            }
        }
        // 3. Note a change of the record (the expiry clock restarts), then check holder and time.
        const rec = this.record(lease);
        if (!this.observed || rec.holder !== this.observed.holder || rec.renewTime !== this.observed.renewTime || rec.transitions !== this.observed.transitions || rec.durationMs !== this.observed.durationMs) {
            this.observe(lease);
        } else {
            this.observed.resourceVersion = rec.resourceVersion;
            this.lease = lease;
        }
        const heldByOther = rec.holder !== '' && rec.holder !== identity;
        // Valid for as long as its holder declared (spec.leaseDurationSeconds), not our own flag.
        if (heldByOther && this.expiresAt() > Date.now()) return false;
        // 4. Take or renew it.
        const spec = lease.spec ?? {};
        const mine = rec.holder === identity;
        const body: V1Lease = {
            ...lease,
            spec: {
                ...spec,
                holderIdentity: identity,
                leaseDurationSeconds: durationSeconds,
                renewTime: now,
                acquireTime: mine && spec.acquireTime ? new V1MicroTime(spec.acquireTime) : now,
                leaseTransitions: mine ? rec.transitions : rec.transitions + 1,
            },
        };
        try {
            const updated = await api.replaceNamespacedLease({ name, namespace, body });
            this.observe(updated);
            this.lastRenew = Date.now();
            return true;
        } catch (err) {
            if (!isConflict(err) && !signal?.aborted) this.o.log.warn({ err: describeError(err) }, 'Failed to update lease');
            return false;
        }
    }

    private observe(lease: V1Lease): void {
        this.lease = lease;
        const rec = this.record(lease);
        const changedHolder = rec.holder !== this.observed?.holder;
        this.observed = rec;
        this.observedAt = Date.now();
        if (changedHolder && rec.holder) this.o.onNewLeader?.(rec.holder);
    }

    /** Clears holderIdentity if we hold the lease (client-go ReleaseOnCancel). Never throws. */
    async release(): Promise<void> {
        const { api, namespace, name, identity } = this.o;
        try {
            const lease = await api.readNamespacedLease({ name, namespace });
            if (lease.spec?.holderIdentity !== identity) return;
            const now = new V1MicroTime();
            await api.replaceNamespacedLease({
                name,
                namespace,
                body: {
                    ...lease,
                    spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
                },
            });
            this.o.log.info({ lease: `${namespace}/${name}` }, 'Released leader lease');
        } catch (err) {
            this.o.log.warn({ err: describeError(err) }, 'Failed to release leader lease');
        }
    }
}
