import { AsyncLocalStorage } from 'node:async_hooks';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { OwnWrites } from './own-writes.ts';

/**
 * What the work in progress carries through every await without being passed by hand (Go's
 * `ctx` for Node): the runtime runs each reconcile inside `inScope({ signal, writes }, …)`.
 * - `signal`: the API client and the CSI client read `currentSignal()`, so losing the lease or
 *   SIGTERM cancels every request and CSI call that reconcile started, and none starts after it.
 * - `writes`: the controller's OwnWrites ledger; the API clients `recordWrite()` every object a
 *   write returns into it, so the work queue can tell an update caused by this controller's own
 *   write from somebody else's change (see OwnWrites, WorkQueue.addUpdate).
 */
export interface ReconcileScope {
    signal: AbortSignal;
    writes?: OwnWrites;
}

const scope = new AsyncLocalStorage<ReconcileScope>();

/** Runs fn inside `s` for everything it awaits. */
export function inScope<T>(s: ReconcileScope, fn: () => T): T {
    return scope.run(s, fn);
}

/** Runs fn with `signal` as the current signal (and no write ledger). */
export function withSignal<T>(signal: AbortSignal, fn: () => T): T {
    return scope.run({ signal }, fn);
}

/** Runs fn outside any scope (work that outlives the reconcile that started it, e.g. an Event write). */
export function outsideScope<T>(fn: () => T): T {
    return scope.exit(fn);
}

/** The signal of the reconcile (or other scoped work) we are in, if any. */
export function currentSignal(): AbortSignal | undefined {
    return scope.getStore()?.signal;
}

/** Records obj as written by the controller whose reconcile is running (no-op outside one). */
export function recordWrite(obj: unknown): void {
    const ledger = scope.getStore()?.writes;
    if (ledger && obj && typeof obj === 'object' && 'metadata' in obj) ledger.record(obj as KubernetesObject);
}

/** An Error named AbortError, as fetch throws when its signal aborts. */
export function abortError(signal?: AbortSignal): Error {
    const reason = signal?.reason;
    return Object.assign(new Error(reason instanceof Error ? reason.message : 'the operation was aborted (leadership lost or shutting down)'), { name: 'AbortError' });
}
