// Topology translation shared by the zonal plugins, from csi-translation-lib's own cases
// (plugins/in_tree_volume_test.go: TestTranslateTopologyFromCSIToInTree,
// TestTranslateTopologyFromInTreeToCSI, TestTranslateAllowedTopologies, TestAddTopology,
// TestReplaceTopology).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NodeSelectorTerm, V1PersistentVolume, V1TopologySelectorTerm } from '@kubernetes/client-node';
import { CINDER_TOPOLOGY_KEY } from '../../../src/migration/plugins/cinder.ts';
import { GCE_PD_TOPOLOGY_KEY, gceRegionFromZones } from '../../../src/migration/plugins/gce-pd.ts';
import {
    addTopology,
    replaceTopology,
    topologySelectors,
    translateAllowedTopologies,
    translateTopologyFromCSIToInTree,
    translateTopologyFromInTreeToCSI,
} from '../../../src/migration/topology.ts';
import type { RegionParser } from '../../../src/migration/topology.ts';

const ZONE = 'topology.kubernetes.io/zone';
const REGION = 'topology.kubernetes.io/region';
const BZONE = 'failure-domain.beta.kubernetes.io/zone';
const BREGION = 'failure-domain.beta.kubernetes.io/region';

const req = (key: string, ...values: string[]) => ({ key, operator: 'In', values });
const term = (...exprs: ReturnType<typeof req>[]): V1NodeSelectorTerm => ({ matchExpressions: exprs });
const pvWith = (terms: V1NodeSelectorTerm[], labels?: Record<string, string>, name = 'gcepd'): V1PersistentVolume => ({
    metadata: { name, namespace: 'myns', ...(labels ? { labels: { ...labels } } : {}) },
    spec: { nodeAffinity: { required: { nodeSelectorTerms: structuredClone(terms) } } },
});

const useast1aGALabels = { [ZONE]: 'us-east1-a', [REGION]: 'us-east1' };
const uswest2bBetaLabels = { [BZONE]: 'us-west2-b', [BREGION]: 'us-west2' };
const useast1aZoneFirst = [term(req(ZONE, 'us-east1-a'), req(REGION, 'us-east1'))];
const useast1aRegionFirst = [term(req(REGION, 'us-east1'), req(ZONE, 'us-east1-a'))];
const uswest2bZoneFirst = [term(req(BZONE, 'us-west2-b'), req(BREGION, 'us-west2'))];
const uswest2bRegionFirst = [term(req(BREGION, 'us-west2'), req(BZONE, 'us-west2-b'))];

describe('translateTopologyFromCSIToInTree', () => {
    const cases: { name: string; key: string; parser?: RegionParser; pv: V1PersistentVolume; terms: V1NodeSelectorTerm[]; labels: Record<string, string> }[] = [
        {
            name: 'Remove CSI Topology Key and do not change existing GA Kubernetes topology',
            key: GCE_PD_TOPOLOGY_KEY,
            parser: gceRegionFromZones,
            pv: pvWith([term(req(REGION, 'us-east1'), req(GCE_PD_TOPOLOGY_KEY, 'us-east1-a'))], useast1aGALabels),
            terms: useast1aRegionFirst,
            labels: useast1aGALabels,
        },
        {
            name: 'Remove CSI Topology Key and do not change existing Beta Kubernetes topology',
            key: GCE_PD_TOPOLOGY_KEY,
            parser: gceRegionFromZones,
            pv: pvWith([term(req(BREGION, 'us-west2'), req(GCE_PD_TOPOLOGY_KEY, 'us-west2-b'))], uswest2bBetaLabels),
            terms: uswest2bRegionFirst,
            labels: uswest2bBetaLabels,
        },
        {
            name: 'Remove CSI Topology Key and add Kubernetes topology from NodeAffinity, ignore labels',
            key: GCE_PD_TOPOLOGY_KEY,
            parser: gceRegionFromZones,
            pv: pvWith([term(req(GCE_PD_TOPOLOGY_KEY, 'us-east1-a'))], { [ZONE]: 'existingZone', [REGION]: 'existingRegion' }),
            terms: useast1aZoneFirst,
            labels: { [REGION]: 'existingRegion', [ZONE]: 'existingZone' },
        },
        {
            name: 'No CSI topology label exists and no change to the NodeAffinity',
            key: GCE_PD_TOPOLOGY_KEY,
            parser: gceRegionFromZones,
            pv: pvWith([], { [ZONE]: 'existingZone', [REGION]: 'existingRegion' }),
            terms: [],
            labels: { [ZONE]: 'existingZone', [REGION]: 'existingRegion' },
        },
        {
            name: 'Generate GA labels and kubernetes topology only from CSI topology',
            key: GCE_PD_TOPOLOGY_KEY,
            parser: gceRegionFromZones,
            pv: pvWith([term(req(GCE_PD_TOPOLOGY_KEY, 'us-east1-a'))]),
            terms: useast1aZoneFirst,
            labels: useast1aGALabels,
        },
        {
            name: 'Generate Beta labels and kubernetes topology from Beta NodeAffinity',
            key: GCE_PD_TOPOLOGY_KEY,
            parser: gceRegionFromZones,
            pv: pvWith([term(req(BZONE, 'us-west2-b'))]),
            terms: uswest2bZoneFirst,
            labels: uswest2bBetaLabels,
        },
        {
            name: 'regionParser is missing and only zone labels get generated',
            key: GCE_PD_TOPOLOGY_KEY,
            pv: pvWith([term(req(GCE_PD_TOPOLOGY_KEY, 'us-east1-a'))]),
            terms: [term(req(ZONE, 'us-east1-a'))],
            labels: { [ZONE]: 'us-east1-a' },
        },
        {
            name: 'Replace multi-term CSI Topology Key and add Region Kubernetes topology for both',
            key: GCE_PD_TOPOLOGY_KEY,
            parser: gceRegionFromZones,
            pv: pvWith([term(req(GCE_PD_TOPOLOGY_KEY, 'us-east1-a')), term(req(GCE_PD_TOPOLOGY_KEY, 'us-east1-c'))]),
            terms: [term(req(ZONE, 'us-east1-a'), req(REGION, 'us-east1')), term(req(ZONE, 'us-east1-c'), req(REGION, 'us-east1'))],
            labels: { [ZONE]: 'us-east1-a__us-east1-c', [REGION]: 'us-east1' },
        },
        {
            name: 'cinder translation',
            key: CINDER_TOPOLOGY_KEY,
            pv: pvWith([term(req(CINDER_TOPOLOGY_KEY, 'nova'))], undefined, 'cinder'),
            terms: [term(req(ZONE, 'nova'))],
            labels: { [ZONE]: 'nova' },
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            translateTopologyFromCSIToInTree(c.pv, c.key, c.parser);
            assert.deepEqual(c.pv.spec?.nodeAffinity?.required?.nodeSelectorTerms, c.terms);
            assert.deepEqual(c.pv.metadata?.labels, c.labels);
        });
    }
});

describe('translateTopologyFromInTreeToCSI', () => {
    it('Replace GA Kubernetes Zone Topology to GCE CSI Topology', () => {
        const pv = pvWith(useast1aZoneFirst, useast1aGALabels);
        translateTopologyFromInTreeToCSI(pv, GCE_PD_TOPOLOGY_KEY);
        assert.deepEqual(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms, [term(req(GCE_PD_TOPOLOGY_KEY, 'us-east1-a'), req(REGION, 'us-east1'))]);
    });
    it('Replace Beta Kubernetes Topology to GCE CSI Topology and upgrade region label', () => {
        const pv = pvWith(uswest2bZoneFirst, useast1aGALabels);
        translateTopologyFromInTreeToCSI(pv, GCE_PD_TOPOLOGY_KEY);
        assert.deepEqual(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms, [term(req(GCE_PD_TOPOLOGY_KEY, 'us-west2-b'), req(REGION, 'us-west2'))]);
    });
    it('a zone label with no usable zone adds nothing (upstream discards that error)', () => {
        const pv: V1PersistentVolume = { metadata: { labels: { [ZONE]: ' ' } }, spec: {} };
        translateTopologyFromInTreeToCSI(pv, GCE_PD_TOPOLOGY_KEY);
        assert.equal(pv.spec?.nodeAffinity, undefined);
    });
});

describe('translateAllowedTopologies', () => {
    const cases: [string, V1TopologySelectorTerm[], V1TopologySelectorTerm[]][] = [
        ['no translation', topologySelectors(GCE_PD_TOPOLOGY_KEY, ['foo', 'bar']), [{ matchLabelExpressions: [{ key: GCE_PD_TOPOLOGY_KEY, values: ['foo', 'bar'] }] }]],
        ['translate', [{ matchLabelExpressions: [{ key: BZONE, values: ['foo', 'bar'] }] }], [{ matchLabelExpressions: [{ key: GCE_PD_TOPOLOGY_KEY, values: ['foo', 'bar'] }] }]],
        [
            'combo',
            [{ matchLabelExpressions: [{ key: BZONE, values: ['foo', 'bar'] }, { key: GCE_PD_TOPOLOGY_KEY, values: ['boo', 'baz'] }] }],
            [{ matchLabelExpressions: [{ key: GCE_PD_TOPOLOGY_KEY, values: ['foo', 'bar'] }, { key: GCE_PD_TOPOLOGY_KEY, values: ['boo', 'baz'] }] }],
        ],
        ['some other key', [{ matchLabelExpressions: [{ key: 'test', values: ['foo', 'bar'] }] }], [{ matchLabelExpressions: [{ key: 'test', values: ['foo', 'bar'] }] }]],
    ];
    for (const [name, input, want] of cases) it(name, () => assert.deepEqual(translateAllowedTopologies(input, GCE_PD_TOPOLOGY_KEY), want));
});

describe('addTopology', () => {
    const cases: [string, string[], V1NodeSelectorTerm[] | 'error'][] = [
        ['empty zones', [], 'error'],
        ['only whitespace-named zones', [' ', '\n', '\t', '  '], 'error'],
        ['including whitespace-named zones', [' ', 'us-central1-a'], [term(req(GCE_PD_TOPOLOGY_KEY, 'us-central1-a'))]],
        ['unsorted zones', ['us-central1-f', 'us-central1-a', 'us-central1-c', 'us-central1-b'], [term(req(GCE_PD_TOPOLOGY_KEY, 'us-central1-a', 'us-central1-b', 'us-central1-c', 'us-central1-f'))]],
    ];
    for (const [name, zones, want] of cases) {
        it(name, () => {
            const pv: V1PersistentVolume = { spec: {} };
            if (want === 'error') assert.throws(() => addTopology(pv, GCE_PD_TOPOLOGY_KEY, zones), /there are no valid zones to add to pv/);
            else {
                addTopology(pv, GCE_PD_TOPOLOGY_KEY, zones);
                assert.deepEqual(pv.spec?.nodeAffinity, { required: { nodeSelectorTerms: want } });
            }
        });
    }
});

describe('replaceTopology', () => {
    const cases: [string, V1NodeSelectorTerm[], V1NodeSelectorTerm[]][] = [
        ['Replace single csi topology from PV', [term(req(GCE_PD_TOPOLOGY_KEY, 'us-east1-a'))], [term(req(ZONE, 'us-east1-a'))]],
        ['Not found the topology key so do nothing', [term(req(ZONE, 'us-east1-a'))], [term(req(ZONE, 'us-east1-a'))]],
        [
            'Replace the topology key from multiple terms',
            [term(req(GCE_PD_TOPOLOGY_KEY, 'us-east1-a')), term(req(GCE_PD_TOPOLOGY_KEY, 'us-east1-c'))],
            [term(req(ZONE, 'us-east1-a')), term(req(ZONE, 'us-east1-c'))],
        ],
        [
            'Replace the topology key from single term and not combine topology key',
            [term(req(GCE_PD_TOPOLOGY_KEY, 'us-east1-a'), req(ZONE, 'us-east1-c'))],
            [term(req(ZONE, 'us-east1-a'), req(ZONE, 'us-east1-c'))],
        ],
    ];
    for (const [name, input, want] of cases) {
        it(name, () => {
            const pv = pvWith(input);
            replaceTopology(pv, GCE_PD_TOPOLOGY_KEY, ZONE);
            assert.deepEqual(pv.spec?.nodeAffinity, { required: { nodeSelectorTerms: want } });
        });
    }
});
