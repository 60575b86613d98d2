// Object-name validation as the API server does it, for names we build from user input before
// any request carries them (a secret name templated from a claim annotation can be anything,
// e.g. 200 KB). Messages are apimachinery's (k8s.io/apimachinery/pkg/util/validation).

/** Longest DNS-1123 label (namespace names): 63. */
export const DNS1123_LABEL_MAX_LENGTH = 63;
/** Longest DNS-1123 subdomain (most object names, e.g. secrets): 253. */
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

const LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN_FMT = `${LABEL_FMT}(\\.${LABEL_FMT})*`;
const LABEL_RE = new RegExp(`^${LABEL_FMT}$`);
const SUBDOMAIN_RE = new RegExp(`^${SUBDOMAIN_FMT}$`);

/**
 * Why value is not a DNS-1123 subdomain (empty when it is): at most 253 characters, lower-case
 * alphanumerics, '-' and '.', alphanumeric at both ends. Mirrors apimachinery IsDNS1123Subdomain.
 */
export function dns1123SubdomainErrors(value: string): string[] {
    const errs: string[] = [];
    if (value.length > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(`must be no more than ${DNS1123_SUBDOMAIN_MAX_LENGTH} characters`);
    // A value over the limit gets only the length error (apimachinery would add the pattern's).
    else if (!SUBDOMAIN_RE.test(value))
        errs.push(
            `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${SUBDOMAIN_FMT}')`,
        );
    return errs;
}

/**
 * Why value is not a DNS-1123 label (empty when it is): at most 63 characters, lower-case
 * alphanumerics and '-', alphanumeric at both ends. Mirrors apimachinery IsDNS1123Label.
 */
export function dns1123LabelErrors(value: string): string[] {
    const errs: string[] = [];
    if (value.length > DNS1123_LABEL_MAX_LENGTH) errs.push(`must be no more than ${DNS1123_LABEL_MAX_LENGTH} characters`);
    else if (!LABEL_RE.test(value))
        errs.push(
            `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${LABEL_FMT}')`,
        );
    return errs;
}

/**
 * A user-supplied value made safe to quote in an event or a log line: JSON-quoted, and when
 * longer than max characters cut to its first max characters plus `… (N characters)`.
 */
export function quoteBounded(value: string, max = 64): string {
    if (value.length <= max) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}

/**
 * Checks a secret reference read from an object (a PV's secret refs or annotations) before it
 * is used in a request. Returns why it is invalid, or undefined when it is valid.
 */
export function secretReferenceError(name: string, namespace: string): string | undefined {
    const n = dns1123SubdomainErrors(name);
    if (n.length) return `secret name ${quoteBounded(name)} is not valid: ${n.join('; ')}`;
    const ns = dns1123LabelErrors(namespace);
    if (ns.length) return `secret namespace ${quoteBounded(namespace)} is not valid: ${ns.join('; ')}`;
    return undefined;
}
