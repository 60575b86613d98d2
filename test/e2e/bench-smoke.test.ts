// A smoke run of the benchmark harness (100 claims, ours only) so it cannot rot. No timing is
// asserted: only that the harness runs end to end and reports what it measured.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../scripts/lib/testbin.ts';
import { childEnv } from '../support/env.ts';

const run = promisify(execFile);

describe('benchmark harness (smoke)', () => {
    it('runs static binding with 100 claims and prints the table', async () => {
        const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, 'bench', 'run.ts'), 'static-1k', '--contender', 'ours', '--qps', 'high', '--rounds', '1', '--n', '100'], {
            env: childEnv(),
            maxBuffer: 16 << 20,
            timeout: 300_000,
        });
        assert.match(stdout, /Calibrating the API server \+ etcd write ceiling/);
        assert.match(stdout, /static-1k ours QPS 1000\/2000 round 1\/1… [\d.]+ ops\/s/);
        const row = stdout.split('\n').find((l) => /^static-100\s+QPS 1000\/2000\s+ours/.test(l));
        assert.ok(row, stdout);
        assert.ok(!/timeout/.test(stdout), 'every claim bound');
    });
});
