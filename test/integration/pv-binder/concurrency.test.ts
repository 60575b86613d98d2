// Parallel claim workers against a real API server: 500 claims and 500 fitting PVs created at
// once, 16 workers → 500 distinct bindings, no PV bound twice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import PQueue from 'p-queue';
import { eventually } from '../../support/env.ts';
import { withManager } from '../../support/volumes.ts';

const N = 500;

describe('pv-binder: concurrency', () => {
    const ctx = withManager('pv-binder,pvc-protection,pv-protection', ['--worker-threads=16', '--kube-api-qps=2000', '--kube-api-burst=4000']);

    it(`binds ${N} claims to ${N} PVs with 16 workers, each PV exactly once`, async () => {
        const q = new PQueue({ concurrency: 32 });
        for (let i = 0; i < N; i++) {
            void q.add(() => ctx.v.createPV(`burst-pv-${i}`, { size: '1Gi' }));
            void q.add(() => ctx.v.createPVC(`burst-c-${i}`, { size: '1Gi' }));
        }
        await q.onIdle();
        const claims = await eventually(
            'all claims Bound',
            async () => {
                const l = await ctx.env.clients.core.listNamespacedPersistentVolumeClaim({ namespace: 'default' });
                return l.items.filter((c) => c.status?.phase === 'Bound').length === N ? l.items : undefined;
            },
            120_000,
            500,
        );
        const names = claims.map((c) => c.spec?.volumeName);
        assert.equal(new Set(names).size, N, 'distinct volumes');
        const pvs = (await ctx.env.clients.core.listPersistentVolume()).items;
        const byName = new Map(pvs.map((p) => [p.metadata?.name, p]));
        for (const c of claims) {
            const pv = byName.get(c.spec?.volumeName);
            assert.equal(pv?.spec?.claimRef?.uid, c.metadata?.uid, `PV ${c.spec?.volumeName} points back at ${c.metadata?.name}`);
            assert.equal(pv?.status?.phase, 'Bound');
        }
        const errors = ctx.mgr.lines.filter((l) => l.level === 'error');
        assert.deepEqual(errors, [], 'conflicts are retried quietly, not logged as errors');
    });
});
