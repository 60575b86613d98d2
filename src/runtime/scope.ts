import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The abort signal of the work in progress, carried through every await of a reconcile without
 * being passed by hand (Go's `ctx` for Node): the runtime runs each reconcile inside
 * `withSignal(signal, …)`, and the API client and the CSI client read `currentSignal()` so that
 * losing the lease or SIGTERM cancels every request and CSI call that reconcile started, and no
 * request starts after it.
 */
const scope = new AsyncLocalStorage<AbortSignal>();

/** Runs fn with `signal` as the current signal for everything it awaits. */
export function withSignal<T>(signal: AbortSignal, fn: () => T): T {
    return scope.run(signal, fn);
}

/** The signal of the reconcile (or other scoped work) we are in, if any. */
export function currentSignal(): AbortSignal | undefined {
    return scope.getStore();
}

/** An Error named AbortError, as fetch throws when its signal aborts. */
export function abortError(signal?: AbortSignal): Error {
    const reason = signal?.reason;
    return Object.assign(new Error(reason instanceof Error ? reason.message : 'the operation was aborted (leadership lost or shutting down)'), { name: 'AbortError' });
}

/** True for an error caused by an aborted signal (fetch's AbortError, our abortError, a cancelled gRPC call). */
export function isAbortError(err: unknown): boolean {
    return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR');
}
