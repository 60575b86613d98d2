/**
 * What a reconcile returns (controller-runtime `reconcile.Result`):
 * - `undefined` / `{}`: done; the key's backoff is reset;
 * - `{ requeueAfterMs }`: done for now, look again after that many milliseconds (backoff reset);
 * - a thrown Error: retried with the queue's rate limiter (per-key exponential backoff);
 * - a thrown TerminalError: logged and dropped, no retry until the object changes.
 */
export interface ReconcileResult {
    /** Requeue the key after this many milliseconds. */
    requeueAfterMs?: number;
}

/** An error that retrying cannot fix (bad input); the key is not requeued. */
export class TerminalError extends Error {
    constructor(message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = 'TerminalError';
    }
}

/** True for an error created by TerminalError (also across module copies). */
export function isTerminalError(err: unknown): err is TerminalError {
    return err instanceof TerminalError || (err instanceof Error && err.name === 'TerminalError');
}
