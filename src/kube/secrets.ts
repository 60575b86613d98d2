import type { CoreV1Api } from '@kubernetes/client-node';
import { toStatus } from './errors.ts';
import { secretReferenceError } from './names.ts';

/** Where a Secret a CSI call needs lives. */
export interface SecretRef {
    name: string;
    namespace: string;
}

/**
 * Why a Secret could not be read. `invalid`: the reference itself is not a valid name (user
 * input the API server would refuse; no request was made; retrying cannot help until it
 * changes). Otherwise the API's answer (`message` is its text, e.g. `secrets "x" not found`).
 * Each caller words the event as its upstream sidecar does.
 */
export class SecretReadError extends Error {
    readonly ref: SecretRef;
    readonly invalid: boolean;
    constructor(ref: SecretRef, message: string, invalid: boolean) {
        super(message);
        this.name = 'SecretReadError';
        this.ref = ref;
        this.invalid = invalid;
    }
}

/**
 * Reads a Secret's data as the string map a CSI request carries (the sidecars' getCredentials):
 * the reference is validated as the API server would first (a DNS-1123 subdomain name of at
 * most 253 characters, a DNS-1123 label namespace), so a huge or malformed templated name never
 * becomes a request; then one GET. The values are secrets: callers never log them.
 * @throws SecretReadError
 */
export async function readSecretData(core: CoreV1Api, ref: SecretRef): Promise<Record<string, string>> {
    const invalid = secretReferenceError(ref.name, ref.namespace);
    if (invalid) throw new SecretReadError(ref, invalid, true);
    try {
        const s = await core.readNamespacedSecret({ name: ref.name, namespace: ref.namespace });
        return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    } catch (err) {
        throw new SecretReadError(ref, toStatus(err).message, false);
    }
}
