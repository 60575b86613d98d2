import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dns1123LabelErrors, dns1123SubdomainErrors, quoteBounded, secretReferenceError } from '../../src/kube/names.ts';

describe('DNS-1123 names as the API server checks them', () => {
    const subdomain: [string, boolean][] = [
        ['a', true],
        ['my-secret.v1', true],
        ['0abc', true],
        ['a'.repeat(253), true],
        ['a'.repeat(254), false],
        ['', false],
        ['-a', false],
        ['a-', false],
        ['A', false],
        ['a_b', false],
        ['a..b', false],
    ];
    for (const [v, ok] of subdomain) it(`subdomain ${JSON.stringify(v.length > 20 ? `${v.slice(0, 5)}…(${v.length})` : v)} → ${ok ? 'valid' : 'invalid'}`, () => assert.equal(dns1123SubdomainErrors(v).length === 0, ok));
    const label: [string, boolean][] = [
        ['kube-system', true],
        ['a'.repeat(63), true],
        ['a'.repeat(64), false],
        ['a.b', false],
        ['', false],
    ];
    for (const [v, ok] of label) it(`label ${JSON.stringify(v.length > 20 ? `${v.slice(0, 5)}…(${v.length})` : v)} → ${ok ? 'valid' : 'invalid'}`, () => assert.equal(dns1123LabelErrors(v).length === 0, ok));

    it('uses apimachinery messages', () => {
        assert.deepEqual(dns1123SubdomainErrors('a'.repeat(300)), ['must be no more than 253 characters']);
        assert.match(dns1123SubdomainErrors('A')[0] ?? '', /^a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '\.', and must start and end with an alphanumeric character \(e\.g\. 'example\.com', regex used/);
        assert.deepEqual(dns1123LabelErrors('a'.repeat(64)), ['must be no more than 63 characters']);
    });

    it('quotes user values bounded', () => {
        assert.equal(quoteBounded('abc'), '"abc"');
        assert.equal(quoteBounded('x'.repeat(100), 4), '"xxxx"… (100 characters)');
    });

    it('checks a secret reference read from an object', () => {
        assert.equal(secretReferenceError('creds', 'ns'), undefined);
        assert.match(secretReferenceError('c'.repeat(5000), 'ns') ?? '', /^secret name "c{64}"… \(5000 characters\) is not valid: must be no more than 253 characters$/);
        assert.match(secretReferenceError('creds', 'Bad') ?? '', /^secret namespace "Bad" is not valid/);
    });
});
