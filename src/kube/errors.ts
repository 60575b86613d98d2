/**
 * Classification of errors from @kubernetes/client-node calls. ApiException carries the HTTP
 * status as `.code` and the Status object as a raw JSON string in `.body`; transport failures
 * have no code. We never classify by class name (it differs between client-node 1.x and 2.x).
 */

/** The parts of a Kubernetes Status we use. */
export interface ApiStatus {
    /** HTTP status code, or 0 for a transport error. */
    code: number;
    /** Status.reason (e.g. `Conflict`, `NotFound`, `AlreadyExists`), or '' when unknown. */
    reason: string;
    /** Status.message, or the error's own message. */
    message: string;
}

/** Extracts {code, reason, message} from any error thrown by a client-node API call. */
export function toStatus(err: unknown): ApiStatus {
    if (err === null || typeof err !== 'object') return { code: 0, reason: '', message: String(err) };
    const e = err as { code?: unknown; body?: unknown; message?: unknown; statusCode?: unknown };
    const code = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : 0;
    let body: unknown = e.body;
    if (typeof body === 'string') {
        try {
            body = JSON.parse(body);
        } catch {
            body = undefined;
        }
    }
    const b = (body ?? {}) as { reason?: unknown; message?: unknown };
    return {
        code,
        reason: typeof b.reason === 'string' ? b.reason : '',
        message: typeof b.message === 'string' ? b.message : typeof e.message === 'string' ? e.message : String(err),
    };
}

/** HTTP 404: the object does not exist. */
export function isNotFound(err: unknown): boolean {
    return toStatus(err).code === 404;
}

/** HTTP 409 with reason Conflict: our resourceVersion was stale (optimistic concurrency). */
export function isConflict(err: unknown): boolean {
    const s = toStatus(err);
    return s.code === 409 && s.reason !== 'AlreadyExists';
}

/** HTTP 409 with reason AlreadyExists: a create hit an existing name. */
export function isAlreadyExists(err: unknown): boolean {
    const s = toStatus(err);
    return s.code === 409 && s.reason === 'AlreadyExists';
}

/** A log-safe description of an error: code, reason and message only (never request bodies or headers). */
export function describeError(err: unknown): ApiStatus & { name: string } {
    const s = toStatus(err);
    return { name: err instanceof Error ? err.name : typeof err, ...s };
}
