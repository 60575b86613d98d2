import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1StorageClass } from '@kubernetes/client-node';
import { defaultClass, selectorMatches, claimClass, volumeClass, isVolumeBoundToClaim, accessModesKey } from '../../src/storage/helpers.ts';
import { formatBytes, parseQuantity, tryParseQuantity } from '../../src/storage/quantity.ts';

describe('parseQuantity', () => {
    const table: [string, bigint][] = [
        ['1Gi', 1n << 30n],
        ['10Gi', 10n << 30n],
        ['1536Mi', 1536n << 20n],
        ['1G', 1_000_000_000n],
        ['500M', 500_000_000n],
        ['1.5Gi', 3n << 29n],
        ['1.5', 2n],
        ['100m', 1n],
        ['1e3', 1000n],
        ['2E', 2_000_000_000_000_000_000n],
        ['0', 0n],
        ['123', 123n],
        ['1k', 1000n],
    ];
    for (const [s, v] of table) it(`${s} = ${v}`, () => assert.equal(parseQuantity(s), v));
    for (const bad of ['', 'Gi', '1GB', '1gi', 'ten', '1 Gi', '1.2.3']) {
        it(`rejects "${bad}"`, () => {
            assert.throws(() => parseQuantity(bad));
            assert.equal(tryParseQuantity(bad), undefined);
        });
    }
    it('formats bytes in the largest exact binary unit', () => {
        assert.equal(formatBytes(10n << 30n), '10Gi');
        assert.equal(formatBytes(1536n << 20n), '1536Mi');
        assert.equal(formatBytes(1000n), '1000');
    });
});

describe('selectorMatches', () => {
    const labels = { tier: 'gold', zone: 'a' };
    const table: [string, Parameters<typeof selectorMatches>[0], boolean][] = [
        ['no selector', undefined, true],
        ['empty selector', {}, true],
        ['matchLabels hit', { matchLabels: { tier: 'gold' } }, true],
        ['matchLabels miss', { matchLabels: { tier: 'silver' } }, false],
        ['In hit', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }, true],
        ['In miss', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['c'] }] }, false],
        ['NotIn hit', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['c'] }] }, true],
        ['NotIn on absent key', { matchExpressions: [{ key: 'rack', operator: 'NotIn', values: ['c'] }] }, true],
        ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
        ['DoesNotExist', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
        ['both must hold', { matchLabels: { tier: 'gold' }, matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }, false],
    ];
    for (const [name, sel, want] of table) it(name, () => assert.equal(selectorMatches(sel, labels), want));
    it('throws on an unknown operator', () => assert.throws(() => selectorMatches({ matchExpressions: [{ key: 'x', operator: 'Near' }] }, labels)));
});

describe('class, claimRef and access-mode helpers', () => {
    it('the beta class annotation wins over spec.storageClassName', () => {
        const ann = { 'volume.beta.kubernetes.io/storage-class': 'beta' };
        assert.equal(claimClass({ metadata: { annotations: ann }, spec: { storageClassName: 'ga' } }), 'beta');
        assert.equal(volumeClass({ metadata: { annotations: ann }, spec: { storageClassName: 'ga' } }), 'beta');
        assert.equal(claimClass({ spec: {} }), '');
    });
    it('isVolumeBoundToClaim checks namespace, name and (when set) uid', () => {
        const claim = { metadata: { name: 'c', namespace: 'ns', uid: 'u1' } };
        assert.equal(isVolumeBoundToClaim({ spec: { claimRef: { name: 'c', namespace: 'ns' } } }, claim), true);
        assert.equal(isVolumeBoundToClaim({ spec: { claimRef: { name: 'c', namespace: 'ns', uid: 'u1' } } }, claim), true);
        assert.equal(isVolumeBoundToClaim({ spec: { claimRef: { name: 'c', namespace: 'ns', uid: 'u2' } } }, claim), false);
        assert.equal(isVolumeBoundToClaim({ spec: { claimRef: { name: 'c', namespace: 'other' } } }, claim), false);
        assert.equal(isVolumeBoundToClaim({ spec: {} }, claim), false);
    });
    it('accessModesKey is order-insensitive', () => assert.equal(accessModesKey(['ReadWriteMany', 'ReadWriteOnce']), accessModesKey(['ReadWriteOnce', 'ReadWriteMany'])));
    it('defaultClass: newest default wins, ties by name', () => {
        const sc = (name: string, t: string, def = true): V1StorageClass => ({
            metadata: { name, creationTimestamp: new Date(t), annotations: def ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : ({} as Record<string, string>) },
            provisioner: 'x',
        });
        assert.equal(defaultClass([sc('a', '2024-01-01'), sc('b', '2024-02-01'), sc('c', '2025-01-01', false)])?.metadata?.name, 'b');
        assert.equal(defaultClass([sc('z', '2024-01-01'), sc('y', '2024-01-01')])?.metadata?.name, 'y');
        assert.equal(defaultClass([sc('c', '2025-01-01', false)]), undefined);
    });
});
