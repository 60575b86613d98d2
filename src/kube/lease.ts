import { V1MicroTime } from '@kubernetes/client-node';
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeError, isConflict, isAlreadyExists, isNotFound } from './errors.ts';

export interface LeaseElectorOptions {
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
 * - the leader renews every retryPeriod and steps down when no renewal succeeded for
 *   renewDeadline; on release (SIGTERM) it clears holderIdentity so a standby takes over at once.
 *
 * Mirrors k8s.io/client-go/tools/leaderelection (leaderelection.go, resourcelock/leaselock.go).
 */
export class LeaseElector {
    private readonly o: LeaseElectorOptions;
    private observed: Observed | undefined;
    private observedAt = 0;
    private leading = false;
    private lastRenew = 0;

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

    /** Renews every retryPeriod; resolves when renewals failed for renewDeadline or signal aborts. */
    private async renewLoop(signal: AbortSignal): Promise<void> {
        while (!signal.aborted) {
            await sleep(this.o.retryPeriodMs, signal);
            if (signal.aborted) return;
            const deadline = this.lastRenew + this.o.renewDeadlineMs;
            let ok = false;
            while (!signal.aborted && Date.now() < deadline) {
                const remaining = deadline - Date.now();
                ok = await Promise.race([this.tryAcquireOrRenew(), new Promise<boolean>((r) => setTimeout(() => r(false), remaining).unref())]);
                if (ok) break;
                await sleep(Math.min(this.o.retryPeriodMs, Math.max(0, deadline - Date.now())), signal);
            }
            if (!ok && !signal.aborted) return;
        }
    }

    private record(lease: V1Lease | undefined): Observed {
        const s = lease?.spec;
        return {
            holder: s?.holderIdentity ?? '',
            renewTime: s?.renewTime ? new Date(s.renewTime).toISOString() : '',
            transitions: s?.leaseTransitions ?? 0,
            resourceVersion: lease?.metadata?.resourceVersion ?? '',
        };
    }

    /** One client-go tryAcquireOrRenew round. Returns true when we hold the lease afterwards. */
    async tryAcquireOrRenew(): Promise<boolean> {
        const { api, namespace, name, identity } = this.o;
        const now = new V1MicroTime();
        const durationSeconds = Math.max(1, Math.round(this.o.leaseDurationMs / 1000));
        let lease: V1Lease;
        try {
            lease = await api.readNamespacedLease({ name, namespace });
        } catch (err) {
            if (!isNotFound(err)) {
                this.o.log.warn({ err: describeError(err) }, 'Error retrieving lease');
                return false;
            }
            try {
                const created = await api.createNamespacedLease({
                    namespace,
                    body: {
                        metadata: { name, namespace },
                        spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
                    },
                });
                this.observe(created);
                this.lastRenew = Date.now();
                return true;
            } catch (e) {
                if (!isAlreadyExists(e)) this.o.log.warn({ err: describeError(e) }, 'Error creating lease');
                return false;
            }
        }
        const rec = this.record(lease);
        if (!this.observed || rec.holder !== this.observed.holder || rec.renewTime !== this.observed.renewTime || rec.transitions !== this.observed.transitions) {
            this.observe(lease);
        } else {
            this.observed.resourceVersion = rec.resourceVersion;
        }
        const heldByOther = rec.holder !== '' && rec.holder !== identity;
        if (heldByOther && this.observedAt + this.o.leaseDurationMs > Date.now()) return false;
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
            if (!isConflict(err)) this.o.log.warn({ err: describeError(err) }, 'Failed to update lease');
            return false;
        }
    }

    private observe(lease: V1Lease): void {
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
