import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import {
    accessModesKey,
    claimClass,
    claimKey,
    claimRefKey,
    claimRequest,
    containsModes,
    isVolumeBoundToClaim,
    selectorMatches,
    shortModes,
    volumeCapacity,
    volumeClass,
    volumeModeOf,
} from '../../src/storage/helpers.ts';
import { formatBytes } from '../../src/storage/quantity.ts';

const vacOf = (o: { spec?: { volumeAttributesClassName?: string } }) => o.spec?.volumeAttributesClassName ?? '';

/**
 * Why a PV named by a claim's spec.volumeName cannot be bound to it, or undefined when it can
 * (pv_controller.go checkVolumeSatisfyClaim). Checked in upstream order; the selector and the
 * PV's phase are not checked on this path.
 */
export function checkVolumeSatisfyClaim(pv: V1PersistentVolume, claim: V1PersistentVolumeClaim): string | undefined {
    if (pv.metadata?.deletionTimestamp) return `the volume is marked for deletion "${pv.metadata?.name}"`;
    const req = claimRequest(claim) ?? 0n;
    const cap = volumeCapacity(pv);
    if (cap === undefined || cap < req) return 'requested PV is too small';
    if (volumeClass(pv) !== claimClass(claim)) return 'storageClassName does not match';
    if (vacOf(pv) !== vacOf(claim)) return 'volumeAttributesClassName does not match';
    if (volumeModeOf(pv) !== volumeModeOf(claim)) return 'incompatible volumeMode';
    if (!containsModes(pv.spec?.accessModes, claim.spec?.accessModes)) return 'incompatible accessMode';
    return undefined;
}

/**
 * Upstream's per-volume matching over one access-mode bucket (pv_helpers.go FindMatchingVolume
 * with node=nil): a PV pre-bound to the claim wins at once (after size, volumeMode, VAC and
 * deletion checks); otherwise, unless delayBinding, the smallest Available PV of the claim's
 * class whose labels match the selector. Access modes are not checked here (the caller's bucket
 * did). `skip` excludes PVs (e.g. reserved by an in-flight bind). Reference implementation for
 * VolumeIndex; O(n).
 */
export function findMatchingVolume(
    claim: V1PersistentVolumeClaim,
    volumes: Iterable<V1PersistentVolume>,
    delayBinding: boolean,
    skip: (pv: V1PersistentVolume) => boolean = () => false,
): V1PersistentVolume | undefined {
    const req = claimRequest(claim) ?? 0n;
    const cls = claimClass(claim);
    let best: V1PersistentVolume | undefined;
    let bestCap = 0n;
    for (const pv of volumes) {
        if (skip(pv)) continue;
        if (pv.spec?.claimRef && !isVolumeBoundToClaim(pv, claim)) continue;
        const cap = volumeCapacity(pv);
        if (cap === undefined || cap < req) continue;
        if (volumeModeOf(pv) !== volumeModeOf(claim)) continue;
        if (vacOf(pv) !== vacOf(claim)) continue;
        if (pv.metadata?.deletionTimestamp) continue;
        if (isVolumeBoundToClaim(pv, claim)) return pv;
        if (delayBinding) continue;
        if (pv.status?.phase !== 'Available') continue;
        if (!selectorMatches(claim.spec?.selector, pv.metadata?.labels)) continue;
        if (volumeClass(pv) !== cls) continue;
        if (!best || cap < bestCap) {
            best = pv;
            bestCap = cap;
        }
    }
    return best;
}

interface Entry {
    pv: V1PersistentVolume;
    cap: bigint;
}

/**
 * An index of PVs for matching claims in O(log n): unbound Available PVs are kept per
 * (class, access-mode set, volumeMode) sorted by capacity, and PVs with a claimRef are kept by
 * the claim they name. `findBestMatch` gives exactly upstream's answer
 * (index.go findBestMatchForClaim): access-mode sets containing every requested mode are tried
 * fewest modes first, and the first set that yields a PV wins.
 */
export class VolumeIndex {
    private readonly buckets = new Map<string, { modesKey: string; entries: Entry[] }>();
    private readonly where = new Map<string, string>();
    private readonly byClaim = new Map<string, Set<string>>();
    private readonly all = new Map<string, V1PersistentVolume>();
    private readonly modeSets = new Map<string, number>();

    /** Number of PVs indexed. */
    size(): number {
        return this.all.size;
    }

    /** Every indexed PV. */
    values(): IterableIterator<V1PersistentVolume> {
        return this.all.values();
    }

    /** The indexed PV with that name. */
    get(name: string): V1PersistentVolume | undefined {
        return this.all.get(name);
    }

    /** PVs whose claimRef names the claim key `ns/name`. */
    byClaimRef(key: string): V1PersistentVolume[] {
        const names = this.byClaim.get(key);
        return names ? [...names].map((n) => this.all.get(n)).filter((p): p is V1PersistentVolume => !!p) : [];
    }

    /** Adds or replaces a PV. */
    upsert(pv: V1PersistentVolume): void {
        const name = pv.metadata?.name ?? '';
        this.remove(name);
        this.all.set(name, pv);
        const mk = accessModesKey(pv.spec?.accessModes);
        this.modeSets.set(mk, (this.modeSets.get(mk) ?? 0) + 1);
        const ref = claimRefKey(pv);
        if (ref) {
            let s = this.byClaim.get(ref);
            if (!s) this.byClaim.set(ref, (s = new Set()));
            s.add(name);
            return;
        }
        if (pv.status?.phase !== 'Available' || pv.metadata?.deletionTimestamp) return;
        const cap = volumeCapacity(pv);
        if (cap === undefined) return;
        const bk = `${volumeClass(pv)}\u0000${mk}\u0000${volumeModeOf(pv)}`;
        let b = this.buckets.get(bk);
        if (!b) this.buckets.set(bk, (b = { modesKey: mk, entries: [] }));
        const i = lowerBound(b.entries, cap, true);
        b.entries.splice(i, 0, { pv, cap });
        this.where.set(name, bk);
    }

    /** Removes a PV by name (no-op when absent). */
    remove(name: string): void {
        const old = this.all.get(name);
        if (!old) return;
        this.all.delete(name);
        const mk = accessModesKey(old.spec?.accessModes);
        const n = (this.modeSets.get(mk) ?? 1) - 1;
        if (n <= 0) this.modeSets.delete(mk);
        else this.modeSets.set(mk, n);
        const ref = claimRefKey(old);
        if (ref) {
            const s = this.byClaim.get(ref);
            s?.delete(name);
            if (s && s.size === 0) this.byClaim.delete(ref);
        }
        const bk = this.where.get(name);
        if (bk === undefined) return;
        this.where.delete(name);
        const b = this.buckets.get(bk);
        if (!b) return;
        const cap = volumeCapacity(old) ?? 0n;
        for (let i = lowerBound(b.entries, cap, false); i < b.entries.length; i++) {
            if (b.entries[i]?.pv.metadata?.name === name) {
                b.entries.splice(i, 1);
                break;
            }
        }
        if (b.entries.length === 0) this.buckets.delete(bk);
    }

    /**
     * The PV upstream would bind to claim, or undefined. `reserved(name)` excludes PVs already
     * promised to another claim by an in-flight bind.
     */
    findBestMatch(claim: V1PersistentVolumeClaim, delayBinding: boolean, reserved: (name: string) => boolean = () => false): V1PersistentVolume | undefined {
        const requested = claim.spec?.accessModes ?? [];
        const sets = [...this.modeSets.keys()]
            .filter((k) => containsModes(k ? k.split(',') : [], requested))
            .sort((a, b) => (a ? a.split(',').length : 0) - (b ? b.split(',').length : 0) || (a < b ? -1 : 1));
        const req = claimRequest(claim) ?? 0n;
        const prebound = this.byClaimRef(claimKey(claim));
        const cls = claimClass(claim);
        const mode = volumeModeOf(claim);
        const skip = (pv: V1PersistentVolume) => reserved(pv.metadata?.name ?? '');
        for (const mk of sets) {
            const pre = findMatchingVolume(claim, prebound.filter((p) => accessModesKey(p.spec?.accessModes) === mk), true, skip);
            if (pre) return pre;
            if (delayBinding) continue;
            const b = this.buckets.get(`${cls}\u0000${mk}\u0000${mode}`);
            if (!b) continue;
            for (let i = lowerBound(b.entries, req, false); i < b.entries.length; i++) {
                const e = b.entries[i] as Entry;
                if (skip(e.pv)) continue;
                if (vacOf(e.pv) !== vacOf(claim)) continue;
                if (!selectorMatches(claim.spec?.selector, e.pv.metadata?.labels)) continue;
                return e.pv;
            }
        }
        return undefined;
    }
}

/** First index whose capacity is >= cap (or > cap when after is true). */
function lowerBound(entries: Entry[], cap: bigint, after: boolean): number {
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const c = (entries[mid] as Entry).cap;
        if (c < cap || (after && c === cap)) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/**
 * Explains, by counts, why no PV matches an unbound claim, e.g.
 * `0/12 volumes match: 7 storageClassName "" != "fast", 3 too small (largest 5Gi < 10Gi),
 * 2 access modes [RWO] lack RWX`. Each PV is counted under the first check it fails, in
 * upstream's matching order. Pure; O(number of PVs).
 */
export function explainNoMatch(claim: V1PersistentVolumeClaim, volumes: Iterable<V1PersistentVolume>): string {
    const reasons = new Map<string, number>();
    const add = (r: string) => reasons.set(r, (reasons.get(r) ?? 0) + 1);
    const req = claimRequest(claim) ?? 0n;
    const cls = claimClass(claim);
    const requested = claim.spec?.accessModes ?? [];
    let total = 0;
    let tooSmall = 0;
    let largest: bigint | undefined;
    for (const pv of volumes) {
        total++;
        if (pv.spec?.claimRef && !isVolumeBoundToClaim(pv, claim)) {
            add('bound to other claims');
            continue;
        }
        if (pv.metadata?.deletionTimestamp) {
            add('being deleted');
            continue;
        }
        if (!containsModes(pv.spec?.accessModes, requested)) {
            const have = new Set(pv.spec?.accessModes ?? []);
            add(`access modes ${shortModes(pv.spec?.accessModes)} lack ${shortModes(requested.filter((m) => !have.has(m))).slice(1, -1)}`);
            continue;
        }
        if (volumeModeOf(pv) !== volumeModeOf(claim)) {
            add(`volumeMode ${volumeModeOf(pv)} != ${volumeModeOf(claim)}`);
            continue;
        }
        const cap = volumeCapacity(pv);
        if (cap === undefined) {
            add('capacity unparsable');
            continue;
        }
        if (!pv.spec?.claimRef && pv.status?.phase !== 'Available') {
            add(`phase ${pv.status?.phase ?? 'Pending'}`);
            continue;
        }
        if (volumeClass(pv) !== cls) {
            add(`storageClassName "${volumeClass(pv)}" != "${cls}"`);
            continue;
        }
        if (cap < req) {
            tooSmall++;
            if (largest === undefined || cap > largest) largest = cap;
            continue;
        }
        if (vacOf(pv) !== vacOf(claim)) {
            add(`volumeAttributesClassName "${vacOf(pv)}" != "${vacOf(claim)}"`);
            continue;
        }
        let selOk = true;
        try {
            selOk = selectorMatches(claim.spec?.selector, pv.metadata?.labels);
        } catch {
            selOk = false;
        }
        if (!selOk) {
            add('labels do not match the selector');
            continue;
        }
        add('reserved by another claim being bound');
    }
    if (tooSmall) reasons.set(`too small (largest ${formatBytes(largest ?? 0n)} < ${formatBytes(req)})`, tooSmall);
    const parts = [...reasons].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([r, n]) => `${n} ${r}`);
    return `0/${total} volumes match${parts.length ? ': ' + parts.join(', ') : ''}`;
}
