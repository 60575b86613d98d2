import { status as Status } from '@grpc/grpc-js';

/** A CSI call's failure: a gRPC status code and message (the spec's error codes). */
export class CsiError extends Error {
    readonly code: Status;
    constructor(code: Status, message: string) {
        super(message);
        this.name = 'CsiError';
        this.code = code;
    }
}

/** The gRPC code of an error thrown by a CSI call, or undefined for a non-gRPC failure. */
export function grpcCode(err: unknown): Status | undefined {
    if (err instanceof CsiError) return err.code;
    const c = (err as { code?: unknown } | null)?.code;
    return typeof c === 'number' && c >= 0 && c <= 16 ? (c as Status) : undefined;
}

/**
 * True when the operation may still be running in the driver, so the caller must keep
 * treating it as in progress and retry the same call (external-provisioner `checkError`,
 * external-attacher `isFinalError`): Canceled, DeadlineExceeded, Unavailable, Aborted, and any
 * failure that is not a gRPC status at all.
 */
export function mayBeInProgress(err: unknown): boolean {
    const code = grpcCode(err);
    if (code === undefined) return true;
    return code === Status.CANCELLED || code === Status.DEADLINE_EXCEEDED || code === Status.UNAVAILABLE || code === Status.ABORTED;
}

/** `rpc error: code = <Name> desc = <message>`, the text Go sidecars put in events and statuses. */
export function describeCsiError(err: unknown): string {
    const code = grpcCode(err);
    // grpc-js ends some details with an empty "Resolution note: "; drop such an empty tail.
    const raw = (err as { details?: string; message?: string })?.details || (err as Error)?.message || String(err);
    const msg = raw.replace(/\s*Resolution note:\s*$/, '').trim();
    if (code === undefined) return msg;
    const name = Status[code] ?? String(code);
    const pascal = name
        .toLowerCase()
        .split('_')
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join('');
    return `rpc error: code = ${pascal === 'Cancelled' ? 'Canceled' : pascal} desc = ${msg}`;
}

/**
 * The method `method` of a CSI implementation, bound to it; when the implementation lacks it, a
 * function that rejects with CsiError UNIMPLEMENTED, which is what a gRPC driver answers for an
 * RPC it does not serve. One rule for in-process drivers (optional CsiClient methods) and for
 * serveDriver's mapping. Callers must not retry UNIMPLEMENTED (spec "Error Scheme").
 */
export function orUnimplemented<T extends object, K extends keyof T>(impl: T, method: K): NonNullable<T[K]> {
    const fn = impl[method];
    if (typeof fn === 'function') return fn.bind(impl) as NonNullable<T[K]>;
    return (async () => {
        throw new CsiError(Status.UNIMPLEMENTED, `${String(method)} is not implemented by this driver`);
    }) as NonNullable<T[K]>;
}
