/**
 * Kubernetes resource quantities (`resource.Quantity`): `10Gi`, `500M`, `1.5G`, `100m`, `1e3`.
 * Volume sizes are compared as bigint base units (bytes), rounding fractional values up, as
 * `Quantity.Value()` does.
 */

const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([numkMGTPE]?)|[eE]([+-]?\d+))$/;

/**
 * Parses a quantity into its value in base units (bytes for storage), rounded up.
 * @throws Error naming the text when it is not a valid quantity
 */
export function parseQuantity(text: string): bigint {
    const m = RE.exec(text.trim());
    if (!m) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (got "${text}")`);
    const sign = m[1] === '-' ? -1n : 1n;
    const [intPart, fracPart = ''] = (m[2] as string).split('.');
    const digits = BigInt((intPart || '0') + fracPart);
    const scale = fracPart.length;
    let num = digits;
    let den = 10n ** BigInt(scale);
    if (m[3]) num *= BINARY[m[3]] as bigint;
    else {
        const exp = m[5] !== undefined ? Number(m[5]) : (DECIMAL[m[4] ?? ''] as number);
        if (exp >= 0) num *= 10n ** BigInt(exp);
        else den *= 10n ** BigInt(-exp);
    }
    const q = num / den;
    const ceil = num % den === 0n ? q : q + 1n;
    return sign * ceil;
}

/** Parses a quantity, returning undefined instead of throwing. */
export function tryParseQuantity(text: string | undefined): bigint | undefined {
    if (text === undefined) return undefined;
    try {
        return parseQuantity(text);
    } catch {
        return undefined;
    }
}

/** Formats bytes in the largest binary unit that divides them exactly (`10Gi`, `1536Mi`, `1000`). */
export function formatBytes(n: bigint): string {
    for (const [suffix, mult] of Object.entries(BINARY).reverse()) {
        if (n !== 0n && n % mult === 0n) return `${n / mult}${suffix}`;
    }
    return String(n);
}
