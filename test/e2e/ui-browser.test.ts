// What an on-call engineer sees: a real headless Chromium (Debian's) opens the
// Temporal UI page of an incident that waits for approval, and the page shows
// the workflow's current details: phase, diagnosis and the pending action.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities, createDefaultDeps } from '../../activities/index.js';
import { ClientEnvSchema } from '../../client/config.js';
import { Incidents } from '../../client/incidents.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { TASK_QUEUE } from '../../workflows/messages.js';
import { devServerEnv, eventually, repoRoot } from '../helpers/temporal.js';

const chromiumPath = '/usr/bin/chromium';
const uiPort = 17611;
let env: TestWorkflowEnvironment;
let sandbox: Sandbox;
let browser: Browser | undefined;

beforeAll(async () => {
  env = await devServerEnv({ uiPort });
  const dir = mkdtempSync(join(tmpdir(), 'incident-ui-'));
  sandbox = await startSandbox({ scenario: 'bad-rollout', kubeconfigPath: join(dir, 'kubeconfig') });
});
afterAll(async () => {
  await browser?.close();
  await sandbox?.close();
  await env?.teardown();
});

describe('the Temporal UI in a real browser', () => {
  it('shows the incident awaiting approval with its phase, diagnosis and the pending rollback', async () => {
    expect(existsSync(chromiumPath), 'apt-get install chromium (Debian); .ci/run does it').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'incident-ui-outbox-'));
    const activities = createActivities(
      createDefaultDeps({
        kube: { kubeconfigPath: sandbox.kubeconfigPath },
        guardrails: { allowedNamespaces: ['default'], maxReplicas: 10, memoryCeiling: '4Gi' },
        notifications: { outboxDir: join(dir, 'outbox'), reportsDir: join(dir, 'reports') },
      }),
    );
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowsPath: join(repoRoot, 'workflows/index.ts'),
      activities,
    });
    const incidents = new Incidents(env.client, ClientEnvSchema.parse({}));
    const service = { cluster: 'local', namespace: 'default', deployment: 'agent-native-framework' };

    await worker.runUntil(async () => {
      const workflowId = await incidents.open(service, {
        name: 'ServiceDown',
        severity: 'critical',
        summary: 'agent-native-framework in default is down',
        labels: {},
        startsAt: new Date().toISOString(),
        fingerprint: 'ui-test',
      });
      await eventually(async () => ((await incidents.status(workflowId)).phase === 'awaiting-approval' ? true : undefined), 'the incident to wait for approval', 30_000);

      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
      // The UI renders the workflow's current details (markdown) on its page.
      await page.getByText('Awaiting approval').first().waitFor({ timeout: 30_000 });
      const text = await page.locator('body').innerText();
      expect(text).toContain('bad-rollout');
      expect(text).toMatch(/rollout undo deployment\/agent-native-framework --to-revision=2/);
      await page.screenshot({ path: join(dir, 'incident-ui.png'), fullPage: true });
    });
  }, 120_000);
});
