// What an on-call engineer sees: `npm start` runs the demo incident (a bad
// rollout, no auto-approval, so it waits for a human), and a real headless
// Chromium (Debian's) opens the incident's Temporal UI page, where the
// workflow's current details show the phase, the diagnosis and the pending
// rollback with its dry-run. The history Temporal stores is sealed (npm start
// encrypts it): the UI shows it in clear only through npm start's codec server.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { Connection } from '@temporalio/client';
import { metadataText, payloadsIn, rawHistory } from '../helpers/history-payloads.js';
import { npmStartArgs } from '../helpers/npm-start.js';
import { startInBackground, type BackgroundRun } from '../helpers/processes.js';
import { eventually } from '../helpers/temporal.js';

const chromiumPath = '/usr/bin/chromium';
const base = 17600;
let stack: BackgroundRun | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('the Temporal UI in a real browser', () => {
  it('shows the demo incident awaiting approval with its phase, diagnosis and the pending rollback', async () => {
    expect(existsSync(chromiumPath), 'apt-get install chromium (Debian); .ci/run does it').toBe(true);
    const { args, dataDir } = npmStartArgs(['--scenario', 'bad-rollout'], base, 'incident-ui-');
    stack = startInBackground('npm', args);
    const running = stack;
    await eventually(async () => (running.stdout().includes('waits for approval') ? true : undefined), 'npm start to show the pending approval', 120_000);
    const link = /This incident: (\S+)/.exec(running.stdout())?.[1];
    expect(link).toContain(`http://localhost:${base + 1}/namespaces/default/workflows/`);
    expect(running.stdout()).toMatch(
      new RegExp(`History: +encrypted with the key in .*history-keys; the UI reads it through http://127\\.0\\.0\\.1:${base + 8}`),
    );

    // What the server holds: every payload sealed with the local stack's key, none in clear.
    const connection = await Connection.connect({ address: `127.0.0.1:${base}` });
    try {
      const payloads = payloadsIn(await rawHistory(connection, 'incident/local/default/agent-native-framework'));
      expect(payloads.length).toBeGreaterThan(20);
      expect(payloads.filter((p) => metadataText(p, 'encoding') !== 'binary/encrypted' || metadataText(p, 'encryption-key-id') !== 'local-1')).toEqual([]);
    } finally {
      await connection.close();
    }

    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    await page.goto(link ?? '');
    // The UI shows the workflow's summary, details and current details (markdown) under "User Metadata".
    await page.getByText('User Metadata', { exact: true }).click({ timeout: 30_000 });
    await page.getByText('Current Details').waitFor({ timeout: 30_000 });
    // The UI renders user markdown inside sandboxed iframes: read every frame's text.
    const text = await eventually(
      async () => {
        const texts = await Promise.all(
          page.frames().map((frame) =>
            frame
              .locator('body')
              .innerText({ timeout: 2_000 })
              .catch(() => ''),
          ),
        );
        const all = texts.join('\n');
        return /Awaiting approval — default\/agent-native-framework/.test(all) ? all : undefined;
      },
      'the current details to show the pending approval',
      30_000,
    );
    expect(text).toMatch(/Diagnosis: bad-rollout/);
    expect(text).toMatch(/rollout undo deployment\/agent-native-framework --to-revision=2/);
    expect(text).toMatch(/revision 3 \(image agent-native-framework:v1\.5\.0\) → revision 2 \(image agent-native-framework:v1\.4\.2\)/);
    await page.screenshot({ path: join(dataDir, 'incident-ui.png'), fullPage: true });
  }, 240_000);
});
