// The few Go standard-library semantics the translation needs to be exact: strings.ToLower,
// strings.TrimSpace, sort.Strings (byte order), %q / %#v of a string, %v of a set, and a
// url.Parse good enough for `aws://zone/vol-id`. Written from the Go documentation.

/** strings.ToLower: per code point; U+0130 (İ) lowers to a plain `i` in Go, not `i̇` as in JavaScript. */
export function goLower(s: string): string {
    return s.replace(/\u0130/g, 'i').toLowerCase();
}

/** strings.TrimSpace: trims unicode.IsSpace code points (Go counts U+0085 and not U+FEFF, unlike String.prototype.trim). */
export function goTrimSpace(s: string): string {
    return s.replace(/^[\t\n\v\f\r \u0085\u00a0\p{Z}]+/u, '').replace(/[\t\n\v\f\r \u0085\u00a0\p{Z}]+$/u, '');
}

/** sort.Strings: ascending by UTF-8 bytes; returns a new array. */
export function goSortStrings(xs: Iterable<string>): string[] {
    return [...xs].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** sets.String.List(): the distinct values, sorted. */
export function sortedSet(xs: Iterable<string>): string[] {
    return goSortStrings(new Set(xs));
}

/** %q (and %#v) of a string: double-quoted with Go escapes for quotes, backslashes and control characters. */
export function goQuote(s: string): string {
    let out = '"';
    for (const ch of s) {
        const c = ch.codePointAt(0) ?? 0;
        if (ch === '"') out += '\\"';
        else if (ch === '\\') out += '\\\\';
        else if (ch === '\n') out += '\\n';
        else if (ch === '\t') out += '\\t';
        else if (ch === '\r') out += '\\r';
        else if (ch === '\u0007') out += '\\a';
        else if (ch === '\b') out += '\\b';
        else if (ch === '\f') out += '\\f';
        else if (ch === '\v') out += '\\v';
        else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
        else out += ch;
    }
    return `${out}"`;
}

/** %v of a sets.String (a Go map printed with sorted keys): `map[a:{} b:{}]`. */
export function goSetString(xs: Iterable<string>): string {
    return `map[${sortedSet(xs)
        .map((x) => `${x}:{}`)
        .join(' ')}]`;
}

/** The parts of a URL that url.Parse yields for an absolute `scheme://host/path` reference. */
export interface GoURL {
    scheme: string;
    host: string;
    /** The unescaped path (url.URL.Path). */
    path: string;
}

function unescapePath(s: string): string {
    // url.PathUnescape: every % must start a valid two-hex-digit escape.
    const bad = s.search(/%(?![0-9a-fA-F]{2})/);
    if (bad >= 0) throw new Error(`invalid URL escape ${goQuote(s.slice(bad, bad + 3))}`);
    return Buffer.from(s.replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}

/**
 * url.Parse for the absolute `scheme://authority/path?query#fragment` form, returning the
 * scheme (lower-cased), host and unescaped path. Errors as url.Parse does for control
 * characters, bad escapes in the path and a non-numeric port; other host checks are not made.
 * @throws Error with Go's `parse "<url>": <reason>` text
 */
export function goParseURL(raw: string): GoURL {
    const fail = (why: string): never => {
        throw new Error(`parse ${goQuote(raw)}: ${why}`);
    };
    if (/[\u0000-\u001f\u007f]/.test(raw)) fail('net/url: invalid control character in URL');
    let rest = raw;
    const hash = rest.indexOf('#');
    if (hash >= 0) rest = rest.slice(0, hash);
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(rest);
    if (!m) fail('missing protocol scheme');
    const scheme = (m as RegExpExecArray)[1]?.toLowerCase() ?? '';
    rest = rest.slice((m as RegExpExecArray)[0].length);
    const q = rest.indexOf('?');
    if (q >= 0) rest = rest.slice(0, q);
    let host = '';
    if (rest.startsWith('//')) {
        rest = rest.slice(2);
        const slash = rest.indexOf('/');
        const authority = slash >= 0 ? rest.slice(0, slash) : rest;
        rest = slash >= 0 ? rest.slice(slash) : '';
        const at = authority.lastIndexOf('@');
        host = at >= 0 ? authority.slice(at + 1) : authority;
        const colon = host.startsWith('[') ? host.indexOf(':', host.indexOf(']')) : host.lastIndexOf(':');
        if (colon >= 0 && !/^\d*$/.test(host.slice(colon + 1))) fail(`invalid port ${goQuote(host.slice(colon))} after host`);
    }
    let path: string;
    try {
        path = unescapePath(rest);
    } catch (e) {
        return fail((e as Error).message);
    }
    return { scheme, host, path };
}

/**
 * strconv.Atoi then a cast to int32, as upstream does for partitions: decimal with an optional
 * sign; values beyond int64 are an error, values beyond int32 wrap around.
 * @throws Error with strconv's message
 */
export function goAtoiInt32(s: string): number {
    if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
    const b = BigInt(s);
    if (b >= 2n ** 63n || b < -(2n ** 63n)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
    return Number(BigInt.asIntN(32, b));
}
