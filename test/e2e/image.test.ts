// The Dockerfile's build steps, outside Docker (no engine runs here): the production install
// (`npm ci --omit=dev`) plus the compiled output (`npm run build`) start and answer --help.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../scripts/lib/testbin.ts';
import { childEnv } from '../support/env.ts';

const run = promisify(execFile);

describe('container image build steps', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcm-test-image-'));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('the Dockerfile copies what the build produces and runs it as a non-root user', () => {
        const df = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
        assert.match(df, /FROM node:24[^\n]* AS build/);
        assert.match(df, /npm ci --omit=dev/);
        assert.match(df, /USER 65532:65532/);
        assert.match(df, /ENTRYPOINT \["volume-controller-manager"\]/);
        assert.match(df, /org\.opencontainers\.image\.source/);
    });

    it('npm ci --omit=dev + npm run build output starts and answers --help', async () => {
        const env = childEnv();
        await run('npm', ['run', 'build'], { cwd: REPO_ROOT, env });
        for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(REPO_ROOT, f), path.join(dir, f));
        fs.cpSync(path.join(REPO_ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
        await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, env, maxBuffer: 16 << 20 });
        assert.ok(!fs.existsSync(path.join(dir, 'node_modules', 'typescript')), 'no dev dependencies');
        const { stdout } = await run(process.execPath, [path.join(dir, 'dist', 'cmd', 'volume-controller-manager.js'), '--help'], { cwd: dir, env });
        assert.match(stdout, /Usage: volume-controller-manager/);
        assert.match(stdout, /--builtin-driver-dir/);
        // The same image is the built-in driver's node plugin (the chart's nodePlugin DaemonSet runs this).
        const np = await run(process.execPath, [path.join(dir, 'dist', 'cmd', 'volume-controller-manager.js'), 'node-plugin', '--help'], { cwd: dir, env });
        assert.match(np.stdout, /usage: volume-controller-manager node-plugin --endpoint=/);
        const bad = await run(process.execPath, [path.join(dir, 'dist', 'cmd', 'volume-controller-manager.js'), '--kube-api-qps=x'], { cwd: dir, env }).catch((e: { code: number; stderr: string }) => e);
        assert.equal((bad as { code: number }).code, 2);
    });
});
