// Crash consistency against a real API server: the process is SIGKILLed between the PV write
// and the claim write of a bind; a restarted process completes the bind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManagerProcess, childEnv, eventually, managerArgs, useCluster } from '../../support/env.ts';
import type { TestCluster } from '../../support/env.ts';
import { Volumes, startManager, stopManager } from '../../support/volumes.ts';

describe('pv-binder: complete bind after crash', () => {
    let env: TestCluster;
    let v: Volumes;
    before(async () => {
        env = await useCluster();
        v = new Volumes(env.clients);
    });
    after(() => env.stop());

    it('a bind killed after the PV write completes after a restart', async () => {
        await v.createPV('crash-pv', { size: '2Gi' });
        await v.createPVC('crash-c', { size: '1Gi' });
        const crashing = new ManagerProcess(
            managerArgs(env.cp.kubeconfig, ['--controllers=pv-binder', '--leader-elect=false']),
            childEnv({ VCM_FAULT: 'pv-binder:after-volume-bound' }),
        );
        await crashing.exited;
        assert.equal(crashing.child.signalCode, 'SIGKILL', 'the process died at the crash point');
        const half = await v.pv('crash-pv');
        assert.equal(half.spec?.claimRef?.name, 'crash-c', 'the PV write happened');
        assert.equal(half.status?.phase, 'Bound');
        const claimHalf = await v.pvc('crash-c');
        assert.equal(claimHalf.spec?.volumeName, undefined, 'the claim write did not');
        assert.equal(claimHalf.status?.phase, 'Pending');

        const mgr = await startManager(env, 'pv-binder', ['--leader-elect=false']);
        const claim = await v.waitClaimPhase('crash-c', 'Bound');
        assert.equal(claim.spec?.volumeName, 'crash-pv');
        assert.equal(claim.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
        assert.equal(claim.status?.capacity?.storage, '2Gi');
        await stopManager(mgr);
    });

    it('a restart does not rewrite bindings that are already complete', async () => {
        const before = await v.pv('crash-pv');
        const mgr = await startManager(env, 'pv-binder', ['--leader-elect=false']);
        // Positive signal first: the volume worker has reconciled the PV (and the claim worker the claim).
        await eventually('the restarted binder synced the volume and the claim', async () =>
            (await mgr.metric('controller_runtime_reconcile_total{controller="pv-binder-volumes",result="success"}')) >= 1 &&
            (await mgr.metric('controller_runtime_reconcile_total{controller="pv-binder-claims",result="success"}')) >= 1,
        );
        assert.equal((await v.pv('crash-pv')).metadata?.resourceVersion, before.metadata?.resourceVersion, 'no write to a correct PV');
        await stopManager(mgr);
    });
});
