// `npm run sandbox`: start, then break / status / heal a running sandbox through
// its kubeconfig, then stop with Ctrl-C.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers.js';

const root = resolve(import.meta.dirname, '../..');
const cli = ['--import', 'tsx', join(root, 'sandbox/cli.ts')];
const dir = mkdtempSync(join(tmpdir(), 'sandbox-cli-'));
const kubeconfig = join(dir, 'kubeconfig');
const run = (...args: string[]) => promisify(execFile)(process.execPath, [...cli, ...args, '--kubeconfig', kubeconfig], { cwd: root });

describe('the sandbox CLI', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts a sandbox, changes it while it runs, and stops on SIGINT', async () => {
    const child = spawn(
      process.execPath,
      [...cli, '--port', '0', '--scenario', 'scaled-to-zero', '--rollout-ms', '300', '--crash-loop-ms', '300', '--kubeconfig', kubeconfig],
      { cwd: root },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    try {
      await waitFor('the start banner', () => out.includes('Ctrl-C to stop'), 30_000);
      expect(out).toMatch(/sandbox cluster on https:\/\/127\.0\.0\.1:\d+/);
      expect(out).toContain(`kubeconfig: ${kubeconfig}`);
      expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);

      expect((await run('status')).stdout).toMatch(/agent-native-framework\s+scaled-to-zero\s+false/);
      expect((await run('heal')).stdout).toMatch(/agent-native-framework\s+healthy/);
      expect((await run('break', 'dependency-down', '--service', 'agent-native-framework')).stdout).toContain('dependency anthropic: down');
      await Promise.all([
        expect(run('break', 'oom', '--service', 'nope')).rejects.toMatchObject({ stderr: expect.stringContaining('unknown service "nope"') as string }),
        expect(run('break', 'meteor')).rejects.toMatchObject({ stderr: expect.stringContaining('expected one of healthy, bad-rollout') as string }),
      ]);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    await expect(run('status')).rejects.toMatchObject({ stderr: expect.stringContaining('is it running?') as string });
  });
});
