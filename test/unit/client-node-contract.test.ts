// The two places we depend on @kubernetes/client-node internals (pinned to an exact version in
// package.json for that reason). If an upgrade changes either, this fails loudly here instead of
// the process silently opening a TLS connection per request or caching objects of two shapes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import pkg from '@kubernetes/client-node/package.json' with { type: 'json' };
import ours from '../../package.json' with { type: 'json' };

describe('@kubernetes/client-node internals we rely on', () => {
    it('is pinned to the exact version these checks were written for', () => {
        assert.equal(ours.dependencies['@kubernetes/client-node'], pkg.version, 'package.json pins the installed version exactly (no caret)');
        assert.equal(pkg.version, '2.0.1');
    });

    it('KubeConfig.createDispatcher(cluster, opts) exists: src/kube/client.ts poolConnections wraps it to reuse connections', () => {
        const kc = new KubeConfig();
        const fn = (kc as unknown as { createDispatcher?: unknown }).createDispatcher;
        assert.equal(typeof fn, 'function');
        assert.equal((fn as (...a: unknown[]) => unknown).length, 2);
    });

    it('ObjectSerializer.deserialize turns watch JSON into the model shape list calls return: src/kube/informer.ts normalize', () => {
        const pv = ObjectSerializer.deserialize({ metadata: { name: 'p', creationTimestamp: '2026-12-01T00:00:00Z' }, spec: { capacity: { storage: '1Gi' } } }, 'V1PersistentVolume', '') as {
            metadata: { creationTimestamp: unknown };
            spec: { capacity: { storage: string } };
        };
        assert.ok(pv.metadata.creationTimestamp instanceof Date);
        assert.equal(pv.spec.capacity.storage, '1Gi');
    });
});
