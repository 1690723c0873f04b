// The `incident` command as a user runs it, against the dev server: open an
// incident by hand, find it in the list by number, and get a clear error for
// one that does not exist. (show/approve need a worker; the e2e tests drive
// those through npm start.)
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerEnv, eventually, repoRoot, uniqueId } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await devServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

function incident(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/incident.js', ...args],
      { cwd: repoRoot, env: { ...process.env, TEMPORAL_ADDRESS: env.address, INCIDENT_USER: 'alice' } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('incident CLI', () => {
  it('opens an incident by hand and lists it with its number', async () => {
    const namespace = uniqueId('ns');
    const opened = await incident('trigger', '--namespace', namespace, '--deployment', 'checkout', '--summary', 'checkout is down');
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout).toContain(`incident/local/${namespace}/checkout`);

    const rows = await eventually(async () => {
      const listed = await incident('list', '--json');
      const found = (JSON.parse(listed.stdout) as { workflowId: string; number?: number; namespace: string; phase: string }[]).filter(
        (r) => r.namespace === namespace,
      );
      return found.length > 0 ? found : undefined;
    }, 'the incident in the list');
    expect(rows).toEqual([
      expect.objectContaining({ workflowId: `incident/local/${namespace}/checkout`, phase: 'investigating', number: expect.any(Number) as number }),
    ]);

    const table = await incident('list');
    expect(table.stdout).toMatch(new RegExp(`INC-${rows[0]?.number}\\s+local/${namespace}/checkout\\s+investigating`));
  });

  it('says what is wrong, with exit code 1, for an unknown incident', async () => {
    const result = await incident('show', 'INC-999999');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("incident: no incident INC-999999: 'incident list' shows the known ones\n");
  });

  it('refuses a hotfix image that is not an image reference before sending anything, with exit code 1', async () => {
    const result = await incident('hotfix', 'INC-999999', '--image', "app:v1'&&kubectl delete ns default");
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('incident: bad hotfix: image: the image reference has whitespace or control characters\n');
    const smuggled = await incident('hotfix', 'INC-999999', '--image', '$(id):v1');
    expect(smuggled.stderr).toMatch(/^incident: bad hotfix: image: '\$\(id\):v1' is not an image reference/);
    // A well-formed image goes on to the incident, which must exist.
    const unknown = await incident('hotfix', 'INC-999999', '--image', 'agent-native-framework:hotfix-v1.0.1');
    expect(unknown.stderr).toBe("incident: no incident INC-999999: 'incident list' shows the known ones\n");
  });

  it('says what to do when Temporal is not running', async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['bin/incident.js', 'list'],
        { cwd: repoRoot, env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } },
        (err, _stdout, stderr) => resolve({ code: err ? 1 : 0, stderr }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^incident: cannot reach Temporal at 127\.0\.0\.1:1: is it running\? \('npm start' runs a local one\)/);
  });
});
