// Topology translation shared by the zonal plugins: node affinity keys and zone/region labels
// between the Kubernetes keys (GA `topology.kubernetes.io/*` and the legacy beta
// `failure-domain.beta.kubernetes.io/*`) and a CSI driver's own key, and StorageClass allowed
// topologies. Mirrors csi-translation-lib plugins/in_tree_volume.go.
import type { V1NodeSelectorTerm, V1PersistentVolume, V1TopologySelectorTerm, V1VolumeNodeAffinity } from '@kubernetes/client-node';
import { goTrimSpace, sortedSet } from './go.ts';
import { fail } from './plugin.ts';

export const LABEL_TOPOLOGY_ZONE = 'topology.kubernetes.io/zone';
export const LABEL_TOPOLOGY_REGION = 'topology.kubernetes.io/region';
export const LABEL_FAILURE_DOMAIN_BETA_ZONE = 'failure-domain.beta.kubernetes.io/zone';
export const LABEL_FAILURE_DOMAIN_BETA_REGION = 'failure-domain.beta.kubernetes.io/region';
/** Separates zones in one zone label value (k8s.io/cloud-provider/volume LabelMultiZoneDelimiter). */
export const LABEL_MULTI_ZONE_DELIMITER = '__';

/** Turns a zone list into a region; throws with the plugin's message when the zones do not name one region. */
export type RegionParser = (zones: string[]) => string;

function terms(pv: V1PersistentVolume | undefined): V1NodeSelectorTerm[] | undefined {
    const t = pv?.spec?.nodeAffinity?.required?.nodeSelectorTerms;
    return t && t.length > 0 ? t : undefined;
}

/**
 * Renames every node affinity requirement keyed oldKey to newKey, in every term, without merging
 * with requirements already keyed newKey (replaceTopology).
 */
export function replaceTopology(pv: V1PersistentVolume, oldKey: string, newKey: string): void {
    for (const term of terms(pv) ?? []) {
        for (const r of term.matchExpressions ?? []) if (r.key === oldKey) r.key = newKey;
    }
}

/** The distinct values of every node affinity requirement keyed key, sorted (getTopologyValues). */
export function getTopologyValues(pv: V1PersistentVolume, key: string): string[] {
    const values: string[] = [];
    for (const term of terms(pv) ?? []) {
        for (const r of term.matchExpressions ?? []) if (r.key === key) values.push(...(r.values ?? []));
    }
    return sortedSet(values);
}

/**
 * Appends `key In zones` (trimmed, distinct, sorted, empty ones dropped) to every node affinity
 * term, creating the affinity (one term) when there is none (addTopology).
 * @throws TranslationError when no zone is left
 */
export function addTopology(pv: V1PersistentVolume, key: string, zones: string[]): void {
    const filtered = sortedSet(zones.map(goTrimSpace).filter((z) => z.length > 0));
    if (filtered.length < 1) fail('there are no valid zones to add to pv');
    const spec = (pv.spec ??= {});
    const na = (spec.nodeAffinity ??= {});
    const req = (na.required ??= { nodeSelectorTerms: [] });
    if (!req.nodeSelectorTerms || req.nodeSelectorTerms.length === 0) req.nodeSelectorTerms = [{}];
    for (const term of req.nodeSelectorTerms) {
        (term.matchExpressions ??= []).push({ key, operator: 'In', values: [...filtered] });
    }
}

/** Whether any node affinity requirement is keyed key (TopologyKeyExist). */
export function topologyKeyExist(key: string, vna: V1VolumeNodeAffinity | undefined): boolean {
    for (const term of vna?.required?.nodeSelectorTerms ?? []) {
        for (const r of term.matchExpressions ?? []) if (r.key === key) return true;
    }
    return false;
}

/**
 * Which Kubernetes zone/region labels the PV uses: the GA ones when its node affinity has the GA
 * zone key, else the beta ones when it has the beta zone key, else the same two checks on its
 * labels, else GA (getTopologyLabel).
 */
export function getTopologyLabel(pv: V1PersistentVolume): [zone: string, region: string] {
    const labels = pv.metadata?.labels ?? {};
    if (topologyKeyExist(LABEL_TOPOLOGY_ZONE, pv.spec?.nodeAffinity)) return [LABEL_TOPOLOGY_ZONE, LABEL_TOPOLOGY_REGION];
    if (topologyKeyExist(LABEL_FAILURE_DOMAIN_BETA_ZONE, pv.spec?.nodeAffinity)) return [LABEL_FAILURE_DOMAIN_BETA_ZONE, LABEL_FAILURE_DOMAIN_BETA_REGION];
    if (Object.hasOwn(labels, LABEL_TOPOLOGY_ZONE)) return [LABEL_TOPOLOGY_ZONE, LABEL_TOPOLOGY_REGION];
    if (Object.hasOwn(labels, LABEL_FAILURE_DOMAIN_BETA_ZONE)) return [LABEL_FAILURE_DOMAIN_BETA_ZONE, LABEL_FAILURE_DOMAIN_BETA_REGION];
    return [LABEL_TOPOLOGY_ZONE, LABEL_TOPOLOGY_REGION];
}

/**
 * In-tree → CSI topology: the zone key in node affinity becomes csiTopologyKey; without one, the
 * zone label (`a__b` for several zones) becomes a `csiTopologyKey In [...]` requirement; a beta
 * region key in node affinity becomes the GA one (translateTopologyFromInTreeToCSI). Never fails
 * (a zone label with no usable zone adds nothing, as upstream ignores that error).
 */
export function translateTopologyFromInTreeToCSI(pv: V1PersistentVolume, csiTopologyKey: string): void {
    const [zoneLabel, regionLabel] = getTopologyLabel(pv);
    const labels = pv.metadata?.labels ?? {};
    if (getTopologyValues(pv, zoneLabel).length > 0) {
        replaceTopology(pv, zoneLabel, csiTopologyKey);
    } else if (Object.hasOwn(labels, zoneLabel)) {
        try {
            addTopology(pv, csiTopologyKey, (labels[zoneLabel] ?? '').split(LABEL_MULTI_ZONE_DELIMITER));
        } catch {
            // upstream discards addTopology's error here
        }
    }
    if (regionLabel === LABEL_FAILURE_DOMAIN_BETA_REGION && getTopologyValues(pv, regionLabel).length > 0) {
        replaceTopology(pv, regionLabel, LABEL_TOPOLOGY_REGION);
    }
}

/**
 * Adds the region requirement (from parser over the term's zones) to every node affinity term
 * without one, then the region label when exactly one region results (regionTopologyHandler).
 * @throws TranslationError from parser
 */
export function regionTopologyHandler(pv: V1PersistentVolume, parser: RegionParser): void {
    const ts = terms(pv);
    if (!ts) return;
    const [zoneLabel, regionLabel] = getTopologyLabel(pv);
    for (const term of ts) {
        let regionExist = false;
        const zoneVals: string[] = [];
        for (const r of term.matchExpressions ?? []) {
            if (r.key === regionLabel) {
                regionExist = true;
                break;
            } else if (r.key === zoneLabel) {
                zoneVals.push(...(r.values ?? []));
            }
        }
        if (regionExist) continue;
        const region = parser(zoneVals);
        (term.matchExpressions ??= []).push({ key: regionLabel, operator: 'In', values: [region] });
    }
    const regions = getTopologyValues(pv, regionLabel);
    if (regions.length === 1) {
        const labels = ((pv.metadata ??= {}).labels ??= {});
        if (!Object.hasOwn(labels, regionLabel)) labels[regionLabel] = regions[0] as string;
    }
}

/**
 * CSI → in-tree topology (for rollback): csiTopologyKey in node affinity becomes the Kubernetes
 * zone key, regions are added when parser is given, and the zone label is set (zones joined by
 * `__`) when missing (translateTopologyFromCSIToInTree).
 * @throws TranslationError when the region cannot be derived
 */
export function translateTopologyFromCSIToInTree(pv: V1PersistentVolume, csiTopologyKey: string, parser: RegionParser | undefined): void {
    const [zoneLabel] = getTopologyLabel(pv);
    replaceTopology(pv, csiTopologyKey, zoneLabel);
    if (parser) {
        try {
            regionTopologyHandler(pv, parser);
        } catch (e) {
            fail(`Failed to handle region topology. error: ${(e as Error).message}`);
        }
    }
    const zones = getTopologyValues(pv, zoneLabel);
    if (zones.length > 0) {
        const labels = ((pv.metadata ??= {}).labels ??= {});
        if (!Object.hasOwn(labels, zoneLabel)) labels[zoneLabel] = zones.join(LABEL_MULTI_ZONE_DELIMITER);
    }
}

/**
 * StorageClass allowed topologies: requirements on the GA or beta zone label get the CSI key
 * (values kept); others pass unchanged (translateAllowedTopologies). Undefined stays undefined.
 */
export function translateAllowedTopologies(ts: V1TopologySelectorTerm[] | undefined, key: string): V1TopologySelectorTerm[] | undefined {
    if (!ts) return undefined;
    return ts.map((term) => {
        const exprs = (term.matchLabelExpressions ?? []).map((e) => (e.key === LABEL_FAILURE_DOMAIN_BETA_ZONE || e.key === LABEL_TOPOLOGY_ZONE ? { key, values: e.values } : e));
        return exprs.length > 0 ? { matchLabelExpressions: exprs } : {};
    });
}

/** One allowed-topology term `key in values` (generateToplogySelectors). */
export function topologySelectors(key: string, values: string[]): V1TopologySelectorTerm[] {
    return [{ matchLabelExpressions: [{ key, values }] }];
}

/**
 * The shared StorageClass zone handling of aws-ebs, gce-pd and azure-disk: `zone` / `zones`
 * parameters become allowed topologies on the CSI key (an error when the class also has
 * allowedTopologies), else existing allowed topologies are translated.
 * @throws TranslationError
 */
export function applyZoneTopologies(sc: { allowedTopologies?: V1TopologySelectorTerm[] }, generated: V1TopologySelectorTerm[] | undefined, key: string): void {
    const have = sc.allowedTopologies ?? [];
    if (generated && generated.length > 0 && have.length > 0) fail('cannot simultaneously set allowed topologies and zone/zones parameters');
    if (generated && generated.length > 0) sc.allowedTopologies = generated;
    else if (have.length > 0) sc.allowedTopologies = translateAllowedTopologies(have, key);
}
