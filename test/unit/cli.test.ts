// The process's answer to bad flags: exit status 2 and one line naming the flag, never a stack
// trace. (No API server needed: flags are checked before anything connects.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../../scripts/lib/testbin.ts';
import { childEnv } from '../support/env.ts';

describe('volume-controller-manager with a bad flag', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-cli-'));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'not a directory');
    // A loadable kubeconfig (nothing listens there), so a process that accepted the flags would get further.
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(
        kubeconfig,
        'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\nusers:\n- name: u\n  user:\n    token: x\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n',
    );
    const run = (args: string[]) =>
        spawnSync(process.execPath, [path.join(REPO_ROOT, 'cmd', 'volume-controller-manager.ts'), `--kubeconfig=${kubeconfig}`, '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0', ...args], {
            encoding: 'utf8',
            env: childEnv(),
            timeout: 15_000,
        });

    const cases: [string, string[], RegExp][] = [
        ['--timeout=0', ['--timeout=0'], /--timeout: must be greater than 0/],
        ['a metrics port above 65535', ['--metrics-bind-address=:99999'], /--metrics-bind-address: the port must be between 0 and 65535/],
        ['a --builtin-driver-dir that is a file', [`--builtin-driver-dir=${file}`], /^volume-controller-manager: invalid value ".*a-file" for --builtin-driver-dir: .*a-file is not a directory/],
        ['a --builtin-driver-dir under a file', [`--builtin-driver-dir=${path.join(file, 'sub')}`], /--builtin-driver-dir: .* is not a directory/],
    ];
    for (const [what, args, re] of cases) {
        it(`${what}: exit 2, one line naming the flag, no stack trace`, () => {
            const r = run(args);
            const lines = r.stderr.trim().split('\n');
            assert.equal(r.status, 2, `exit status (stderr: ${r.stderr.slice(0, 500)})`);
            assert.equal(lines.length, 1, r.stderr);
            assert.match(lines[0] ?? '', re);
            assert.doesNotMatch(r.stderr, /\n\s+at /);
        });
    }
});
