import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, helpText, loadConfig, parseDuration, resolveControllers, FLAGS } from '../../src/config.ts';
import type { Config } from '../../src/config.ts';

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig(argv, env) as Config;

describe('parseDuration', () => {
    const table: [string, number][] = [
        ['15s', 15_000],
        ['1m30s', 90_000],
        ['500ms', 500],
        ['1h', 3_600_000],
        ['1.5s', 1500],
        ['0', 0],
    ];
    for (const [input, ms] of table) it(`${input} → ${ms} ms`, () => assert.equal(parseDuration(input), ms));
    for (const bad of ['15', 's', '10x', '', '1s2']) it(`rejects "${bad}"`, () => assert.throws(() => parseDuration(bad)));
});

describe('resolveControllers', () => {
    it('* enables all, -name disables one', () => {
        assert.deepEqual(resolveControllers(['*', '-attacher']), ['pv-binder', 'pvc-protection', 'pv-protection', 'attach-detach', 'provisioner']);
    });
    it('a positive list enables only those', () => {
        assert.deepEqual(resolveControllers(['pv-protection', 'pv-binder']), ['pv-binder', 'pv-protection']);
    });
    it('rejects an unknown name', () => {
        assert.throws(() => resolveControllers(['persistentvolume-binder']), /unknown controller "persistentvolume-binder"/);
    });
});

describe('loadConfig', () => {
    it('has upstream defaults', () => {
        const c = load([]);
        assert.equal(c.leaderElect, true);
        assert.equal(c.leaseDurationMs, 15_000);
        assert.equal(c.renewDeadlineMs, 10_000);
        assert.equal(c.retryPeriodMs, 2_000);
        assert.equal(c.leaseNamespace, 'kube-system');
        assert.equal(c.controllers.length, 6);
        assert.match(c.identity, /_[0-9a-f-]{36}$/);
        assert.ok(Object.isFrozen(c));
    });

    it('accepts --flag=value, --flag value and bare booleans', () => {
        const c = load(['--kube-api-qps=50.5', '--kube-api-burst', '100', '--leader-elect=false', '--controllers=pv-binder']);
        assert.equal(c.kubeApiQps, 50.5);
        assert.equal(c.kubeApiBurst, 100);
        assert.equal(c.leaderElect, false);
        assert.deepEqual(c.controllers, ['pv-binder']);
        assert.equal(load(['--leader-elect']).leaderElect, true);
    });

    it('reads KUBECONFIG and POD_NAMESPACE from the environment; flags win', () => {
        const c = load([], { KUBECONFIG: '/k', POD_NAMESPACE: 'storage' });
        assert.equal(c.kubeconfig, '/k');
        assert.equal(c.leaseNamespace, 'storage');
        assert.equal(load(['--kubeconfig=/x'], { KUBECONFIG: '/k' }).kubeconfig, '/x');
    });

    const bad: [string[], RegExp][] = [
        [['--kube-api-qps=fast'], /--kube-api-qps/],
        [['--kube-api-burst=0'], /--kube-api-burst/],
        [['--worker-threads=2.5'], /--worker-threads/],
        [['--leader-elect=maybe'], /--leader-elect/],
        [['--leader-elect-lease-duration=15'], /--leader-elect-lease-duration: invalid duration/],
        [['--leader-elect-renew-deadline=20s'], /renew-deadline: must be less than --leader-elect-lease-duration/],
        [['--metrics-bind-address=8080'], /--metrics-bind-address/],
        [['--no-such-flag'], /unknown flag --no-such-flag/],
        [['--kubeconfig'], /--kubeconfig needs a value/],
        [['positional'], /unexpected argument/],
        [['--controllers=foo'], /--controllers: unknown controller "foo"/],
        // 0 would make every CSI call fail at once, or a retry or resync loop spin.
        [['--timeout=0'], /^invalid value "0" for --timeout: must be greater than 0$/],
        [['--timeout=0s'], /--timeout: must be greater than 0/],
        [['--retry-interval-start=0'], /--retry-interval-start: must be greater than 0/],
        [['--pvclaimbinder-sync-period=0'], /--pvclaimbinder-sync-period: must be greater than 0/],
        [['--attach-detach-reconcile-sync-period=0'], /--attach-detach-reconcile-sync-period: must be greater than 0/],
        [['--retry-interval-start=10s', '--retry-interval-max=1s'], /--retry-interval-max: must not be less than --retry-interval-start/],
        [['--metrics-bind-address=:99999'], /^invalid value ":99999" for --metrics-bind-address: the port must be between 0 and 65535$/],
        [['--health-probe-bind-address=127.0.0.1:65536'], /--health-probe-bind-address: the port must be between 0 and 65535/],
    ];
    for (const [argv, re] of bad) {
        it(`rejects ${argv.join(' ')} with one line naming the flag`, () => {
            assert.throws(() => load(argv), (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'));
        });
    }

    it('accepts bind addresses up to port 65535, and 0 to disable', () => {
        assert.equal(load(['--metrics-bind-address=:65535']).metricsBindAddress, ':65535');
        assert.equal(load(['--health-probe-bind-address=[::1]:0']).healthProbeBindAddress, '[::1]:0');
        assert.equal(load(['--metrics-bind-address=0']).metricsBindAddress, '0');
    });

    it('--help documents every flag', () => {
        assert.equal(loadConfig(['--help'], {}), 'help');
        const h = helpText();
        for (const name of Object.keys(FLAGS)) assert.ok(h.includes(`--${name}`), name);
    });
});
