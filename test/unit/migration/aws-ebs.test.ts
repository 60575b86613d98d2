// aws-ebs ⇄ ebs.csi.aws.com, from csi-translation-lib's own cases (plugins/aws_ebs_test.go) plus
// the PV shapes upstream writes (both directions, topology labels).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1PersistentVolume, V1StorageClass } from '@kubernetes/client-node';
import { TranslationError } from '../../../src/migration/index.ts';
import { AWS_EBS_TOPOLOGY_KEY, awsEbs, awsRegionFromZones, kubernetesVolumeIDToEBSVolumeID } from '../../../src/migration/plugins/aws-ebs.ts';

const normalVolumeID = 'vol-02399794d890f9375';
const awsVolumeID = 'aws:///vol-02399794d890f9375';
const awsZoneVolumeID = 'aws://us-west-2a/vol-02399794d890f9375';
const invalidVolumeID = 'aws://us-west-2a/02399794d890f9375';
const sc = (parameters: Record<string, string>, allowedTopologies?: V1StorageClass['allowedTopologies']): V1StorageClass => ({ provisioner: '', parameters, ...(allowedTopologies ? { allowedTopologies } : {}) });

describe('aws-ebs: KubernetesVolumeIDToEBSVolumeID', () => {
    const cases: [string, string, string | 'error'][] = [
        ['Normal ID format', normalVolumeID, normalVolumeID],
        ['aws:///{volumeId} format', awsVolumeID, normalVolumeID],
        ['aws://{zone}/{volumeId} format', awsZoneVolumeID, normalVolumeID],
        ['fails on invalid volume ID', invalidVolumeID, 'error'],
        ['another scheme after aws:// is impossible, a bad escape is an error', 'aws:///vol-%zz', 'error'],
        ['escapes in the path are decoded as url.Parse does', 'aws:///vol-%41b', 'vol-Ab'],
        ['a non-numeric port is an error', 'aws://zone:x/vol-1', 'error'],
    ];
    for (const [name, id, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => kubernetesVolumeIDToEBSVolumeID(id), TranslationError);
            else assert.equal(kubernetesVolumeIDToEBSVolumeID(id), want);
        });
    }
    it('names the ID in the error', () => assert.throws(() => kubernetesVolumeIDToEBSVolumeID(invalidVolumeID), { message: `Invalid format for AWS volume (${invalidVolumeID})` }));
});

describe('aws-ebs: StorageClass', () => {
    const cases: [string, V1StorageClass, V1StorageClass | 'error'][] = [
        ['translate normal', sc({ foo: 'bar' }), sc({ foo: 'bar' })],
        ['translate empty map', sc({}), sc({})],
        ['translate with fstype', sc({ fstype: 'ext3' }), sc({ 'csi.storage.k8s.io/fstype': 'ext3' })],
        ['translate with iops', sc({ iopsPerGB: '100' }), sc({ iopsPerGB: '100', allowautoiopspergbincrease: 'true' })],
        ['zone becomes an allowed topology', sc({ zone: 'us-east-1a' }), sc({}, [{ matchLabelExpressions: [{ key: AWS_EBS_TOPOLOGY_KEY, values: ['us-east-1a'] }] }])],
        ['zones become one allowed-topology term', sc({ zones: 'a,b' }), sc({}, [{ matchLabelExpressions: [{ key: AWS_EBS_TOPOLOGY_KEY, values: ['a', 'b'] }] }])],
        [
            'legacy zone keys in allowed topologies get the CSI key',
            sc({}, [{ matchLabelExpressions: [{ key: 'failure-domain.beta.kubernetes.io/zone', values: ['a'] }] }]),
            sc({}, [{ matchLabelExpressions: [{ key: AWS_EBS_TOPOLOGY_KEY, values: ['a'] }] }]),
        ],
        ['zone and allowed topologies together', sc({ zone: 'a' }, [{ matchLabelExpressions: [{ key: AWS_EBS_TOPOLOGY_KEY, values: ['a'] }] }]), 'error'],
    ];
    for (const [name, input, want] of cases) {
        it(name, () => {
            const before = structuredClone(input);
            if (want === 'error') assert.throws(() => awsEbs.translateStorageClass(input), { message: 'cannot simultaneously set allowed topologies and zone/zones parameters' });
            else assert.deepEqual(awsEbs.translateStorageClass(input), want);
            assert.deepEqual(input, before, 'the class is not modified');
        });
    }
});

describe('aws-ebs: inline volumes', () => {
    const cases: [string, string | undefined, string | 'error'][] = [
        ['Normal ID format', normalVolumeID, `ebs.csi.aws.com-${normalVolumeID}`],
        ['aws:///{volumeId} format', awsVolumeID, `ebs.csi.aws.com-${normalVolumeID}`],
        ['aws://{zone}/{volumeId} format', awsZoneVolumeID, `ebs.csi.aws.com-${normalVolumeID}`],
        ['fails on invalid volume ID', invalidVolumeID, 'error'],
        ['fails on empty volume source', undefined, 'error'],
    ];
    for (const [name, id, want] of cases) {
        it(name, () => {
            const vol = { name: 'volume', ...(id ? { awsElasticBlockStore: { volumeID: id } } : {}) };
            if (want === 'error') return void assert.throws(() => awsEbs.translateInline(vol, ''), TranslationError);
            const pv = awsEbs.translateInline(vol, '');
            assert.equal(pv.metadata?.name, want);
            assert.equal(pv.spec?.csi?.volumeHandle, normalVolumeID);
        });
    }
    it('the whole inline PV: RWO, partition attribute, readOnly and fsType carried', () => {
        assert.deepEqual(awsEbs.translateInline({ name: 'v', awsElasticBlockStore: { volumeID: awsZoneVolumeID, fsType: 'xfs', readOnly: true, partition: 2 } }, ''), {
            metadata: { name: `ebs.csi.aws.com-${normalVolumeID}` },
            spec: { csi: { driver: 'ebs.csi.aws.com', volumeHandle: normalVolumeID, readOnly: true, fsType: 'xfs', volumeAttributes: { partition: '2' } }, accessModes: ['ReadWriteOnce'] },
        });
    });
});

describe('aws-ebs: getAwsRegionFromZones', () => {
    const cases: [string, string[], string | 'error'][] = [
        ['Commercial zone', ['us-west-2a', 'us-west-2b'], 'us-west-2'],
        ['Govcloud zone', ['us-gov-east-1a'], 'us-gov-east-1'],
        ['Wavelength zone', ['us-east-1-wl1-bos-wlz-1'], 'us-east-1'],
        ['Local zone', ['us-west-2-lax-1a'], 'us-west-2'],
        ['Invalid: empty zones', [], 'error'],
        ['Invalid: multiple regions', ['us-west-2a', 'us-east-1a'], 'error'],
        ['Invalid: region name only', ['us-west-2'], 'error'],
        ['Invalid: invalid suffix', ['us-west-2ab'], 'error'],
        ['Invalid: not enough fields', ['us-west'], 'error'],
    ];
    for (const [name, zones, want] of cases) {
        it(name, () => {
            if (want === 'error') assert.throws(() => awsRegionFromZones(zones), TranslationError);
            else assert.equal(awsRegionFromZones(zones), want);
        });
    }
    it('prints the regions as Go prints a set', () => assert.throws(() => awsRegionFromZones(['us-west-2a', 'us-east-1a']), { message: 'multiple or no regions gotten from zones, got: map[us-east-1:{} us-west-2:{}]' }));
});

describe('aws-ebs: PVs both ways', () => {
    const inTree = (o: Partial<V1PersistentVolume> = {}): V1PersistentVolume => ({
        metadata: { name: 'pv1', labels: { 'topology.kubernetes.io/zone': 'us-east-1a', 'topology.kubernetes.io/region': 'us-east-1' }, ...o.metadata },
        spec: {
            capacity: { storage: '1Gi' },
            accessModes: ['ReadWriteOnce'],
            awsElasticBlockStore: { volumeID: awsZoneVolumeID, fsType: 'ext4' },
            ...o.spec,
        },
    });
    it('in-tree → CSI: handle, partition 0, topology from the zone label on the driver key, access modes kept', () => {
        assert.deepEqual(awsEbs.translatePV(inTree()), {
            metadata: { name: 'pv1', labels: { 'topology.kubernetes.io/zone': 'us-east-1a', 'topology.kubernetes.io/region': 'us-east-1' } },
            spec: {
                capacity: { storage: '1Gi' },
                accessModes: ['ReadWriteOnce'],
                csi: { driver: 'ebs.csi.aws.com', volumeHandle: normalVolumeID, fsType: 'ext4', volumeAttributes: { partition: '0' } },
                nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: AWS_EBS_TOPOLOGY_KEY, operator: 'In', values: ['us-east-1a'] }] }] } },
            },
        });
    });
    it('CSI → in-tree: partition 0 omitted, zone key back to the Kubernetes key with the region added', () => {
        const csi = awsEbs.translatePV(inTree({ metadata: { name: 'pv1' } }));
        assert.deepEqual(awsEbs.translateCSIPV(csi), {
            metadata: { name: 'pv1', labels: { 'topology.kubernetes.io/zone': 'us-east-1a', 'topology.kubernetes.io/region': 'us-east-1' } },
            spec: {
                capacity: { storage: '1Gi' },
                accessModes: ['ReadWriteOnce'],
                awsElasticBlockStore: { volumeID: normalVolumeID, fsType: 'ext4' },
                nodeAffinity: {
                    required: {
                        nodeSelectorTerms: [
                            {
                                matchExpressions: [
                                    { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['us-east-1a'] },
                                    { key: 'topology.kubernetes.io/region', operator: 'In', values: ['us-east-1'] },
                                ],
                            },
                        ],
                    },
                },
            },
        });
    });
    it('CSI → in-tree: a bad partition is an error', () => {
        assert.throws(() => awsEbs.translateCSIPV({ spec: { csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1', volumeAttributes: { partition: 'x' } } } }), {
            message: 'failed to convert partition x to integer: strconv.Atoi: parsing "x": invalid syntax',
        });
    });
    it('an invalid volume ID is an error, not a silent skip', () => {
        assert.throws(() => awsEbs.translatePV(inTree({ spec: { awsElasticBlockStore: { volumeID: invalidVolumeID } } })), {
            message: `failed to translate Kubernetes ID to EBS Volume ID Invalid format for AWS volume (${invalidVolumeID})`,
        });
    });
});
